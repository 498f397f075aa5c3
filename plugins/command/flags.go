package command

import (
	"github.com/spf13/pflag"

	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
)

// AddWriteFlags binds the flags of every command that writes to the
// repository (override and promote), once: --pr, --pr-label,
// --pr-reviewer, --draft, --forge, --forge-url and --forge-token-env to
// req, and --validate, --diff and --chart-dir to check. The core takes the
// plain values; it knows no flag library.
func AddWriteFlags(fs *pflag.FlagSet, req *forge.Flags, check *releasecheck.Flags) {
	fs.BoolVar(&req.PR, "pr", false, "Push the change on a branch (--branch, or a generated name) and open a pull/merge request against the branch the checkout tracks; run again to update it")
	fs.StringArrayVar(&req.Labels, "pr-label", nil, "Label the pull/merge request (repeatable; created when missing)")
	fs.StringArrayVar(&req.Reviewers, "pr-reviewer", nil, "Ask USER (GitHub also ORG/TEAM) to review the pull/merge request (repeatable)")
	fs.BoolVar(&req.Draft, "draft", false, "Open the pull/merge request as a draft")
	fs.StringVar(&req.Forge, "forge", "", "Forge API to use: github, gitlab or gitea (also Forgejo); default: detected from the remote URL")
	fs.StringVar(&req.URL, "forge-url", "", "Web root of the forge (https://git.example.com), when it is not the remote URL's scheme and host")
	fs.StringVar(&req.TokenEnv, "forge-token-env", "", "Environment variable holding the forge's token (needed when --forge-url names another host than the remote's)")

	fs.BoolVar(&check.Validate, "validate", true, "Render the chart with the new values and validate them (values.schema.json, Kubernetes OpenAPI schema) before writing; --validate=false skips")
	fs.StringVar(&check.Diff, "diff", "", "Also print the change: 'values' (the file diff) or 'rendered' (the rendered Kubernetes manifests, Secrets masked)")
	fs.StringVar(&check.ChartDir, "chart-dir", "", "Local checkout of the chart's source (or the chart directory) to render from, instead of fetching the HelmRelease's source")
}

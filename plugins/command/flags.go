package command

import (
	"github.com/spf13/pflag"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
)

// AddWriteFlags binds the flags of every command that writes to the
// repository (override and promote), once: how far the change goes
// (--no-commit, --push, --push-timeout, --branch, --remote, --message,
// --allow-dirty, and --pr with --pr-label, --pr-reviewer, --draft,
// --forge, --forge-url and --forge-token-env) to pub, and --validate,
// --diff and --chart-dir to check. message says what the commit message
// is when -m is not given. The core takes the plain values
// (internal/publish, internal/releasecheck); it knows no flag library.
func AddWriteFlags(fs *pflag.FlagSet, pub *publish.Settings, check *releasecheck.Flags, message string) {
	fs.BoolVar(&pub.NoCommit, "no-commit", false, "Write the files but do not commit")
	fs.BoolVar(&pub.Push, "push", false, "Push the commit to the branch's upstream (or origin); when others pushed first, the change is made again on top of theirs")
	fs.DurationVar(&pub.PushTimeout, "push-timeout", gitrepo.DefaultPushTimeout, "How long --push keeps retrying when others push first (each retry re-applies the change on the new remote head); on giving up the checkout is left as it was")
	fs.StringVar(&pub.Branch, "branch", "", "Commit on this new branch (the checkout stays on its branch), push it, and print the pull/merge request URL")
	fs.StringVar(&pub.Remote, "remote", "", "Git remote to push to (default: the branch's upstream remote, or origin)")
	fs.StringVarP(&pub.Message, "message", "m", "", "Commit message (default: "+message+"; trailers are added)")
	fs.BoolVar(&pub.AllowDirty, "allow-dirty", false, "Edit and commit files even if they have uncommitted changes (they are committed too)")

	req := &pub.Request
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

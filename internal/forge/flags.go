package forge

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// Flags are the --pr flags promote and override share, bound the way
// kubectl's genericclioptions bind theirs (AddFlags on a FlagSet).
type Flags struct {
	// PR pushes the branch and opens (or updates) its pull/merge request.
	PR        bool
	Labels    []string
	Reviewers []string
	Draft     bool
	// Forge and URL override detection from the remote URL.
	Forge, URL string
	// TokenEnv is --forge-token-env: the variable holding the token.
	TokenEnv string
}

// AddFlags registers --pr, --pr-label, --pr-reviewer, --draft, --forge and
// --forge-url.
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.PR, "pr", false, "Push the change on a branch (--branch, or a generated name) and open a pull/merge request against the branch the checkout tracks; run again to update it")
	fs.StringArrayVar(&f.Labels, "pr-label", nil, "Label the pull/merge request (repeatable; created when missing)")
	fs.StringArrayVar(&f.Reviewers, "pr-reviewer", nil, "Ask USER (GitHub also ORG/TEAM) to review the pull/merge request (repeatable)")
	fs.BoolVar(&f.Draft, "draft", false, "Open the pull/merge request as a draft")
	fs.StringVar(&f.Forge, "forge", "", "Forge API to use: github, gitlab or gitea (also Forgejo); default: detected from the remote URL")
	fs.StringVar(&f.URL, "forge-url", "", "Web root of the forge (https://git.example.com), when it is not the remote URL's scheme and host")
	fs.StringVar(&f.TokenEnv, "forge-token-env", "", "Environment variable holding the forge's token (needed when --forge-url names another host than the remote's)")
}

// Kind is the parsed --forge ("" when not given).
func (f *Flags) Kind() Kind {
	k, _ := ParseKind(f.Forge)
	return k
}

// Validate checks the flags alone.
func (f *Flags) Validate() error {
	if !f.PR {
		var set []string
		if len(f.Labels) > 0 {
			set = append(set, "--pr-label")
		}
		if len(f.Reviewers) > 0 {
			set = append(set, "--pr-reviewer")
		}
		if f.Draft {
			set = append(set, "--draft")
		}
		if f.Forge != "" {
			set = append(set, "--forge")
		}
		if f.URL != "" {
			set = append(set, "--forge-url")
		}
		if f.TokenEnv != "" {
			set = append(set, "--forge-token-env")
		}
		if len(set) > 0 {
			return fmt.Errorf("%s only apply with --pr", strings.Join(set, ", "))
		}
		return nil
	}
	if err := f.ValidateTarget(); err != nil {
		return err
	}
	for _, l := range f.Labels {
		if strings.TrimSpace(l) == "" || strings.Contains(l, ",") {
			return fmt.Errorf("--pr-label %q: give one label per flag", l)
		}
	}
	for _, r := range f.Reviewers {
		if strings.TrimSpace(r) == "" || strings.ContainsAny(r, ", @") {
			return fmt.Errorf("--pr-reviewer %q: give one user name (without @) per flag", r)
		}
	}
	return nil
}

// ValidateTarget checks --forge and --forge-url, which also apply where a
// command only reads requests (promote --status).
func (f *Flags) ValidateTarget() error {
	if f.Forge != "" {
		if _, err := ParseKind(f.Forge); err != nil {
			return err
		}
	}
	if f.URL != "" && !strings.HasPrefix(f.URL, "http://") && !strings.HasPrefix(f.URL, "https://") {
		return fmt.Errorf("--forge-url %q is not an http(s) URL like https://git.example.com", f.URL)
	}
	return nil
}

// ErrPRNeedsBranch explains why --pr cannot start from a detached HEAD.
var ErrPRNeedsBranch = errors.New("--pr opens the request against the branch the checkout tracks, and HEAD is detached: check out that branch (main, say) first")

package forge

import (
	"errors"
	"fmt"
	"strings"
)

// Flags are the values of the --pr flags promote and override share: a
// plain config (plugins/command binds the flags to it; this package knows
// no flag library).
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

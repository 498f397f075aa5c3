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
		return OnlyWith("--pr", Given{"--pr-label", len(f.Labels) > 0}, Given{"--pr-reviewer", len(f.Reviewers) > 0},
			Given{"--draft", f.Draft}, Given{"--forge", f.Forge != ""}, Given{"--forge-url", f.URL != ""},
			Given{"--forge-token-env", f.TokenEnv != ""})
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

// Given says whether a flag was given.
type Given struct {
	Flag string
	Set  bool
}

// OnlyWith is the error for the flags of given that are set, which only
// apply with flag (not given); nil when none is set.
func OnlyWith(flag string, given ...Given) error {
	var set []string
	for _, g := range given {
		if g.Set {
			set = append(set, g.Flag)
		}
	}
	if len(set) == 0 {
		return nil
	}
	return fmt.Errorf("%s only apply with %s", strings.Join(set, ", "), flag)
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

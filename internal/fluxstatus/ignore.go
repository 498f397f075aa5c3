package fluxstatus

import (
	"path"
	"strings"
)

// ignoreRules is the subset of .gitignore syntax GitRepository spec.ignore
// uses in practice: comments, negation, anchored and unanchored patterns,
// directory patterns and * ? [] globs. Last match wins, as in git.
type ignoreRules []ignoreRule

type ignoreRule struct {
	pattern  string
	negate   bool
	anchored bool
	dirOnly  bool
}

func parseIgnore(s string) ignoreRules {
	var rs ignoreRules
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var r ignoreRule
		if strings.HasPrefix(line, "!") {
			r.negate, line = true, line[1:]
		}
		if strings.HasSuffix(line, "/") {
			r.dirOnly, line = true, strings.TrimSuffix(line, "/")
		}
		if strings.Contains(line, "/") {
			r.anchored = true
		}
		r.pattern = strings.TrimPrefix(line, "/")
		rs = append(rs, r)
	}
	return rs
}

// ignored reports whether file p (a path relative to the repo root) is
// excluded. A file is excluded when it, or any directory above it, matches.
func (rs ignoreRules) ignored(p string) bool {
	ignored := false
	parts := strings.Split(p, "/")
	for _, r := range rs {
		for i := range parts {
			isDir := i < len(parts)-1
			if r.dirOnly && !isDir {
				continue
			}
			var ok bool
			if r.anchored {
				ok, _ = path.Match(r.pattern, strings.Join(parts[:i+1], "/"))
			} else {
				ok, _ = path.Match(r.pattern, parts[i])
			}
			if ok {
				ignored = !r.negate
				break
			}
		}
	}
	return ignored
}

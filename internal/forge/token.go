package forge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrNoToken is returned by FindToken when no token for the forge is set.
var ErrNoToken = errors.New("no token")

// Token is a credential and where it was found. Source is safe to print;
// Value never is.
type Token struct {
	Value  string
	Source string
}

// String never shows the value, so a Token printed by mistake leaks
// nothing.
func (t Token) String() string { return "token from " + t.Source }

// GoString is String, for %#v.
func (t Token) GoString() string { return t.String() }

// envTokens are the variables read for each forge, in order. GH_TOKEN and
// GITHUB_TOKEN hold a github.com token and go to github.com only, never to
// another host whose name merely contains "github" (as gh does, a GitHub
// Enterprise host reads GH_ENTERPRISE_TOKEN).
func envTokens(kind Kind, host string) []string {
	switch kind {
	case GitHub:
		if strings.EqualFold(hostname(host), "github.com") {
			return []string{"GH_TOKEN", "GITHUB_TOKEN"}
		}
		return []string{"GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"}
	case GitLab:
		return []string{"GITLAB_TOKEN", "GITLAB_ACCESS_TOKEN"}
	case Gitea:
		return []string{"GITEA_TOKEN", "FORGEJO_TOKEN"}
	}
	return nil
}

// tokenEnvs names the variables for an error message: "GITEA_TOKEN (or
// FORGEJO_TOKEN)".
func tokenEnvs(kind Kind, host string) string {
	vs := envTokens(kind, host)
	if len(vs) == 0 {
		return "a token"
	}
	if len(vs) == 1 {
		return vs[0]
	}
	return vs[0] + " (or " + strings.Join(vs[1:], ", ") + ")"
}

// FindToken looks for the user's token for repo's forge: the forge's
// environment variables first, then the config file of its CLI, where
// that CLI keeps the token in the file (gh's hosts.yml, glab's
// config.yml, tea's config.yml). getenv reads the environment (os.Getenv
// outside tests); HOME and XDG_CONFIG_HOME come from it too.
//
// --forge-token-env names the one variable to read. A --forge-url on
// another host than the remote's reads only that variable, or the CLI's
// config entry for exactly that host: the usual variables belong to the
// remote's forge.
func FindToken(repo Repo, getenv func(string) string) (Token, error) {
	return FindScopedToken(repo, TokenScope{}, getenv)
}

// FindScopedToken is FindToken within scope (DetectOptions.TokenScope).
func FindScopedToken(repo Repo, scope TokenScope, getenv func(string) string) (Token, error) {
	host := repo.Host()
	vars := envTokens(repo.Kind, host)
	if scope.Env != "" {
		if t := strings.TrimSpace(getenv(scope.Env)); t != "" {
			return Token{Value: t, Source: "$" + scope.Env}, nil
		}
		return Token{}, fmt.Errorf("%w for %s at %s: --forge-token-env names %s, which is empty or not set", ErrNoToken, repo.Kind.Title(), host, scope.Env)
	}
	if scope.ForgeURLElsewhere {
		vars = nil
	}
	for _, v := range vars {
		if t := strings.TrimSpace(getenv(v)); t != "" {
			return Token{Value: t, Source: "$" + v}, nil
		}
	}
	if t, src := configToken(repo.Kind, host, getenv); t != "" {
		return Token{Value: t, Source: src}, nil
	}
	cli := map[Kind]string{GitHub: "`gh auth login`", GitLab: "`glab auth login`", Gitea: "`tea login add`"}[repo.Kind]
	if scope.ForgeURLElsewhere {
		return Token{}, fmt.Errorf("%w for %s at %s: --forge-url names another host than the Git remote's, so the usual token variables (%s) are not sent there; put its token in a variable and name it with --forge-token-env, or log in to %s with %s",
			ErrNoToken, repo.Kind.Title(), host, tokenEnvs(repo.Kind, host), host, cli)
	}
	return Token{}, fmt.Errorf("%w for %s at %s: set %s to a token that may push and open %ss, or log in with %s",
		ErrNoToken, repo.Kind.Title(), host, tokenEnvs(repo.Kind, host), repo.Kind.Noun(), cli)
}

func hostname(host string) string {
	if i := strings.LastIndex(host, ":"); i >= 0 && !strings.HasSuffix(host, "]") {
		return host[:i]
	}
	return host
}

// configDir is the directory a CLI keeps its config in: $DIRVAR (when the
// CLI has one), else $XDG_CONFIG_HOME/name, else ~/.config/name.
func configDir(getenv func(string) string, dirVar, name string) string {
	if d := getenv(dirVar); dirVar != "" && d != "" {
		return d
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, name)
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", name)
	}
	return ""
}

func configToken(kind Kind, host string, getenv func(string) string) (token, source string) {
	read := func(dir, file string, into any) string {
		if dir == "" {
			return ""
		}
		p := filepath.Join(dir, file)
		data, err := os.ReadFile(p)
		if err != nil || yaml.Unmarshal(data, into) != nil {
			return ""
		}
		return p
	}
	switch kind {
	case GitHub:
		// hosts.yml: <host>: {oauth_token: ...}. Newer gh keeps the token in
		// the system keyring instead; then GH_TOKEN is the way.
		var hosts map[string]struct {
			OAuthToken string `yaml:"oauth_token"`
		}
		if p := read(configDir(getenv, "GH_CONFIG_DIR", "gh"), "hosts.yml", &hosts); p != "" {
			for _, h := range []string{host, hostname(host)} {
				if t := strings.TrimSpace(hosts[h].OAuthToken); t != "" {
					return t, p
				}
			}
		}
	case GitLab:
		// config.yml: hosts: {<host>: {token: ...}}
		var cfg struct {
			Hosts map[string]struct {
				Token string `yaml:"token"`
			} `yaml:"hosts"`
		}
		if p := read(configDir(getenv, "GLAB_CONFIG_DIR", "glab-cli"), "config.yml", &cfg); p != "" {
			for _, h := range []string{host, hostname(host)} {
				if t := strings.TrimSpace(cfg.Hosts[h].Token); t != "" {
					return t, p
				}
			}
		}
	case Gitea:
		// tea's config.yml: logins: [{name, url, token}]
		var cfg struct {
			Logins []struct {
				URL   string `yaml:"url"`
				Token string `yaml:"token"`
			} `yaml:"logins"`
		}
		if p := read(configDir(getenv, "", "tea"), "config.yml", &cfg); p != "" {
			for _, l := range cfg.Logins {
				lh := l.URL
				if i := strings.Index(lh, "://"); i >= 0 {
					lh = lh[i+3:]
				}
				lh, _, _ = strings.Cut(lh, "/")
				if t := strings.TrimSpace(l.Token); t != "" && (strings.EqualFold(lh, host) || strings.EqualFold(hostname(lh), hostname(host)) && !strings.Contains(host, ":")) {
					return t, p
				}
			}
		}
	}
	return "", ""
}

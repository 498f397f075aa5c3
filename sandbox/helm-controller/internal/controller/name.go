package controller

import (
	"crypto/sha256"
	"fmt"
	"strings"

	v2 "github.com/fluxcd/helm-controller/api/v2"
)

// maxReleaseNameLength is Helm's limit on release names.
const maxReleaseNameLength = 53

// ReleaseName is the Helm release name helm-controller uses for hr:
// spec.releaseName or [<targetNamespace>-]<name>, shortened as its
// release.ShortenName does when longer than Helm's 53 characters (the first
// 40 characters, "-" trimmed, then "-" and the first 12 hex digits of the
// full name's SHA-256).
func ReleaseName(hr *v2.HelmRelease) string {
	name := hr.GetReleaseName()
	if len(name) <= maxReleaseNameLength {
		return name
	}
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(name)))
	return strings.TrimSuffix(name[:40], "-") + "-" + sum[:12]
}

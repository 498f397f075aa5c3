package sops

import (
	"errors"
	"strings"
	"testing"
)

func TestEncrypted(t *testing.T) {
	for src, want := range map[string]bool{
		"a: 1\n": false,
		"spec:\n  values:\n    p: ENC[AES256_GCM,data:Zm9v,iv:YmFy,tag:YmF6,type:str]\n":          true,
		"a: 1\n---\nkind: X\nsops:\n  mac: ENC[AES256_GCM,data:eA==,iv:eQ==,tag:eg==,type:str]\n": true,
		// A values key named sops, or a text that mentions ENC[, is not.
		"spec:\n  values:\n    sops:\n      enabled: true\n": false,
		"note: see ENC[ in the docs\n":                       false,
		"sops:\n  enabled: true\n":                           false,
	} {
		if got := Encrypted([]byte(src)); got != want {
			t.Errorf("Encrypted(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestEncryptedError(t *testing.T) {
	err := error(&EncryptedError{File: "apps/a.yaml", Sets: []string{`sops set apps/a.yaml '["spec"]["values"]["a"]' '1'`}})
	if !errors.Is(err, ErrEncrypted) {
		t.Error("errors.Is(ErrEncrypted) = false")
	}
	for _, want := range []string{"apps/a.yaml is SOPS-encrypted", `sops set apps/a.yaml '["spec"]["values"]["a"]' '1'`, "sops edit apps/a.yaml", "unencrypted file or a patch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if got := IndexPath([]any{"spec", "values", "l", 0}); got != `["spec"]["values"]["l"][0]` {
		t.Errorf("IndexPath = %s", got)
	}
}

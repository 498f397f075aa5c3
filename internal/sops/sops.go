// Package sops recognises files encrypted with SOPS (getsops/sops), which
// kubectl-gitops must not edit as text: every value is covered by the MAC
// in the file's sops: block, so a changed value (or a plaintext value
// where an ENC[...] was) makes Flux's decryption fail, or pushes a secret
// in clear.
package sops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
)

// ErrEncrypted is matched (errors.Is) by an EncryptedError.
var ErrEncrypted = exitcode.New(exitcode.Conflict, "SOPS-encrypted")

// EncryptedError is a write refused because the file is encrypted.
type EncryptedError struct {
	// File is the repo-relative path.
	File string
	// Sets are `sops set` commands that make the change instead, when the
	// caller knows the change ("" values mean: not known).
	Sets []string
}

func (e *EncryptedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is %s (a sops: block with a MAC, or ENC[...] values); editing it as text would break its MAC, so Flux could not decrypt it, or put a secret in clear: nothing was changed. ", e.File, ErrEncrypted)
	if len(e.Sets) > 0 {
		b.WriteString("Make the change with sops itself: ")
		b.WriteString(strings.Join(e.Sets, "; "))
		b.WriteString(" (or `sops edit " + e.File + "`), or move the value to an unencrypted file or a patch, or pass --sops to run `sops set` for you (sops on PATH, with the key)")
		return b.String()
	}
	b.WriteString("Make the change with `sops edit " + e.File + "` or `sops set`, or move the value to an unencrypted file or a patch")
	return b.String()
}

func (e *EncryptedError) Is(target error) bool { return target == ErrEncrypted }

// FileEncrypted is Encrypted for the file at path. The file is first
// read through a small buffer for the words encryption needs ("sops",
// "ENC["): a large file without them is never held in memory whole.
func FileEncrypted(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	keep := 0 // bytes carried over, so a word across two reads is seen
	for {
		n, err := f.Read(buf[keep:])
		chunk := buf[:keep+n]
		if bytes.Contains(chunk, []byte("sops")) || bytes.Contains(chunk, []byte("ENC[")) {
			data, err := os.ReadFile(path)
			if err != nil {
				return false, err
			}
			return Encrypted(data), nil
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		keep = copy(buf, chunk[max(len(chunk)-3, 0):])
	}
}

// Encrypted reports whether any YAML document of data was encrypted by
// SOPS: a top-level sops: map with a mac, or a string value
// ENC[AES256_GCM,...].
func Encrypted(data []byte) bool {
	if !bytes.Contains(data, []byte("sops")) && !bytes.Contains(data, []byte("ENC[")) {
		return false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			// Unparsable: the editor refuses it on its own; a text check
			// still catches an encrypted file.
			return bytes.Contains(data, []byte("ENC[AES256_GCM,"))
		}
		if DocEncrypted(&n) {
			return true
		}
	}
}

// DocEncrypted reports whether one decoded document is SOPS-encrypted.
func DocEncrypted(doc *yaml.Node) bool {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "sops" && root.Content[i+1].Kind == yaml.MappingNode {
				for j := 0; j+1 < len(root.Content[i+1].Content); j += 2 {
					if root.Content[i+1].Content[j].Value == "mac" {
						return true
					}
				}
			}
		}
	}
	return hasEnc(root)
}

// EncValue reports whether one value is a SOPS ciphertext, ENC[AES256_GCM,...].
func EncValue(s string) bool {
	return strings.HasPrefix(s, "ENC[AES256_GCM,") && strings.HasSuffix(s, "]")
}

// ObjectEncrypted is DocEncrypted for an object already decoded (as a
// kustomize build yields it): it returns the dotted path of what shows the
// encryption ("sops" for the sops: map with a mac, else the first ENC
// value found).
func ObjectEncrypted(obj map[string]any) (string, bool) {
	if m, ok := obj["sops"].(map[string]any); ok && m["mac"] != nil {
		return "sops", true
	}
	var walk func(path string, v any) (string, bool)
	walk = func(path string, v any) (string, bool) {
		switch t := v.(type) {
		case string:
			return path, EncValue(t)
		case map[string]any:
			for k, x := range t {
				p := k
				if path != "" {
					p = path + "." + k
				}
				if found, ok := walk(p, x); ok {
					return found, true
				}
			}
		case []any:
			for _, x := range t {
				if found, ok := walk(path, x); ok {
					return found, true
				}
			}
		}
		return "", false
	}
	return walk("", obj)
}

func hasEnc(n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode {
		return EncValue(n.Value)
	}
	for _, c := range n.Content {
		if hasEnc(c) {
			return true
		}
	}
	return false
}

// IndexPath writes a path the way `sops set` takes it: ["spec"]["values"]["a"][0].
func IndexPath(p []any) string {
	var b strings.Builder
	for _, el := range p {
		switch t := el.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", t)
		default:
			fmt.Fprintf(&b, "[%q]", fmt.Sprint(t))
		}
	}
	return b.String()
}

// Package printer prints a command's result as -o json or -o yaml, the
// same way for every command.
package printer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// Check returns the usage error for an -o value other than "", json, yaml
// and the command's own text format, when it names one (trace's "table").
func Check(format, text string) error {
	switch format {
	case "", "json", "yaml":
		return nil
	case text:
		if text != "" {
			return nil
		}
	}
	if text != "" {
		return fmt.Errorf("unknown output format %q: use -o %s, json or yaml", format, text)
	}
	return fmt.Errorf("unknown output format %q: use -o json or -o yaml", format)
}

// JSON is v as indented JSON ending in a newline, with <, > and & as
// themselves: people read this output, and paste values from it
// (encoding/json's default writes "->" as "-\u003e").
func JSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Inline is v on one line as a user can paste it back: a string as
// itself, anything else as compact JSON (which YAML reads too), never Go's
// map[...] syntax.
func Inline(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// Print writes v to w as indented JSON or as YAML (through its JSON form,
// so both have the same field names). It returns false for any other
// format, the text output being the caller's.
func Print(w io.Writer, format string, v any) (bool, error) {
	var b []byte
	var err error
	switch format {
	case "json":
		b, err = JSON(v)
	case "yaml":
		b, err = yaml.Marshal(v)
	default:
		return false, nil
	}
	if err != nil {
		return true, err
	}
	_, err = w.Write(b)
	return true, err
}

//go:build !unix

package manifest

import "os"

func readInto(path string, _ []byte) ([]byte, error) { return os.ReadFile(path) }

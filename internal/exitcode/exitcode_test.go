package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

var errBoom = errors.New("boom")

func TestFrom(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, OK},
		{"plain", errBoom, Error},
		{"coded", Wrap(NotFound, errBoom), NotFound},
		{"wrapped twice", fmt.Errorf("ctx: %w", Wrap(Conflict, errBoom)), Conflict},
		{"errorf", Errorf(Pending, "waiting %d", 3), Pending},
		{"sentinel", fmt.Errorf("x: %w", New(Usage, "bad")), Usage},
		{"outermost wins", Wrap(Failed, New(Conflict, "dirty")), Failed},
		{"own type", fmt.Errorf("x: %w", ownCode{}), Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := From(tt.err); got != tt.want {
				t.Fatalf("From(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
	if Wrap(Failed, nil) != nil {
		t.Fatal("Wrap(nil) must stay nil")
	}
	if !errors.Is(Wrap(Failed, errBoom), errBoom) {
		t.Fatal("Wrap must keep the chain for errors.Is")
	}
}

type ownCode struct{}

func (ownCode) Error() string { return "own" }
func (ownCode) ExitCode() int { return int(Conflict) }

type quiet struct{ error }

func (quiet) Quiet() bool { return true }

func TestIsQuiet(t *testing.T) {
	if !IsQuiet(fmt.Errorf("x: %w", quiet{errBoom})) || IsQuiet(errBoom) || IsQuiet(nil) {
		t.Fatal("IsQuiet must find a Quiet error in the chain, and only one")
	}
}

package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestFrom(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, OK},
		{"plain", base, Error},
		{"coded", Wrap(NotFound, base), NotFound},
		{"wrapped twice", fmt.Errorf("ctx: %w", Wrap(Conflict, base)), Conflict},
		{"errorf", Errorf(Pending, "waiting %d", 3), Pending},
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
	if !errors.Is(Wrap(Failed, base), base) {
		t.Fatal("Wrap must keep the chain for errors.Is")
	}
}

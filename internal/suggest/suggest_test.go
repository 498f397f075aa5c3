package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"sample-app", "sample-api", 1}, {"naïve", "naive", 1}, {"same", "same", 0},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"sample-app", "podinfo", "redis", "sample-app-worker"}
	for _, tc := range []struct{ name, want string }{
		{"sample-ap", "sample-app"},
		{"Sample-App", "sample-app"},
		{"podinf", "podinfo"},
		{"worker", "sample-app-worker"}, // contained
		{"nginx", ""},
		{"rediss", "redis"},
		{"x", ""},
	} {
		if got := Closest(tc.name, cands); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := Closest("ab", nil); got != "" {
		t.Errorf("no candidates: %q", got)
	}
}

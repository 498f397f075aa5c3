package main

import (
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    options
		wantErr bool
	}{
		{
			name: "the flags the sandbox passes",
			args: []string{"--watch-all-namespaces=true", "--metrics-addr=127.0.0.1:1", "--health-addr=127.0.0.1:2",
				"--enable-leader-election=false", "--events-addr="},
			want: options{metricsAddr: "127.0.0.1:1", healthAddr: "127.0.0.1:2", logLevel: "info", watchAll: true,
				concurrent: 4, helmLogLines: 10, requeueDependency: 5 * time.Second},
		},
		{
			name: "real helm-controller flags it does not use are ignored, with or without values",
			args: []string{"--feature-gates=OOMWatch=true", "--default-service-account", "default", "--no-cross-namespace-refs",
				"--concurrent=2", "--log-level=debug", "--watch-all-namespaces=false", "--requeue-dependency=1s"},
			want: options{metricsAddr: ":8080", healthAddr: ":9440", logLevel: "debug", watchAll: false,
				concurrent: 2, helmLogLines: 10, requeueDependency: time.Second},
		},
		{name: "a known flag with a bad value is an error", args: []string{"--concurrent=many"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFlags(tc.args)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && got != tc.want {
				t.Errorf("parseFlags = %+v, want %+v", got, tc.want)
			}
		})
	}
}

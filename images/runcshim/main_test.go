package main

import (
	"strings"
	"testing"
)

func TestDropCapability(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		underProcess bool
		wantChanged  bool
		wantAbsent   string
		wantPresent  []string
	}{
		{
			name:         "bundle spec",
			in:           `{"ociVersion":"1.0.2","process":{"user":{"uid":0},"capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_RESOURCE"],"effective":["CAP_SYS_RESOURCE","CAP_KILL"]}},"linux":{"resources":{"memory":{"limit":9223372036854771712}}}}`,
			underProcess: true,
			wantChanged:  true,
			wantAbsent:   "CAP_SYS_RESOURCE",
			wantPresent:  []string{"CAP_CHOWN", "CAP_KILL", "9223372036854771712"},
		},
		{
			name:         "process file",
			in:           `{"args":["sh"],"capabilities":{"bounding":["CAP_SYS_RESOURCE"],"permitted":["CAP_SYS_RESOURCE","CAP_NET_ADMIN"]}}`,
			underProcess: false,
			wantChanged:  true,
			wantAbsent:   "CAP_SYS_RESOURCE",
			wantPresent:  []string{"CAP_NET_ADMIN"},
		},
		{
			name:         "nothing to drop",
			in:           `{"process":{"capabilities":{"bounding":["CAP_CHOWN"]}}}`,
			underProcess: true,
			wantChanged:  false,
			wantPresent:  []string{"CAP_CHOWN"},
		},
		{
			name:         "no capabilities",
			in:           `{"process":{"args":["true"]}}`,
			underProcess: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := dropCapability([]byte(tt.in), tt.underProcess)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if tt.wantAbsent != "" && strings.Contains(string(out), tt.wantAbsent) {
				t.Errorf("output still has %s: %s", tt.wantAbsent, out)
			}
			for _, p := range tt.wantPresent {
				if !strings.Contains(string(out), p) {
					t.Errorf("output lost %s: %s", p, out)
				}
			}
		})
	}
}

func TestSubcommandAndFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantSub string
		flag    []string
		want    string
	}{
		{[]string{"--root", "/run/x", "--log", "l.json", "--log-format", "json", "create", "--bundle", "/b", "id"}, "create", []string{"--bundle", "-b"}, "/b"},
		{[]string{"--systemd-cgroup", "exec", "--process=/tmp/p.json", "--detach", "id"}, "exec", []string{"--process", "-p"}, "/tmp/p.json"},
		{[]string{"--root=/r", "run", "-b", "/bb", "id"}, "run", []string{"--bundle", "-b"}, "/bb"},
		{[]string{"state", "id"}, "state", []string{"--bundle"}, ""},
	}
	for _, tt := range tests {
		sub, rest := subcommand(tt.args)
		if sub != tt.wantSub {
			t.Errorf("%v: subcommand %q, want %q", tt.args, sub, tt.wantSub)
		}
		if got := flagValue(rest, tt.flag...); got != tt.want {
			t.Errorf("%v: flag %q, want %q", tt.args, got, tt.want)
		}
	}
}

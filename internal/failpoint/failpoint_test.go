package failpoint

import (
	"strings"
	"testing"
)

func TestEnabledAndCheck(t *testing.T) {
	tests := []struct {
		env     string
		enabled bool
		errs    string
	}{
		{"", false, ""},
		{"edge-ca", true, ""},
		{" other , edge-ca ", true, `unknown failpoint "other"`},
		{"edge-cax", false, `unknown failpoint "edge-cax"`},
	}
	for _, tt := range tests {
		t.Setenv(Env, tt.env)
		if got := Enabled(EdgeCA); got != tt.enabled {
			t.Errorf("%q: Enabled(edge-ca) = %v, want %v", tt.env, got, tt.enabled)
		}
		err := Check()
		if tt.errs == "" && err != nil || tt.errs != "" && (err == nil || !strings.Contains(err.Error(), tt.errs)) {
			t.Errorf("%q: Check() = %v, want %q", tt.env, err, tt.errs)
		}
	}
	t.Setenv(Env, "edge-ca")
	if a := Active(); len(a) != 1 || !strings.HasPrefix(a[0], "edge-ca: ") {
		t.Errorf("Active() = %q", a)
	}
}

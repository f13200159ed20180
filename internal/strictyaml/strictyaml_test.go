package strictyaml

import (
	"errors"
	"strings"
	"testing"
)

type sample struct {
	Name  string `yaml:"name"`
	Count int    `yaml:"count"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantErr    string // "" for success
		want       sample
	}{
		{"one document", "name: a\ncount: 2\n", "", sample{"a", 2}},
		{"empty file keeps the defaults", "", "", sample{"x", 1}},
		{"a document end marker", "name: a\n...\n", "", sample{"a", 1}},
		{"a second document", "name: a\n---\nname: b\n", "(document) (line 2): a second YAML document", sample{}},
		{"an empty second document", "name: a\n---\n", "a second YAML document", sample{}},
		{"an integer too large", "count: 99999999999999999999\n", "count (line 1): expected an integer", sample{}},
		{"not an integer", "count: two\n", "count (line 1): expected an integer", sample{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sample{"x", 1}
			err := Decode([]byte(tt.yaml), "f.yaml", &got)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want a validation error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidationErrorNamesItsKind(t *testing.T) {
	errs := []*FieldError{{Path: "k", Msg: "bad"}}
	for kind, want := range map[string]string{"": "invalid spec f.yaml:", "claims": "invalid claims f.yaml:"} {
		if got := (&ValidationError{Kind: kind, Source: "f.yaml", Errs: errs}).Error(); !strings.HasPrefix(got, want) {
			t.Errorf("kind %q: %q, want it to begin %q", kind, got, want)
		}
	}
}

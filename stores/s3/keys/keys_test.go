package keys

import (
	"strings"
	"testing"
)

func TestBucketName(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"tenant-a", "tenant-a", false},
		{"Tenant_B", "tenant-b", false},
		{"-a-", "a00", false},
		{"a..b", "a.b", false},
		{"10.0.0.1", "b-10.0.0.1", false},
		{strings.Repeat("x", 70), strings.Repeat("x", 63), false},
		{"--", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := BucketName(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("BucketName(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err != nil {
				return
			}
			// A bucket name passes through unchanged, so callers may hand either a tenant or its bucket.
			if again, err := BucketName(got); err != nil || again != got {
				t.Errorf("BucketName(%q) = %q, %v; want it unchanged", got, again, err)
			}
		})
	}
}

func TestObjectRoundTrip(t *testing.T) {
	tests := []struct {
		dataset, id, key string
	}{
		{"run-1", "w-00001", "run-1/w-00001"},
		{"run-1", "run-1/tenant-a/objectstore/before-00001", "run-1/run-1/tenant-a/objectstore/before-00001"},
		{"s", "a/b/c", "s/a/b/c"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			key := Object(tt.dataset, tt.id)
			if key != tt.key {
				t.Errorf("Object(%q, %q) = %q, want %q", tt.dataset, tt.id, key, tt.key)
			}
			if !strings.HasPrefix(key, Prefix(tt.dataset)) {
				t.Errorf("key %q is not under Prefix(%q) = %q", key, tt.dataset, Prefix(tt.dataset))
			}
			if id, ok := ID(tt.dataset, key); !ok || id != tt.id {
				t.Errorf("ID(%q, %q) = %q, %v; want %q", tt.dataset, key, id, ok, tt.id)
			}
		})
	}
}

func TestIDOutsideDataset(t *testing.T) {
	tests := []struct{ dataset, key string }{
		{"run-1", "run-2/w-1"},
		{"run-1", "run-10/w-1"}, // a longer dataset name is another dataset
		{"run-1", "run-1/"},
		{"run-1", "run-1"},
	}
	for _, tt := range tests {
		if id, ok := ID(tt.dataset, tt.key); ok {
			t.Errorf("ID(%q, %q) = %q, true; want no record", tt.dataset, tt.key, id)
		}
	}
}

func TestCheckDataset(t *testing.T) {
	for _, tt := range []struct {
		dataset string
		ok      bool
	}{{"run-1", true}, {"", false}, {"a/b", false}} {
		if err := CheckDataset(tt.dataset); (err == nil) != tt.ok {
			t.Errorf("CheckDataset(%q) = %v, want ok %v", tt.dataset, err, tt.ok)
		}
	}
}

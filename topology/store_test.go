package topology

import "testing"

func TestValue(t *testing.T) {
	a, b := Value("x/1", 64), Value("x/2", 64)
	if len(a) != 64 || string(a) == string(b) || string(a) != string(Value("x/1", 64)) {
		t.Errorf("values %q %q: want 64 bytes, stable per id, distinct across ids", a, b)
	}
	for _, c := range a {
		if c < 'a' || c > 'z' {
			t.Fatalf("value byte %q is not a lower-case letter", c)
		}
	}
}

func TestValueHash(t *testing.T) {
	if ValueHash(Value("x/1", 8)) != ValueHash(Value("x/1", 8)) || ValueHash(Value("x/1", 8)) == ValueHash(Value("x/2", 8)) || len(ValueHash(nil)) != 16 {
		t.Error("ValueHash: want 16 hex digits, stable per value, distinct across values")
	}
}

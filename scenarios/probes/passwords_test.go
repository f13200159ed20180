package probes

import (
	"encoding/hex"
	"testing"

	"dpsim/reports"
	"dpsim/topology"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Recompute agrees with published PBKDF2 vectors (RFC 6070 for HMAC-SHA1, RFC 7914's for
// HMAC-SHA256) and tells a wrong password, a non-PBKDF2 algorithm and a missing salt apart.
func TestRecompute(t *testing.T) {
	sha1Vector := unhex(t, "4b007901b765489abead49d926f721d065a429c1") // "password", "salt", 4096 iterations
	sha256Vector := unhex(t, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
	tests := []struct {
		name string
		c    topology.StoredCredential
		want string
	}{
		{"sha1", topology.StoredCredential{Algorithm: "pbkdf2", Iterations: 4096, Salt: []byte("salt"), Hash: sha1Vector, Password: "password"}, reports.HashEqual},
		{"sha256", topology.StoredCredential{Algorithm: "pbkdf2-sha256", Iterations: 1, Salt: []byte("salt"), Hash: sha256Vector, Password: "passwd"}, reports.HashEqual},
		{"wrong password", topology.StoredCredential{Algorithm: "pbkdf2", Iterations: 4096, Salt: []byte("salt"), Hash: sha1Vector, Password: "Password"}, reports.HashDiffers},
		{"other iterations", topology.StoredCredential{Algorithm: "pbkdf2", Iterations: 4095, Salt: []byte("salt"), Hash: sha1Vector, Password: "password"}, reports.HashDiffers},
		{"argon2", topology.StoredCredential{Algorithm: "argon2", Iterations: 5, Salt: []byte("salt"), Hash: sha1Vector}, "not recomputed: argon2 is no PBKDF2 algorithm"},
		{"no salt", topology.StoredCredential{Algorithm: "pbkdf2", Iterations: 1, Hash: sha1Vector}, "not recomputed: no stored salt or hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Recompute(tt.c); got != tt.want {
				t.Errorf("Recompute = %q, want %q", got, tt.want)
			}
		})
	}
}

// Passwords names users sharing a salt and keeps the secrets out.
func TestPasswordsSharedSalt(t *testing.T) {
	st := topology.PasswordStorage{Provider: "x", Credentials: []topology.StoredCredential{
		{Realm: "a", User: "alice", Algorithm: "pbkdf2", Iterations: 1, Salt: []byte("s1"), Hash: []byte("h"), Password: "p"},
		{Realm: "a", User: "bob", Algorithm: "pbkdf2", Iterations: 1, Salt: []byte("s1"), Hash: []byte("h"), Password: "p"},
		{Realm: "b", User: "carol", Algorithm: "pbkdf2", Iterations: 1, Salt: []byte("s2"), Hash: []byte("h"), Password: "p"},
	}}
	r := Passwords(st)
	if len(r.Users) != 3 || len(r.Users[0].SaltSharedWith) != 1 || r.Users[0].SaltSharedWith[0] != "a/bob" || r.Users[2].SaltSharedWith != nil {
		t.Errorf("users %+v", r.Users)
	}
	if r.Users[0].SaltBytes != 2 || r.Users[0].HashBytes != 1 {
		t.Errorf("sizes %+v", r.Users[0])
	}
}

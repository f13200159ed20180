package checkers

import (
	"strings"
	"testing"

	"dpsim/reports"
	"dpsim/topology"
)

// DP-AUTH-2 passes only on what the provider stored: the claimed algorithm and iterations, hashes
// that recompute, salts of their own; a weak or mistyped policy fails, an unreadable store is error.
func TestPasswordStorage(t *testing.T) {
	good := func() reports.Passwords {
		return reports.Passwords{Provider: "keycloak 26.7.3",
			Realms: []topology.RealmPolicy{{Tenant: "a", Realm: "a", Policy: "hashAlgorithm(pbkdf2-sha256) and hashIterations(20000)"}},
			Users: []reports.StoredPassword{
				{Realm: "a", User: "alice", Algorithm: "pbkdf2-sha256", Iterations: 20000, SaltBytes: 16, HashBytes: 32, Recomputed: reports.HashEqual},
				{Realm: "a", User: "bob", Algorithm: "pbkdf2-sha256", Iterations: 20000, SaltBytes: 16, HashBytes: 32, Recomputed: reports.HashEqual},
			}}
	}
	claim := PasswordClaim{Algorithm: "pbkdf2", Iterations: 20000}
	tests := []struct {
		name   string
		change func(*reports.Passwords)
		want   reports.Status
		says   string
	}{
		{"as promised", func(*reports.Passwords) {}, reports.Pass, "every hash recomputed equal"},
		{"1000 iterations", func(p *reports.Passwords) { p.Users[0].Iterations = 1000 }, reports.Fail, "a/alice stored with 1000 iterations, not 20000"},
		{"argon2 (no policy: the default)", func(p *reports.Passwords) {
			p.Users[1].Algorithm, p.Users[1].Recomputed = "argon2", "not recomputed: argon2 is no PBKDF2 algorithm"
		}, reports.Fail, `a/bob stored with "argon2", not pbkdf2`},
		{"hash differs", func(p *reports.Passwords) { p.Users[0].Recomputed = reports.HashDiffers }, reports.Fail, "not the one recomputed"},
		{"shared salt", func(p *reports.Passwords) { p.Users[0].SaltSharedWith = []string{"a/bob"} }, reports.Fail, "shares its salt with a/bob"},
		{"hash not read", func(p *reports.Passwords) { p.Users[0].Recomputed = "not recomputed: no stored salt or hash" }, reports.Error, "not told"},
		{"nothing read", func(p *reports.Passwords) { p.Users = nil }, reports.Error, "no stored credential"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := good()
			tt.change(&obs)
			v := PasswordStorage(obs, claim)
			if v.Status != tt.want || !strings.Contains(v.Summary, tt.says) {
				t.Errorf("%s: %s, want %s saying %q", v.Status, v.Summary, tt.want, tt.says)
			}
		})
	}
	if v := PasswordStorage(good(), PasswordClaim{Algorithm: "pbkdf2-sha512", Iterations: 20000}); v.Status != reports.Fail {
		t.Errorf("pbkdf2-sha256 judged against an exact pbkdf2-sha512 claim: %s", v.Status)
	}
}

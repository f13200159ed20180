package probes

import (
	"bytes"
	"crypto/pbkdf2"
	"slices"

	"dpsim/reports"
	"dpsim/topology"
)

// Passwords lays out stored credentials for the report: per user what was stored, the hash
// recomputed from the known password, the stored salt and the stored iterations compared with the
// stored hash, and the users sharing a salt. The secrets stay here.
func Passwords(st topology.PasswordStorage) reports.Passwords {
	out := reports.Passwords{Provider: st.Provider, Realms: slices.Clone(st.Realms), Users: []reports.StoredPassword{}}
	for i, c := range st.Credentials {
		u := reports.StoredPassword{Tenant: c.Tenant, Realm: c.Realm, User: c.User, Algorithm: c.Algorithm, Iterations: c.Iterations,
			SaltBytes: len(c.Salt), HashBytes: len(c.Hash), Recomputed: Recompute(c)}
		for j, o := range st.Credentials {
			if i != j && len(c.Salt) > 0 && bytes.Equal(c.Salt, o.Salt) {
				u.SaltSharedWith = append(u.SaltSharedWith, o.Realm+"/"+o.User)
			}
		}
		out.Users = append(out.Users, u)
	}
	return out
}

// Recompute derives the hash of c's password with c's algorithm, salt and iterations and says
// whether it equals the stored hash ("equal", "differs"), or why it cannot be derived.
func Recompute(c topology.StoredCredential) string {
	prf, ok := topology.PBKDF2[c.Algorithm]
	switch {
	case !ok:
		return "not recomputed: " + c.Algorithm + " is no PBKDF2 algorithm"
	case len(c.Hash) == 0 || len(c.Salt) == 0:
		return "not recomputed: no stored salt or hash"
	case c.Iterations < 1:
		return "not recomputed: no stored iteration count"
	}
	derived, err := pbkdf2.Key(prf, c.Password, c.Salt, c.Iterations, len(c.Hash))
	if err != nil {
		return "not recomputed: " + err.Error()
	}
	if bytes.Equal(derived, c.Hash) {
		return reports.HashEqual
	}
	return reports.HashDiffers
}

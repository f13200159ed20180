package checkers

import (
	"fmt"
	"strings"

	"dpsim/reports"
)

// PasswordClaim is how passwords are promised to be stored: the algorithm's family ("pbkdf2"
// takes pbkdf2, pbkdf2-sha256 and pbkdf2-sha512) or exact name, and the iterations, exactly.
type PasswordClaim struct {
	Algorithm  string
	Iterations int
}

// covers reports whether the claimed algorithm covers alg: the same name, or its family.
func (c PasswordClaim) covers(alg string) bool {
	return alg == c.Algorithm || strings.HasPrefix(alg, c.Algorithm+"-")
}

// PasswordStorage judges the stored credentials of the identity provider's test users (DP-AUTH-2):
// each with the claimed algorithm and iterations, its hash equal to the one recomputed from the
// known password, the stored salt and the stored iterations, and no salt shared between users.
// What the provider stored is judged first (fail); a hash that could not be recomputed for an
// algorithm the claim covers leaves it unknown (error).
func PasswordStorage(obs reports.Passwords, want PasswordClaim) Verdict {
	if len(obs.Users) == 0 {
		return Verdict{Status: reports.Error, Summary: "no stored credential read from the identity provider " + obs.Provider}
	}
	var problems, unknown []string
	for _, u := range obs.Users {
		name := u.Realm + "/" + u.User
		if !want.covers(u.Algorithm) {
			problems = append(problems, fmt.Sprintf("%s stored with %q, not %s", name, u.Algorithm, want.Algorithm))
		}
		if u.Iterations != want.Iterations {
			problems = append(problems, fmt.Sprintf("%s stored with %d iterations, not %d", name, u.Iterations, want.Iterations))
		}
		switch {
		case u.Recomputed == reports.HashDiffers:
			problems = append(problems, fmt.Sprintf("%s: the stored hash is not the one recomputed from the password, the stored salt and %d iterations", name, u.Iterations))
		case u.Recomputed != reports.HashEqual && want.covers(u.Algorithm):
			unknown = append(unknown, name+": "+u.Recomputed)
		}
		if len(u.SaltSharedWith) > 0 {
			problems = append(problems, fmt.Sprintf("%s shares its salt with %s", name, strings.Join(u.SaltSharedWith, ", ")))
		}
	}
	if len(problems) > 0 {
		return verdict(false, "%s", strings.Join(problems, "; "))
	}
	if len(unknown) > 0 {
		return Verdict{Status: reports.Error, Summary: "not told: " + strings.Join(unknown, "; ")}
	}
	var policies []string
	for _, r := range obs.Realms {
		policies = append(policies, fmt.Sprintf("%s %q", r.Realm, r.Policy))
	}
	u := obs.Users[0]
	return verdict(true, "%d users of %d realms (%s): %s, %d iterations, %d-byte salts all different, every hash recomputed equal",
		len(obs.Users), len(obs.Realms), strings.Join(policies, ", "), u.Algorithm, u.Iterations, u.SaltBytes)
}

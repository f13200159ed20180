package checkers

import (
	"fmt"

	"dpsim/reports"
	"slices"
	"strings"
	"time"
)

// TLSObservation is what a TLS probe of an endpoint saw.
type TLSObservation struct {
	Address string `json:"address"`
	// Accepted lists the protocol versions ("1.0" ... "1.3") whose handshake succeeded.
	Accepted []string `json:"accepted"`
	// KeyType is the certificate's public key type ("ECDSA", "RSA", "Ed25519"); Curve its curve.
	KeyType  string        `json:"keyType"`
	Curve    string        `json:"curve"`
	Lifetime time.Duration `json:"lifetime"`
	// Errors are the handshakes that neither succeeded nor were refused by the server (a timeout, a
	// reset): what they would have shown is unknown.
	Errors []string `json:"errors,omitempty"`
}

// TLSPosture checks that exactly the claimed versions are accepted and that the certificate is ECDSA
// on the claimed curve with a lifetime of at most maxLifetime.
func TLSPosture(obs TLSObservation, versions []string, curve string, maxLifetime time.Duration) Verdict {
	var problems []string
	accepted := slices.Sorted(slices.Values(obs.Accepted))
	want := slices.Sorted(slices.Values(versions))
	if !slices.Equal(accepted, want) {
		problems = append(problems, fmt.Sprintf("accepts TLS %s, claimed exactly %s", orNone(accepted), strings.Join(want, ", ")))
	}
	if obs.KeyType != "ECDSA" || obs.Curve != curve {
		problems = append(problems, fmt.Sprintf("certificate key %s %s, claimed ECDSA %s", obs.KeyType, obs.Curve, curve))
	}
	if obs.Lifetime > maxLifetime {
		problems = append(problems, fmt.Sprintf("certificate lives %s, claimed at most %s", days(obs.Lifetime), days(maxLifetime)))
	}
	if len(problems) > 0 {
		return verdict(false, "%s", strings.Join(problems, "; "))
	}
	if len(obs.Errors) > 0 {
		return Verdict{Status: reports.Error, Summary: "handshakes neither accepted nor refused: " + strings.Join(obs.Errors, "; ")}
	}
	return verdict(true, "accepts TLS %s only; certificate ECDSA %s living %s", strings.Join(accepted, ", "), obs.Curve, days(obs.Lifetime))
}

func orNone(v []string) string {
	if len(v) == 0 {
		return "no version"
	}
	return strings.Join(v, ", ")
}

func days(d time.Duration) string {
	return fmt.Sprintf("%g days", d.Hours()/24)
}

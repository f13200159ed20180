package controls

import (
	"dpsim/claims"
	"dpsim/reports"
)

// claimsRead are the claims each control is judged against, by control.
var claimsRead = map[string][]string{
	"DP-DUR-1":  {"minNodesPerComponent"},
	"DP-DUR-2":  {"minCopies", "minCopiesAt"},
	"DP-DUR-3":  {"maxLostOnNodeLoss", "maxRecovery"},
	"DP-DUR-4":  {"maxLostOnDriveLoss", "maxRecovery"},
	"DP-DUR-5":  {"maxLostOnZoneLoss"},
	"DP-BAK-1":  {"backupInterval"},
	"DP-BAK-2":  {},
	"DP-BAK-3":  {"backupRetention"},
	"DP-BAK-4":  {},
	"DP-OFF-1":  {},
	"DP-NET-1":  {"exposedPorts"},
	"DP-NET-2":  {"tlsVersions", "tlsCipherSuites", "tlsCurves", "certCurve", "maxCertLifetime"},
	"DP-NET-3":  {"tenantIsolation"},
	"DP-AUTH-1": {"authProtocol"},
	"DP-AUTH-2": {"hashAlgorithm", "hashIterations"},
	"DP-ENC-1":  {},
}

// claimEvidence is an error for each claim of control id that dpsim cannot judge (an unknown
// protocol, a negative bound): no control passes against such a claim.
func claimEvidence(c claims.Claims, id string) []reports.Evidence {
	var out []reports.Evidence
	for _, key := range claimsRead[id] {
		if p := c.Problem(key); p != "" {
			out = append(out, reports.Evidence{Scenario: "claims", Check: key, Status: reports.Error,
				Summary: "a claim dpsim cannot judge: " + key + " " + p})
		}
	}
	return out
}

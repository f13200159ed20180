package checkers

import (
	"fmt"
	"strings"

	"dpsim/reports"
	"dpsim/topology"
)

// AtRest judges a raw scan of the volumes' storage (DP-ENC-1): every store had markers
// acknowledged and none of them is found in plaintext. A scan that read nothing, or a store with
// no marker written, proves nothing (error).
func AtRest(obs topology.AtRest) Verdict {
	if len(obs.Stores) == 0 {
		return Verdict{Status: reports.Error, Summary: "no store wrote markers to look for"}
	}
	if obs.BytesScanned == 0 {
		return Verdict{Status: reports.Error, Summary: "the scan of " + obs.Storage + " read nothing"}
	}
	var found, unwritten, counts []string
	written := 0
	for _, s := range obs.Stores {
		name := s.Tenant + "/" + s.Store
		written += s.Written
		if s.Written == 0 {
			unwritten = append(unwritten, name)
		}
		if s.Found > 0 {
			found = append(found, fmt.Sprintf("%s: %d of %d markers in plaintext (%d occurrences)", name, s.Found, s.Written, s.Instances))
		}
		counts = append(counts, fmt.Sprintf("%s %d", name, s.Written))
	}
	if len(found) > 0 {
		return verdict(false, "%s (%s, %d bytes scanned in %s)", strings.Join(found, "; "), obs.Encryption, obs.BytesScanned, obs.Storage)
	}
	if len(unwritten) > 0 {
		return Verdict{Status: reports.Error, Summary: "no marker acknowledged by " + strings.Join(unwritten, ", ") + ": nothing to look for"}
	}
	return verdict(true, "none of %d markers (%s) in plaintext in %d bytes of %s (%s)", written, strings.Join(counts, ", "),
		obs.BytesScanned, obs.Storage, obs.Encryption)
}

package checkers

import (
	"fmt"
	"strings"

	"dpsim/reports"
	"dpsim/topology"
)

// AtRest judges a raw scan of the volumes' storage (DP-ENC-1): the kernel reports every volume
// encrypted, every store had markers acknowledged and none of them is found in plaintext, and the
// canaries written in plaintext on purpose on the same storage are all found by the same scan.
// What the platform did is judged first (fail); a scan that read nothing, missed a canary (it is
// blind), named no volume, or a store with no marker written, proves nothing (error).
func AtRest(obs topology.AtRest) Verdict {
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
	var plainVolumes []string
	for _, v := range obs.Volumes {
		if !v.Encrypted {
			plainVolumes = append(plainVolumes, v.Node+":"+v.Path)
		}
	}
	if len(plainVolumes) > 0 {
		found = append(found, fmt.Sprintf("the kernel reports %d of %d volumes unencrypted: %s", len(plainVolumes), len(obs.Volumes), strings.Join(sample(plainVolumes), ", ")))
	}
	if len(found) > 0 {
		return verdict(false, "%s (%s, %d bytes scanned in %s)", strings.Join(found, "; "), obs.Encryption, obs.BytesScanned, obs.Storage)
	}
	if why := atRestUnproven(obs, unwritten); why != "" {
		return Verdict{Status: reports.Error, Summary: why}
	}
	return verdict(true, "none of %d markers (%s) in plaintext in %d bytes of %s (%s); the kernel reports all %d volumes encrypted; the same scan found all %d canaries written in plaintext to %s",
		written, strings.Join(counts, ", "), obs.BytesScanned, obs.Storage, obs.Encryption, len(obs.Volumes), obs.Canary.Written, obs.Canary.Where)
}

// atRestUnproven says why a scan that found nothing proves nothing ("" when it proves something).
func atRestUnproven(obs topology.AtRest, unwritten []string) string {
	c := obs.Canary
	switch {
	case len(obs.Stores) == 0:
		return "no store wrote markers to look for"
	case obs.BytesScanned == 0:
		return "the scan of " + obs.Storage + " read nothing"
	case c.Written == 0:
		return "no plaintext canary was written where the scan reads: nothing shows it would see plaintext"
	case c.Found < c.Written:
		return fmt.Sprintf("the scan is blind: it found %d of %d canaries written in plaintext to %s (%d bytes of %s read)", c.Found, c.Written, c.Where, obs.BytesScanned, obs.Storage)
	case len(obs.Volumes) == 0:
		return "the kernel was asked about no volume: nothing says the volumes are encrypted"
	case len(unwritten) > 0:
		return "no marker acknowledged by " + strings.Join(unwritten, ", ") + ": nothing to look for"
	}
	return ""
}

// Package checkers judges what a run saw. Every checker is a pure function of the recorded history,
// the final read and the claims, so it can be re-run on saved data and shown to fail on a system
// that misbehaves.
package checkers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"dpsim/reports"
	"dpsim/scenarios/history"
	"dpsim/topology"
)

// Verdict is a checker's judgement with a one-line summary of the evidence.
type Verdict struct {
	Status  reports.Status
	Summary string
}

func verdict(ok bool, format string, args ...any) Verdict {
	s := reports.Pass
	if !ok {
		s = reports.Fail
	}
	return Verdict{Status: s, Summary: fmt.Sprintf(format, args...)}
}

// sampleSize bounds the identities a ledger lists for each of lost and unexpected.
const sampleSize = 20

// Ledger is the set checker: it compares the identities in the history with those in the final
// read, and each value read with the one written. It fails when more than maxLost acknowledged writes
// are absent, when anything was read that was never attempted, when a definite failure is present
// (failedPresent: the client misclassified the answer or the store lied) or when a record is present
// with another value (corrupt). With no acknowledged write there is nothing to judge: error.
func Ledger(ops []history.Op, read topology.ReadBack, maxLost int) (reports.Ledger, Verdict) {
	l := reports.Ledger{Unreadable: read.Unreadable}
	type written struct {
		outcome history.Outcome
		hash    string
	}
	byID := map[string]written{}
	for _, op := range ops {
		l.Attempted++
		switch op.Outcome {
		case history.OK:
			l.Acknowledged++
		case history.Failed:
			l.Failed++
		default:
			l.Unknown++
		}
		// An id written twice counts as acknowledged if any attempt was, as unknown if any was.
		if prev, seen := byID[op.ID]; !seen || rank(op.Outcome) > rank(prev.outcome) {
			byID[op.ID] = written{op.Outcome, op.Hash}
		}
	}
	readCount := map[string]int{}
	var corrupt []string
	for _, r := range read.Records {
		readCount[r.ID]++
		if w, ok := byID[r.ID]; ok && w.hash != "" && r.Hash != w.hash && readCount[r.ID] == 1 {
			corrupt = append(corrupt, r.ID)
		}
	}
	var lost, unexpected, failedPresent []string
	for id, w := range byID {
		n := readCount[id]
		switch {
		case w.outcome == history.OK && n == 0:
			lost = append(lost, id)
		case w.outcome == history.Unknown && n > 0:
			l.Recovered++
		case w.outcome == history.Failed && n > 0:
			failedPresent = append(failedPresent, id)
		}
	}
	for id, n := range readCount {
		if _, attempted := byID[id]; !attempted {
			unexpected = append(unexpected, id)
		}
		if n > 1 {
			l.Duplicated++
		}
	}
	for _, ids := range [][]string{lost, unexpected, failedPresent, corrupt} {
		sort.Strings(ids)
	}
	l.Lost, l.Unexpected, l.FailedPresent, l.Corrupt = len(lost), len(unexpected), len(failedPresent), len(corrupt)
	l.LostIDs, l.UnexpectedIDs, l.FailedPresentIDs, l.CorruptIDs = sample(lost), sample(unexpected), sample(failedPresent), sample(corrupt)
	l.FailedPresentAnswers = firstAnswerPerPart(ops, failedPresent, func(op history.Op) string { return op.Err })
	summary := fmt.Sprintf("%d acknowledged of %d attempted; %d lost (at most %d allowed), %d unexpected, %d failed but present, %d corrupt, %d duplicated, %d recovered",
		l.Acknowledged, l.Attempted, l.Lost, maxLost, l.Unexpected, l.FailedPresent, l.Corrupt, l.Duplicated, l.Recovered)
	if len(read.Unreadable) > 0 {
		summary += "; unreadable: " + strings.Join(sample(read.Unreadable), "; ")
	}
	if len(l.FailedPresentAnswers) > 0 {
		summary += "; the store's answers to the failed but present: " + strings.Join(l.FailedPresentAnswers, "; ")
	}
	if l.Acknowledged == 0 {
		return l, Verdict{Status: reports.Error, Summary: "no write was acknowledged, so no loss can be judged: " + summary}
	}
	return l, verdict(l.Lost <= maxLost && l.Unexpected == 0 && l.FailedPresent == 0 && l.Corrupt == 0, "%s", summary)
}

// rank orders outcomes by what they say about an id: acknowledged beats unknown beats failed.
func rank(o history.Outcome) int {
	switch o {
	case history.OK:
		return 2
	case history.Unknown:
		return 1
	}
	return 0
}

func sample(ids []string) []string {
	if len(ids) > sampleSize {
		return ids[:sampleSize]
	}
	return ids
}

// Placement checks that every acknowledged record is stored on at least rule.MinCopies distinct
// nodes and survives the loss of MinCopies-1 of them. An acknowledged record the store reports no
// location for is short of copies too (fail closed); with no acknowledged record there is nothing to
// judge. Under the promise as made (AtAcknowledgement), a record the store acknowledged with fewer
// than MinCopies copies fails too: until its copies were made, one more fault would have lost it;
// the summary gives the store's own answer to the first such record of each part. Records whose
// acknowledgement told no count are named; if none told one, copies at acknowledgement are not
// judged and the verdict is error.
func Placement(ops []history.Op, placements []topology.Placement, rule PlacementRule) Verdict {
	acks := CountAckCopies(ops, rule.MinCopies, rule.TellsCopies)
	if acks.Acknowledged == 0 {
		return Verdict{Status: reports.Error, Summary: "no acknowledged record to inspect"}
	}
	acked := map[string]bool{}
	for _, op := range ops {
		if op.Outcome == history.OK {
			acked[op.ID] = true
		}
	}
	located := map[string]topology.Placement{}
	for _, p := range placements {
		if acked[p.ID] {
			located[p.ID] = p
		}
	}
	var short, nowhere []string
	fewest := -1
	for id := range acked {
		p, ok := located[id]
		if !ok {
			nowhere = append(nowhere, id)
			fewest = 0
			continue
		}
		nodes := distinct(p.Nodes)
		if fewest < 0 || nodes < fewest {
			fewest = nodes
		}
		if nodes < rule.MinCopies || p.Tolerates < rule.MinCopies-1 {
			short = append(short, id)
		}
	}
	sort.Strings(short)
	sort.Strings(nowhere)
	summary := fmt.Sprintf("%d acknowledged records inspected; %d on fewer than %d distinct nodes (fewest: %d)%s",
		len(acked), len(short)+len(nowhere), rule.MinCopies, fewest, listed(short))
	if len(nowhere) > 0 {
		summary += fmt.Sprintf("; %d with no location reported by the store%s", len(nowhere), listed(nowhere))
	}
	ok := len(short) == 0 && len(nowhere) == 0
	summary += ackSummary(acks, rule)
	if rule.AtAcknowledgement {
		ok = ok && len(acks.Thin) == 0
		if ok && rule.TellsCopies && len(acks.Untold) == acks.Acknowledged {
			return Verdict{Status: reports.Error, Summary: "copies at acknowledgement not observed for any record: " + summary}
		}
	}
	return verdict(ok, "%s", summary)
}

// ackSummary says what the acknowledgements told about copies, and under which promise.
func ackSummary(a AckCopies, rule PlacementRule) string {
	if !rule.TellsCopies {
		return "; the store's acknowledgements tell no copy count (judged by placement now)"
	}
	s := fmt.Sprintf("; %d acknowledged while the store had fewer than %d copies%s", len(a.Thin), rule.MinCopies, listed(a.Thin))
	if len(a.Answers) > 0 {
		s += " (the store's answers: " + strings.Join(a.Answers, "; ") + ")"
	}
	if len(a.Untold) > 0 {
		s += fmt.Sprintf("; %d acknowledged with no copy count told%s", len(a.Untold), listed(a.Untold))
	}
	if !rule.AtAcknowledgement {
		s += "; copies judged once settled (claims: minCopiesAt settled), not at acknowledgement"
	}
	return s
}

func distinct(nodes []string) int {
	set := map[string]bool{}
	for _, n := range nodes {
		set[n] = true
	}
	return len(set)
}

func listed(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return " e.g. " + strings.Join(sample(ids)[:min(len(ids), 3)], ", ")
}

// Topology checks that every data component runs its members on at least minNodes distinct nodes.
// A member with no node (a pod not scheduled: Pending) runs nowhere: it is no node, and the summary
// names it.
func Topology(components []topology.Component, minNodes int) Verdict {
	if len(components) == 0 {
		return Verdict{Status: reports.Error, Summary: "no data component found"}
	}
	var parts, short []string
	for _, c := range components {
		nodes := map[string]bool{}
		var apart []string
		for _, m := range c.Members {
			switch {
			case m.Node == "":
				apart = append(apart, fmt.Sprintf(" (%s on no node)", m.Name))
			case m.MetadataOnly:
				apart = append(apart, fmt.Sprintf(" (its metadata only on %s at %s, one process)", m.Name, m.Node))
			default:
				nodes[m.Node] = true
			}
		}
		name := c.Name
		if c.Tenant != "" {
			name = c.Tenant + "/" + c.Name
		}
		parts = append(parts, fmt.Sprintf("%s on %d nodes%s", name, len(nodes), strings.Join(apart, "")))
		if len(nodes) < minNodes {
			short = append(short, name)
		}
	}
	summary := strings.Join(parts, ", ")
	if len(short) > 0 {
		summary = fmt.Sprintf("on fewer than %d nodes: %s (%s)", minNodes, strings.Join(short, ", "), summary)
	}
	return verdict(len(short) == 0, "%s", summary)
}

// RecoveryResult is how a store fared across one fault.
type RecoveryResult struct {
	// Seconds from the fault's start to the first acknowledged write at or after it; -1 if none.
	Seconds float64
	// LongestGapSeconds is the longest stretch between acknowledged writes (or from the fault start
	// to the first one) while writes were being tried, from the fault's start on.
	LongestGapSeconds float64
}

// AckRate is the rate of writes acknowledged between from and to: those invoked and finished within
// it, per second of it (0 for an empty span).
func AckRate(ops []history.Op, from, to time.Time) float64 {
	span := to.Sub(from).Seconds()
	if span <= 0 {
		return 0
	}
	n := 0
	for _, op := range ops {
		if op.Outcome == history.OK && !op.Invoked.Before(from) && !op.Finished.After(to) {
			n++
		}
	}
	return float64(n) / span
}

// AckRateByPart is AckRate per partition or shard (the part each acknowledged write went to);
// writes whose store named no part are left out, and nil is returned when none named one.
func AckRateByPart(ops []history.Op, from, to time.Time) map[string]float64 {
	span := to.Sub(from).Seconds()
	if span <= 0 {
		return nil
	}
	var out map[string]float64
	for _, op := range ops {
		if op.Outcome == history.OK && op.Part != "" && !op.Invoked.Before(from) && !op.Finished.After(to) {
			if out == nil {
				out = map[string]float64{}
			}
			out[op.Part] += 1 / span
		}
	}
	return out
}

// Recovery measures availability around a fault and fails when no write was acknowledged after the
// fault ended (the store never came back) or when recovery took longer than maxRecovery (0: not
// judged). The longest gap counts only time in which some write was being tried: the pause while
// the platform settles, with no write outstanding, is not unavailability.
func Recovery(ops []history.Op, faultStart, faultEnd time.Time, maxRecovery time.Duration) (RecoveryResult, Verdict) {
	res := RecoveryResult{Seconds: -1}
	var acks []time.Time
	var tried []span
	ackedAfterEnd := false
	for _, op := range ops {
		if op.Invoked.Before(faultStart) {
			continue
		}
		tried = append(tried, span{op.Invoked, op.Finished})
		if op.Outcome != history.OK {
			continue
		}
		acks = append(acks, op.Finished)
		if !op.Invoked.Before(faultEnd) {
			ackedAfterEnd = true
		}
	}
	sort.Slice(acks, func(i, j int) bool { return acks[i].Before(acks[j]) })
	busy := merge(tried)
	last := faultStart
	for _, at := range acks {
		if res.Seconds < 0 {
			res.Seconds = at.Sub(faultStart).Seconds()
		}
		if gap := busyWithin(busy, last, at).Seconds(); gap > res.LongestGapSeconds {
			res.LongestGapSeconds = gap
		}
		last = at
	}
	switch {
	case !ackedAfterEnd:
		return res, Verdict{Status: reports.Fail, Summary: "no write acknowledged after the fault ended: the store did not recover"}
	case maxRecovery > 0 && res.Seconds > maxRecovery.Seconds():
		return res, verdict(false, "first acknowledged write %.1fs after the fault, more than the %s allowed", res.Seconds, maxRecovery)
	}
	return res, verdict(true, "first acknowledged write %.3fs after the fault; longest gap %.3fs",
		res.Seconds, res.LongestGapSeconds)
}

// span is a stretch of time.
type span struct{ from, to time.Time }

// merge sorts spans and joins the overlapping ones.
func merge(spans []span) []span {
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	var out []span
	for _, s := range spans {
		if n := len(out); n > 0 && !s.from.After(out[n-1].to) {
			if s.to.After(out[n-1].to) {
				out[n-1].to = s.to
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// busyWithin is how much of (from, to) the merged spans cover.
func busyWithin(merged []span, from, to time.Time) time.Duration {
	var d time.Duration
	for _, s := range merged {
		if !s.to.After(from) {
			continue
		}
		if !s.from.Before(to) {
			break
		}
		start, end := s.from, s.to
		if start.Before(from) {
			start = from
		}
		if end.After(to) {
			end = to
		}
		d += end.Sub(start)
	}
	return d
}

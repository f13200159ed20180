package checkers

import (
	"cmp"
	"fmt"
	"sort"

	"dpsim/reports"
	"dpsim/scenarios/history"
)

// AckCopies is what the acknowledgements of one store said about copies: the records acknowledged
// while the store had fewer than the promised copies (thin), those whose acknowledgement told no
// count (untold), and the store's own answer for the first of each per part.
type AckCopies struct {
	Acknowledged int
	Thin         []string
	Untold       []string
	// Answers is the store's answer to the first thin acknowledgement of each part ("part 1:
	// during-0000338: shards 1/2, 1 copies failed").
	Answers []string
}

// CountAckCopies sorts the acknowledged ops by the copies their acknowledgement told (Ack.Copies:
// Elasticsearch's _shards.successful, the in-sync replicas Kafka's brokers listed around the write,
// HDFS's block locations right after the close). tellsCopies says whether the store's
// acknowledgements tell a count at all (an erasure-coded object store's do not).
func CountAckCopies(ops []history.Op, minCopies int, tellsCopies bool) AckCopies {
	var a AckCopies
	for _, op := range ops {
		if op.Outcome != history.OK {
			continue
		}
		a.Acknowledged++
		switch {
		case !tellsCopies:
		case op.Ack.Copies == 0:
			a.Untold = append(a.Untold, op.ID)
		case op.Ack.Copies < minCopies:
			a.Thin = append(a.Thin, op.ID)
		}
	}
	a.Answers = firstAnswerPerPart(ops, a.Thin, func(op history.Op) string { return op.Detail })
	sort.Strings(a.Thin)
	sort.Strings(a.Untold)
	return a
}

// firstAnswerPerPart gives, for each part, the answer (as answer reads it) to the first of ids (by
// invocation) that went there.
func firstAnswerPerPart(ops []history.Op, ids []string, answer func(history.Op) string) []string {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	first := map[string]string{}
	for _, op := range ops {
		if !want[op.ID] {
			continue
		}
		if _, seen := first[op.Part]; !seen {
			first[op.Part] = fmt.Sprintf("%s: %s", op.ID, cmp.Or(answer(op), "(no answer text)"))
		}
	}
	out := make([]string, 0, len(first))
	for part, a := range first {
		out = append(out, fmt.Sprintf("part %s: %s", cmp.Or(part, "?"), a))
	}
	sort.Strings(out)
	return out
}

// Into adds the thin acknowledgements to a store's ledger, for the report.
func (a AckCopies) Into(l *reports.Ledger) {
	l.ThinAcknowledged, l.ThinIDs, l.ThinAnswers = len(a.Thin), sample(a.Thin), a.Answers
}

// PlacementRule is what DP-DUR-2 promises: MinCopies distinct nodes per acknowledged record, from
// the moment it is acknowledged (AtAcknowledgement) or only once the platform has settled.
type PlacementRule struct {
	MinCopies         int
	AtAcknowledgement bool
	// TellsCopies: the store's acknowledgements tell how many copies a record had (see CountAckCopies).
	TellsCopies bool
}

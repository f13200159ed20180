package checkers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"dpsim/reports"
	"dpsim/scenarios/history"
	"dpsim/topology"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ops builds a history: one op per outcome letter (o ok, f failed, u unknown), 1 s apart.
func ops(outcomes string) []history.Op {
	var out []history.Op
	for i, c := range outcomes {
		o := map[rune]history.Outcome{'o': history.OK, 'f': history.Failed, 'u': history.Unknown}[c]
		at := t0.Add(time.Duration(i) * time.Second)
		id := fmt.Sprintf("id-%d", i)
		out = append(out, history.Op{ID: id, Outcome: o, Invoked: at, Finished: at.Add(time.Millisecond), Hash: "h-" + id})
	}
	return out
}

// readBack is a final read of ids, each with the value its write asked for ("h-"+id) unless the id
// is written "id=hash".
func readBack(ids ...string) topology.ReadBack {
	var rb topology.ReadBack
	for _, id := range ids {
		id, hash, ok := strings.Cut(id, "=")
		if !ok {
			hash = "h-" + id
		}
		rb.Records = append(rb.Records, topology.Record{ID: id, Hash: hash})
	}
	return rb
}

func TestLedger(t *testing.T) {
	tests := []struct {
		name     string
		outcomes string
		read     []string
		maxLost  int
		want     reports.Status
		check    func(l reports.Ledger) bool
	}{
		{"all acknowledged read back", "ooo", []string{"id-0", "id-1", "id-2"}, 0, reports.Pass,
			func(l reports.Ledger) bool { return l.Acknowledged == 3 && l.Lost == 0 }},
		{"acknowledged write dropped", "ooo", []string{"id-0", "id-2"}, 0, reports.Fail,
			func(l reports.Ledger) bool { return l.Lost == 1 && l.LostIDs[0] == "id-1" }},
		{"loss within the claim", "ooo", []string{"id-0", "id-2"}, 1, reports.Pass,
			func(l reports.Ledger) bool { return l.Lost == 1 }},
		{"read back something never written", "oo", []string{"id-0", "id-1", "ghost"}, 0, reports.Fail,
			func(l reports.Ledger) bool { return l.Unexpected == 1 && l.UnexpectedIDs[0] == "ghost" }},
		{"failed and unknown writes absent are fine", "ofu", []string{"id-0"}, 0, reports.Pass,
			func(l reports.Ledger) bool { return l.Failed == 1 && l.Unknown == 1 && l.Recovered == 0 }},
		{"a definite failure that is present fails", "of", []string{"id-0", "id-1"}, 0, reports.Fail,
			func(l reports.Ledger) bool {
				return l.FailedPresent == 1 && l.FailedPresentIDs[0] == "id-1" && l.Recovered == 0
			}},
		{"a record with another value is corrupt", "oo", []string{"id-0", "id-1=garbled"}, 0, reports.Fail,
			func(l reports.Ledger) bool { return l.Corrupt == 1 && l.CorruptIDs[0] == "id-1" && l.Lost == 0 }},
		{"no acknowledged write is an error", "ffu", []string{}, 0, reports.Error,
			func(l reports.Ledger) bool { return l.Acknowledged == 0 }},
		{"nothing attempted is an error", "", []string{}, 0, reports.Error,
			func(l reports.Ledger) bool { return l.Attempted == 0 }},
		{"unknown write present is recovered", "ou", []string{"id-0", "id-1"}, 0, reports.Pass,
			func(l reports.Ledger) bool { return l.Recovered == 1 }},
		{"duplicates counted", "oo", []string{"id-0", "id-1", "id-1"}, 0, reports.Pass,
			func(l reports.Ledger) bool { return l.Duplicated == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, v := Ledger(ops(tt.outcomes), readBack(tt.read...), tt.maxLost)
			if v.Status != tt.want || !tt.check(l) {
				t.Fatalf("got %s (%s), ledger %+v", v.Status, v.Summary, l)
			}
		})
	}
}

func TestPlacement(t *testing.T) {
	hist := ops("oof") // id-0, id-1 acknowledged; id-2 failed
	tests := []struct {
		name      string
		placement []topology.Placement
		want      reports.Status
	}{
		{"every record on two nodes", []topology.Placement{
			{ID: "id-0", Nodes: []string{"n1", "n2"}, Tolerates: 1}, {ID: "id-1", Nodes: []string{"n2", "n3"}, Tolerates: 1}}, reports.Pass},
		{"one record on one node", []topology.Placement{
			{ID: "id-0", Nodes: []string{"n1", "n2"}, Tolerates: 1}, {ID: "id-1", Nodes: []string{"n3"}}}, reports.Fail},
		{"two copies on the same node", []topology.Placement{
			{ID: "id-0", Nodes: []string{"n1", "n1"}, Tolerates: 1}, {ID: "id-1", Nodes: []string{"n2", "n3"}, Tolerates: 1}}, reports.Fail},
		{"shards on two nodes that cannot lose one", []topology.Placement{
			{ID: "id-0", Nodes: []string{"n1", "n2"}, Tolerates: 0}, {ID: "id-1", Nodes: []string{"n2", "n3"}, Tolerates: 1}}, reports.Fail},
		{"unacknowledged records are not judged", []topology.Placement{
			{ID: "id-0", Nodes: []string{"n1", "n2"}, Tolerates: 1}, {ID: "id-1", Nodes: []string{"n2", "n3"}, Tolerates: 1},
			{ID: "id-2", Nodes: []string{"n1"}}}, reports.Pass},
		{"an acknowledged record with no location", []topology.Placement{
			{ID: "id-0", Nodes: []string{"n1", "n2"}, Tolerates: 1}}, reports.Fail},
		{"the store reports nothing", nil, reports.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v := Placement(hist, tt.placement, untoldRule); v.Status != tt.want {
				t.Fatalf("got %s (%s), want %s", v.Status, v.Summary, tt.want)
			}
		})
	}
	if v := Placement(ops("fu"), nil, untoldRule); v.Status != reports.Error {
		t.Errorf("no acknowledged record: %s (%s), want error", v.Status, v.Summary)
	}
}

// untoldRule is DP-DUR-2 for a store whose acknowledgements tell no copy count.
var untoldRule = PlacementRule{MinCopies: 2, AtAcknowledgement: true}

func TestPlacementAtAcknowledgement(t *testing.T) {
	two := []topology.Placement{{ID: "id-0", Nodes: []string{"n1", "n2"}, Tolerates: 1}, {ID: "id-1", Nodes: []string{"n2", "n3"}, Tolerates: 1}}
	promise := PlacementRule{MinCopies: 2, AtAcknowledgement: true, TellsCopies: true}
	told := func(copies ...int) []history.Op {
		h := ops("oo")
		for i, c := range copies {
			h[i].Ack.Copies, h[i].Part, h[i].Detail = c, "1", fmt.Sprintf("shards %d/2", c)
		}
		return h
	}
	if v := Placement(told(2, 2), two, promise); v.Status != reports.Pass {
		t.Errorf("both acknowledged with two copies: %s (%s), want pass", v.Status, v.Summary)
	}
	// The weakened platform: acknowledged with one copy, on two nodes once settled.
	v := Placement(told(2, 1), two, promise)
	if v.Status != reports.Fail || !strings.Contains(v.Summary, "1 acknowledged while the store had fewer than 2 copies e.g. id-1") ||
		!strings.Contains(v.Summary, "part 1: id-1: shards 1/2") {
		t.Errorf("a record acknowledged with one copy: %s (%s), want fail naming it with the store's answer", v.Status, v.Summary)
	}
	settled := promise
	settled.AtAcknowledgement = false
	if v := Placement(told(2, 1), two, settled); v.Status != reports.Pass || !strings.Contains(v.Summary, "minCopiesAt settled") {
		t.Errorf("the weaker claim, copies once settled: %s (%s), want pass saying which claim", v.Status, v.Summary)
	}
	if v := Placement(told(2, 1), two[:1], settled); v.Status != reports.Fail {
		t.Errorf("the weaker claim, a record on one node now: %s (%s), want fail", v.Status, v.Summary)
	}
	if v := Placement(told(0, 0), two, promise); v.Status != reports.Error {
		t.Errorf("no acknowledgement told its copies: %s (%s), want error", v.Status, v.Summary)
	}
	if v := Placement(told(2, 0), two, promise); v.Status != reports.Pass || !strings.Contains(v.Summary, "1 acknowledged with no copy count told") {
		t.Errorf("one acknowledgement told no count: %s (%s), want pass naming it", v.Status, v.Summary)
	}
}

func TestLedgerNamesUnreadableParts(t *testing.T) {
	rb := readBack("id-0")
	rb.Unreadable = []string{"shard 1: no active copy"}
	l, v := Ledger(ops("oo"), rb, 0)
	if v.Status != reports.Fail || l.Lost != 1 || !strings.Contains(v.Summary, "shard 1: no active copy") {
		t.Fatalf("got %s (%s), ledger %+v: want the record on the unreadable shard lost and the shard named", v.Status, v.Summary, l)
	}
}

// withMetadata adds a metadata-only member (a namenode) on node to c.
func withMetadata(c topology.Component, node string) topology.Component {
	c.Members = append(c.Members, topology.Member{Name: "namenode", Node: node, MetadataOnly: true})
	return c
}

func TestTopology(t *testing.T) {
	comp := func(nodes ...string) topology.Component {
		c := topology.Component{Tenant: "t", Name: "kafka"}
		for i, n := range nodes {
			c.Members = append(c.Members, topology.Member{Name: fmt.Sprint(i), Node: n})
		}
		return c
	}
	tests := []struct {
		name  string
		comps []topology.Component
		want  reports.Status
	}{
		{"three nodes", []topology.Component{comp("a", "b", "c")}, reports.Pass},
		{"three members on two nodes", []topology.Component{comp("a", "b", "b")}, reports.Fail},
		{"one component short", []topology.Component{comp("a", "b", "c"), comp("a", "b")}, reports.Fail},
		{"no components", nil, reports.Error},
		{"a metadata member's node does not count", []topology.Component{withMetadata(comp("a", "b"), "c")}, reports.Fail},
		{"three data nodes and a metadata member", []topology.Component{withMetadata(comp("a", "b", "c"), "a")}, reports.Pass},
		{"two nodes and a member on no node (Pending)", []topology.Component{comp("a", "b", "")}, reports.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v := Topology(tt.comps, 3); v.Status != tt.want {
				t.Fatalf("got %s (%s), want %s", v.Status, v.Summary, tt.want)
			}
		})
	}
}

func TestTopologyNamesTheMemberOnNoNode(t *testing.T) {
	c := topology.Component{Tenant: "t", Name: "kafka", Members: []topology.Member{
		{Name: "kafka-0", Node: "a"}, {Name: "kafka-1", Node: "b"}, {Name: "kafka-2"}}}
	v := Topology([]topology.Component{c}, 3)
	if v.Status != reports.Fail || !strings.Contains(v.Summary, "t/kafka on 2 nodes (kafka-2 on no node)") {
		t.Fatalf("got %s (%s), want fail naming kafka-2 on no node", v.Status, v.Summary)
	}
}

func TestRecovery(t *testing.T) {
	// fault from t0+2s to t0+5s
	start, end := t0.Add(2*time.Second), t0.Add(5*time.Second)
	tests := []struct {
		name     string
		outcomes string
		max      time.Duration
		want     reports.Status
		seconds  float64
	}{
		{"recovers at once", "oooooooo", 0, reports.Pass, 0.001},
		{"unavailable during the fault, back after", "ooffffoo", 0, reports.Pass, 4.001},
		{"never back after the fault", "ooffffff", 0, reports.Fail, -1},
		{"slower than claimed", "ooffffoo", 2 * time.Second, reports.Fail, 4.001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, v := Recovery(ops(tt.outcomes), start, end, tt.max)
			if v.Status != tt.want || (res.Seconds-tt.seconds) > 1e-6 || (tt.seconds-res.Seconds) > 1e-6 {
				t.Fatalf("got %s (%s) after %.3fs, want %s after %.3fs", v.Status, v.Summary, res.Seconds, tt.want, tt.seconds)
			}
		})
	}
}

func TestAckRate(t *testing.T) {
	// Writes 1 s apart; the span from t0+2s to t0+5s holds three acknowledged writes, the one
	// refused at t0+3s does not count.
	if got := AckRate(ops("oooooooo"), t0.Add(2*time.Second), t0.Add(5*time.Second)); got != 1 {
		t.Errorf("%.2f acknowledged/s, want 1", got)
	}
	if got := AckRate(ops("ooofoooo"), t0.Add(2*time.Second), t0.Add(5*time.Second)); got != 2.0/3 {
		t.Errorf("%.2f acknowledged/s with one refused, want 0.67", got)
	}
	if got := AckRate(ops("oooo"), t0, t0); got != 0 {
		t.Errorf("%.2f acknowledged/s over an empty span, want 0", got)
	}
}

// goodTLSTarget is a host as promised: TLS 1.2 and 1.3, the AEAD suites, three curves, a 90-day
// P-384 certificate chained to the platform's CA, HSTS.
func goodTLSTarget(host string) reports.TLSTarget {
	offers := func(acc []string, refused ...string) []reports.TLSOffer {
		var out []reports.TLSOffer
		for _, a := range acc {
			out = append(out, reports.TLSOffer{Offered: a, Result: reports.OfferAccepted})
		}
		for _, r := range refused {
			out = append(out, reports.TLSOffer{Offered: r, Result: reports.OfferRefused, Detail: "remote error: tls: handshake failure"})
		}
		return out
	}
	return reports.TLSTarget{Host: host,
		Versions:    offers([]string{"1.2", "1.3"}, "1.0", "1.1"),
		Suites:      offers([]string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
		Curves:      offers([]string{"P-384", "X25519"}, "P-521", "X25519MLKEM768"),
		Certificate: &reports.TLSCertificate{KeyType: "ECDSA", Curve: "P-384", LifetimeHours: 2160},
		HSTS:        "max-age=31536000; includeSubDomains"}
}

func TestTLSPosture(t *testing.T) {
	claim := TLSClaim{Versions: []string{"1.2", "1.3"}, Suites: []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
		Curves: []string{"X25519", "P-256", "P-384"}, CertCurve: "P-384", MaxLifetime: 90 * 24 * time.Hour}
	accept := func(offers []reports.TLSOffer, name string) {
		for i := range offers {
			if offers[i].Offered == name {
				offers[i].Result = reports.OfferAccepted
			}
		}
	}
	tests := []struct {
		name   string
		mutate func(t *reports.TLSTarget)
		want   reports.Status
		says   string
	}{
		{"as promised", func(*reports.TLSTarget) {}, reports.Pass, "ECDSA P-384"},
		{"TLS 1.0 allowed", func(t *reports.TLSTarget) { accept(t.Versions, "1.0") }, reports.Fail, "accepts TLS 1.0"},
		{"TLS 1.3 missing", func(t *reports.TLSTarget) { t.Versions[1].Result = reports.OfferRefused }, reports.Fail, "claimed exactly"},
		{"a CBC suite", func(t *reports.TLSTarget) { accept(t.Suites, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA") }, reports.Fail,
			"suites outside the claim: TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
		{"P-521 key exchange", func(t *reports.TLSTarget) { accept(t.Curves, "P-521") }, reports.Fail, "key exchanges outside the claim: P-521"},
		{"wrong curve", func(t *reports.TLSTarget) { t.Certificate.Curve = "P-256" }, reports.Fail, "P-256"},
		{"RSA key", func(t *reports.TLSTarget) { t.Certificate.KeyType, t.Certificate.Curve = "RSA", "2048 bits" }, reports.Fail, "RSA"},
		{"lives a year", func(t *reports.TLSTarget) { t.Certificate.LifetimeHours = 365 * 24 }, reports.Fail, "365 days"},
		{"chain to another CA", func(t *reports.TLSTarget) { t.Certificate.ChainError = "x509: certificate signed by unknown authority" },
			reports.Fail, "chain not valid"},
		{"another host's certificate", func(t *reports.TLSTarget) { t.Certificate.HostError = "x509: certificate is valid for b, not a" },
			reports.Fail, "not valid for the host"},
		{"no certificate", func(t *reports.TLSTarget) { t.Certificate = nil }, reports.Fail, "served no certificate"},
		{"no HSTS", func(t *reports.TLSTarget) { t.HSTS = "" }, reports.Fail, "no HSTS"},
		{"HSTS max-age 0", func(t *reports.TLSTarget) { t.HSTS = "max-age=0" }, reports.Fail, "no HSTS"},
		{"a timeout", func(t *reports.TLSTarget) {
			t.Versions[2] = reports.TLSOffer{Offered: "1.0", Result: reports.OfferError, Detail: "i/o timeout"}
		},
			reports.Error, "1.0: i/o timeout"},
		{"every handshake timing out", func(t *reports.TLSTarget) {
			for _, offers := range [][]reports.TLSOffer{t.Versions, t.Suites, t.Curves} {
				for i := range offers {
					offers[i].Result, offers[i].Detail = reports.OfferError, "i/o timeout"
				}
			}
			t.Certificate, t.HSTS, t.HSTSError = nil, "", "i/o timeout"
		}, reports.Error, "no handshake completed"},
		{"no HTTPS answer", func(t *reports.TLSTarget) { t.HSTS, t.HSTSError = "", "EOF" }, reports.Error, "no HTTPS answer: EOF"},
		{"a timeout beside a failure", func(t *reports.TLSTarget) {
			t.Versions[2] = reports.TLSOffer{Offered: "1.0", Result: reports.OfferError, Detail: "i/o timeout"}
			t.HSTS = ""
		}, reports.Fail, "no HSTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := goodTLSTarget("")
			tt.mutate(&bad)
			obs := reports.TLS{Address: "x", Targets: []reports.TLSTarget{goodTLSTarget("tenant-a.dpsim.test"), bad}}
			v := TLSPosture(obs, claim)
			if v.Status != tt.want || !strings.Contains(v.Summary, tt.says) {
				t.Fatalf("got %s (%s), want %s mentioning %q", v.Status, v.Summary, tt.want, tt.says)
			}
			if tt.want == reports.Fail && !strings.Contains(v.Summary, "no SNI: ") {
				t.Errorf("summary %q does not name the target", v.Summary)
			}
		})
	}
	if v := TLSPosture(reports.TLS{Address: "x"}, claim); v.Status != reports.Error {
		t.Errorf("no target: %s, want error", v.Status)
	}
}

// The longest gap counts the time writes were being tried and refused, not a pause with no write
// outstanding (the platform settling between traffic phases).
func TestRecoveryGapIgnoresIdleTime(t *testing.T) {
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	op := func(from, to float64, o history.Outcome) history.Op {
		return history.Op{ID: fmt.Sprint(from), Outcome: o, Invoked: at(from), Finished: at(to)}
	}
	ops := []history.Op{
		op(2, 3, history.Failed), op(3, 4.5, history.Failed), op(4.5, 6, history.Unknown), op(6, 6.5, history.OK),
		op(20, 20.1, history.OK),
	}
	res, v := Recovery(ops, at(2), at(7), 0)
	if v.Status != reports.Pass || res.LongestGapSeconds < 4.49 || res.LongestGapSeconds > 4.51 {
		t.Fatalf("longest gap %.3fs (%s), want 4.5s: the 13.5s pause without writes is not a gap", res.LongestGapSeconds, v.Summary)
	}
}

package fakes

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dpsim/stores"
	"dpsim/topology"
)

// nemesis is one fault of a scenario: injected between two batches of writes, recovered before Settle.
type nemesis struct {
	inject, recover func(ctx context.Context, p *Provider) error
}

func killNode(name string) nemesis {
	return nemesis{
		inject: func(ctx context.Context, p *Provider) error {
			_, err := p.KillNode(ctx, name)
			return err
		},
		recover: func(ctx context.Context, p *Provider) error { return p.RestartNode(ctx, name) },
	}
}

func dropDrive(tenant, name string) nemesis {
	d := topology.Drive{Tenant: tenant, Name: name}
	return nemesis{
		inject: func(ctx context.Context, p *Provider) error {
			_, err := p.DropDrive(ctx, d)
			return err
		},
		recover: func(ctx context.Context, p *Provider) error {
			_, err := p.RestoreDrive(ctx, d)
			return err
		},
	}
}

func isolate(name string) nemesis {
	return nemesis{
		inject: func(ctx context.Context, p *Provider) error { return p.Isolate(ctx, name) },
		recover: func(ctx context.Context, p *Provider) error {
			_, err := p.Heal(ctx)
			return err
		},
	}
}

// storeResult is what one store did in a scenario, judged like the checkers will.
type storeResult struct {
	acked, failed, indefinite int
	lost                      []string // acknowledged, absent from the final read
	singleNode                int      // acknowledged records found on one node only
	trace                     []string // every outcome, for determinism
}

// scenario writes 300 ids to each store of tenant-a, injects f, writes 300 more, recovers, settles
// and reads everything back.
func scenario(t *testing.T, spec topology.Spec, f *nemesis, opts ...Option) (map[string]*storeResult, time.Time) {
	t.Helper()
	ctx := context.Background()
	p := NewProvider(opts...)
	t.Cleanup(func() { _ = p.Down(ctx) })
	if err := p.Up(ctx, spec); err != nil {
		t.Fatalf("up: %v", err)
	}
	sts, err := p.Stores(ctx, "tenant-a", "test")
	if err != nil {
		t.Fatalf("stores: %v", err)
	}
	results := map[string]*storeResult{}
	acked := map[string][]string{}
	write := func(from int) {
		for _, st := range sts {
			r := results[st.Name()]
			if r == nil {
				r = &storeResult{}
				results[st.Name()] = r
			}
			for i := from; i < from+300; i++ {
				id := fmt.Sprintf("test/%s-%04d", st.Name(), i)
				res, err := stores.Collect(ctx, st, []string{id}, 8)
				if err != nil || len(res) != 1 {
					t.Fatalf("write %s: %v (%d outcomes)", id, err, len(res))
				}
				ack, err := res[0].Ack, res[0].Err
				r.trace = append(r.trace, fmt.Sprintf("%s %+v %v", id, ack, err))
				switch {
				case err == nil:
					r.acked++
					acked[st.Name()] = append(acked[st.Name()], id)
				case errors.Is(err, topology.ErrIndefinite):
					r.indefinite++
				default:
					r.failed++
				}
			}
		}
	}
	must := func(what string, err error) {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	write(0)
	if f != nil {
		must("inject", f.inject(ctx, p))
	}
	write(300)
	if f != nil {
		must("recover", f.recover(ctx, p))
	}
	must("settle", p.Settle(ctx))
	for _, st := range sts {
		rb, err := st.Read(ctx)
		must("read "+st.Name(), err)
		var read []string
		for _, rec := range rb.Records {
			read = append(read, rec.ID)
		}
		places, err := st.Placement(ctx)
		must("placement "+st.Name(), err)
		judge(results[st.Name()], acked[st.Name()], read, places)
	}
	return results, p.Clock().Now()
}

func judge(r *storeResult, acked, read []string, places []topology.Placement) {
	nodes := map[string]int{}
	for _, pl := range places {
		nodes[pl.ID] = len(pl.Nodes)
	}
	for _, id := range acked {
		if !slices.Contains(read, id) {
			r.lost = append(r.lost, id)
		} else if nodes[id] < 2 {
			r.singleNode++
		}
	}
}

func TestScenarios(t *testing.T) {
	rf1 := topology.Default()
	rf1.Kafka.ReplicationFactor = 1
	acks1 := topology.Default()
	acks1.Kafka.Acks = "1"
	all := []string{"kafka", "elasticsearch", "objectstore"}
	tests := []struct {
		name           string
		spec           topology.Spec
		fault          *nemesis
		opts           []Option
		wantLost       []string // stores expected to lose acknowledged writes; the others lose none
		wantSingleNode []string // stores expected to hold acknowledged records on one node only
		wantFailed     []string // stores expected to refuse some writes definitively
		wantIndefinite []string // stores expected to time out on some writes
	}{
		{name: "no fault", spec: topology.Default()},
		{name: "node kill", spec: topology.Default(), fault: ptr(killNode("node-2")), wantFailed: []string{"kafka", "elasticsearch"}},
		{name: "kafka drive loss", spec: topology.Default(), fault: ptr(dropDrive("tenant-a", "kafka-1")), wantFailed: []string{"kafka"}},
		{name: "es drive loss", spec: topology.Default(), fault: ptr(dropDrive("tenant-a", "es-1")), wantFailed: []string{"elasticsearch"}},
		{name: "minio drive loss", spec: topology.Default(), fault: ptr(dropDrive("", "minio-1"))},
		{name: "replication factor 1 drive loss", spec: rf1, fault: ptr(dropDrive("tenant-a", "kafka-1")),
			wantLost: []string{"kafka"}, wantSingleNode: []string{"kafka"}, wantFailed: []string{"kafka"}},
		{name: "acks 1 node kill before the followers caught up", spec: acks1, fault: ptr(killNode("node-2")), wantLost: []string{"kafka"}, wantFailed: []string{"elasticsearch"}},
		{name: "isolated leader", spec: topology.Default(), fault: ptr(isolate("node-1")), // 2 of 4 MinIO drives too
			wantFailed: all, wantIndefinite: []string{"kafka", "elasticsearch"}},
		{name: "drop acknowledged", spec: topology.Default(), opts: []Option{WithFault(DropAcknowledged)}, wantLost: all},
		{name: "drop acknowledged in kafka only", spec: topology.Default(), opts: []Option{WithFault(DropAcknowledged, topology.KindLog)}, wantLost: []string{"kafka"}},
		{name: "ack without replicating", spec: topology.Default(), opts: []Option{WithFault(AckWithoutReplicating)}, wantSingleNode: all},
		{name: "ack without replicating then node kill", spec: topology.Default(), fault: ptr(killNode("node-1")),
			opts: []Option{WithFault(AckWithoutReplicating, topology.KindLog)}, wantLost: []string{"kafka"}, wantSingleNode: []string{"kafka"}, wantFailed: all},
		{name: "ignore min insync", spec: topology.Default(), fault: ptr(killNode("node-2")), opts: []Option{WithFault(IgnoreMinInsync)}},
		{name: "components on one node", spec: topology.Default(), opts: []Option{WithComponentNodes(1)}, wantSingleNode: all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results, _ := scenario(t, tt.spec, tt.fault, tt.opts...)
			for _, name := range all {
				r := results[name]
				if r.acked == 0 {
					t.Fatalf("%s acknowledged nothing", name)
				}
				if got, want := len(r.lost) > 0, slices.Contains(tt.wantLost, name); got != want {
					t.Errorf("%s lost %d of %d acknowledged writes, want lost: %v (first lost: %v)", name, len(r.lost), r.acked, want, head(r.lost))
				}
				if got, want := r.singleNode > 0, slices.Contains(tt.wantSingleNode, name); got != want {
					t.Errorf("%s has %d acknowledged records on a single node, want some: %v", name, r.singleNode, want)
				}
				if got, want := r.failed > 0, slices.Contains(tt.wantFailed, name); got != want {
					t.Errorf("%s refused %d writes, want some refused: %v", name, r.failed, want)
				}
				if got, want := r.indefinite > 0, slices.Contains(tt.wantIndefinite, name); got != want {
					t.Errorf("%s timed out on %d writes, want some: %v", name, r.indefinite, want)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func head(s []string) []string { return s[:min(3, len(s))] }

func TestDeterministic(t *testing.T) {
	faults := map[string]nemesis{"kill": killNode("node-2"), "isolate": isolate("node-1"), "drive": dropDrive("tenant-a", "kafka-0")}
	for _, name := range []string{"kill", "isolate", "drive"} {
		t.Run(name, func(t *testing.T) {
			f := faults[name]
			first, firstEnd := scenario(t, topology.Default(), &f, WithFault(DropAcknowledged, topology.KindObject))
			second, secondEnd := scenario(t, topology.Default(), &f, WithFault(DropAcknowledged, topology.KindObject))
			if !reflect.DeepEqual(first, second) {
				t.Errorf("two identical runs differ")
			}
			if !firstEnd.Equal(secondEnd) || !firstEnd.After(DefaultStart) {
				t.Errorf("simulated end times %v and %v: want equal and after %v", firstEnd, secondEnd, DefaultStart)
			}
		})
	}
}

func TestSimulatedTime(t *testing.T) {
	ctx := context.Background()
	lat := Latencies{Ack: time.Millisecond, Failure: 2 * time.Millisecond, Indefinite: 3 * time.Millisecond, Fault: 4 * time.Millisecond, Settle: 5 * time.Millisecond}
	p := NewProvider(WithLatencies(lat), WithSettleTime(time.Minute))
	t.Cleanup(func() { _ = p.Down(ctx) })
	if err := p.Up(ctx, topology.Default()); err != nil {
		t.Fatal(err)
	}
	stores, _ := p.Stores(ctx, "tenant-b", "test")
	steps := []struct {
		name string
		do   func() error
		want time.Duration
	}{
		{"ok write", func() error { _, err := write1(ctx, stores[0], "a"); return err }, time.Millisecond},
		{"kill", func() error { _, err := p.KillNode(ctx, "node-1"); return err }, 4 * time.Millisecond},
		{"kill", func() error { _, err := p.KillNode(ctx, "node-2"); return err }, 4 * time.Millisecond},
		{"failed write", func() error { _, _ = write1(ctx, stores[2], "b"); return nil }, 2 * time.Millisecond},
		{"settle", func() error { return p.Settle(ctx) }, time.Minute},
	}
	for _, s := range steps {
		before := p.Clock().Now()
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := p.Clock().Now().Sub(before); got != s.want {
			t.Errorf("%s advanced the clock by %v, want %v", s.name, got, s.want)
		}
	}
}

func TestInventory(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		opts      []Option
		wantNodes int // distinct nodes every component runs on
	}{
		{"spread", nil, 3},
		{"one node", []Option{WithComponentNodes(1)}, 1},
		{"two nodes", []Option{WithComponentNodes(2)}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewProvider(tt.opts...)
			t.Cleanup(func() { _ = p.Down(ctx) })
			if err := p.Up(ctx, topology.Default()); err != nil {
				t.Fatal(err)
			}
			comps, err := p.Components(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range comps {
				names = append(names, c.Tenant+"/"+c.Name+"/"+string(c.Kind))
				nodes := map[string]bool{}
				for _, m := range c.Members {
					nodes[m.Node] = true
				}
				if len(nodes) != tt.wantNodes {
					t.Errorf("%s/%s runs on %d nodes, want %d", c.Tenant, c.Name, len(nodes), tt.wantNodes)
				}
			}
			want := []string{"tenant-a/kafka/log", "tenant-a/elasticsearch/document", "tenant-a/stackgraph/file",
				"tenant-b/kafka/log", "tenant-b/elasticsearch/document", "tenant-b/stackgraph/file", "/objectstore/object"}
			if !slices.Equal(names, want) {
				t.Errorf("components %v, want %v", names, want)
			}
			drives, err := p.Drives(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// 2 tenants x (3 brokers + 3 Elasticsearch nodes + 1 namenode + 3 datanodes) + 4 drives.
			if len(drives) != 24 || !slices.IsSortedFunc(drives, func(a, b topology.Drive) int { return cmpDrive(a, b) }) {
				t.Errorf("drives %v: want 24, sorted by node, tenant, name", drives)
			}
		})
	}
}

func cmpDrive(a, b topology.Drive) int {
	for _, c := range [][2]string{{a.Node, b.Node}, {a.Tenant, b.Tenant}, {a.Name, b.Name}} {
		if c[0] != c[1] {
			if c[0] < c[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func TestNodesReady(t *testing.T) {
	ctx := context.Background()
	p := NewProvider()
	t.Cleanup(func() { _ = p.Down(ctx) })
	if err := p.Up(ctx, topology.Default()); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		do   func() error
		want []bool
	}{
		{func() error { return nil }, []bool{true, true, true}},
		{func() error { _, err := p.KillNode(ctx, "node-2"); return err }, []bool{true, false, true}},
		{func() error { return p.Isolate(ctx, "node-3") }, []bool{true, false, false}},
		{func() error { _, err := p.Heal(ctx); return err }, []bool{true, false, true}},
		{func() error { return p.RestartNode(ctx, "node-2") }, []bool{true, true, true}},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		nodes, err := p.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ready []bool
		for j, n := range nodes {
			if want := fmt.Sprintf("node-%d", j+1); n.Name != want || n.Zone != topology.Default().ZoneOf(j) {
				t.Errorf("node %d is %s in %s, want %s in %s", j, n.Name, n.Zone, want, topology.Default().ZoneOf(j))
			}
			ready = append(ready, n.Ready)
		}
		if !slices.Equal(ready, s.want) {
			t.Errorf("step %d: ready %v, want %v", i, ready, s.want)
		}
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	p := NewProvider()
	if err := p.Down(ctx); err != nil {
		t.Errorf("down before up: %v", err)
	}
	if _, err := p.Nodes(ctx); err == nil {
		t.Error("nodes before up: no error")
	}
	bad := topology.Default()
	bad.Nodes = 0
	if err := p.Up(ctx, bad); err == nil {
		t.Error("up with an invalid spec: no error")
	}
	if err := p.Down(ctx); err != nil {
		t.Errorf("down after a failed up: %v", err)
	}
	if err := NewProvider(WithFault("nonsense")).Up(ctx, topology.Default()); err == nil {
		t.Error("up with an unknown misbehaviour: no error")
	}
	if err := p.Up(ctx, topology.Default()); err != nil {
		t.Fatal(err)
	}
	if err := p.Up(ctx, topology.Default()); err == nil {
		t.Error("second up: no error")
	}
	stores, _ := p.Stores(ctx, "tenant-a", "test")
	checks := map[string]error{
		"unknown tenant": second(p.Stores(ctx, "nobody", "test")),
		"unknown node":   second(p.KillNode(ctx, "node-9")),
		"unknown drive":  second(p.DropDrive(ctx, topology.Drive{Tenant: "tenant-a", Name: "kafka-9"})),
		"wrong node":     second(p.DropDrive(ctx, topology.Drive{Tenant: "tenant-a", Name: "kafka-0", Node: "node-2"})),
	}
	for what, err := range checks {
		if err == nil {
			t.Errorf("%s: no error", what)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := write1(cancelled, stores[0], "x"); err == nil || !strings.Contains(err.Error(), "not sent") || errors.Is(err, topology.ErrIndefinite) {
		t.Errorf("write with a cancelled context: %v, want a definite failure: not sent", err)
	}
	if err := p.Down(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Down(ctx); err != nil {
		t.Errorf("second down: %v", err)
	}
	if _, err := write1(ctx, stores[0], "x"); err == nil {
		t.Error("write after down: no error")
	}
	if err := p.Up(ctx, topology.Default()); err != nil {
		t.Errorf("up after down: %v", err)
	}
	_ = p.Down(ctx)
}

func second[T any](_ T, err error) error { return err }

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	p := NewProvider()
	t.Cleanup(func() { _ = p.Down(ctx) })
	if err := p.Up(ctx, topology.Default()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, tenant := range topology.Default().Tenants {
		stores, _ := p.Stores(ctx, tenant, "test")
		for _, st := range stores {
			wg.Go(func() {
				for i := range 50 {
					_, _ = write1(ctx, st, fmt.Sprint(i))
				}
			})
		}
	}
	wg.Go(func() { _, _ = p.KillNode(ctx, "node-3"); _ = p.RestartNode(ctx, "node-3"); _ = p.Settle(ctx) })
	wg.Wait()
}

func TestIngressTLS(t *testing.T) {
	legacy := topology.Default()
	legacy.TLS.MinVersion = "1.0"
	p256 := topology.Default()
	p256.TLS.CertCurve, p256.TLS.CertLifetime = "P-256", "8760h"
	tests := []struct {
		name         string
		spec         topology.Spec
		version      uint16
		wantOK       bool
		wantCurve    elliptic.Curve
		wantLifetime time.Duration
	}{
		{"TLS 1.3", topology.Default(), tls.VersionTLS13, true, elliptic.P384(), 2160 * time.Hour},
		{"TLS 1.2", topology.Default(), tls.VersionTLS12, true, elliptic.P384(), 2160 * time.Hour},
		{"TLS 1.1 refused", topology.Default(), tls.VersionTLS11, false, nil, 0},
		{"TLS 1.0 refused", topology.Default(), tls.VersionTLS10, false, nil, 0},
		{"TLS 1.0 when the spec allows it", legacy, tls.VersionTLS10, true, elliptic.P384(), 2160 * time.Hour},
		{"P-256 for a year", p256, tls.VersionTLS13, true, elliptic.P256(), 8760 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			p := NewProvider()
			t.Cleanup(func() { _ = p.Down(ctx) })
			if err := p.Up(ctx, tt.spec); err != nil {
				t.Fatal(err)
			}
			ep, err := p.IngressEndpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(ep.RootCAs) {
				t.Fatalf("no CA certificate in %q", ep.RootCAs)
			}
			host := ep.Hosts["tenant-a"]
			conn, err := tls.Dial("tcp", ep.Address, &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tt.version, MaxVersion: tt.version})
			if !tt.wantOK {
				if err == nil {
					conn.Close()
					t.Fatalf("handshake with version %x succeeded, want refused", tt.version)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake with version %x: %v", tt.version, err)
			}
			defer conn.Close()
			state := conn.ConnectionState()
			cert := state.PeerCertificates[0]
			key, ok := cert.PublicKey.(*ecdsa.PublicKey)
			switch {
			case state.Version != tt.version:
				t.Errorf("negotiated %x, want %x", state.Version, tt.version)
			case !ok || key.Curve != tt.wantCurve:
				t.Errorf("certificate key %T, want ECDSA on %s", cert.PublicKey, tt.wantCurve.Params().Name)
			case cert.NotAfter.Sub(cert.NotBefore) != tt.wantLifetime:
				t.Errorf("certificate lives %v, want %v", cert.NotAfter.Sub(cert.NotBefore), tt.wantLifetime)
			}
		})
	}
}

func TestTolerates(t *testing.T) {
	tests := []struct {
		units []int
		need  int
		want  int
	}{
		{[]int{1, 1}, 1, 1},
		{[]int{1}, 1, 0},
		{[]int{2, 1, 1}, 2, 1}, // 4 MinIO drives on 3 nodes, 2 data shards
		{[]int{1, 1, 1, 1}, 2, 2},
		{[]int{1}, 2, -1},
		{[]int{2}, 2, 0},
	}
	for _, tt := range tests {
		if got := tolerates(tt.units, tt.need); got != tt.want {
			t.Errorf("tolerates(%v, %d) = %d, want %d", tt.units, tt.need, got, tt.want)
		}
	}
}

// write1 writes one id through st and returns its outcome.
func write1(ctx context.Context, st topology.Store, id string) (topology.Ack, error) {
	res, err := stores.Collect(ctx, st, []string{id}, 8)
	if len(res) != 1 {
		return topology.Ack{}, fmt.Errorf("write %s: %d outcomes: %v", id, len(res), err)
	}
	return res[0].Ack, res[0].Err
}

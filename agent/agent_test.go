package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dpsim/stores"
	"dpsim/topology"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.UTC)

// fakeStore answers writes by the id's suffix: "-ok" acknowledged, "-fail" definite failure,
// "-unknown" indefinite; it holds what it acknowledged.
type fakeStore struct {
	name string
	mu   sync.Mutex
	held []string
	// block, when set, makes WriteStream emit its first emitFirst outcomes, signal emitted and wait
	// for ctx or release.
	block     bool
	emitFirst int
	emitted   chan struct{}
	release   chan struct{}
}

func (f *fakeStore) Name() string        { return f.name }
func (f *fakeStore) Kind() topology.Kind { return KindOf(f.name) }

func (f *fakeStore) outcome(i int, id string) stores.Result {
	r := stores.Result{WriteResult: topology.WriteResult{ID: id, Invoked: t0.Add(time.Duration(i) * time.Millisecond),
		Finished: t0.Add(time.Duration(i)*time.Millisecond + 1500*time.Microsecond)}}
	switch {
	case strings.HasSuffix(id, "-fail"):
		r.Err = fmt.Errorf("write %s: not enough replicas", id)
	case strings.HasSuffix(id, "-unknown"):
		r.Err = fmt.Errorf("write %s: timed out: %w", id, topology.ErrIndefinite)
	default:
		r.Ack = topology.Ack{Node: "node-" + id[len(id)-1:], Copies: 2}
		r.Detail = "offset=" + fmt.Sprint(i)
		f.mu.Lock()
		f.held = append(f.held, id)
		f.mu.Unlock()
	}
	return r
}

func (f *fakeStore) Write(_ context.Context, id string, _ []byte) (topology.Ack, error) {
	r := f.outcome(0, id)
	return r.Ack, r.Err
}

func (f *fakeStore) WriteStream(ctx context.Context, ids iter.Seq[string], _ int, emit func(stores.Result)) error {
	i := 0
	for id := range ids {
		if f.block && i == f.emitFirst {
			close(f.emitted)
			select {
			case <-ctx.Done():
				emit(stores.Result{WriteResult: topology.WriteResult{ID: id, Err: fmt.Errorf("%w: cancelled", topology.ErrIndefinite)}})
				return ctx.Err()
			case <-f.release:
			}
		}
		emit(f.outcome(i, id))
		i++
	}
	return nil
}

func (f *fakeStore) ReadAll(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.held), nil
}

func (f *fakeStore) Placement(context.Context) ([]topology.Placement, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []topology.Placement
	for _, id := range f.held {
		out = append(out, topology.Placement{ID: id, Nodes: []string{"n1", "n2"}, Tolerates: 1})
	}
	return out, nil
}

func (f *fakeStore) Describe(context.Context) (any, error) {
	return map[string]any{"store": f.name, "held": len(f.held)}, nil
}

// newAgent serves fake stores of tenant-a over httptest.
func newAgent(t *testing.T, fakes ...*fakeStore) (*Server, *httptest.Server, *Client) {
	t.Helper()
	byName := map[string]*fakeStore{}
	var names []string
	for _, f := range fakes {
		byName[f.name] = f
		names = append(names, f.name)
	}
	srv := NewServerWith("tenant-a", names, func(_ context.Context, store, _ string) (topology.Store, error) {
		return byName[store], nil
	}, nil)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return srv, ts, NewClient(ts.URL)
}

func TestWriteRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
	}{
		{"acknowledged, failed and unknown", []string{"ds/a-ok", "ds/b-fail", "ds/c-unknown", "ds/d-ok"}},
		{"one write", []string{"ds/x-ok"}},
		{"empty batch", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeStore{name: StoreKafka}
			_, _, c := newAgent(t, fake)
			st := c.Store("tenant-a", StoreKafka, "ds")
			got, err := st.WriteBatch(context.Background(), tt.ids, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.ids) {
				t.Fatalf("%d outcomes for %d writes", len(got), len(tt.ids))
			}
			for i, r := range got {
				want := (&fakeStore{}).outcome(i, tt.ids[i])
				if r.ID != want.ID || !r.Invoked.Equal(want.Invoked) || !r.Finished.Equal(want.Finished) || r.Ack != want.Ack {
					t.Errorf("outcome %d = %+v, want %+v", i, r, want.WriteResult)
				}
				if (r.Err == nil) != (want.Err == nil) {
					t.Fatalf("outcome %d error %v, want %v", i, r.Err, want.Err)
				}
				if r.Err == nil {
					continue
				}
				if r.Err.Error() != want.Err.Error() {
					t.Errorf("error %q, want %q", r.Err, want.Err)
				}
				if errors.Is(r.Err, topology.ErrIndefinite) != errors.Is(want.Err, topology.ErrIndefinite) {
					t.Errorf("%s: indefinite %v, want %v", r.ID, errors.Is(r.Err, topology.ErrIndefinite), errors.Is(want.Err, topology.ErrIndefinite))
				}
			}
		})
	}
}

func TestSingleWrite(t *testing.T) {
	tests := []struct {
		id         string
		ok         bool
		indefinite bool
	}{
		{"ds/a-ok", true, false},
		{"ds/a-fail", false, false},
		{"ds/a-unknown", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			_, _, c := newAgent(t, &fakeStore{name: StoreElastic})
			ack, err := c.Store("tenant-a", StoreElastic, "ds").Write(context.Background(), tt.id, []byte("value"))
			if (err == nil) != tt.ok || errors.Is(err, topology.ErrIndefinite) != tt.indefinite {
				t.Fatalf("Write(%s) = %+v, %v; want ok %v indefinite %v", tt.id, ack, err, tt.ok, tt.indefinite)
			}
			if tt.ok && ack.Copies != 2 {
				t.Errorf("ack %+v, want 2 copies", ack)
			}
		})
	}
}

func TestStoresReadPlacementDescribe(t *testing.T) {
	kafka, object := &fakeStore{name: StoreKafka}, &fakeStore{name: StoreObject}
	_, _, c := newAgent(t, kafka, object)
	ctx := context.Background()
	list, err := c.Stores(ctx, "tenant-a", "ds")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list {
		names = append(names, s.Name())
		if _, ok := s.(topology.BatchWriter); !ok {
			t.Errorf("store %s is not a BatchWriter", s.Name())
		}
	}
	if !slices.Equal(names, []string{StoreKafka, StoreObject}) || list[0].Kind() != topology.KindLog || list[1].Kind() != topology.KindObject {
		t.Fatalf("stores %v", names)
	}
	if _, err := list[0].(topology.BatchWriter).WriteBatch(ctx, []string{"ds/1-ok", "ds/2-fail", "ds/3-ok"}, 10); err != nil {
		t.Fatal(err)
	}
	ids, err := list[0].ReadAll(ctx)
	if err != nil || !slices.Equal(ids, []string{"ds/1-ok", "ds/3-ok"}) {
		t.Errorf("ReadAll = %v, %v", ids, err)
	}
	pl, err := list[0].Placement(ctx)
	if err != nil || len(pl) != 2 || pl[1].ID != "ds/3-ok" || !slices.Equal(pl[1].Nodes, []string{"n1", "n2"}) || pl[1].Tolerates != 1 {
		t.Errorf("Placement = %+v, %v", pl, err)
	}
	if ids, err := list[1].ReadAll(ctx); err != nil || len(ids) != 0 || ids == nil {
		t.Errorf("empty ReadAll = %#v, %v; want an empty list", ids, err)
	}
	raw, err := c.Describe(ctx, StoreKafka, "ds")
	if err != nil || !bytes.Contains(raw, []byte(`"held":2`)) {
		t.Errorf("Describe = %s, %v", raw, err)
	}
	if err := c.Healthy(ctx); err != nil {
		t.Error(err)
	}
}

func TestRequestErrors(t *testing.T) {
	_, _, c := newAgent(t, &fakeStore{name: StoreKafka})
	ctx := context.Background()
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"another tenant", func() error { _, err := c.Stores(ctx, "tenant-b", "ds"); return err }, "serves tenant tenant-a, not tenant-b"},
		{"tenant refused by the server", func() error { _, err := c.Store("tenant-b", StoreKafka, "ds").ReadAll(ctx); return err }, "403"},
		{"unknown store", func() error { _, err := c.Store("tenant-a", "stackgraph", "ds").ReadAll(ctx); return err }, "404"},
		{"no dataset", func() error {
			_, err := c.Store("tenant-a", StoreKafka, "").WriteBatch(ctx, []string{"x"}, 1)
			return err
		}, "dataset: required"},
		{"describe without dataset", func() error { _, err := c.Describe(ctx, StoreKafka, ""); return err }, "400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// A connection to the agent that breaks mid-batch returns the outcomes streamed so far and an
// error, so the engine records the rest as unknown.
func TestBrokenStream(t *testing.T) {
	fake := &fakeStore{name: StoreKafka, block: true, emitFirst: 3, emitted: make(chan struct{}), release: make(chan struct{})}
	_, ts, c := newAgent(t, fake)
	ids := []string{"ds/0-ok", "ds/1-fail", "ds/2-unknown", "ds/3-ok", "ds/4-ok"}
	type answer struct {
		res []topology.WriteResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := c.Store("tenant-a", StoreKafka, "ds").WriteBatch(context.Background(), ids, 10)
		done <- answer{res, err}
	}()
	<-fake.emitted
	time.Sleep(1500 * time.Millisecond) // past the server's flush interval
	ts.CloseClientConnections()
	a := <-done
	if a.err == nil {
		t.Fatal("no error from a broken stream")
	}
	if len(a.res) > 3 {
		t.Fatalf("%d outcomes, want at most the 3 emitted before the break", len(a.res))
	}
	for i, r := range a.res {
		if r.ID != ids[i] {
			t.Errorf("outcome %d is %s, want %s", i, r.ID, ids[i])
		}
	}
	t.Logf("%d outcomes before the break: %v", len(a.res), a.err)
}

// Heartbeats keep a slow batch alive; silence longer than the idle timeout is a broken stream.
func TestHeartbeatAndIdle(t *testing.T) {
	tests := []struct {
		name      string
		heartbeat time.Duration
		wantErr   bool
	}{
		{"heartbeats keep the stream", 100 * time.Millisecond, false},
		{"silence breaks it", time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeStore{name: StoreKafka, block: true, emitFirst: 1, emitted: make(chan struct{}), release: make(chan struct{})}
			srv, _, c := newAgent(t, fake)
			srv.heartbeat = tt.heartbeat
			c.IdleTimeout = 1200 * time.Millisecond
			go func() {
				<-fake.emitted
				time.Sleep(3 * time.Second)
				close(fake.release)
			}()
			res, err := c.Store("tenant-a", StoreKafka, "ds").WriteBatch(context.Background(), []string{"ds/0-ok", "ds/1-ok"}, 1)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v (%d outcomes)", err, tt.wantErr, len(res))
			}
			if tt.wantErr && !errors.Is(err, errIdle) {
				t.Errorf("error %v, want the idle cause", err)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr string
	}{
		{"full", `{"tenant":"tenant-a","kafka":{"bootstrap":["kafka:9092"]},"elasticsearch":{"urls":["http://es:9200"]},
			"s3":{"endpoint":"minio:9000","accessKey":"a","secretKey":"b","servers":[{"name":"minio-0","url":"http://minio:9000"}]},
			"spec":{"kafka":{"partitions":6,"replicationFactor":2,"minInsyncReplicas":2,"acks":"all"},"objectStore":{"drives":4,"parity":2}},
			"batchTimeout":"5m"}`, ""},
		{"unknown key", `{"tenant":"a","kafka":{"bootstrap":["k:9092"]},"tls":{}}`, "unknown field"},
		{"no tenant", `{"kafka":{"bootstrap":["k:9092"]}}`, "tenant: required"},
		{"no store", `{"tenant":"a"}`, "no store configured"},
		{"bad timeout", `{"tenant":"a","kafka":{"bootstrap":["k:9092"]},"batchTimeout":"soon"}`, "batchTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.json))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				spec := c.Spec.Spec()
				if spec.Kafka.ReplicationFactor != 2 || spec.EffectiveMinInsync() != 2 || spec.ObjectStore.Parity != 2 || c.S3.Servers[0].Name != "minio-0" {
					t.Errorf("decoded %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestAgentMain(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(`{"tenant":"tenant-a","s3":{"endpoint":"127.0.0.1:1","accessKey":"a","secretKey":"b"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"tenant":""}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		want   int
		output string
	}{
		{"no config", nil, 2, "usage"},
		{"bad config", []string{"--config", bad}, 2, "tenant: required"},
		{"missing file", []string{"--config", filepath.Join(dir, "none.json")}, 2, "read agent config"},
		{"serves until cancelled", []string{"--config", good, "--listen", "127.0.0.1:0"}, 0, "serving on 127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			var out, errOut bytes.Buffer
			if got := Main(ctx, tt.args, &out, &errOut); got != tt.want {
				t.Fatalf("Main = %d, want %d; stderr: %s", got, tt.want, errOut.String())
			}
			if !strings.Contains(out.String()+errOut.String(), tt.output) {
				t.Errorf("output %q, want %q", out.String()+errOut.String(), tt.output)
			}
		})
	}
}

// A timed write streams back one outcome per write the agent issued, named by sequence number.
func TestTimedWrite(t *testing.T) {
	fake := &fakeStore{name: StoreKafka}
	_, _, c := newAgent(t, fake)
	got, err := c.Store("tenant-a", StoreKafka, "ds").WriteFor(context.Background(), topology.TimedLoad{Prefix: "ds/during-", Duration: 50 * time.Millisecond, InFlight: 4, ValueBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no writes in 50ms")
	}
	for i, r := range got {
		if want := stores.TimedID("ds/during-", i); r.ID != want || r.Err != nil {
			t.Fatalf("outcome %d = %s (%v), want %s acknowledged", i, r.ID, r.Err, want)
		}
	}
}

// When a timed write's stream breaks, every sequence number that may have been issued without its
// outcome reaching the client is reported unknown.
func TestTimedWriteBrokenStream(t *testing.T) {
	fake := &fakeStore{name: StoreKafka, block: true, emitFirst: 3, emitted: make(chan struct{}), release: make(chan struct{})}
	_, ts, c := newAgent(t, fake)
	type answer struct {
		res []topology.WriteResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := c.Store("tenant-a", StoreKafka, "ds").WriteFor(context.Background(), topology.TimedLoad{Prefix: "p/", Duration: time.Minute, InFlight: 5, ValueBytes: 10})
		done <- answer{res, err}
	}()
	<-fake.emitted
	time.Sleep(1500 * time.Millisecond)
	ts.CloseClientConnections()
	a := <-done
	if a.err == nil {
		t.Fatal("no error from a broken stream")
	}
	unknown := 0
	ids := map[string]bool{}
	for _, r := range a.res {
		ids[r.ID] = true
		if errors.Is(r.Err, topology.ErrIndefinite) {
			unknown++
		}
	}
	for i := range 3 + 5 {
		if !ids[stores.TimedID("p/", i)] {
			t.Errorf("no outcome for write %d", i)
		}
	}
	if unknown < 5 {
		t.Errorf("%d unknown outcomes, want at least the 5 that may have been in flight", unknown)
	}
}

func TestTimedWriteRequestErrors(t *testing.T) {
	_, ts, _ := newAgent(t, &fakeStore{name: StoreKafka})
	for _, body := range []string{
		`{"store":"kafka","dataset":"ds","seconds":-1}`,
		`{"store":"kafka","dataset":"ds","seconds":1,"ids":["a"]}`,
		`{"store":"kafka","dataset":"ds","seconds":100000}`,
	} {
		res, err := http.Post(ts.URL+"/v1/write", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", body, res.StatusCode)
		}
	}
}

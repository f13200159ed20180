package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dpsim/agent/api"
	"dpsim/stores"
	"dpsim/topology"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.UTC)

// wait is the bound on any wait in these tests: reaching it is a hang, reported as a failure.
const wait = 30 * time.Second

// fakeStore is a store whose outcomes the tests choose: an id ending "-fail" is refused, one ending
// "-unknown" is indefinite, any other is acknowledged and held. Ids for which hold says so are
// taken at once but answered only once the ids end and release (when set) is closed: acknowledged
// then, unknown if the stream's context ends first.
type fakeStore struct {
	name     string
	kind     topology.Kind
	hold     func(i int) bool
	release  chan struct{}
	took     chan string // when set, gets every id the store takes
	stopAt   int         // when positive, the store stops taking after this many ids and returns nil
	readErr  error
	inFlight int // its stores.Description.InFlight

	mu      sync.Mutex
	gone    bool // the dataset does not exist (Replicated says so)
	held    []topology.Record
	dropped int
}

var _ topology.Store = (*fakeStore)(nil)

func (f *fakeStore) Name() string        { return f.name }
func (f *fakeStore) Kind() topology.Kind { return f.kind }

// outcome is the i-th write's outcome.
func (f *fakeStore) outcome(i int, id string, valueBytes int) topology.WriteResult {
	r := topology.WriteResult{ID: id, Invoked: t0.Add(time.Duration(i) * time.Millisecond),
		Finished: t0.Add(time.Duration(i)*time.Millisecond + 1500*time.Microsecond)}
	switch {
	case strings.HasSuffix(id, "-fail"):
		r.Err = fmt.Errorf("write %s: not enough replicas", id)
	case strings.HasSuffix(id, "-unknown"):
		r.Err = fmt.Errorf("write %s: timed out: %w", id, topology.ErrIndefinite)
	default:
		r.Ack = topology.Ack{Node: "node-" + id[len(id)-1:], Copies: 2, Part: fmt.Sprint(i % 3)}
		r.Detail = fmt.Sprintf("offset=%d", i)
		if f != nil {
			f.mu.Lock()
			f.held = append(f.held, topology.Record{ID: id, Hash: topology.ValueHash(topology.Value(id, valueBytes))})
			f.mu.Unlock()
		}
	}
	return r
}

func (f *fakeStore) WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(topology.WriteResult)) error {
	type later struct {
		i  int
		id string
	}
	var held []later
	i := 0
	for id := range ids {
		if f.took != nil {
			f.took <- id
		}
		if f.hold != nil && f.hold(i) {
			held = append(held, later{i, id})
		} else {
			emit(f.outcome(i, id, valueBytes))
		}
		i++
		if i == f.stopAt {
			break
		}
	}
	if len(held) == 0 {
		return nil
	}
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			for _, h := range held {
				emit(topology.WriteResult{ID: h.id, Err: fmt.Errorf("write %s: %w: %w", h.id, topology.ErrIndefinite, ctx.Err())})
			}
			return ctx.Err()
		}
	}
	for _, h := range held {
		emit(f.outcome(h.i, h.id, valueBytes))
	}
	return nil
}

func (f *fakeStore) Read(context.Context) (topology.ReadBack, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return topology.ReadBack{Records: slices.Clone(f.held)}, f.readErr
}

func (f *fakeStore) Placement(context.Context) ([]topology.Placement, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []topology.Placement
	for _, r := range f.held {
		out = append(out, topology.Placement{ID: r.ID, Nodes: []string{"n1", "n2"}, Tolerates: 1})
	}
	return out, nil
}

func (f *fakeStore) Drop(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held = nil
	f.dropped++
	return nil
}

// State makes the fake a stores.Stater.
func (f *fakeStore) State(context.Context) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return map[string]any{"store": f.name, "held": len(f.held)}, nil
}

// Replicated completes the fake's stores.Stater.
func (f *fakeStore) Replicated(context.Context) (bool, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone {
		return false, "", fmt.Errorf("topic %s: %w", f.name, stores.ErrDatasetMissing)
	}
	return true, "every copy", nil
}

// plainStore hides a store's State: a store that cannot describe itself.
type plainStore struct{ topology.Store }

// agent is a Server over fake stores of tenant-a, served over httptest.
type agent struct {
	srv   *Server
	ts    *httptest.Server
	c     *api.Client
	mu    sync.Mutex
	opens map[string]int // by store/dataset
}

func (a *agent) opened(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.opens[key]
}

// newAgent serves the fakes (offered in the order given) through the agent's handler, wrapped by
// wrap when it is not nil. A store named "broken" is offered but cannot be opened.
func newAgent(t *testing.T, wrap func(http.Handler) http.Handler, fakes ...topology.Store) *agent {
	t.Helper()
	a := &agent{opens: map[string]int{}}
	byName := map[string]topology.Store{}
	var infos []api.StoreInfo
	for _, f := range fakes {
		byName[f.Name()] = f
		info := api.StoreInfo{Name: f.Name(), Kind: f.Kind()}
		if fs, ok := f.(*fakeStore); ok {
			info.InFlight = fs.inFlight
		}
		infos = append(infos, info)
	}
	infos = append(infos, api.StoreInfo{Name: "broken", Kind: topology.KindLog})
	a.srv = NewServerWith("tenant-a", infos, func(_ context.Context, store, dataset string) (topology.Store, error) {
		a.mu.Lock()
		a.opens[store+"/"+dataset]++
		a.mu.Unlock()
		st, ok := byName[store]
		if !ok {
			return nil, errors.New("connection refused")
		}
		return st, nil
	}, nil)
	var h http.Handler = a.srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	a.ts = httptest.NewServer(h)
	t.Cleanup(a.ts.Close)
	a.c = api.NewClient(a.ts.URL)
	return a
}

// store returns the agent's store named name, seen through dataset ds.
func (a *agent) store(t *testing.T, name string) *api.RemoteStore {
	t.Helper()
	list, err := a.c.Stores(context.Background(), "tenant-a", "ds")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range list {
		if st.Name() == name {
			return st
		}
	}
	t.Fatalf("the agent does not offer %s", name)
	return nil
}

// recorder records outcomes, from any goroutine; each outcome is also sent on ch when it is set.
type recorder struct {
	mu  sync.Mutex
	got []topology.WriteResult
	ch  chan topology.WriteResult
}

func (r *recorder) emit(w topology.WriteResult) {
	r.mu.Lock()
	r.got = append(r.got, w)
	r.mu.Unlock()
	if r.ch != nil {
		r.ch <- w
	}
}

// byID returns the outcomes by id, checking that no id has two.
func (r *recorder) byID(t *testing.T) map[string]topology.WriteResult {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]topology.WriteResult{}
	for _, w := range r.got {
		if prev, ok := out[w.ID]; ok {
			t.Errorf("%s: two outcomes: %+v and %+v", w.ID, prev, w)
		}
		out[w.ID] = w
	}
	return out
}

// kind names an outcome: acknowledged, failed (definitely not applied) or unknown.
func kind(r topology.WriteResult) string {
	switch {
	case r.Err == nil:
		return "acknowledged"
	case errors.Is(r.Err, topology.ErrIndefinite):
		return "unknown"
	}
	return "failed"
}

// Outcomes cross the agent intact: times to the nanosecond, acks, details, error texts and whether
// the outcome is unknown; what was acknowledged is read back with the hash of its value.
func TestWriteRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
	}{
		{"acknowledged, failed and unknown", []string{"ds/a-ok", "ds/b-fail", "ds/c-unknown", "ds/d-ok"}},
		{"one write", []string{"ds/x-ok"}},
		{"no write", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeStore{name: "kafka", kind: topology.KindLog}
			a := newAgent(t, nil, fake)
			got, err := stores.Collect(context.Background(), a.store(t, "kafka"), tt.ids, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.ids) {
				t.Fatalf("%d outcomes for %d writes", len(got), len(tt.ids))
			}
			var acked []topology.Record
			for i, r := range got {
				want := (*fakeStore)(nil).outcome(i, tt.ids[i], 100)
				if r.ID != want.ID || !r.Invoked.Equal(want.Invoked) || !r.Finished.Equal(want.Finished) || r.Ack != want.Ack || r.Detail != want.Detail {
					t.Errorf("outcome %d = %+v, want %+v", i, r, want)
				}
				if kind(r) != kind(want) {
					t.Errorf("%s: %s (%v), want %s (%v)", r.ID, kind(r), r.Err, kind(want), want.Err)
				} else if r.Err != nil && r.Err.Error() != want.Err.Error() {
					t.Errorf("%s: error %q, want %q", r.ID, r.Err, want.Err)
				}
				if r.Err == nil {
					acked = append(acked, topology.Record{ID: r.ID, Hash: topology.ValueHash(topology.Value(r.ID, 100))})
				}
			}
			rb, err := a.store(t, "kafka").Read(context.Background())
			if err != nil || !slices.Equal(rb.Records, acked) || rb.Records == nil {
				t.Errorf("Read = %+v, %v; want %+v", rb, err, acked)
			}
		})
	}
}

func TestStoresReadPlacementDescribe(t *testing.T) {
	kafka := &fakeStore{name: "kafka", kind: topology.KindLog}
	object := &fakeStore{name: "objectstore", kind: topology.KindObject}
	a := newAgent(t, nil, kafka, object)
	ctx := context.Background()
	sr, err := a.c.StoreInfos(ctx)
	want := []api.StoreInfo{{Name: "kafka", Kind: topology.KindLog}, {Name: "objectstore", Kind: topology.KindObject}, {Name: "broken", Kind: topology.KindLog}}
	if err != nil || sr.Tenant != "tenant-a" || !slices.Equal(sr.Stores, want) {
		t.Fatalf("StoreInfos = %+v, %v; want tenant-a with %+v", sr, err, want)
	}
	st := a.store(t, "kafka")
	if st.Kind() != topology.KindLog || st.Dataset() != "ds" {
		t.Errorf("store %s: kind %s, dataset %s", st.Name(), st.Kind(), st.Dataset())
	}
	if _, err := stores.Collect(ctx, st, []string{"ds/1-ok", "ds/2-fail", "ds/3-ok"}, 10); err != nil {
		t.Fatal(err)
	}
	rb, err := st.Read(ctx)
	if err != nil || len(rb.Records) != 2 || rb.Records[1].ID != "ds/3-ok" || rb.Records[1].Hash != topology.ValueHash(topology.Value("ds/3-ok", 10)) {
		t.Errorf("Read = %+v, %v", rb, err)
	}
	pl, err := st.Placement(ctx)
	if err != nil || len(pl) != 2 || pl[1].ID != "ds/3-ok" || !slices.Equal(pl[1].Nodes, []string{"n1", "n2"}) || pl[1].Tolerates != 1 {
		t.Errorf("Placement = %+v, %v", pl, err)
	}
	empty := a.store(t, "objectstore")
	if rb, err := empty.Read(ctx); err != nil || rb.Records == nil || len(rb.Records) != 0 {
		t.Errorf("empty Read = %#v, %v; want an empty list", rb, err)
	}
	if pl, err := empty.Placement(ctx); err != nil || pl == nil || len(pl) != 0 {
		t.Errorf("empty Placement = %#v, %v; want an empty list", pl, err)
	}
	raw, err := a.c.Describe(ctx, "kafka", "ds")
	if err != nil || !bytes.Contains(raw, []byte(`"held":2`)) {
		t.Errorf("Describe = %s, %v", raw, err)
	}
	if raw, err := a.c.Describe(ctx, "objectstore", ""); err != nil || !bytes.Contains(raw, []byte(`"store":"objectstore"`)) {
		t.Errorf("Describe without a dataset = %s, %v", raw, err)
	}
	if err := a.c.Healthy(ctx); err != nil {
		t.Error(err)
	}
	if r, err := a.c.Replicated(ctx, "kafka", "ds"); err != nil || !r.Replicated || r.Missing {
		t.Errorf("Replicated = %+v, %v; want replicated", r, err)
	}
	object.mu.Lock()
	object.gone = true
	object.mu.Unlock()
	if r, err := a.c.Replicated(ctx, "objectstore", "ds"); err != nil || r.Replicated || !r.Missing || !strings.Contains(r.Detail, "does not exist") {
		t.Errorf("Replicated of a missing dataset = %+v, %v; want an answer saying it is missing", r, err)
	}
}

// Requests the agent refuses, with their status and reason.
func TestRequestErrors(t *testing.T) {
	a := newAgent(t, nil, &fakeStore{name: "kafka", kind: topology.KindLog, readErr: errors.New("partition 2 offline")},
		plainStore{&fakeStore{name: "elasticsearch", kind: topology.KindDocument}})
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		want   string
	}{
		{"another tenant", "POST", "/v1/read", `{"tenant":"tenant-b","store":"kafka","dataset":"ds"}`, 403, "serves tenant tenant-a, not tenant-b"},
		{"unknown store", "POST", "/v1/placement", `{"tenant":"tenant-a","store":"stackgraph","dataset":"ds"}`, 404, `store "stackgraph"`},
		{"no dataset", "POST", "/v1/drop", `{"tenant":"tenant-a","store":"kafka"}`, 400, "dataset: required"},
		{"unknown field", "POST", "/v1/read", `{"store":"kafka","dataset":"ds","ids":[]}`, 400, "unknown field"},
		{"not JSON", "POST", "/v1/read", `{"store":`, 400, "decode request"},
		{"store that cannot be opened", "POST", "/v1/read", `{"store":"broken","dataset":"ds"}`, 503, "open broken dataset ds: connection refused"},
		{"store error", "POST", "/v1/read", `{"store":"kafka","dataset":"ds"}`, 500, "read kafka/ds: partition 2 offline"},
		{"describe a store without state", "GET", "/v1/describe?store=elasticsearch", "", 501, "cannot describe itself"},
		{"describe an unknown store", "GET", "/v1/describe?store=stackgraph", "", 404, "stackgraph"},
		{"write without valueBytes", "POST", "/v1/write?store=kafka&dataset=ds", "a\n", 400, "valueBytes"},
		{"write with too large a value", "POST", "/v1/write?store=kafka&dataset=ds&valueBytes=1073741824", "a\n", 400, "valueBytes"},
		{"write for another tenant", "POST", "/v1/write?tenant=tenant-b&store=kafka&dataset=ds&valueBytes=1", "a\n", 403, "tenant-b"},
		{"write to an unknown store", "POST", "/v1/write?store=stackgraph&dataset=ds&valueBytes=1", "a\n", 404, "stackgraph"},
		{"write without dataset", "POST", "/v1/write?store=kafka&valueBytes=1", "a\n", 400, "dataset: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, a.ts.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var er api.ErrorResponse
			if err := json.NewDecoder(res.Body).Decode(&er); err != nil {
				t.Fatalf("%s: body is not an ErrorResponse: %v", res.Status, err)
			}
			if res.StatusCode != tt.status || !strings.Contains(er.Error, tt.want) {
				t.Errorf("%s %q, want %d with %q", res.Status, er.Error, tt.status, tt.want)
			}
		})
	}
	// Through the client: a refused write stream gives every id one outcome, none acknowledged.
	var rec recorder
	err := stores.WriteIDs(context.Background(), a.store(t, "broken"), []string{"ds/1", "ds/2"}, 1, rec.emit)
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("write to a store that cannot be opened: %v, want a 503", err)
	}
	got := rec.byID(t)
	for _, id := range []string{"ds/1", "ds/2"} {
		if r, ok := got[id]; !ok || r.Err == nil {
			t.Errorf("%s: %+v (outcome %v), want a failed or unknown outcome", id, r, ok)
		}
	}
}

// The write is full duplex: the outcome of each id comes back while the caller still holds the
// next one, so a caller that waits for each outcome before giving the next id is not stuck.
func TestWriteFullDuplex(t *testing.T) {
	a := newAgent(t, nil, &fakeStore{name: "kafka", kind: topology.KindLog})
	rec := recorder{ch: make(chan topology.WriteResult, 10)}
	ids := []string{"ds/0-ok", "ds/1-fail", "ds/2-ok", "ds/3-unknown", "ds/4-ok"}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	fed := 0
	err := a.store(t, "kafka").WriteStream(ctx, func(yield func(string) bool) {
		for _, id := range ids {
			if !yield(id) {
				return
			}
			select {
			case r := <-rec.ch: // the outcome of id, before the next id is given
				if r.ID != id {
					t.Errorf("outcome of %s while %s awaited its own", r.ID, id)
				}
				fed++
			case <-ctx.Done():
				t.Errorf("no outcome for %s while the ids went on: the write is not full duplex", id)
				return
			}
		}
	}, 10, rec.emit)
	if err != nil {
		t.Fatal(err)
	}
	if fed != len(ids) {
		t.Errorf("%d of %d outcomes came back while the ids were still being fed", fed, len(ids))
	}
	if got := rec.byID(t); len(got) != len(ids) || kind(got["ds/3-unknown"]) != "unknown" || kind(got["ds/1-fail"]) != "failed" {
		t.Errorf("outcomes %+v", got)
	}
}

// pacing counts, between a caller and a store, the writes awaiting an outcome.
type pacing struct {
	st           topology.Store
	mu           sync.Mutex
	now, maxSeen int
}

// InFlight passes on the wrapped store's bound.
func (p *pacing) InFlight() int {
	if b, ok := p.st.(stores.InFlightBound); ok {
		return b.InFlight()
	}
	return 0
}

func (p *pacing) WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(topology.WriteResult)) error {
	return p.st.WriteStream(ctx, func(yield func(string) bool) {
		for id := range ids {
			p.mu.Lock()
			p.now++
			p.maxSeen = max(p.maxSeen, p.now)
			p.mu.Unlock()
			if !yield(id) {
				return
			}
		}
	}, valueBytes, func(r topology.WriteResult) {
		p.mu.Lock()
		p.now--
		p.mu.Unlock()
		emit(r)
	})
}

// A timed workload through the agent: every write issued gets exactly one outcome, ids are the
// workload's sequence, and no more than InFlight await their outcome at once.
func TestWriteForThroughAgent(t *testing.T) {
	tests := []struct {
		name  string
		load  stores.TimedLoad
		bound int // the store's own (its description's InFlight)
		most  int
	}{
		{"rate and in-flight bound", stores.TimedLoad{Prefix: "ds/during-", Duration: 200 * time.Millisecond, Rate: 500, InFlight: 3, ValueBytes: 10}, 0, 3},
		{"in-flight bound only", stores.TimedLoad{Prefix: "ds/during-", Duration: 100 * time.Millisecond, InFlight: 1, ValueBytes: 10}, 0, 1},
		{"the store's own bound, lower", stores.TimedLoad{Prefix: "ds/during-", Duration: 100 * time.Millisecond, InFlight: 50, ValueBytes: 10}, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeStore{name: "kafka", kind: topology.KindLog, inFlight: tt.bound}
			a := newAgent(t, nil, fake)
			p := &pacing{st: a.store(t, "kafka")}
			var rec recorder
			issued, err := stores.WriteFor(context.Background(), p, tt.load, rec.emit)
			if err != nil {
				t.Fatal(err)
			}
			if issued == 0 {
				t.Fatal("no write issued")
			}
			got := rec.byID(t)
			if len(rec.got) != issued {
				t.Errorf("%d outcomes for %d writes issued", len(rec.got), issued)
			}
			for i := range issued {
				if r, ok := got[stores.TimedID(tt.load.Prefix, i)]; !ok || r.Err != nil {
					t.Errorf("write %d: %+v (outcome %v), want acknowledged", i, r, ok)
				}
			}
			if p.maxSeen > tt.most {
				t.Errorf("%d writes awaited their outcome at once, want at most %d", p.maxSeen, tt.most)
			}
			if rb, _ := fake.Read(context.Background()); len(rb.Records) != issued {
				t.Errorf("the store holds %d records, %d were acknowledged", len(rb.Records), issued)
			}
		})
	}
}

// breaker wraps the agent's handler so that a write stream's connection can be cut as a dying
// agent's would be: once the test closes now, the next line of the answer is not written and the
// connection is hijacked and closed instead; done closes then.
type breaker struct {
	now, done chan struct{}
}

func newBreaker() *breaker { return &breaker{now: make(chan struct{}), done: make(chan struct{})} }

func (b *breaker) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/write" {
			w = &breakingWriter{ResponseWriter: w, b: b}
		}
		h.ServeHTTP(w, r)
	})
}

var errCut = errors.New("connection cut by the test")

type breakingWriter struct {
	http.ResponseWriter
	b   *breaker
	cut bool
}

func (w *breakingWriter) Write(p []byte) (int, error) {
	if w.cut {
		return 0, errCut
	}
	select {
	case <-w.b.now:
		w.cut = true
		rc := http.NewResponseController(w.ResponseWriter)
		_ = rc.Flush() // what was written before the cut reaches the client
		if conn, _, err := rc.Hijack(); err == nil {
			conn.Close()
		}
		close(w.b.done)
		return 0, errCut
	default:
		return w.ResponseWriter.Write(p)
	}
}

func (w *breakingWriter) FlushError() error {
	if w.cut {
		return errCut
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *breakingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// receive waits for n values of ch.
func receive[T any](t *testing.T, ch <-chan T, n int, what string) []T {
	t.Helper()
	var out []T
	timeout := time.After(wait)
	for len(out) < n {
		select {
		case v := <-ch:
			out = append(out, v)
		case <-timeout:
			t.Fatalf("%d of %d %s", len(out), n, what)
		}
	}
	return out
}

// The agent's handler dies mid-stream: the outcomes it sent stand, ids it took without answering
// are unknown, ids taken after the break are unknown or failed (never acknowledged), and every id
// taken has exactly one outcome.
func TestBrokenStream(t *testing.T) {
	b := newBreaker()
	fake := &fakeStore{name: "kafka", kind: topology.KindLog, hold: func(i int) bool { return i >= 3 }, took: make(chan string, 200)}
	a := newAgent(t, b.wrap, fake)
	a.srv.heartbeat = 10 * time.Millisecond // writes to the answer keep coming, so the cut comes soon
	rec := recorder{ch: make(chan topology.WriteResult, 200)}
	id := func(i int) string { return fmt.Sprintf("ds/%d-ok", i) }
	var taken []string
	done := make(chan error, 1)
	go func() {
		done <- a.store(t, "kafka").WriteStream(context.Background(), func(yield func(string) bool) {
			for i := range 100 {
				if i == 5 { // the rest only once the connection is cut
					select {
					case <-b.done:
					case <-time.After(wait):
						return
					}
				}
				taken = append(taken, id(i))
				if !yield(id(i)) {
					return
				}
			}
		}, 10, rec.emit)
	}()
	receive(t, fake.took, 5, "ids taken by the store") // ids 3 and 4 held without an outcome
	receive(t, rec.ch, 3, "outcomes before the cut")
	close(b.now)
	err := <-done
	if err == nil {
		t.Fatal("no error from a broken stream")
	}
	got := rec.byID(t)
	if len(rec.got) != len(taken) || len(taken) <= 5 {
		t.Errorf("%d outcomes for %d ids taken (want more than 5 taken)", len(rec.got), len(taken))
	}
	for i, id := range taken {
		r, ok := got[id]
		switch {
		case !ok:
			t.Errorf("%s: no outcome", id)
		case i < 3 && kind(r) != "acknowledged":
			t.Errorf("%s: %s (%v), want the acknowledgement the agent sent", id, kind(r), r.Err)
		case (i == 3 || i == 4) && kind(r) != "unknown":
			t.Errorf("%s: %s (%v), want unknown: the agent took it and its answer was lost", id, kind(r), r.Err)
		case i >= 5 && kind(r) == "acknowledged":
			t.Errorf("%s taken after the cut was acknowledged", id)
		}
	}
	last := got[taken[len(taken)-1]]
	t.Logf("after the cut: %d ids taken, the last %s: %v; stream error: %v", len(taken)-5, kind(last), last.Err, err)
}

// A timed workload whose stream breaks with writes in flight: the writes awaiting an outcome are
// unknown, no write is left without an outcome, and the workload ends without waiting out its
// duration.
func TestWriteForBrokenStream(t *testing.T) {
	b := newBreaker()
	const inFlight = 4
	fake := &fakeStore{name: "kafka", kind: topology.KindLog, hold: func(i int) bool { return i >= 3 }, took: make(chan string, 200)}
	a := newAgent(t, b.wrap, fake)
	a.srv.heartbeat = 10 * time.Millisecond
	rec := recorder{ch: make(chan topology.WriteResult, 200)}
	type answer struct {
		issued int
		err    error
	}
	done := make(chan answer, 1)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	go func() {
		issued, err := stores.WriteFor(ctx, a.store(t, "kafka"), stores.TimedLoad{Prefix: "p/", Duration: time.Hour, InFlight: inFlight, ValueBytes: 10}, rec.emit)
		done <- answer{issued, err}
	}()
	receive(t, rec.ch, 3, "outcomes before the cut")
	receive(t, fake.took, 3+inFlight, "ids taken by the store") // then the bound stops the workload
	close(b.now)
	ans := <-done
	if ctx.Err() != nil {
		t.Fatal("the workload waited for its duration (or hung) after the stream broke")
	}
	if ans.err == nil {
		t.Error("no error from a broken stream")
	}
	if ans.issued < 3+inFlight || len(rec.got) != ans.issued {
		t.Errorf("%d issued, %d outcomes; want at least %d issued, each with one outcome", ans.issued, len(rec.got), 3+inFlight)
	}
	got := rec.byID(t)
	for i := range ans.issued {
		r, ok := got[stores.TimedID("p/", i)]
		switch {
		case !ok:
			t.Errorf("write %d: no outcome", i)
		case i < 3 && kind(r) != "acknowledged":
			t.Errorf("write %d: %s (%v), want acknowledged", i, kind(r), r.Err)
		case i >= 3 && i < 3+inFlight && kind(r) != "unknown":
			t.Errorf("write %d: %s (%v), want unknown: it was in flight when the stream broke", i, kind(r), r.Err)
		case i >= 3+inFlight && kind(r) == "acknowledged": // issued once the break freed the bound
			t.Errorf("write %d, issued after the break, acknowledged", i)
		}
	}
}

// A store that stops taking ids without an error: the ids the agent never answered still get one
// outcome each.
func TestStoreStopsEarly(t *testing.T) {
	a := newAgent(t, nil, &fakeStore{name: "kafka", kind: topology.KindLog, stopAt: 2})
	rec := recorder{ch: make(chan topology.WriteResult, 10)}
	var taken []string
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := a.store(t, "kafka").WriteStream(ctx, func(yield func(string) bool) {
		for i := range 5 {
			id := fmt.Sprintf("ds/%d-ok", i)
			taken = append(taken, id)
			if !yield(id) {
				return
			}
			if i == 2 { // the agent has ended the stream: the next id cannot go
				select {
				case <-rec.ch:
				case <-ctx.Done():
				}
			}
		}
	}, 10, rec.emit)
	if ctx.Err() != nil {
		t.Fatalf("the write stream hung: %v", err)
	}
	got := rec.byID(t)
	if len(rec.got) != len(taken) {
		t.Errorf("%d outcomes for %d ids taken (%v)", len(rec.got), len(taken), err)
	}
	for i, id := range taken {
		if r, ok := got[id]; !ok || i < 2 && r.Err != nil || i >= 2 && r.Err == nil {
			t.Errorf("%s: %+v (outcome %v)", id, r, ok)
		}
	}
}

// Heartbeats keep a write stream alive through a long silence of outcomes; silence longer than the
// client's idle timeout is a broken stream, and the write awaiting its outcome is unknown.
func TestHeartbeatAndIdle(t *testing.T) {
	tests := []struct {
		name       string
		heartbeat  time.Duration
		heartbeats int // released after this many heartbeats; 0: never
		idle       time.Duration
	}{
		// 20 heartbeats at least 50ms apart: a silence of outcomes twice the idle timeout.
		{"heartbeats keep the stream", 50 * time.Millisecond, 20, 500 * time.Millisecond},
		{"silence breaks it", time.Hour, 0, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeStore{name: "kafka", kind: topology.KindLog, hold: func(i int) bool { return i >= 1 }, release: make(chan struct{})}
			var beats int
			count := func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.ServeHTTP(&heartbeatCounter{ResponseWriter: w, beat: func() {
						if beats++; beats == tt.heartbeats {
							close(fake.release)
						}
					}}, r)
				})
			}
			a := newAgent(t, count, fake)
			a.srv.heartbeat = tt.heartbeat
			a.c.IdleTimeout = tt.idle
			var rec recorder
			err := stores.WriteIDs(context.Background(), a.store(t, "kafka"), []string{"ds/0-ok", "ds/1-ok"}, 1, rec.emit)
			got := rec.byID(t)
			if kind(got["ds/0-ok"]) != "acknowledged" {
				t.Errorf("ds/0-ok: %+v", got["ds/0-ok"])
			}
			if tt.heartbeats > 0 {
				if err != nil || kind(got["ds/1-ok"]) != "acknowledged" {
					t.Errorf("error %v, ds/1-ok %+v; want the stream kept alive to its acknowledgement", err, got["ds/1-ok"])
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "silent too long") {
				t.Errorf("error %v, want the idle timeout", err)
			}
			if kind(got["ds/1-ok"]) != "unknown" {
				t.Errorf("ds/1-ok: %s (%v), want unknown", kind(got["ds/1-ok"]), got["ds/1-ok"].Err)
			}
		})
	}
}

// heartbeatCounter calls beat for every heartbeat (empty line) the agent writes.
type heartbeatCounter struct {
	http.ResponseWriter
	beat func()
}

func (w *heartbeatCounter) Write(p []byte) (int, error) {
	if string(p) == "\n" {
		w.beat()
	}
	return w.ResponseWriter.Write(p)
}

func (w *heartbeatCounter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Drop removes the dataset and the agent forgets the store it had opened for it.
func TestDrop(t *testing.T) {
	fake := &fakeStore{name: "kafka", kind: topology.KindLog}
	a := newAgent(t, nil, fake)
	ctx := context.Background()
	st := a.store(t, "kafka")
	if _, err := stores.Collect(ctx, st, []string{"ds/1-ok", "ds/2-ok"}, 10); err != nil {
		t.Fatal(err)
	}
	if n := a.opened("kafka/ds"); n != 1 {
		t.Fatalf("opened %d times, want once and cached", n)
	}
	if err := st.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if rb, _ := fake.Read(ctx); fake.dropped != 1 || len(rb.Records) != 0 {
		t.Errorf("after Drop the store was dropped %d times and holds %+v", fake.dropped, rb.Records)
	}
	a.srv.mu.Lock()
	_, cached := a.srv.cache[[2]string{"kafka", "ds"}]
	a.srv.mu.Unlock()
	if cached {
		t.Error("the dropped dataset's store is still cached")
	}
	if rb, err := st.Read(ctx); err != nil || len(rb.Records) != 0 {
		t.Errorf("Read after Drop = %+v, %v", rb, err)
	}
	if n := a.opened("kafka/ds"); n != 2 {
		t.Errorf("opened %d times, want the dataset opened again after the drop", n)
	}
}

func TestNewServer(t *testing.T) {
	tests := []struct {
		name    string
		cfg     api.Config
		want    []api.StoreInfo
		wantErr string
	}{
		{"stores in registry order", api.Config{Tenant: "tenant-a", Stores: map[string]api.StoreConfig{
			"objectstore": {Endpoints: []string{"127.0.0.1:1"}}, "kafka": {Endpoints: []string{"127.0.0.1:1"}}}},
			[]api.StoreInfo{{Name: "kafka", Kind: topology.KindLog}, {Name: "objectstore", Kind: topology.KindObject}}, ""},
		{"store the registry does not know", api.Config{Tenant: "tenant-a", Stores: map[string]api.StoreConfig{
			"kafka": {Endpoints: []string{"k:9092"}}, "graphstore": {Endpoints: []string{"s:1"}}}}, nil,
			"stores.graphstore: no such store (known: kafka, elasticsearch, stackgraph, objectstore)"},
		{"invalid config", api.Config{Tenant: "tenant-a", Stores: map[string]api.StoreConfig{"kafka": {}}}, nil, "stores.kafka.endpoints: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := NewServer(tt.cfg, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			ts := httptest.NewServer(srv.Handler()) // no store is reached before a dataset is used
			defer ts.Close()
			sr, err := api.NewClient(ts.URL).StoreInfos(context.Background())
			if err != nil || sr.Tenant != "tenant-a" || !slices.Equal(sr.Stores, tt.want) {
				t.Errorf("StoreInfos = %+v, %v; want %+v", sr, err, tt.want)
			}
		})
	}
}

// signalWriter closes seen once what was written contains text.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	text string
	seen func()
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.seen != nil && strings.Contains(w.buf.String(), w.text) {
		w.once.Do(w.seen)
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestAgentMain(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"tenant":"tenant-a","stores":{"objectstore":{"endpoints":["127.0.0.1:1"],"accessKey":"a","secretKey":"b"}}}`)
	bad := write("bad.json", `{"tenant":""}`)
	unknown := write("unknown.json", `{"tenant":"a","stores":{"graphstore":{"endpoints":["s:1"]}}}`)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name   string
		args   []string
		want   int
		output string
	}{
		{"no config", nil, 2, "usage"},
		{"stray argument", []string{"--config", good, "extra"}, 2, "usage"},
		{"unknown flag", []string{"--nope"}, 2, "flag provided but not defined"},
		{"help", []string{"-h"}, 0, "usage"},
		{"bad config", []string{"--config", bad}, 2, "tenant: required"},
		{"missing file", []string{"--config", filepath.Join(dir, "none.json")}, 2, "read agent config"},
		{"unknown store", []string{"--config", unknown}, 2, "no such store"},
		{"address in use", []string{"--config", good, "--listen", busy.Addr().String()}, 1, "listen on"},
		{"serves until cancelled", []string{"--config", good, "--listen", "127.0.0.1:0"}, 0, "serving on 127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &signalWriter{text: "serving on", seen: cancel} // a served agent is stopped at once
			errOut := &signalWriter{}
			if got := Main(ctx, tt.args, out, errOut); got != tt.want {
				t.Fatalf("Main = %d, want %d; stderr: %s", got, tt.want, errOut)
			}
			if all := out.String() + errOut.String(); !strings.Contains(all, tt.output) {
				t.Errorf("output %q, want %q", all, tt.output)
			}
		})
	}
}

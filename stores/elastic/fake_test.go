package elastic

import (
	"bufio"
	"context"
	"encoding/json"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeES answers the requests the Store makes the way Elasticsearch does, with what each test sets.
// Routing lands on shard fakeShard(routing) (a stand-in for Elasticsearch's Murmur3 routing).
type fakeES struct {
	t      *testing.T
	index  string
	shards int

	// item answers one create action (its attempt-th for that id, from 0); nil: created on 2 copies.
	item func(a fakeAction, attempt int) fakeItem
	// stuck is a shard whose _bulk requests wait for release (or the client to go away); -1: none.
	stuck   int
	release chan struct{}
	// cat is the _cat/shards answer.
	cat []ShardState
	// gone makes the index missing: _cat/shards answers index_not_found_exception.
	gone bool
	// search answers a search by its preference with a status and the hits (ids) or an error body.
	search func(preference string) (int, any)

	mu          sync.Mutex
	actions     []fakeAction
	attempts    map[string]int
	preferences []string
}

type fakeAction struct {
	ID, Routing, Value string
	Shard              int
}

// fakeItem is the answer to one action; Whole answers the whole _bulk request with Status.
type fakeItem struct {
	Status             int
	Type               string
	Successful, Failed int
	Whole              bool
}

func fakeShard(routing string, shards int) int {
	h := fnv.New32a()
	h.Write([]byte(routing))
	return int(h.Sum32() % uint32(shards))
}

// newFake starts a fake cluster and returns a Store on its index "ds".
func newFake(t *testing.T, shards int, set func(*fakeES)) (*fakeES, *Store) {
	t.Helper()
	f := &fakeES{t: t, index: "ds", shards: shards, stuck: -1, release: make(chan struct{}), attempts: map[string]int{}}
	if set != nil {
		set(f)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { // before the server closes: a stuck handler must end
		select {
		case <-f.release:
		default:
			close(f.release)
		}
	})
	ctx := context.Background()
	c, err := Connect(ctx, Config{URLs: []string{srv.URL}, Shards: shards, Replicas: 1, Bulks: 2, BulkSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := c.Store(ctx, f.index)
	if err != nil {
		t.Fatal(err)
	}
	return f, s
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	p, q := r.URL.Path, r.URL.Query()
	switch {
	case p == "/":
		f.answer(w, 200, map[string]any{"version": map[string]any{"number": "8.19.0"}})
	case strings.HasPrefix(p, "/_cluster/health"):
		f.answer(w, 200, map[string]any{"status": "green", "timed_out": false})
	case r.Method == http.MethodPut && p == "/"+f.index:
		f.answer(w, 200, map[string]any{"acknowledged": true})
	case r.Method == http.MethodDelete && p == "/"+f.index:
		f.answer(w, 200, map[string]any{"acknowledged": true})
	case p == "/"+f.index+"/_search_shards":
		var groups [][]map[string]any
		for n := range f.shards {
			if q.Has("routing") && n != fakeShard(q.Get("routing"), f.shards) {
				continue
			}
			groups = append(groups, []map[string]any{{"index": f.index, "shard": n, "primary": true, "state": "STARTED"}})
		}
		f.answer(w, 200, map[string]any{"shards": groups})
	case p == "/"+f.index+"/_bulk":
		f.bulk(w, r)
	case p == "/"+f.index+"/_refresh":
		f.answer(w, 200, map[string]any{"_shards": map[string]int{"total": 2 * f.shards, "successful": 2 * f.shards}})
	case strings.HasPrefix(p, "/_cat/shards") && f.gone:
		f.answer(w, 404, map[string]any{"error": map[string]string{"type": "index_not_found_exception", "reason": "no such index [" + f.index + "]"}})
	case strings.HasPrefix(p, "/_cat/shards"):
		f.answer(w, 200, f.cat)
	case strings.HasPrefix(p, "/_search/scroll") && r.Method == http.MethodDelete:
		f.answer(w, 200, map[string]any{"succeeded": true})
	case strings.HasPrefix(p, "/_search/scroll"):
		f.answer(w, 200, map[string]any{"_scroll_id": q.Get("scroll_id"), "_shards": map[string]int{"total": 1, "successful": 1},
			"hits": map[string]any{"hits": []any{}}})
	case p == "/"+f.index+"/_search":
		pref := q.Get("preference")
		if q.Get("allow_partial_search_results") != "true" {
			f.t.Errorf("search %q without allow_partial_search_results=true", pref)
		}
		f.mu.Lock()
		f.preferences = append(f.preferences, pref)
		f.mu.Unlock()
		status, ans := f.search(pref)
		if ids, ok := ans.([]string); ok {
			hits := make([]map[string]any, len(ids))
			for i, id := range ids {
				hits[i] = map[string]any{"_id": id, "_source": map[string]string{"value": string(valueOf(id))}}
			}
			ans = map[string]any{"_scroll_id": "scroll-" + pref, "_shards": map[string]int{"total": 1, "successful": 1},
				"hits": map[string]any{"hits": hits}}
		}
		f.answer(w, status, ans)
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		f.answer(w, 404, map[string]any{"error": map[string]string{"type": "not_found", "reason": p}})
	}
}

func (f *fakeES) answer(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeES) bulk(w http.ResponseWriter, r *http.Request) {
	var actions []fakeAction
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var meta map[string]struct {
			ID      string `json:"_id"`
			Routing string `json:"routing"`
		}
		if err := json.Unmarshal(sc.Bytes(), &meta); err != nil || !sc.Scan() {
			f.t.Errorf("bad _bulk body: %v", err)
			return
		}
		var doc struct{ ID, Value string }
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			f.t.Errorf("bad _bulk document: %v", err)
			return
		}
		m, ok := meta["create"]
		if !ok || m.ID != doc.ID {
			f.t.Errorf("_bulk action %v for document %s, want create", meta, doc.ID)
		}
		actions = append(actions, fakeAction{ID: m.ID, Routing: m.Routing, Value: doc.Value, Shard: fakeShard(m.Routing, f.shards)})
	}
	if len(actions) == 0 {
		f.t.Errorf("empty _bulk")
		return
	}
	if actions[0].Shard == f.stuck {
		select {
		case <-f.release:
		case <-r.Context().Done():
			return
		}
	}
	f.mu.Lock()
	f.actions = append(f.actions, actions...)
	answers := make([]fakeItem, len(actions))
	for i, a := range actions {
		answers[i] = fakeItem{Status: 201, Successful: 2}
		if f.item != nil {
			answers[i] = f.item(a, f.attempts[a.ID])
		}
		f.attempts[a.ID]++
	}
	f.mu.Unlock()
	if answers[0].Whole {
		f.answer(w, answers[0].Status, map[string]any{"error": map[string]string{"type": answers[0].Type, "reason": "whole request"}})
		return
	}
	items := make([]map[string]any, len(actions))
	for i, a := range actions {
		it := map[string]any{"_index": f.index, "_id": a.ID, "status": answers[i].Status}
		if answers[i].Type != "" {
			it["error"] = map[string]string{"type": answers[i].Type, "reason": "[" + a.ID + "]: " + answers[i].Type}
		} else {
			it["_seq_no"], it["_primary_term"] = 1, 1
			it["_shards"] = map[string]int{"total": answers[i].Successful + answers[i].Failed, "successful": answers[i].Successful, "failed": answers[i].Failed}
		}
		items[i] = map[string]any{"create": it}
	}
	f.answer(w, 200, map[string]any{"errors": false, "items": items})
}

// routingOf is the routing the fake saw on the last action for id.
func (f *fakeES) routingOf(id string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.actions) - 1; i >= 0; i-- {
		if f.actions[i].ID == id {
			return f.actions[i].Routing, true
		}
	}
	return "", false
}

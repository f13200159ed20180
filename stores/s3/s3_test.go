package s3

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"dpsim/stores"
	"dpsim/stores/s3/keys"
	"dpsim/topology"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		indefinite bool
	}{
		{"access denied", minio.ErrorResponse{StatusCode: 403, Code: "AccessDenied"}, false},
		{"no such bucket", minio.ErrorResponse{StatusCode: 404, Code: "NoSuchBucket"}, false},
		{"write quorum not met", minio.ErrorResponse{StatusCode: 503, Code: "SlowDownWrite"}, true},
		{"internal error", minio.ErrorResponse{StatusCode: 500, Code: "InternalError"}, true},
		{"request timeout", minio.ErrorResponse{StatusCode: 408, Code: "RequestTimeout"}, true},
		{"connection refused", &url.Error{Op: "Put", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, false},
		{"reset after send", &url.Error{Op: "Put", URL: "http://x", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}, true},
		{"already unknown", stores.Indefinite(errors.New("in flight when the run ended")), true},
		{"something else", errors.New("odd"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(tt.err)
			if got == nil || errors.Is(got, topology.ErrIndefinite) != tt.indefinite {
				t.Errorf("Classify(%v) = %v, want indefinite %v", tt.err, got, tt.indefinite)
			}
		})
	}
}

// fakeS3 is the part of the S3 API the store uses, in memory: bucket HEAD, ListObjectsV2, GET,
// PUT (aws-chunked bodies as minio-go sends them over plain HTTP) and multi-object delete. A key in
// broken answers every GET with a 503, as MinIO does when an object lost read quorum.
type fakeS3 struct {
	bucket string
	mu     sync.Mutex
	objs   map[string][]byte
	broken map[string]bool
}

func newFakeS3(t *testing.T, bucket string) (*fakeS3, Config) {
	t.Helper()
	f := &fakeS3{bucket: bucket, objs: map[string][]byte{}, broken: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, Config{Endpoint: strings.TrimPrefix(srv.URL, "http://"), AccessKey: "k", SecretKey: "secret-key", Bucket: bucket, Workers: 4}
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket != f.bucket {
		s3Error(w, http.StatusNotFound, "NoSuchBucket")
		return
	}
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case key == "" && r.Method == http.MethodHead:
	case key == "" && r.Method == http.MethodGet && q.Get("list-type") == "2":
		type content struct {
			Key          string
			Size         int
			ETag         string
			LastModified string
		}
		res := struct {
			XMLName     xml.Name `xml:"ListBucketResult"`
			Name        string
			Prefix      string
			KeyCount    int
			MaxKeys     int
			IsTruncated bool
			Contents    []content
		}{Name: bucket, Prefix: q.Get("prefix"), MaxKeys: 1000}
		var ks []string
		for k := range f.objs {
			if strings.HasPrefix(k, q.Get("prefix")) {
				ks = append(ks, k)
			}
		}
		slices.Sort(ks)
		for _, k := range ks {
			res.Contents = append(res.Contents, content{Key: k, Size: len(f.objs[k]), ETag: `"e"`, LastModified: "2026-01-01T00:00:00.000Z"})
		}
		res.KeyCount = len(res.Contents)
		writeXML(w, res)
	case key == "" && r.Method == http.MethodPost && q.Has("delete"):
		var req struct {
			Objects []struct{ Key string } `xml:"Object"`
		}
		if err := xml.NewDecoder(r.Body).Decode(&req); err != nil {
			s3Error(w, http.StatusBadRequest, "MalformedXML")
			return
		}
		for _, o := range req.Objects {
			delete(f.objs, o.Key)
		}
		writeXML(w, struct {
			XMLName xml.Name `xml:"DeleteResult"`
		}{})
	case r.Method == http.MethodGet:
		v, ok := f.objs[key]
		switch {
		case !ok:
			s3Error(w, http.StatusNotFound, "NoSuchKey")
		case f.broken[key]:
			s3Error(w, http.StatusServiceUnavailable, "SlowDownRead")
		default:
			w.Header().Set("Content-Length", strconv.Itoa(len(v)))
			w.Header().Set("ETag", `"e"`)
			w.Header().Set("Last-Modified", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat))
			w.Write(v)
		}
	case r.Method == http.MethodPut:
		body, err := readBody(r)
		if err != nil {
			s3Error(w, http.StatusBadRequest, "IncompleteBody")
			return
		}
		f.objs[key] = body
		w.Header().Set("ETag", fmt.Sprintf(`"etag-%d"`, len(body)))
	default:
		s3Error(w, http.StatusNotImplemented, "NotImplemented")
	}
}

// readBody reads a PUT body, decoding aws-chunked ("<hex size>;chunk-signature=...\r\n<data>\r\n"
// until a chunk of size 0).
func readBody(r *http.Request) ([]byte, error) {
	if !strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		return io.ReadAll(r.Body)
	}
	br := bufio.NewReader(r.Body)
	var out bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		n, err := strconv.ParseInt(size, 16, 64)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return out.Bytes(), nil
		}
		if _, err := io.CopyN(&out, br, n); err != nil {
			return nil, err
		}
		if _, err := br.Discard(2); err != nil {
			return nil, err
		}
	}
}

func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/xml")
	xml.NewEncoder(w).Encode(v)
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string
		Message string
	}{Code: code, Message: code})
}

func TestRead(t *testing.T) {
	const dataset = "run-1"
	ids := []string{"run-1/t/objectstore/before-00000", "w-1", "w-2", "w-3"}
	tests := []struct {
		name           string
		stored         map[string][]byte // by id, in dataset
		broken         []string          // ids whose GET fails
		other          map[string][]byte // by key, outside the dataset
		wantHashes     map[string]string // by id
		wantUnreadable []string          // ids
	}{
		{
			name:       "every value as written",
			stored:     map[string][]byte{ids[0]: topology.Value(ids[0], 100), ids[1]: topology.Value(ids[1], 1)},
			wantHashes: map[string]string{ids[0]: topology.ValueHash(topology.Value(ids[0], 100)), ids[1]: topology.ValueHash(topology.Value(ids[1], 1))},
		},
		{
			name:       "a changed value reads back with its own hash",
			stored:     map[string][]byte{ids[1]: []byte("not the value")},
			wantHashes: map[string]string{ids[1]: topology.ValueHash([]byte("not the value"))},
		},
		{
			name:           "an object that lost read quorum is unreadable and the read goes on",
			stored:         map[string][]byte{ids[1]: topology.Value(ids[1], 10), ids[2]: topology.Value(ids[2], 10), ids[3]: topology.Value(ids[3], 10)},
			broken:         []string{ids[2]},
			wantHashes:     map[string]string{ids[1]: topology.ValueHash(topology.Value(ids[1], 10)), ids[3]: topology.ValueHash(topology.Value(ids[3], 10))},
			wantUnreadable: []string{ids[2]},
		},
		{
			name:       "objects of another dataset are not read",
			stored:     map[string][]byte{ids[1]: topology.Value(ids[1], 10)},
			other:      map[string][]byte{"run-10/w-1": []byte("x"), "w-1": []byte("y"), "run-1/": nil},
			wantHashes: map[string]string{ids[1]: topology.ValueHash(topology.Value(ids[1], 10))},
		},
		{
			name:       "an empty dataset",
			wantHashes: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			f, cfg := newFakeS3(t, "tenant-a")
			for id, v := range tt.stored {
				f.objs[keys.Object(dataset, id)] = v
			}
			for _, id := range tt.broken {
				f.broken[keys.Object(dataset, id)] = true
			}
			for k, v := range tt.other {
				f.objs[k] = v
			}
			s, err := Open(ctx, cfg, dataset)
			if err != nil {
				t.Fatal(err)
			}
			rb, err := s.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range rb.Records {
				if _, dup := got[r.ID]; dup {
					t.Errorf("%s read twice", r.ID)
				}
				got[r.ID] = r.Hash
			}
			if !equalMaps(got, tt.wantHashes) {
				t.Errorf("records %v, want %v", got, tt.wantHashes)
			}
			if len(rb.Unreadable) != len(tt.wantUnreadable) {
				t.Fatalf("unreadable %q, want %q", rb.Unreadable, tt.wantUnreadable)
			}
			for i, id := range tt.wantUnreadable {
				if !strings.HasPrefix(rb.Unreadable[i], id+": ") || !strings.Contains(rb.Unreadable[i], "SlowDownRead") {
					t.Errorf("unreadable %q, want %q with the reason", rb.Unreadable[i], id)
				}
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestWriteReadDrop writes through the store, reads every value back with the hash of what was
// written, and drops the dataset without touching another one.
func TestWriteReadDrop(t *testing.T) {
	ctx := t.Context()
	f, cfg := newFakeS3(t, "tenant-a")
	f.objs["run-2/w-0"] = []byte("another dataset")
	s, err := Open(ctx, cfg, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"w-0", "w-1", "a/b/c", "w-3", "w-4", "w-5"}
	results, err := stores.Collect(ctx, s, ids, 300)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range results {
		seen[r.ID]++
		if r.Err != nil || r.Detail != `etag=etag-300` || r.Finished.Before(r.Invoked) {
			t.Errorf("write %s: err %v, detail %q", r.ID, r.Err, r.Detail)
		}
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("%s emitted %d times, want once", id, seen[id])
		}
	}
	if _, ok := f.objs["run-1/a/b/c"]; !ok {
		t.Errorf("id a/b/c not stored as run-1/a/b/c: keys %v", slices.Sorted(mapKeys(f.objs)))
	}
	rb, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rb.Records) != len(ids) || len(rb.Unreadable) != 0 {
		t.Fatalf("read %d records, unreadable %q; want %d", len(rb.Records), rb.Unreadable, len(ids))
	}
	for _, r := range rb.Records {
		if want := topology.ValueHash(topology.Value(r.ID, 300)); r.Hash != want {
			t.Errorf("%s: hash %s, want %s", r.ID, r.Hash, want)
		}
	}
	if err := s.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(mapKeys(f.objs)); !slices.Equal(got, []string{"run-2/w-0"}) {
		t.Errorf("after drop: %v, want only the other dataset's object", got)
	}
}

func mapKeys(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestWriteStreamEnded checks that ids taken after the context ended are failed, not unknown, and
// that each is emitted once.
func TestWriteStreamEnded(t *testing.T) {
	_, cfg := newFakeS3(t, "tenant-a")
	s, err := Open(t.Context(), cfg, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	results, _ := stores.Collect(ctx, s, []string{"w-0", "w-1", "w-2"}, 10)
	if len(results) != 3 {
		t.Fatalf("%d results, want 3", len(results))
	}
	for _, r := range results {
		if r.Err == nil {
			t.Errorf("%s acknowledged after the context ended", r.ID)
		}
	}
}

func TestPlacementFailsClosed(t *testing.T) {
	_, cfg := newFakeS3(t, "tenant-a")
	s, err := Open(t.Context(), cfg, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Placement(t.Context())
	if p != nil || !errors.Is(err, ErrPlacementFromDrives) || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Placement = %v, %v; want no placement and ErrPlacementFromDrives", p, err)
	}
}

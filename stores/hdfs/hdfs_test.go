package hdfs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dpsim/stores"
	"dpsim/topology"
)

func TestNameRoundTrip(t *testing.T) {
	tests := []struct{ id, name string }{
		{"w-0000001", "w-0000001"},
		{"run-1-kill/tenant-a/stackgraph/before-0000001", "run-1-kill~2Ftenant-a~2Fstackgraph~2Fbefore-0000001"},
		{".hidden", "~2Ehidden"},
		{"..", "~2E."},
		{"a~b:c d", "a~7Eb~3Ac~20d"},
		{"ü", "~C3~BC"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			name := Name(tt.id)
			if name != tt.name {
				t.Errorf("Name(%q) = %q, want %q", tt.id, name, tt.name)
			}
			if id, ok := ID(name); !ok || id != tt.id {
				t.Errorf("ID(%q) = %q, %v; want %q", name, id, ok, tt.id)
			}
		})
	}
}

func TestIDRefusesForeignNames(t *testing.T) {
	for _, name := range []string{"", "a~2f", "~61", "a~2", "a~ZZ", ".x", "a b", "a:b"} {
		if id, ok := ID(name); ok {
			t.Errorf("ID(%q) = %q, true; want false: Name never makes it", name, id)
		}
	}
}

func TestWrite(t *testing.T) {
	const id = "run-1/tenant-a/stackgraph/w-0000001"
	p := "/dpsim/ds/" + Name(id)
	refusal := func(string) *remoteError {
		return &remoteError{Status: 403, Exception: "IOException",
			Message: "File " + p + " could only be written to 0 of the 1 minReplication nodes. There are 3 datanode(s) running and 3 node(s) are excluded in this operation."}
	}
	tests := []struct {
		name       string
		set        func(*fakeHDFS)
		timeout    time.Duration
		ack        bool
		indefinite bool
		copies     int
		node       string
		detail     string // in the detail or the error
		left       bool   // a file is at the path afterwards
	}{
		{name: "acknowledged on two datanodes", ack: true, copies: 2, node: "hdfs-datanode-0", detail: "copies=2", left: true},
		{name: "one replica when two are wanted", set: func(f *fakeHDFS) { f.replicas = 1 },
			ack: true, copies: 1, node: "hdfs-datanode-0", detail: "copies=1", left: true},
		{name: "a replica reported after the close counts as missing", set: func(f *fakeHDFS) { f.lateReport = true },
			ack: true, copies: 1, node: "hdfs-datanode-0", detail: "copies=1", left: true},
		{name: "block locations unknown", set: func(f *fakeHDFS) { f.failLocations = true },
			ack: true, copies: 0, node: "127.0.0.1", detail: "block locations unknown: http 403: RetriableException", left: true},
		{name: "the namenode names no datanode", set: func(f *fakeHDFS) { f.noDatanode = true },
			detail: "nothing created: http 403: IOException: Failed to find datanode"},
		{name: "the datanode refuses after creating the file", set: func(f *fakeHDFS) { f.refuse = refusal },
			detail: "could only be written to 0 of the 1 minReplication nodes"},
		{name: "a refusal whose file cannot be removed", set: func(f *fakeHDFS) { f.refuse, f.failDelete = refusal, true },
			indefinite: true, detail: "removing the file it may have left failed", left: true},
		{name: "the file already exists", set: func(f *fakeHDFS) { f.put(p, []byte("someone else's")) },
			detail: "FileAlreadyExistsException", left: true},
		{name: "the datanode never answers after the body", set: func(f *fakeHDFS) { f.hang = func(string) bool { return true } },
			timeout: 300 * time.Millisecond, indefinite: true, detail: "deadline exceeded", left: true},
		// Each answer takes 600 ms of the 1 s bound: the body is stored, the write as a whole is late.
		{name: "each answer in time, the write as a whole too slow", set: func(f *fakeHDFS) { f.delay = 600 * time.Millisecond },
			timeout: time.Second, indefinite: true, detail: "deadline exceeded", left: true},
		{name: "the connection breaks after the body", set: func(f *fakeHDFS) { f.drop = true },
			indefinite: true, detail: "EOF", left: true},
		{name: "the datanode fails with 500", set: func(f *fakeHDFS) { f.serverError = true },
			indefinite: true, detail: "http 500: NullPointerException", left: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, s := newFake(t, tt.set)
			if tt.timeout > 0 {
				s.c.cfg.Timeout = tt.timeout
			}
			res, err := stores.Collect(context.Background(), s, []string{id}, 64)
			if err != nil || len(res) != 1 {
				t.Fatalf("Collect = %+v, %v; want one outcome", res, err)
			}
			r := res[0]
			if (r.Err == nil) != tt.ack || errors.Is(r.Err, topology.ErrIndefinite) != tt.indefinite {
				t.Fatalf("outcome %+v: want acknowledged %v, unknown %v", r, tt.ack, tt.indefinite)
			}
			if r.Ack.Copies != tt.copies || r.Ack.Node != tt.node {
				t.Errorf("ack %+v: want copies %d on %s", r.Ack, tt.copies, tt.node)
			}
			if said := r.Detail + " " + errString(r.Err); !strings.Contains(said, tt.detail) {
				t.Errorf("detail %q, error %v: want %q in it", r.Detail, r.Err, tt.detail)
			}
			if left := f.file(p) != nil; left != tt.left {
				t.Errorf("a file at %s afterwards: %v, want %v", p, left, tt.left)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestWriteStreamEmitsOncePerID(t *testing.T) {
	f, s := newFake(t, nil)
	ids := make([]string, 40)
	for i := range ids {
		ids[i] = stores.TimedID("run/t/stackgraph/w-", i)
	}
	res, err := stores.Collect(context.Background(), s, ids, 32)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range res {
		seen[r.ID]++
		if r.Err != nil || r.Ack.Copies != 2 {
			t.Errorf("%s: %+v, want acknowledged with 2 copies", r.ID, r)
		}
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("%s emitted %d times, want once", id, seen[id])
		}
		if got := f.file("/dpsim/ds/" + Name(id)); string(got) != string(topology.Value(id, 32)) {
			t.Errorf("%s holds %q, want its value", id, got)
		}
	}
}

// A write in flight when ctx ends is unknown; ids taken after are failed, never sent.
func TestWriteStreamContextEnd(t *testing.T) {
	bodies := make(chan string, 10)
	f, s := newFake(t, func(f *fakeHDFS) {
		f.bodies = bodies
		f.hang = func(p string) bool { return strings.HasSuffix(p, "/a") }
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var taken []string
	got := map[string][]topology.WriteResult{}
	err := s.WriteStream(ctx, func(yield func(string) bool) {
		for _, id := range []string{"a", "b", "c"} {
			mu.Lock()
			taken = append(taken, id)
			mu.Unlock()
			if !yield(id) {
				return
			}
			if id == "a" {
				<-bodies // a's body reached the datanode
				cancel()
			}
		}
	}, 8, func(r topology.WriteResult) {
		mu.Lock()
		got[r.ID] = append(got[r.ID], r)
		mu.Unlock()
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("WriteStream = %v, want context.Canceled", err)
	}
	for _, id := range taken {
		if len(got[id]) != 1 {
			t.Fatalf("%s emitted %d times, want once", id, len(got[id]))
		}
		r := got[id][0]
		switch {
		case id == "a" && !errors.Is(r.Err, topology.ErrIndefinite):
			t.Errorf("a, in flight when ctx ended: %v, want unknown", r.Err)
		case id != "a" && (r.Err == nil || errors.Is(r.Err, topology.ErrIndefinite) || f.file("/dpsim/ds/"+id) != nil):
			t.Errorf("%s, taken after ctx ended: %v, want failed and nothing written", id, r.Err)
		}
	}
	if len(got) != len(taken) {
		t.Errorf("outcomes for %d ids, %d taken", len(got), len(taken))
	}
}

func TestRead(t *testing.T) {
	ids := []string{"r/1", "r/2", "r/3"}
	tests := []struct {
		name       string
		set        func(f *fakeHDFS)
		read       []string
		unreadable []string // substrings, one per entry
	}{
		{name: "every file", read: ids},
		{name: "a missing block", set: func(f *fakeHDFS) { f.missing["/dpsim/ds/"+Name("r/2")] = true },
			read: []string{"r/1", "r/3"}, unreadable: []string{"r/2: read from 127.0.0.1: http 403: BlockMissingException"}},
		{name: "a file no record names", set: func(f *fakeHDFS) { f.put("/dpsim/ds/a~2f", []byte("x")) }, read: ids},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, s := newFake(t, nil)
			if _, err := stores.Collect(context.Background(), s, ids, 16); err != nil {
				t.Fatal(err)
			}
			if tt.set != nil {
				tt.set(f)
			}
			rb, err := s.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var read []string
			for _, r := range rb.Records {
				read = append(read, r.ID)
				if r.Hash != topology.ValueHash(topology.Value(r.ID, 16)) {
					t.Errorf("%s read with hash %s, want its value's", r.ID, r.Hash)
				}
			}
			if !slices.Equal(read, tt.read) {
				t.Errorf("read %v, want %v", read, tt.read)
			}
			if len(rb.Unreadable) != len(tt.unreadable) {
				t.Fatalf("unreadable %v, want %v", rb.Unreadable, tt.unreadable)
			}
			for i, u := range tt.unreadable {
				if !strings.Contains(rb.Unreadable[i], u) {
					t.Errorf("unreadable %q, want %q in it", rb.Unreadable[i], u)
				}
			}
		})
	}
}

// A dataset whose directory is gone: Read says so, Replicated and Placement are ErrDatasetMissing.
func TestMissingDirectory(t *testing.T) {
	_, s := newFake(t, nil)
	ctx := context.Background()
	if _, err := stores.Collect(ctx, s, []string{"x"}, 8); err != nil {
		t.Fatal(err)
	}
	if err := s.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	rb, err := s.Read(ctx)
	if err != nil || len(rb.Records) != 0 || len(rb.Unreadable) != 1 || !strings.Contains(rb.Unreadable[0], "/dpsim/ds does not exist") {
		t.Errorf("Read = %+v, %v; want nothing read and the directory named missing", rb, err)
	}
	if _, _, err := s.Replicated(ctx); !errors.Is(err, stores.ErrDatasetMissing) {
		t.Errorf("Replicated: %v, want ErrDatasetMissing", err)
	}
	if _, err := s.Placement(ctx); !errors.Is(err, stores.ErrDatasetMissing) {
		t.Errorf("Placement: %v, want ErrDatasetMissing", err)
	}
	if err := s.Drop(ctx); err != nil {
		t.Errorf("Drop of a dropped dataset: %v", err)
	}
}

func TestPlacementAndReplicated(t *testing.T) {
	tests := []struct {
		name       string
		set        func(f *fakeHDFS)
		nodes      []string
		tolerates  int
		replicated bool
		details    []string
	}{
		{name: "two live replicas", nodes: []string{"hdfs-datanode-0", "hdfs-datanode-1"}, tolerates: 1,
			replicated: true, details: []string{"/dpsim/ds: 2 blocks of 2 files"}},
		{name: "one replica", set: func(f *fakeHDFS) { f.replicas = 1 }, nodes: []string{"hdfs-datanode-0"}, tolerates: 0,
			details: []string{"1 of 2 blocks under-replicated", "/dpsim/ds/p block BP-", "1 of 2 replicas live [hdfs-datanode-0 LIVE]"}},
		{name: "a replica on a stale datanode", set: func(f *fakeHDFS) { f.stale[1] = true }, nodes: []string{"hdfs-datanode-0"},
			tolerates: 0, details: []string{"1 of 2 replicas live [hdfs-datanode-0 LIVE, hdfs-datanode-1 STALE_NODE]"}},
		{name: "a missing block", set: func(f *fakeHDFS) { f.missing["/dpsim/ds/p"] = true }, nodes: []string{}, tolerates: -1,
			details: []string{"/dpsim/ds/p block BP-", "0 of 2 replicas live []"}},
		{name: "datanodes the namenode does not name, nor its safe mode", set: func(f *fakeHDFS) { f.noJMX = true },
			nodes: []string{"10.0.0.1", "10.0.0.2"}, tolerates: 1, details: []string{"namenode's safe mode (no write taken while on): unknown: "}},
		{name: "the namenode in safe mode", set: func(f *fakeHDFS) {
			f.safeMode = "The reported blocks 300 needs additional 27 blocks to reach the threshold 0.9990 of total blocks 327."
		}, nodes: []string{"hdfs-datanode-0", "hdfs-datanode-1"}, tolerates: 1,
			details: []string{"namenode's safe mode (no write taken while on): The reported blocks 300 needs additional 27 blocks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, s := newFake(t, tt.set)
			ctx := context.Background()
			if _, err := stores.Collect(ctx, s, []string{"p"}, 8); err != nil {
				t.Fatal(err)
			}
			f.put("/dpsim/ds/a~2f", []byte("no record's"), 0, 1) // placed nowhere, counted in the state
			pl, err := s.Placement(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(pl) != 1 || pl[0].ID != "p" || !slices.Equal(pl[0].Nodes, tt.nodes) || pl[0].Tolerates != tt.tolerates {
				t.Errorf("Placement = %+v, want p on %v tolerating %d", pl, tt.nodes, tt.tolerates)
			}
			ok, detail, err := s.Replicated(ctx)
			if err != nil || ok != tt.replicated {
				t.Errorf("Replicated = %v, %q, %v; want %v", ok, detail, err, tt.replicated)
			}
			for _, d := range tt.details {
				if !strings.Contains(detail, d) {
					t.Errorf("Replicated detail %q, want %q in it", detail, d)
				}
			}
		})
	}
}

func TestParseFsck(t *testing.T) {
	report := `FSCK started by hdfs (auth:SIMPLE) from /10.244.0.5 for path /dpsim/ds at Wed Dec 02 11:00:00 UTC 2026
/dpsim/ds <dir>
/dpsim/ds/a 10 bytes, replicated: replication=2, 1 block(s):  OK
0. BP-1-10.0.0.100-1:blk_1073741825_1001 len=10 Live_repl=2  [DatanodeInfoWithStorage[10.0.0.1:9866,DS-1,DISK](LIVE), DatanodeInfoWithStorage[10.0.0.2:9866,DS-2,DISK](STALE_NODE)]

/dpsim/ds/b 10 bytes, replicated: replication=3, 1 block(s):  Under replicated BP-1-10.0.0.100-1:blk_1073741826_1002. Target Replicas is 3 but found 1 live replica(s), 0 decommissioned replica(s), 0 decommissioning replica(s).
0. BP-1-10.0.0.100-1:blk_1073741826_1002 len=10 Live_repl=1  [DatanodeInfoWithStorage[10.0.0.3:9866,DS-3,DISK](LIVE)]

/dpsim/ds/e 10 bytes, erasure-coded: policy=RS-6-3-1024k, 1 block(s):  OK
0. BP-1-10.0.0.100-1:blk_-9223372036854775792_1004 len=10 Live_repl=1  [blk_-9223372036854775792:DatanodeInfoWithStorage[10.0.0.1:9866,DS-1,DISK](LIVE)]

/dpsim/ds/c 10 bytes, replicated: replication=2, 1 block(s): 
/dpsim/ds/c: CORRUPT blockpool BP-1-10.0.0.100-1 block blk_1073741827
 MISSING 1 blocks of total size 10 B
0. BP-1-10.0.0.100-1:blk_1073741827_1003 len=10 MISSING!


Status: CORRUPT
FSCK ended at Wed Dec 02 11:00:01 UTC 2026 in 3 milliseconds


The filesystem under path '/dpsim/ds' is CORRUPT`
	files, err := parseFsck("/dpsim/ds", report)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		for _, b := range f.Blocks {
			got = append(got, fmt.Sprintf("%s r%d ec=%v %s", f.Path, f.Replication, f.ErasureCode, strings.Join(b.live(), ",")))
		}
	}
	want := []string{"/dpsim/ds/a r2 ec=false 10.0.0.1:9866", "/dpsim/ds/b r3 ec=false 10.0.0.3:9866",
		"/dpsim/ds/e r0 ec=true 10.0.0.1:9866", "/dpsim/ds/c r2 ec=false "}
	if !slices.Equal(got, want) {
		t.Errorf("parsed %q, want %q", got, want)
	}
	for _, cut := range []string{report[:strings.Index(report, "Status:")], "\n\nPath '/dpsim/ds' does not exist",
		"FSCK ended at ...\nsafe mode\n\n\nFsck on path '/dpsim/ds' FAILED"} {
		if _, err := parseFsck("/dpsim/ds", cut); err == nil {
			t.Errorf("parseFsck of %q: no error", cut[max(0, len(cut)-60):])
		}
	}
	if _, err := parseFsck("/dpsim/ds", "\n\nPath '/dpsim/ds' does not exist"); !errors.Is(err, stores.ErrDatasetMissing) {
		t.Errorf("a missing path: %v, want ErrDatasetMissing", err)
	}
}

// A datanode that stopped while the namenode still names it: the request never reaches it, so the
// namenode is asked again with it excluded, and only a namenode with nothing else to name fails the
// write or the read (definitely: nothing reached a datanode).
func TestStoppedDatanode(t *testing.T) {
	const id = "s/1"
	tests := []struct {
		name   string
		only   bool
		ack    bool
		detail string // in the write's error and the read's unreadable entry
	}{
		{name: "another datanode takes the request", ack: true},
		{name: "no other datanode", only: true, detail: "excluded: unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, s := newFake(t, func(f *fakeHDFS) { f.stopped, f.onlyStopped = true, tt.only })
			ctx := context.Background()
			res := s.write(ctx, id, topology.Value(id, 16))
			if (res.Err == nil) != tt.ack || errors.Is(res.Err, topology.ErrIndefinite) || !strings.Contains(errString(res.Err), tt.detail) {
				t.Errorf("write: %v, want acknowledged %v, definite, %q in the error", res.Err, tt.ack, tt.detail)
			}
			if tt.ack && (res.Ack.Copies != 2 || res.Ack.Node != "hdfs-datanode-0") {
				t.Errorf("ack %+v, want 2 copies from hdfs-datanode-0", res.Ack)
			}
			if !tt.ack {
				f.put(s.file(id), topology.Value(id, 16), 0, 1)
			}
			rb, err := s.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tt.ack != (len(rb.Records) == 1 && len(rb.Unreadable) == 0) {
				t.Errorf("read %+v, want the record read: %v", rb, tt.ack)
			}
			if !tt.ack && (len(rb.Unreadable) != 1 || !strings.Contains(rb.Unreadable[0], tt.detail)) {
				t.Errorf("unreadable %q, want %q in it", rb.Unreadable, tt.detail)
			}
			if want := []string{stoppedXfer, stoppedXfer}; !slices.Equal(f.excluded, want) {
				t.Errorf("the namenode was sent excludedatanodes %q, want %q (once by the write, once by the read)", f.excluded, want)
			}
		})
	}
}

// A refusal the datanode passes on from the namenode carries the namenode's stack trace, which an
// error leaves out.
func TestRemoteErrorDropsStackTrace(t *testing.T) {
	body := `{"RemoteException":{"exception":"IOException","javaClassName":"java.io.IOException","message":"File /dpsim/ds/a could only be written to 1 of the 2 minReplication nodes. There are 3 datanode(s) running and 3 node(s) are excluded in this operation.\n\tat org.apache.hadoop.hdfs.server.blockmanagement.BlockManager.chooseTarget4NewBlock(BlockManager.java:2473)\n\tat org.apache.hadoop.ipc.Server$Handler.run(Server.java:3198)\n"}}`
	got := newRemoteError(answer{status: 403, body: []byte(body)}).Error()
	want := "http 403: IOException: File /dpsim/ds/a could only be written to 1 of the 2 minReplication nodes. There are 3 datanode(s) running and 3 node(s) are excluded in this operation."
	if got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}

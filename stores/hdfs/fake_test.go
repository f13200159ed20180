package hdfs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHDFS answers the requests a Store makes the way HDFS 3.4's namenode (WebHDFS, /fsck, /jmx)
// and datanode (WebHDFS CREATE and OPEN) do, with the shapes the package's comments cite, from an
// in-memory namespace. Its fields switch misbehaviours on.
type fakeHDFS struct {
	t      *testing.T
	nn, dn *httptest.Server

	replicas      int                         // datanodes holding a new file's block (default 2)
	lateReport    bool                        // the first block locations of a new file lack its last replica
	noDatanode    bool                        // the namenode's CREATE names no datanode
	refuse        func(p string) *remoteError // the datanode's refusal of a create, after creating the file
	hang          func(p string) bool         // the datanode stores the body, then never answers
	serverError   bool                        // the datanode answers a create 500
	drop          bool                        // the datanode stores the body, then closes the connection
	failDelete    bool                        // the namenode refuses every DELETE
	failLocations bool                        // the namenode refuses GETFILEBLOCKLOCATIONS
	missing       map[string]bool             // files (paths) whose block has no replica left
	stale         map[int]bool                // datanodes (indexes) that stopped heartbeating
	noJMX         bool                        // /jmx fails
	safeMode      string                      // /jmx's Safemode: why the namenode is in safe mode ("": it is not)
	delay         time.Duration               // every namenode answer, and a datanode's answer to a create it stored, waits this long
	// stopped is a datanode that stopped but is still live to the namenode: it is named for every
	// CREATE and OPEN until excluded by its xferaddr (stoppedXfer), and nothing listens at its
	// address; only it is left when onlyStopped is set.
	stopped     bool
	onlyStopped bool
	excluded    []string    // every excludedatanodes the namenode was sent
	bodies      chan string // when set, gets the path of every create body received

	mu       sync.Mutex
	dirs     map[string]bool
	files    map[string]*fakeFile
	lookups  map[string]int
	downPort string // the stopped datanode's info port
}

type fakeFile struct {
	data        []byte
	replication int
	holders     []int // datanode indexes
}

const fakeDatanodes = 3

// The stopped datanode's host name, which resolves to a loopback address where nothing listens, and
// its xferaddr.
const (
	stoppedHost = "localhost"
	stoppedXfer = "10.0.0.9:9866"
)

// stoppedInfoPort is a loopback port nothing listens on.
func stoppedInfoPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

func fakeHost(i int) string {
	return fmt.Sprintf("hdfs-datanode-%d.hdfs-datanode.tenant-a.svc.cluster.local", i)
}
func fakeAddr(i int) string { return fmt.Sprintf("10.0.0.%d:9866", i+1) }

// newFake starts a fake HDFS and returns a Store on its dataset "ds" (files of replication 2).
func newFake(t *testing.T, set func(*fakeHDFS), cfg ...func(*Config)) (*fakeHDFS, *Store) {
	t.Helper()
	f := &fakeHDFS{t: t, replicas: 2, missing: map[string]bool{}, stale: map[int]bool{},
		dirs: map[string]bool{"/": true}, files: map[string]*fakeFile{}, lookups: map[string]int{}}
	if set != nil {
		set(f)
	}
	f.downPort = stoppedInfoPort(t)
	f.nn = httptest.NewServer(http.HandlerFunc(f.namenode))
	f.dn = httptest.NewServer(http.HandlerFunc(f.datanode))
	t.Cleanup(f.dn.Close)
	t.Cleanup(f.nn.Close)
	c := Config{NameNodes: []string{f.nn.URL}, Replication: 2, Workers: 4}
	for _, set := range cfg {
		set(&c)
	}
	ctx := context.Background()
	cl, err := Connect(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	s, err := cl.Store(ctx, "ds")
	if err != nil {
		t.Fatal(err)
	}
	return f, s
}

func (f *fakeHDFS) answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// exception answers as ExceptionHandler does: {"RemoteException": {...}}.
func (f *fakeHDFS) exception(w http.ResponseWriter, status int, name, msg string) {
	f.answer(w, status, map[string]any{"RemoteException": map[string]string{
		"exception": name, "javaClassName": "org.apache.hadoop." + name, "message": msg}})
}

func (f *fakeHDFS) namenode(w http.ResponseWriter, r *http.Request) {
	time.Sleep(f.delay)
	q := r.URL.Query()
	switch {
	case r.URL.Path == "/fsck":
		f.fsck(w, q.Get("path"))
		return
	case r.URL.Path == "/jmx":
		f.jmx(w)
		return
	case !strings.HasPrefix(r.URL.Path, "/webhdfs/v1/"):
		f.t.Errorf("unexpected namenode request %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if q.Get("user.name") == "" {
		f.t.Errorf("%s %s without user.name", r.Method, r.URL)
	}
	if r.ContentLength > 0 {
		f.t.Errorf("%s %s: a body sent to the namenode", r.Method, r.URL)
	}
	p := path.Clean("/" + strings.TrimPrefix(r.URL.Path, "/webhdfs/v1/"))
	f.mu.Lock()
	defer f.mu.Unlock()
	switch op := q.Get("op"); {
	case op == "GETFILESTATUS" && f.dirs[p]:
		f.answer(w, 200, map[string]any{"FileStatus": map[string]any{"pathSuffix": "", "type": "DIRECTORY", "length": 0}})
	case op == "MKDIRS" && r.Method == http.MethodPut:
		for d := p; d != "/"; d = path.Dir(d) {
			f.dirs[d] = true
		}
		f.answer(w, 200, map[string]bool{"boolean": true})
	case op == "CREATE" && r.Method == http.MethodPut:
		f.locateCreate(w, r, p)
	case op == "GETFILEBLOCKLOCATIONS":
		f.blockLocations(w, p)
	case op == "LISTSTATUS":
		f.list(w, p)
	case op == "OPEN" && q.Get("noredirect") == "true":
		if f.files[p] == nil {
			f.exception(w, 404, "FileNotFoundException", "File "+p+" not found.")
			return
		}
		dn, ok := f.pick(q)
		if !ok {
			f.exception(w, 403, "IOException", "No active and not excluded nodes contain this block")
			return
		}
		f.answer(w, 200, map[string]string{"Location": dn + "/webhdfs/v1" + p + "?op=OPEN&namenoderpcaddress=nn:8020&offset=0"})
	case op == "DELETE" && r.Method == http.MethodDelete:
		f.delete(w, p, q.Get("recursive") == "true")
	default:
		f.t.Errorf("unexpected namenode request %s %s", r.Method, r.URL)
		f.exception(w, 400, "IllegalArgumentException", "Invalid value for webhdfs parameter \"op\"")
	}
}

func (f *fakeHDFS) locateCreate(w http.ResponseWriter, r *http.Request, p string) {
	q := r.URL.Query()
	if q.Get("noredirect") != "true" || q.Get("overwrite") != "false" || q.Get("replication") != "2" {
		f.t.Errorf("CREATE %s: want noredirect=true, overwrite=false, replication=2", r.URL)
	}
	dn, ok := f.pick(q)
	if f.noDatanode || !ok {
		f.exception(w, 403, "IOException", "Failed to find datanode, suggest to check cluster health. excludeDatanodes="+q.Get("excludedatanodes"))
		return
	}
	q.Del("noredirect")
	q.Del("excludedatanodes")
	q.Set("namenoderpcaddress", "nn:8020")
	f.answer(w, 200, map[string]string{"Location": dn + "/webhdfs/v1" + p + "?" + q.Encode()})
}

// pick is the datanode the namenode names (its base URL): the stopped one unless it is excluded;
// false when every datanode is excluded.
func (f *fakeHDFS) pick(q url.Values) (string, bool) {
	ex := q.Get("excludedatanodes")
	if ex != "" {
		f.excluded = append(f.excluded, ex)
	}
	if f.stopped && !slices.Contains(strings.Split(ex, ","), stoppedXfer) {
		return "http://" + net.JoinHostPort(stoppedHost, f.downPort), true
	}
	return f.dn.URL, !f.onlyStopped
}

func (f *fakeHDFS) blockLocations(w http.ResponseWriter, p string) {
	file := f.files[p]
	switch {
	case f.failLocations:
		f.exception(w, 403, "RetriableException", "NameNode still not started")
		return
	case file == nil:
		f.exception(w, 404, "FileNotFoundException", "File does not exist: "+p)
		return
	}
	holders := file.holders
	if f.lateReport && f.lookups[p] == 0 && len(holders) > 0 {
		holders = holders[:len(holders)-1]
	}
	f.lookups[p]++
	var hosts, names []string
	for _, i := range holders {
		hosts, names = append(hosts, fakeHost(i)), append(names, fakeAddr(i))
	}
	blocks := []map[string]any{{"hosts": hosts, "names": names, "offset": 0, "length": len(file.data),
		"corrupt": false, "cachedHosts": []string{}, "storageTypes": []string{"DISK"}}}
	f.answer(w, 200, map[string]any{"BlockLocations": map[string]any{"BlockLocation": blocks}})
}

func (f *fakeHDFS) list(w http.ResponseWriter, dir string) {
	if !f.dirs[dir] {
		f.exception(w, 404, "FileNotFoundException", "File "+dir+" does not exist.")
		return
	}
	var statuses []map[string]any
	for _, p := range f.children(dir) {
		st := map[string]any{"pathSuffix": path.Base(p), "type": "DIRECTORY", "length": 0, "replication": 0}
		if file := f.files[p]; file != nil {
			st["type"], st["length"], st["replication"] = "FILE", len(file.data), file.replication
		}
		statuses = append(statuses, st)
	}
	f.answer(w, 200, map[string]any{"FileStatuses": map[string]any{"FileStatus": statuses}})
}

// children lists the files and directories directly in dir, sorted.
func (f *fakeHDFS) children(dir string) []string {
	var out []string
	for p := range f.files {
		if path.Dir(p) == dir {
			out = append(out, p)
		}
	}
	for d := range f.dirs {
		if d != "/" && path.Dir(d) == dir {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

func (f *fakeHDFS) delete(w http.ResponseWriter, p string, recursive bool) {
	if f.failDelete {
		f.exception(w, 403, "SafeModeException", "Cannot delete "+p+". Name node is in safe mode.")
		return
	}
	existed := f.files[p] != nil || f.dirs[p]
	if f.dirs[p] && len(f.children(p)) > 0 && !recursive {
		f.exception(w, 403, "PathIsNotEmptyDirectoryException", p+" is non empty")
		return
	}
	delete(f.files, p)
	for k := range f.files {
		if strings.HasPrefix(k, p+"/") {
			delete(f.files, k)
		}
	}
	for d := range f.dirs {
		if d == p || strings.HasPrefix(d, p+"/") {
			delete(f.dirs, d)
		}
	}
	f.answer(w, 200, map[string]bool{"boolean": existed})
}

func (f *fakeHDFS) datanode(w http.ResponseWriter, r *http.Request) {
	p := path.Clean("/" + strings.TrimPrefix(r.URL.Path, "/webhdfs/v1/"))
	switch op := r.URL.Query().Get("op"); {
	case op == "CREATE" && r.Method == http.MethodPut:
		f.create(w, r, p)
	case op == "OPEN" && r.Method == http.MethodGet:
		f.mu.Lock()
		file, missing := f.files[p], f.missing[p]
		f.mu.Unlock()
		switch {
		case file == nil:
			f.exception(w, 404, "FileNotFoundException", "File does not exist: "+p)
		case missing:
			f.exception(w, 403, "BlockMissingException", "Could not obtain block: BP-1:blk_1073741825_1001 file="+p)
		default:
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(file.data)
		}
	default:
		f.t.Errorf("unexpected datanode request %s %s", r.Method, r.URL)
		f.exception(w, 400, "IllegalArgumentException", "Invalid operation "+op)
	}
}

// create does what WebHdfsHandler.onCreate and HdfsWriter do: the file is created as the request
// arrives (a file already there is FileAlreadyExistsException), the body written, and 201 answered.
func (f *fakeHDFS) create(w http.ResponseWriter, r *http.Request, p string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	f.mu.Lock()
	if f.files[p] != nil {
		f.mu.Unlock()
		f.exception(w, 403, "FileAlreadyExistsException", p+" for client 10.0.0.9 already exists")
		return
	}
	holders := make([]int, 0, f.replicas)
	for i := range f.replicas {
		holders = append(holders, i)
	}
	f.files[p] = &fakeFile{data: body, replication: 2, holders: holders}
	f.mu.Unlock()
	if f.bodies != nil {
		f.bodies <- p
	}
	time.Sleep(f.delay)
	switch {
	case f.hang != nil && f.hang(p):
		<-r.Context().Done()
	case f.refuse != nil && f.refuse(p) != nil:
		re := f.refuse(p)
		f.exception(w, re.Status, re.Exception, re.Message)
	case f.serverError:
		f.exception(w, 500, "NullPointerException", "")
	case f.drop:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	default:
		w.Header().Set("Location", "hdfs://nn:8020"+p)
		w.WriteHeader(http.StatusCreated)
	}
}

// fsck writes NamenodeFsck's report for files=1, blocks=1, locations=1, replicadetails=1.
func (f *fakeHDFS) fsck(w http.ResponseWriter, dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "FSCK started by dpsim (auth:SIMPLE) from /127.0.0.1 for path %s at Wed Dec 02 11:00:00 UTC 2026\n", dir)
	if !f.dirs[dir] {
		fmt.Fprintf(&b, "\n\nPath '%s' does not exist", dir)
		_, _ = io.WriteString(w, b.String())
		return
	}
	fmt.Fprintf(&b, "%s <dir>\n", dir)
	for n, p := range f.children(dir) {
		if file := f.files[p]; file != nil {
			f.fsckFile(&b, p, file, n)
		}
	}
	fmt.Fprintf(&b, "\nStatus: HEALTHY\n Number of data-nodes:\t%d\n Number of racks:\t\t1\n", fakeDatanodes)
	fmt.Fprintf(&b, "FSCK ended at Wed Dec 02 11:00:01 UTC 2026 in 3 milliseconds\n\n\nThe filesystem under path '%s' is HEALTHY", dir)
	_, _ = io.WriteString(w, b.String())
}

func (f *fakeHDFS) fsckFile(b *strings.Builder, p string, file *fakeFile, n int) {
	block := fmt.Sprintf("BP-1-10.0.0.100-1:blk_%d_%d", 1073741825+n, 1001+n)
	fmt.Fprintf(b, "%s %d bytes, replicated: replication=%d, 1 block(s): ", p, len(file.data), file.replication)
	if f.missing[p] {
		fmt.Fprintf(b, " MISSING 1 blocks of total size %d B\n0. %s len=%d MISSING!\n\n", len(file.data), block, len(file.data))
		return
	}
	if len(file.holders) < file.replication {
		fmt.Fprintf(b, " Under replicated %s. Target Replicas is %d but found %d live replica(s), 0 decommissioned replica(s), 0 decommissioning replica(s).\n",
			block, file.replication, len(file.holders))
	} else {
		b.WriteString(" OK\n")
	}
	var replicas []string
	for _, i := range file.holders {
		state := "LIVE"
		if f.stale[i] {
			state = "STALE_NODE"
		}
		replicas = append(replicas, fmt.Sprintf("DatanodeInfoWithStorage[%s,DS-%d,DISK](%s)", fakeAddr(i), i, state))
	}
	fmt.Fprintf(b, "0. %s len=%d Live_repl=%d  [%s]\n\n", block, len(file.data), len(file.holders), strings.Join(replicas, ", "))
}

// jmx answers NameNodeInfo: LiveNodes as a JSON string keyed "<hostName>:<xferPort>".
func (f *fakeHDFS) jmx(w http.ResponseWriter) {
	if f.noJMX {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	live := map[string]map[string]any{}
	for i := range fakeDatanodes {
		live[fakeHost(i)+":9866"] = map[string]any{"infoAddr": strings.Replace(fakeAddr(i), "9866", "9864", 1),
			"xferaddr": fakeAddr(i), "lastContact": 1, "adminState": "In Service"}
	}
	if f.stopped {
		live[stoppedHost+":9866"] = map[string]any{"infoAddr": "127.0.0.1:" + f.downPort, "xferaddr": stoppedXfer,
			"lastContact": 20, "adminState": "In Service"}
	}
	js, _ := json.Marshal(live)
	f.answer(w, 200, map[string]any{"beans": []map[string]any{{
		"name": "Hadoop:service=NameNode,name=NameNodeInfo", "LiveNodes": string(js), "DeadNodes": "{}",
		"Safemode": f.safeMode}}})
}

// put places a file directly (someone else's, or a foreign name).
func (f *fakeHDFS) put(p string, data []byte, holders ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[p] = &fakeFile{data: data, replication: 2, holders: slices.Clone(holders)}
}

// file is what the fake holds at p (nil: nothing).
func (f *fakeHDFS) file(p string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if file := f.files[p]; file != nil {
		return file.data
	}
	return nil
}

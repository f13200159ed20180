// Package hdfs is the real file store: StackGraph's storage, HDFS 3.4, spoken to over WebHDFS (plain
// HTTP). A dataset is the directory /dpsim/<dataset>, created on first use; every write creates one
// file named after its record id (Name) with CREATE overwrite=false, and is acknowledged only when
// the datanode answers 201, which it sends after the file was closed. Every outcome is classified as
// acknowledged, failed (definitely not applied) or unknown (topology.ErrIndefinite). Where a file's
// blocks live comes from the namenode: its block locations right after each acknowledgement
// (Ack.Copies) and, for Placement, State and Replicated, one fsck of the directory whose per-replica
// states tell live replicas from those on stale datanodes.
//
// Files: hdfs.go (configuration, connection, requests), names.go (file and member names), write.go
// (the streaming write), read.go (the final read), fsck.go (fsck and the namenode's datanode list)
// and description.go (Description, Placement, Stater, Drop).
package hdfs

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"dpsim/stores"
	"dpsim/topology"
)

// Config says how to reach HDFS and how to create its files.
type Config struct {
	NameNodes []string // the namenodes' HTTP addresses: http://host:9870
	// User is WebHDFS's user.name (security off): the owner of what dpsim creates. It must be allowed
	// to create /dpsim (the superuser, or dfs.permissions.enabled=false). Default "dpsim".
	User string
	// Replication is the replication factor of created files; 0 leaves HDFS's own default
	// (dfs.replication of the datanode that creates the file).
	Replication int
	Workers     int           // writes, and reads, in flight; default DefaultWorkers
	Timeout     time.Duration // bound of any one request, and of a write as a whole; default 2 minutes
	// DialContext opens every connection; default a net.Dialer with a 3 s timeout. Tests set it to
	// reach datanodes whose host names resolve only on their Docker network.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	Log         *slog.Logger
}

// ConfigFromSpec is the Config for namenodes under spec: files are created with
// stackgraph.replication copies (0 leaves HDFS's default).
func ConfigFromSpec(namenodes []string, spec topology.Spec) Config {
	return Config{NameNodes: namenodes, Replication: spec.StackGraph.Replication}
}

// Root is the directory under which every dataset's directory is made.
const Root = "/dpsim"

// DefaultWorkers is how many requests a Cluster has in flight at most: each WebHDFS create is a
// client stream and a pipeline of threads in a datanode with a 128 MiB heap.
const DefaultWorkers = 16

const (
	dialTimeout = 3 * time.Second
	// defaultTimeout leaves room for a write through a failing pipeline: the datanode's client waits
	// out a socket timeout (60 s, 65 s measured on kind with a node killed) and completeFile's
	// retries before it answers. A write as a whole has the same bound, so that a stream of writes
	// ends within it once no more are issued.
	defaultTimeout = 2 * time.Minute
)

// Cluster is a connection to one HDFS, shared by every dataset.
type Cluster struct {
	cfg  Config
	log  *slog.Logger
	http *http.Client

	mu      sync.Mutex
	current int // the namenode that answered last
}

// Connect makes a client for cfg and checks that a namenode answers.
func Connect(ctx context.Context, cfg Config) (*Cluster, error) {
	if len(cfg.NameNodes) == 0 {
		return nil, errors.New("hdfs: no namenode address")
	}
	cfg = withDefaults(cfg)
	c := &Cluster{cfg: cfg, log: cfg.Log, http: newHTTPClient(cfg.Workers, cfg.DialContext)}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if err := c.webhdfs(ctx, http.MethodGet, "/", "GETFILESTATUS", nil, nil); err != nil {
		return nil, fmt.Errorf("connect to hdfs %s: %w", strings.Join(cfg.NameNodes, ","), err)
	}
	return c, nil
}

func withDefaults(cfg Config) Config {
	nns := make([]string, len(cfg.NameNodes))
	for i, nn := range cfg.NameNodes {
		nns[i] = strings.TrimRight(nn, "/")
	}
	cfg.NameNodes = nns
	cfg.User = cmp.Or(cfg.User, "dpsim")
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.DialContext == nil {
		cfg.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}).DialContext
	}
	return cfg
}

// newHTTPClient follows no redirect: they are followed by hand (noredirect=true), so a body is never
// sent to the namenode.
func newHTTPClient(workers int, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	tr := &http.Transport{
		DialContext:         dial,
		MaxIdleConnsPerHost: 2 * workers,
		IdleConnTimeout:     90 * time.Second,
	}
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &http.Client{Transport: tr, CheckRedirect: noFollow}
}

// Close releases idle connections.
func (c *Cluster) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// Store opens a dataset's directory, creating it (and Root) when missing.
func (c *Cluster) Store(ctx context.Context, dataset string) (*Store, error) {
	if dataset == "" {
		return nil, errors.New("hdfs dataset: empty name")
	}
	s := &Store{c: c, dir: Root + "/" + Name(dataset)}
	if err := c.webhdfs(ctx, http.MethodPut, s.dir, "MKDIRS", nil, nil); err != nil {
		return nil, fmt.Errorf("make directory %s: %w", s.dir, err)
	}
	return s, nil
}

// answer is one HTTP answer, read whole.
type answer struct {
	status int
	body   []byte
}

// send makes one request, bounded by the configured timeout. A transport error is returned as it is;
// an answer cut off while being read is returned with its status and an error.
func (c *Cluster) send(ctx context.Context, method, target string, body []byte) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{status: res.StatusCode}, fmt.Errorf("read answer: %w", err)
	}
	return answer{status: res.StatusCode, body: b}, nil
}

// toNamenode sends a request built by target(namenode address) to the namenode that answered last;
// one that could not be reached, or answers that it is standby, is passed over for the next.
func (c *Cluster) toNamenode(ctx context.Context, method string, target func(base string) string) (answer, error) {
	c.mu.Lock()
	first := c.current
	c.mu.Unlock()
	n := len(c.cfg.NameNodes)
	var a answer
	var err error
	for i := range n {
		at := (first + i) % n
		a, err = c.send(ctx, method, target(c.cfg.NameNodes[at]), nil)
		if (err != nil && !stores.NotSent(err)) || (err == nil && !isStandby(a)) {
			c.mu.Lock()
			c.current = at
			c.mu.Unlock()
			return a, err
		}
	}
	return a, err
}

func isStandby(a answer) bool {
	re := remoteErrorOf(a)
	return re != nil && re.Exception == "StandbyException"
}

// opURL is the WebHDFS URL of op on path p (an absolute HDFS path of Name-safe components).
func (c *Cluster) opURL(base, p, op string, q url.Values) string {
	v := url.Values{"op": {op}, "user.name": {c.cfg.User}}
	for k, vs := range q {
		v[k] = vs
	}
	return base + (&url.URL{Path: "/webhdfs/v1" + p}).EscapedPath() + "?" + v.Encode()
}

// webhdfs sends op on path p to the namenode and decodes a 2xx answer into out (unless nil);
// another answer is a *remoteError.
func (c *Cluster) webhdfs(ctx context.Context, method, p, op string, q url.Values, out any) error {
	a, err := c.toNamenode(ctx, method, func(base string) string { return c.opURL(base, p, op, q) })
	if err != nil {
		return err
	}
	return a.decode(out)
}

// locate asks the namenode which datanode serves op on p (noredirect=true: the answer is
// {"Location": url} instead of a 307, NamenodeWebHdfsMethods).
func (c *Cluster) locate(ctx context.Context, method, p, op string, q url.Values) (string, error) {
	q2 := url.Values{"noredirect": {"true"}}
	for k, vs := range q {
		q2[k] = vs
	}
	var loc struct {
		Location string `json:"Location"`
	}
	if err := c.webhdfs(ctx, method, p, op, q2, &loc); err != nil {
		return "", err
	}
	if loc.Location == "" {
		return "", fmt.Errorf("%s %s: the namenode named no datanode", op, p)
	}
	return loc.Location, nil
}

// maxExcluded bounds the datanodes one request leaves out: with replication 2, a read has no third
// replica to go to, and a write that met two unreachable datanodes in a row finds HDFS in trouble.
const maxExcluded = 2

// locateError is a failure to have the namenode name a datanode: nothing was sent to one.
type locateError struct{ err error }

func (e *locateError) Error() string { return e.err.Error() }
func (e *locateError) Unwrap() error { return e.err }

// toDatanode asks the namenode which datanode serves op on p (locate) and sends that datanode the
// request. The namenode goes on naming a datanode that stopped until it declares it dead (10.5
// minutes with the heartbeat defaults): at random for a CREATE, and the one listed first for an
// OPEN of a block it holds, stale or not. So a request that provably never reached the datanode
// (stores.NotSent: its name no longer resolves, or it refuses connections) is located again with
// that datanode excluded (excludedatanodes takes ip:xferPort, which the namenode's datanode list
// gives for the host name its redirect named), up to maxExcluded datanodes; nothing was applied
// by then, so asking again changes no outcome. It returns the datanode's URL it sent to last and
// the answer; a failed locate is a *locateError.
func (c *Cluster) toDatanode(ctx context.Context, method, p, op string, q url.Values, body []byte) (string, answer, error) {
	var excluded []string
	for {
		q2 := url.Values{}
		for k, vs := range q {
			q2[k] = vs
		}
		if len(excluded) > 0 {
			q2.Set("excludedatanodes", strings.Join(excluded, ","))
		}
		dn, err := c.locate(ctx, method, p, op, q2)
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err != nil {
			if len(excluded) > 0 {
				err = fmt.Errorf("%w (with %s excluded: unreachable)", err, strings.Join(excluded, ","))
			}
			return "", answer{}, &locateError{err}
		}
		a, err := c.send(ctx, method, dn, body)
		if err == nil || !stores.NotSent(err) || len(excluded) == maxExcluded || ctx.Err() != nil {
			return dn, a, err
		}
		addr := c.xferAddrOf(ctx, dn)
		if addr == "" || slices.Contains(excluded, addr) {
			return dn, a, err
		}
		c.log.Warn("datanode unreachable; asking the namenode for another", "op", op, "path", p, "datanode", urlHost(dn), "err", err)
		excluded = append(excluded, addr)
	}
}

// xferAddrOf is the ip:xferPort of the datanode whose HTTP address the redirect dn names (its host
// name, or IP, and info port), from the namenode's datanode list; "" when it lists none such.
func (c *Cluster) xferAddrOf(ctx context.Context, dn string) string {
	u, err := url.Parse(dn)
	if err != nil {
		return ""
	}
	nodes, err := c.datanodes(ctx)
	if err != nil {
		c.log.Warn("unreachable datanode not excluded", "datanode", u.Host, "err", err)
		return ""
	}
	addr := ""
	for _, n := range nodes { // live last: it wins
		_, infoPort, _ := net.SplitHostPort(n.InfoAddr)
		if infoPort == u.Port() && (n.Host == u.Hostname() || hostOf(n.InfoAddr) == u.Hostname()) {
			addr = n.XferAddr
		}
	}
	return addr
}

// remove deletes p (recursive for a directory); a path that is already gone is no error.
func (c *Cluster) remove(ctx context.Context, p string, recursive bool) error {
	q := url.Values{"recursive": {fmt.Sprint(recursive)}}
	var deleted struct {
		Boolean bool `json:"boolean"`
	}
	return c.webhdfs(ctx, http.MethodDelete, p, "DELETE", q, &deleted)
}

// decode decodes a 2xx answer into out (unless nil); another status is a *remoteError.
func (a answer) decode(out any) error {
	if a.status < 200 || a.status > 299 {
		return newRemoteError(a)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(a.body, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// remoteError is a non-2xx WebHDFS answer. Namenode and datanode both answer an exception as
// {"RemoteException": {"exception", "javaClassName", "message"}} (JsonUtil.toJsonString(Exception)),
// with 404 for FileNotFoundException, 403 for any other IOException, 400 for bad parameters and 500
// for anything else (ExceptionHandler of each).
type remoteError struct {
	Status        int
	Exception     string `json:"exception"`
	JavaClassName string `json:"javaClassName"`
	Message       string `json:"message"`
	Body          string `json:"-"` // the answer, when it was not a RemoteException
}

func (e *remoteError) Error() string {
	if e.Exception != "" {
		return fmt.Sprintf("http %d: %s: %s", e.Status, e.Exception, e.Message)
	}
	return fmt.Sprintf("http %d: %s", e.Status, e.Body)
}

// remoteErrorOf is the answer's RemoteException, nil when it holds none. A datanode passing on the
// namenode's refusal answers with the IPC RemoteException's message, which holds the namenode's
// stack trace ("...nodes.\n\tat org.apache.hadoop..."): only the text before it is kept.
func remoteErrorOf(a answer) *remoteError {
	var wrapped struct {
		RemoteException *remoteError `json:"RemoteException"`
	}
	if json.Unmarshal(a.body, &wrapped) != nil || wrapped.RemoteException == nil {
		return nil
	}
	wrapped.RemoteException.Status = a.status
	wrapped.RemoteException.Message, _, _ = strings.Cut(wrapped.RemoteException.Message, "\n\tat ")
	return wrapped.RemoteException
}

func newRemoteError(a answer) *remoteError {
	if e := remoteErrorOf(a); e != nil {
		return e
	}
	body := string(a.body)
	if len(body) > 500 {
		body = body[:500]
	}
	return &remoteError{Status: a.status, Body: body}
}

// isException reports whether err is a WebHDFS answer carrying one of the named exceptions.
func isException(err error, names ...string) bool {
	var re *remoteError
	if !errors.As(err, &re) {
		return false
	}
	for _, n := range names {
		if re.Exception == n {
			return true
		}
	}
	return false
}

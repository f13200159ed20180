package hdfs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"dpsim/stores"
)

// fsckFile is one file of an fsck report.
type fsckFile struct {
	Path        string
	Replication int  // the file's own replication factor
	ErasureCode bool // an erasure-coded file: its block groups are not replicas, so it is left out
	Blocks      []fsckBlock
}

// fsckBlock is one block of a file with its replicas as the namenode knows them.
type fsckBlock struct {
	Name     string
	Replicas []fsckReplica
}

// fsckReplica is one replica: the datanode's ip:xferPort and its state (LIVE, STALE_NODE,
// STALE_BLOCK_CONTENT, CORRUPT, EXCESS, DECOMMISSIONED, DECOMMISSIONING, ...).
type fsckReplica struct {
	Addr  string
	State string
}

// live is the addresses of the block's replicas in state LIVE, distinct.
func (b fsckBlock) live() []string {
	var out []string
	for _, r := range b.Replicas {
		if r.State == "LIVE" {
			out = append(out, r.Addr)
		}
	}
	return distinct(out)
}

// The lines of NamenodeFsck's report (files=1, blocks=1, locations=1, replicadetails=1) this reads.
// collectFileSummary prints a file as
//
//	<path> <len> bytes, replicated: replication=<n>, <k> block(s): ...
//
// ("erasure-coded: policy=<name>," instead for an erasure-coded file);
// collectBlocksSummary each block as "<i>. <pool>:blk_<id>_<gs> len=<n> Live_repl=<k>" (or
// " MISSING!") followed by getReplicaInfo's " [DatanodeInfoWithStorage[<ip:port>,<storage>,<type>]
// (<state>), ...]"; Live_repl counts replicas on stale datanodes as live, so the per-replica state
// is what counts here. fsck ends with "The filesystem under path '<p>' is HEALTHY|CORRUPT", or
// "Path '<p>' does not exist", or "Fsck on path '<p>' FAILED".
var (
	fsckFileLine    = regexp.MustCompile(`^(/\S*) \d+ bytes, (?:replicated: replication=(\d+)|erasure-coded: policy=\S+), \d+ block\(s\)`)
	fsckBlockLine   = regexp.MustCompile(`^\d+\. (\S+) len=\d+`)
	fsckReplicaItem = regexp.MustCompile(`DatanodeInfoWithStorage\[([^,\]]+),[^\]]*\]\(([A-Z_ ]+)\)`)
	fsckEnd         = regexp.MustCompile(`^The filesystem under path '.*' is (HEALTHY|CORRUPT)$`)
)

// fsck runs fsck over the dataset's directory and parses its report. A directory that does not
// exist is an error wrapping stores.ErrDatasetMissing; a report that does not end as fsck ends one is
// an error (never a partial answer).
func (s *Store) fsck(ctx context.Context) ([]fsckFile, error) {
	q := url.Values{"path": {s.dir}, "files": {"1"}, "blocks": {"1"}, "locations": {"1"},
		"replicadetails": {"1"}, "user.name": {s.c.cfg.User}}
	a, err := s.c.toNamenode(ctx, http.MethodGet, func(base string) string { return base + "/fsck?" + q.Encode() })
	if err == nil {
		err = a.decode(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("fsck %s: %w", s.dir, err)
	}
	return parseFsck(s.dir, string(a.body))
}

func parseFsck(dir, report string) ([]fsckFile, error) {
	var files []fsckFile
	last := ""
	sc := bufio.NewScanner(strings.NewReader(report))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" {
			last = line
		}
		if m := fsckFileLine.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[2])
			files = append(files, fsckFile{Path: m[1], Replication: n, ErasureCode: m[2] == ""})
			continue
		}
		if m := fsckBlockLine.FindStringSubmatch(line); m != nil && len(files) > 0 {
			f := &files[len(files)-1]
			f.Blocks = append(f.Blocks, fsckBlock{Name: m[1], Replicas: replicasOf(line)})
		}
	}
	switch {
	case sc.Err() != nil:
		return nil, fmt.Errorf("fsck %s: %w", dir, sc.Err())
	case strings.HasSuffix(last, "does not exist"):
		return nil, fmt.Errorf("fsck %s: %w", dir, stores.ErrDatasetMissing)
	case !fsckEnd.MatchString(last):
		return nil, fmt.Errorf("fsck %s: the report does not end as fsck's do: %q", dir, last)
	}
	return files, nil
}

func replicasOf(line string) []fsckReplica {
	var out []fsckReplica
	for _, m := range fsckReplicaItem.FindAllStringSubmatch(line, -1) {
		out = append(out, fsckReplica{Addr: m[1], State: m[2]})
	}
	return out
}

// jmxDatanode is one datanode of the namenode's own list: /jmx NameNodeInfo's LiveNodes and
// DeadNodes are JSON objects keyed "<hostName>:<xferPort>" whose values hold "xferaddr" and
// "infoAddr", both <ip>:<port> (FSNamesystem.getLiveNodes, getDeadNodes).
type jmxDatanode struct {
	Host     string // its host name, the one the namenode's redirects name
	XferAddr string
	InfoAddr string
}

// nameNodeInfo is the namenode's /jmx NameNodeInfo bean: its datanodes, and Safemode, empty when
// safe mode is off and otherwise the namenode's own account of why it is on (a namenode in safe
// mode serves reads and refuses every write).
type nameNodeInfo struct {
	LiveNodes string `json:"LiveNodes"`
	DeadNodes string `json:"DeadNodes"`
	Safemode  string `json:"Safemode"`
}

func (c *Cluster) nameNodeInfo(ctx context.Context) (nameNodeInfo, error) {
	q := url.Values{"qry": {"Hadoop:service=NameNode,name=NameNodeInfo"}}
	a, err := c.toNamenode(ctx, http.MethodGet, func(base string) string { return base + "/jmx?" + q.Encode() })
	var ans struct {
		Beans []nameNodeInfo `json:"beans"`
	}
	if err == nil {
		err = a.decode(&ans)
	}
	if err == nil && len(ans.Beans) == 0 {
		err = errors.New("no NameNodeInfo bean")
	}
	if err != nil {
		return nameNodeInfo{}, fmt.Errorf("namenode info: %w", err)
	}
	return ans.Beans[0], nil
}

// datanodes lists the datanodes the namenode knows, dead ones first.
func (c *Cluster) datanodes(ctx context.Context) ([]jmxDatanode, error) {
	info, err := c.nameNodeInfo(ctx)
	if err != nil {
		return nil, err
	}
	return info.datanodes()
}

func (info nameNodeInfo) datanodes() ([]jmxDatanode, error) {
	var out []jmxDatanode
	for _, list := range []string{info.DeadNodes, info.LiveNodes} {
		var nodes map[string]struct {
			XferAddr string `json:"xferaddr"`
			InfoAddr string `json:"infoAddr"`
		}
		if err := json.Unmarshal([]byte(list), &nodes); err != nil {
			return nil, fmt.Errorf("datanode list: %w", err)
		}
		for key, n := range nodes {
			out = append(out, jmxDatanode{Host: hostOf(key), XferAddr: n.XferAddr, InfoAddr: n.InfoAddr})
		}
	}
	return out, nil
}

// namer names datanodes by their address; one the namenode's list does not name keeps its IP.
type namer map[string]string

func (n namer) name(addr string) string {
	if m, ok := n[addr]; ok {
		return m
	}
	return hostOf(addr)
}

// namerOf maps each datanode's ip:xferPort to its member name, from the namenode's list; when the
// list cannot be had (err, or unreadable), members are named by IP (logged).
func (c *Cluster) namerOf(info nameNodeInfo, err error) namer {
	var nodes []jmxDatanode
	if err == nil {
		nodes, err = info.datanodes()
	}
	if err != nil {
		c.log.Warn("datanodes named by IP", "err", err)
	}
	names := namer{}
	for _, n := range nodes { // live last: it wins
		names[n.XferAddr] = memberName(n.Host)
	}
	return names
}

// namer fetches the namenode's datanode names (namerOf).
func (c *Cluster) namer(ctx context.Context) namer {
	return c.namerOf(c.nameNodeInfo(ctx))
}

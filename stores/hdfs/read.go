package hdfs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"dpsim/topology"
)

// Read lists the dataset's directory and reads every file whole (Workers at a time), hashing its
// bytes. A file that cannot be read (its only replicas lost: the namenode answers "No active nodes
// contain this block", the datanode BlockMissingException) is named in Unreadable with the reason and
// the read goes on. A directory that does not exist is an answer: nothing read, and Unreadable says
// so. Files whose names Name did not make are left out.
func (s *Store) Read(ctx context.Context) (topology.ReadBack, error) {
	files, err := s.list(ctx)
	if isException(err, "FileNotFoundException") {
		return topology.ReadBack{Records: []topology.Record{}, Unreadable: []string{fmt.Sprintf("directory %s does not exist", s.dir)}}, nil
	}
	if err != nil {
		return topology.ReadBack{}, fmt.Errorf("read %s: %w", s.dir, err)
	}
	type got struct {
		hash string
		err  error
	}
	results := make([]got, len(files))
	fanOut(ctx, s.c.cfg.Workers, slices.Values(indexes(len(files))), func(i int) {
		h, err := s.readFile(ctx, files[i])
		results[i] = got{h, err}
	}, func(int) {})
	if err := ctx.Err(); err != nil {
		return topology.ReadBack{}, fmt.Errorf("read %s: %w", s.dir, err)
	}
	rb := topology.ReadBack{Records: make([]topology.Record, 0, len(files))}
	for i, f := range files {
		if results[i].err != nil {
			rb.Unreadable = append(rb.Unreadable, fmt.Sprintf("%s: %v", f.id, results[i].err))
			continue
		}
		rb.Records = append(rb.Records, topology.Record{ID: f.id, Hash: results[i].hash})
	}
	return rb, nil
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// listed is one file of the dataset's directory.
type listed struct {
	id     string
	path   string
	length int64
}

// fileStatus is one entry of LISTSTATUS: {"FileStatuses": {"FileStatus": [{"pathSuffix", "type"
// (FILE, DIRECTORY, SYMLINK), "length", "replication", ...}]}} (JsonUtil.toJsonMap(HdfsFileStatus),
// streamed by NamenodeWebHdfsMethods.getListingStream across every page of the listing).
type fileStatus struct {
	PathSuffix  string `json:"pathSuffix"`
	Type        string `json:"type"`
	Length      int64  `json:"length"`
	Replication int    `json:"replication"`
}

// list names the dataset's files that stand for a record; a missing directory is the namenode's
// FileNotFoundException.
func (s *Store) list(ctx context.Context) ([]listed, error) {
	var ans struct {
		FileStatuses struct {
			FileStatus []fileStatus `json:"FileStatus"`
		} `json:"FileStatuses"`
	}
	if err := s.c.webhdfs(ctx, http.MethodGet, s.dir, "LISTSTATUS", nil, &ans); err != nil {
		return nil, err
	}
	var out []listed
	for _, st := range ans.FileStatuses.FileStatus {
		id, ok := ID(st.PathSuffix)
		if st.Type != "FILE" || !ok {
			s.c.log.Warn(fmt.Sprintf("read %s: %s %q names no record; skipped", s.dir, st.Type, st.PathSuffix))
			continue
		}
		out = append(out, listed{id: id, path: s.dir + "/" + st.PathSuffix, length: st.Length})
	}
	return out, nil
}

// readFile reads one file through the datanode the namenode names (OPEN with noredirect=true;
// another one when that one cannot be reached, toDatanode) and returns the hash of its bytes; fewer
// bytes than listed is an error, not a record.
func (s *Store) readFile(ctx context.Context, f listed) (string, error) {
	dn, a, err := s.c.toDatanode(ctx, http.MethodGet, f.path, "OPEN", nil, nil)
	if le := (*locateError)(nil); errors.As(err, &le) {
		return "", fmt.Errorf("open: %w", err)
	}
	if err == nil {
		err = a.decode(nil)
	}
	if err != nil {
		return "", fmt.Errorf("read from %s: %w", memberName(urlHost(dn)), err)
	}
	if int64(len(a.body)) != f.length {
		return "", fmt.Errorf("read %d of %d bytes from %s", len(a.body), f.length, memberName(urlHost(dn)))
	}
	return topology.ValueHash(a.body), nil
}

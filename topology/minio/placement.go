package minio

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"dpsim/stores/s3/keys"
	"dpsim/topology"
)

// listTimeout bounds one drive's listing, so a server that hangs cannot hold up a settle.
const listTimeout = 30 * time.Second

// listing is what one server's drive holds under a prefix: the keys of the objects that have a
// part (an xl.meta) on it. A drive that could not be listed (its server is stopped) has err set and
// counts as holding no part.
type listing struct {
	server string
	keys   []string
	err    error
}

// listCommand lists the xl.meta files under dir, one path a line; a directory that does not exist
// (a wiped drive, a bucket not yet healed onto it) lists nothing and is no error.
func listCommand(dir string) []string {
	return []string{"sh", "-c", `[ -d "$1" ] || exit 0; exec find "$1" -type f -name xl.meta`, "sh", dir}
}

// listDir is the directory of a drive under which every object of bucket whose key starts with
// prefix lives: MinIO keeps object <key> of <bucket> as the directory <drive>/<bucket>/<key>/.
func listDir(bucket, prefix string) string {
	dir := dataDir + "/" + bucket
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dir += "/" + prefix[:i]
	}
	return dir
}

// parseListing turns the paths listCommand printed on one drive into the keys of the objects of
// bucket under prefix that have a part there, sorted. Lines that are not such a path (a message on
// stderr, MinIO's multipart data) are skipped.
func parseListing(out, bucket, prefix string) []string {
	root := dataDir + "/" + bucket + "/"
	var ks []string
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\r\n")
		key, ok := strings.CutPrefix(line, root)
		if !ok {
			continue
		}
		if key, ok = strings.CutSuffix(key, "/xl.meta"); !ok || key == "" || !strings.HasPrefix(key, prefix) {
			continue
		}
		ks = append(ks, key)
	}
	slices.Sort(ks)
	return slices.Compact(ks)
}

// placements says, for every object found on at least one drive, which servers hold a part of it
// and how many more parts it can lose and still be read: parts present - (drives - parity), so an
// object on every drive of a 4-drive EC:2 set tolerates 2 and one with fewer than drives-parity
// parts is negative (unreadable). A record's ID is its key without prefix. Objects are in key
// order, servers in the order of the listings.
func placements(ls []listing, prefix string, drives, parity int) []topology.Placement {
	holders := map[string][]string{}
	for _, l := range ls {
		if l.err != nil {
			continue
		}
		for _, k := range l.keys {
			holders[k] = append(holders[k], l.server)
		}
	}
	out := make([]topology.Placement, 0, len(holders))
	for k, nodes := range holders {
		out = append(out, topology.Placement{ID: strings.TrimPrefix(k, prefix), Nodes: nodes, Tolerates: len(nodes) - (drives - parity)})
	}
	slices.SortFunc(out, func(a, b topology.Placement) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// healStatus says whether every object found on any drive has a part on every drive, and if not,
// what is missing ("3 objects lack a part on dpsim-minio-2"). A drive that could not be listed is
// not healed.
func healStatus(ls []listing) (bool, string) {
	all := map[string]bool{}
	var unlisted []string
	for _, l := range ls {
		if l.err != nil {
			unlisted = append(unlisted, fmt.Sprintf("%s could not be listed: %v", l.server, l.err))
			continue
		}
		for _, k := range l.keys {
			all[k] = true
		}
	}
	var missing []string
	for _, l := range ls {
		if l.err != nil {
			continue
		}
		have := map[string]bool{}
		for _, k := range l.keys {
			have[k] = true
		}
		n := 0
		for k := range all {
			if !have[k] {
				n++
			}
		}
		switch {
		case n == 1:
			missing = append(missing, "1 object lacks a part on "+l.server)
		case n > 1:
			missing = append(missing, fmt.Sprintf("%d objects lack a part on %s", n, l.server))
		}
	}
	if problems := append(unlisted, missing...); len(problems) > 0 {
		return false, strings.Join(problems, "; ")
	}
	return true, fmt.Sprintf("every one of %d objects has a part on all %d drives", len(all), len(ls))
}

// list lists, on every server's drive (one exec per server, all at once), the objects of bucket
// under prefix that have a part there. bucket is sanitised with keys.BucketName, so a tenant's
// name may be passed as well as its bucket.
func (s *Store) list(ctx context.Context, bucket, prefix string) ([]listing, error) {
	b, err := keys.BucketName(bucket)
	if err != nil {
		return nil, err
	}
	if slices.Contains(strings.Split(prefix, "/"), "..") || path.IsAbs(prefix) {
		return nil, fmt.Errorf("object store listing: prefix %q leaves the bucket", prefix)
	}
	dir := listDir(b, prefix)
	out := make([]listing, len(s.Servers))
	var wg sync.WaitGroup
	for i, srv := range s.Servers {
		wg.Go(func() {
			lctx, cancel := context.WithTimeout(ctx, listTimeout)
			defer cancel()
			text, err := s.run(lctx, i, listCommand(dir)...)
			out[i] = listing{server: srv.Name, keys: parseListing(text, b, prefix), err: err}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list the drives of %s/%s: %w", b, prefix, err)
	}
	return out, nil
}

// Placement says, for every object of bucket whose key starts with prefix, which servers (container
// names) hold a part of it, as the drives show now, and how many more parts it can lose and still
// be read (parts present - (drives - parity); negative: unreadable). A record's ID is its key
// without prefix: with prefix keys.Prefix(dataset), the record id (keys.ID). A server that cannot
// be listed (stopped) holds no part here (fail closed) and is named in a log line; an object with
// no part on any listed drive is absent. bucket may be the tenant's name or its bucket.
func (s *Store) Placement(ctx context.Context, bucket, prefix string) ([]topology.Placement, error) {
	ls, err := s.list(ctx, bucket, prefix)
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		if l.err != nil {
			s.cfg.Logger.Warn(fmt.Sprintf("object store placement of %s/%s: %s could not be listed and counts as holding no part: %v", bucket, prefix, l.server, l.err))
		}
	}
	return placements(ls, prefix, s.cfg.Drives, s.cfg.Parity), nil
}

// Healed reports whether every object of bucket under prefix has a part on every drive, which is
// what MinIO's healing restores after a drive is wiped, and says what is missing when not ("3
// objects lack a part on dpsim-minio-2"). A server that cannot be listed is not healed. The error
// is for a listing that could not be attempted (a bad prefix, ctx ended). bucket may be the
// tenant's name or its bucket.
func (s *Store) Healed(ctx context.Context, bucket, prefix string) (bool, string, error) {
	ls, err := s.list(ctx, bucket, prefix)
	if err != nil {
		return false, "", err
	}
	ok, msg := healStatus(ls)
	return ok, msg, nil
}

package hdfs

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"dpsim/stores"
	"dpsim/topology"
)

// InFlight is how many writes the store works on at once.
func (s *Store) InFlight() int { return s.c.cfg.Workers }

// WriteStream creates one file per id (Name(id) in the dataset's directory, holding
// topology.Value(id, valueBytes)), at most Workers at a time, and emits each outcome when it is known.
// An id taken but not sent because ctx ended is failed; a write in flight then is unknown.
func (s *Store) WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(topology.WriteResult)) error {
	var mu sync.Mutex
	out := func(r topology.WriteResult) {
		mu.Lock()
		defer mu.Unlock()
		emit(r)
	}
	fanOut(ctx, s.c.cfg.Workers, ids,
		func(id string) { out(s.write(ctx, id, topology.Value(id, valueBytes))) },
		func(id string) { out(notSent(id, time.Now(), ctx.Err())) })
	return ctx.Err()
}

// fanOut calls do for each item on at most n goroutines and returns when every call has ended. Once
// ctx ends it takes no more items; the one it was handing over goes to skipped.
func fanOut[T any](ctx context.Context, n int, items iter.Seq[T], do, skipped func(T)) {
	work := make(chan T)
	var wg sync.WaitGroup
	for range max(n, 1) {
		wg.Go(func() {
			for it := range work {
				do(it)
			}
		})
	}
	for it := range items {
		select {
		case work <- it:
			continue
		case <-ctx.Done():
			skipped(it)
		}
		break
	}
	close(work)
	wg.Wait()
}

func notSent(id string, invoked time.Time, why error) topology.WriteResult {
	return topology.WriteResult{ID: id, Invoked: invoked, Finished: time.Now(), Err: fmt.Errorf("create %s: not sent: %w", id, why)}
}

// write creates one file in two steps. The namenode names a datanode (CREATE with noredirect=true;
// NamenodeWebHdfsMethods.put only picks the datanode, it creates nothing), then the value is PUT to
// that datanode, which creates the file, writes it through the pipeline and answers 201 only after
// closing it (WebHdfsHandler.onCreate, HdfsWriter: the answer follows out.close()). A datanode that
// cannot be reached is excluded and the namenode asked again (toDatanode). The whole write is bounded
// by the configured timeout: past it, the outcome is unknown.
func (s *Store) write(ctx context.Context, id string, value []byte) topology.WriteResult {
	invoked := time.Now()
	if id == "" {
		return notSent(id, invoked, errors.New("empty id"))
	}
	if ctx.Err() != nil {
		return notSent(id, invoked, ctx.Err())
	}
	ctx, cancel := context.WithTimeout(ctx, s.c.cfg.Timeout)
	defer cancel()
	res := topology.WriteResult{ID: id, Invoked: invoked}
	p := s.file(id)
	dn, a, err := s.c.toDatanode(ctx, http.MethodPut, p, "CREATE", s.createQuery(), value)
	res.Finished = time.Now()
	if le := (*locateError)(nil); errors.As(err, &le) {
		res.Err = fmt.Errorf("create %s: no datanode named, nothing created: %w", p, err)
		return res
	}
	writer := memberName(urlHost(dn))
	if err := s.judge(ctx, p, a, err); err != nil {
		res.Err = fmt.Errorf("create %s on %s: %w", p, writer, err)
		return res
	}
	res.Ack, res.Detail = s.ackPlacement(ctx, p, writer)
	return res
}

func (s *Store) createQuery() url.Values {
	q := url.Values{"overwrite": {"false"}}
	if s.c.cfg.Replication > 0 {
		q.Set("replication", strconv.Itoa(s.c.cfg.Replication))
	}
	return q
}

func urlHost(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	return u.Hostname()
}

// judge turns the datanode's answer to a create into nil (201: the file is closed) or an error: a
// request that provably never reached the datanode, or a refusal (see refused), is definite; a
// transport error after the request left, an answer cut off, or a 5xx is unknown.
func (s *Store) judge(ctx context.Context, p string, a answer, err error) error {
	switch {
	case err != nil && a.status == 0:
		return stores.TransportError(err)
	case err != nil:
		return stores.Indefinite(err)
	case a.status == http.StatusCreated:
		return nil
	case a.status >= 500:
		return stores.Indefinite(newRemoteError(a))
	}
	return s.refused(ctx, p, newRemoteError(a))
}

// createRefusals are the exceptions the create call itself throws (DFSClient.create on the datanode,
// before the file exists): the write left nothing, and a file already at the path is someone else's.
var createRefusals = []string{
	"FileAlreadyExistsException", "AlreadyBeingCreatedException", "AccessControlException",
	"SafeModeException", "StandbyException", "ParentNotDirectoryException", "InvalidPathException",
	"NSQuotaExceededException", "PathComponentTooLongException", "MaxDirectoryItemsExceededException",
}

// refused judges a datanode's refusal. After the create call the file exists, open: a failure to
// allocate, write or close a block ("could only be written to 0 of the 1 minReplication nodes",
// "Unable to close file because the last block does not have enough number of replicas") leaves it
// for lease recovery to close later with whatever reached a datanode. Such a file is deleted, and the
// write is failed once the namenode answered the delete; unknown when it did not.
func (s *Store) refused(ctx context.Context, p string, refusal *remoteError) error {
	if isException(refusal, createRefusals...) {
		return refusal
	}
	if err := s.c.remove(ctx, p, false); err != nil {
		return stores.Indefinite(fmt.Errorf("%w; removing the file it may have left failed: %v", refusal, err))
	}
	return fmt.Errorf("%w (the file it may have left was removed)", refusal)
}

// ackPlacement is where the namenode says the file's blocks are right after the acknowledgement:
// Copies is the fewest distinct datanodes holding one of its blocks, Node the first of them (writer,
// the datanode that answered 201, when unknown). The namenode completes a file once
// dfs.namenode.replication.min replicas are reported, the others' reports may still be under way:
// this one lookup is what HDFS had made sure of when it acknowledged, which is what DP-DUR-2 judges.
// A failed lookup leaves Copies 0 and says why in the detail: a count is never made up.
func (s *Store) ackPlacement(ctx context.Context, p, writer string) (topology.Ack, string) {
	blocks, err := s.c.blockLocations(ctx, p)
	if err != nil {
		return topology.Ack{Node: writer}, fmt.Sprintf("datanode=%s; block locations unknown: %v", writer, err)
	}
	ack := topology.Ack{Node: writer, Copies: copies(blocks)}
	if len(blocks) > 0 && len(blocks[0].Hosts) > 0 {
		ack.Node = memberName(blocks[0].Hosts[0])
	}
	return ack, fmt.Sprintf("datanode=%s blocks=%d copies=%d", writer, len(blocks), ack.Copies)
}

// blockLocation is one block of a file as GETFILEBLOCKLOCATIONS (Hadoop 3.2+, HDFS-12459) answers:
// JsonUtil.toJsonString(BlockLocation[]) is {"BlockLocations": {"BlockLocation": [{"hosts",
// "names", "corrupt", "offset", "length", ...}]}}, where hosts are the replicas' DatanodeInfo host
// names and names their ip:xferPort (DFSUtilClient.locatedBlocks2Locations). The namenode lists the
// replicas it has on record, corrupt ones only when all are (then corrupt is true).
type blockLocation struct {
	Hosts   []string `json:"hosts"`
	Names   []string `json:"names"`
	Corrupt bool     `json:"corrupt"`
}

func (c *Cluster) blockLocations(ctx context.Context, p string) ([]blockLocation, error) {
	var ans struct {
		BlockLocations struct {
			BlockLocation []blockLocation `json:"BlockLocation"`
		} `json:"BlockLocations"`
	}
	if err := c.webhdfs(ctx, http.MethodGet, p, "GETFILEBLOCKLOCATIONS", nil, &ans); err != nil {
		return nil, err
	}
	return ans.BlockLocations.BlockLocation, nil
}

// copies is the fewest distinct datanodes holding a sound replica of one of blocks (0 for none).
func copies(blocks []blockLocation) int {
	fewest := 0
	for i, b := range blocks {
		n := 0
		if !b.Corrupt {
			n = len(distinct(b.Hosts))
		}
		if i == 0 || n < fewest {
			fewest = n
		}
	}
	return fewest
}

// distinct is the distinct strings of v, in first-seen order.
func distinct(v []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range v {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"dpsim/topology"
)

// Read refreshes the index and reads every document with the hash of its value, one shard at a time
// (preference _shards:<n>, partial results allowed), so a shard that cannot be searched (no active
// copy, say, after a drive loss with 0 replicas) is named in Unreadable with Elasticsearch's reason
// while the others are read. Every request is bounded (requestTimeout), so a red index does not make
// Read hang. Read fails only when the shards cannot be listed or no shard search was answered at
// all.
func (s *Store) Read(ctx context.Context) (topology.ReadBack, error) {
	s.refresh(ctx)
	copies, err := s.Shards(ctx)
	if missingIndex(err) { // an answer: the index and everything in it are gone
		return topology.ReadBack{Unreadable: []string{fmt.Sprintf("index %s does not exist", s.index)}}, nil
	}
	if err != nil {
		return topology.ReadBack{}, fmt.Errorf("read %s: %w", s.index, err)
	}
	shards := shardNumbers(copies)
	if len(shards) == 0 {
		return topology.ReadBack{}, fmt.Errorf("read %s: no shards listed", s.index)
	}
	rb := topology.ReadBack{Records: []topology.Record{}}
	answered := 0
	var errs []error
	for _, n := range shards {
		err := s.scan(ctx, "_shards:"+strconv.Itoa(n), true, func(id, value string) {
			rb.Records = append(rb.Records, topology.Record{ID: id, Hash: topology.ValueHash([]byte(value))})
		})
		if err == nil || answeredSearch(err) {
			answered++
		}
		if err != nil {
			rb.Unreadable = append(rb.Unreadable, fmt.Sprintf("shard %d: %v", n, err))
			errs = append(errs, fmt.Errorf("shard %d: %w", n, err))
		}
	}
	if answered == 0 {
		return rb, fmt.Errorf("read %s: no shard search was answered: %w", s.index, errors.Join(errs...))
	}
	return rb, nil
}

// page is one page of a search.
type page struct {
	ScrollID string `json:"_scroll_id"`
	Shards   struct {
		Total      int            `json:"total"`
		Successful int            `json:"successful"`
		Failed     int            `json:"failed"`
		Failures   []shardFailure `json:"failures"`
	} `json:"_shards"`
	Hits struct {
		Hits []struct {
			ID     string `json:"_id"`
			Source struct {
				Value string `json:"value"`
			} `json:"_source"`
		} `json:"hits"`
	} `json:"hits"`
}

// shardFailure is one failed shard in a search answer (_shards.failures, error.failed_shards).
type shardFailure struct {
	Shard  int    `json:"shard"`
	Index  string `json:"index"`
	Node   string `json:"node"`
	Reason struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"reason"`
}

func (f shardFailure) String() string {
	if f.Reason.Type == "" {
		return f.Reason.Reason
	}
	return f.Reason.Type + ": " + f.Reason.Reason
}

// shardError is a search that Elasticsearch answered saying the shard (copy) asked for failed.
type shardError struct{ reason string }

func (e *shardError) Error() string { return e.reason }

// answeredSearch reports whether a failed search was answered by Elasticsearch (the shard failed,
// or an error status) rather than lost on the way.
func answeredSearch(err error) bool {
	var se *shardError
	var he *httpError
	return errors.As(err, &se) || errors.As(err, &he)
}

// searchFailure turns a non-2xx search answer into an error with the first failed shard's reason
// (an "all shards failed" answer lists them in error.failed_shards).
func searchFailure(status int, body []byte) error {
	he := answerError(status, body)
	var eb struct {
		Error struct {
			FailedShards []shardFailure `json:"failed_shards"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil && len(eb.Error.FailedShards) > 0 {
		return &shardError{reason: fmt.Sprintf("%s (http %d %s)", eb.Error.FailedShards[0], he.Status, he.Type)}
	}
	return he
}

// scan visits every document of the shard copies preference selects (with its value when
// withValues) through a scroll. A page with a failed shard ends it with a *shardError: what was
// visited before stays visited.
func (s *Store) scan(ctx context.Context, preference string, withValues bool, visit func(id, value string)) error {
	partial := true
	status, body, err := s.c.do(ctx, func() esapi.Request {
		req := esapi.SearchRequest{Index: []string{s.index}, Scroll: time.Minute, Size: esapi.IntPtr(pageSize),
			Sort: []string{"_doc"}, Preference: preference, AllowPartialSearchResults: &partial,
			Body: strings.NewReader(`{"query":{"match_all":{}}}`)}
		if withValues {
			req.SourceIncludes = []string{"value"}
		} else {
			req.Source = []string{"false"}
		}
		return req
	})
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return searchFailure(status, body)
	}
	var pg page
	if err := json.Unmarshal(body, &pg); err != nil {
		return fmt.Errorf("decode search answer: %w", err)
	}
	defer func() {
		if pg.ScrollID != "" {
			_ = s.c.call(context.WithoutCancel(ctx), esapi.ClearScrollRequest{ScrollID: []string{pg.ScrollID}}, nil)
		}
	}()
	seen := 0
	for {
		if pg.Shards.Failed > 0 || pg.Shards.Successful < pg.Shards.Total || pg.Shards.Total == 0 {
			reason := fmt.Sprintf("%d of %d shard copies answered", pg.Shards.Successful, pg.Shards.Total)
			if len(pg.Shards.Failures) > 0 {
				reason = pg.Shards.Failures[0].String()
			}
			if seen > 0 {
				reason += fmt.Sprintf(" (after %d documents)", seen)
			}
			return &shardError{reason: reason}
		}
		if len(pg.Hits.Hits) == 0 {
			return nil
		}
		for _, h := range pg.Hits.Hits {
			visit(h.ID, h.Source.Value)
		}
		seen += len(pg.Hits.Hits)
		id := pg.ScrollID
		next := page{}
		status, body, err := s.c.do(ctx, func() esapi.Request { return esapi.ScrollRequest{ScrollID: id, Scroll: time.Minute} })
		if err == nil && (status < 200 || status > 299) {
			err = searchFailure(status, body)
		}
		if err == nil {
			err = json.Unmarshal(body, &next)
		}
		if err != nil {
			return fmt.Errorf("scroll after %d documents: %w", seen, err)
		}
		if next.ScrollID == "" {
			next.ScrollID = id
		}
		pg = next
	}
}

package elastic

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"dpsim/stores"
	"dpsim/topology"
)

// errExists marks a 409 on create: a document with the id is already in the index. Whether that
// acknowledges a write depends on who wrote it (see Store.judge).
var errExists = errors.New("already exists")

// ClassifyItem judges one write answer: nil when the document was created; an error wrapping
// errExists for a 409 version conflict on create (the document was already there); a definite error
// only for a refusal every attempt would get, caused by the request itself (a 4xx other than 408,
// 409 and 429: a mapping or parsing error, an invalid request, a closed index); an error wrapping
// topology.ErrIndefinite otherwise. That includes unavailable_shards_exception: Elasticsearch gives
// it after retrying the shard request itself (TransportReplicationAction's reroute phase retries
// after a disconnected primary node, a demoted primary or too few active copies), and an earlier of
// those attempts may have been indexed by a primary and replicated before its node was cut off (seen
// on kind: 200 such writes present after a partition).
func ClassifyItem(status int, errType, reason string) error {
	if status >= 200 && status <= 299 && errType == "" {
		return nil
	}
	err := &httpError{Status: status, Type: errType, Reason: reason}
	if status == http.StatusConflict && errType == "version_conflict_engine_exception" {
		return fmt.Errorf("%w: %w", errExists, err)
	}
	lower := strings.ToLower(errType + " " + reason)
	refusedAsSent := status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
	if !refusedAsSent || errType == "unavailable_shards_exception" || strings.Contains(lower, "timeout") || strings.Contains(lower, "timed out") {
		return stores.Indefinite(err)
	}
	return err
}

// unavailable reports whether a write's error says its shard is not taking writes for now (no
// active primary, too few active copies, a full queue, no answer), rather than that this document
// was refused (a conflict, a mapping error): the lane of that shard is passed over for a while.
func unavailable(err error) bool {
	if err == nil || errors.Is(err, errExists) {
		return false
	}
	if errors.Is(err, topology.ErrIndefinite) {
		return true
	}
	var he *httpError
	if errors.As(err, &he) {
		return he.Type == "unavailable_shards_exception" || he.Status == http.StatusTooManyRequests || he.Status >= 500
	}
	return true // a transport error: the request never left
}

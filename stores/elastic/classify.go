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
// when Elasticsearch did not apply it (unavailable_shards_exception: too few active copies or no
// active primary, checked before writing; other 4xx); an error wrapping topology.ErrIndefinite when
// it may have (429, 5xx, any answer that mentions a timeout).
func ClassifyItem(status int, errType, reason string) error {
	if status >= 200 && status <= 299 && errType == "" {
		return nil
	}
	err := &httpError{Status: status, Type: errType, Reason: reason}
	if status == http.StatusConflict && errType == "version_conflict_engine_exception" {
		return fmt.Errorf("%w: %w", errExists, err)
	}
	if errType == "unavailable_shards_exception" {
		return err
	}
	lower := strings.ToLower(errType + " " + reason)
	if status == http.StatusTooManyRequests || status >= 500 || strings.Contains(lower, "timeout") || strings.Contains(lower, "timed out") {
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

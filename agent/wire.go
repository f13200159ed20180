package agent

import (
	"errors"
	"time"

	"dpsim/stores"
	"dpsim/topology"
)

// The agent's protocol (JSON over HTTP):
//
//	GET  /healthz                          -> 200 ok
//	GET  /v1/stores                        -> StoresResponse
//	POST /v1/write     WriteRequest        -> WriteResponse, streamed: {"results":[r, r, ...],"issued":n,"error":""}
//	POST /v1/read      StoreRequest        -> ReadResponse
//	POST /v1/placement StoreRequest        -> PlacementResponse
//	GET  /v1/describe?store=S&dataset=D    -> store-specific state
//
// Errors other than write outcomes are a non-2xx status with ErrorResponse. Times are the agent's
// wall clock (RFC 3339 with nanoseconds).

// Store names, as topology.Store.Name reports them.
const (
	StoreKafka   = "kafka"
	StoreElastic = "elasticsearch"
	StoreObject  = "objectstore"
)

// KindOf is the store family of a store name.
func KindOf(store string) topology.Kind {
	switch store {
	case StoreKafka:
		return topology.KindLog
	case StoreElastic:
		return topology.KindDocument
	case StoreObject:
		return topology.KindObject
	}
	return ""
}

// StoreRequest names one dataset of one store of a tenant.
type StoreRequest struct {
	Tenant  string `json:"tenant"`
	Store   string `json:"store"`
	Dataset string `json:"dataset"`
}

// WriteRequest asks for one write per id, each of valueBytes bytes; or, when Seconds is positive,
// for writes named Prefix followed by a sequence number (stores.TimedID) for that long, at most Rate
// per second (0: no limit) with at most InFlight of them (DefaultInFlight when 0) awaiting an
// outcome.
type WriteRequest struct {
	StoreRequest
	IDs        []string `json:"ids,omitempty"`
	ValueBytes int      `json:"valueBytes"`
	Prefix     string   `json:"prefix,omitempty"`
	Seconds    float64  `json:"seconds,omitempty"`
	Rate       int      `json:"rate,omitempty"`
	InFlight   int      `json:"inFlight,omitempty"`
}

// load is the timed workload the request asks for.
func (r WriteRequest) load() topology.TimedLoad {
	return topology.TimedLoad{Prefix: r.Prefix, Duration: time.Duration(r.Seconds * float64(time.Second)), Rate: r.Rate,
		InFlight: r.inFlight(), ValueBytes: r.ValueBytes}
}

// DefaultInFlight bounds the writes of a timed request awaiting their outcome when it names no bound.
const DefaultInFlight = 2000

// MaxTimedSeconds is the longest timed write the agent accepts.
const MaxTimedSeconds = 600

// timed reports whether the request is a timed one.
func (r WriteRequest) timed() bool { return r.Seconds > 0 }

// inFlight is the request's bound on writes awaiting an outcome.
func (r WriteRequest) inFlight() int {
	if r.InFlight > 0 {
		return r.InFlight
	}
	return DefaultInFlight
}

// WireResult is one write outcome.
type WireResult struct {
	ID         string       `json:"id"`
	Invoked    time.Time    `json:"invoked"`
	Finished   time.Time    `json:"finished"`
	Ack        topology.Ack `json:"ack"`
	Err        string       `json:"err,omitempty"`
	Indefinite bool         `json:"indefinite,omitempty"`
	Detail     string       `json:"detail,omitempty"`
}

// WriteResponse is the answer to a write: every outcome, how many writes were issued, and the error
// that ended the batch early (its remaining outcomes are in Results all the same).
type WriteResponse struct {
	Results []WireResult `json:"results"`
	Issued  int          `json:"issued"`
	Error   string       `json:"error,omitempty"`
}

// ReadResponse lists every record id the dataset holds.
type ReadResponse struct {
	IDs []string `json:"ids"`
}

// PlacementResponse tells where every record lives.
type PlacementResponse struct {
	Placements []topology.Placement `json:"placements"`
}

// StoresResponse names the agent's tenant and the stores it offers.
type StoresResponse struct {
	Tenant string   `json:"tenant"`
	Stores []string `json:"stores"`
}

// ErrorResponse is the body of a failed request.
type ErrorResponse struct {
	Error string `json:"error"`
}

// toWire encodes an outcome.
func toWire(r stores.Result) WireResult {
	w := WireResult{ID: r.ID, Invoked: r.Invoked, Finished: r.Finished, Ack: r.Ack, Detail: r.Detail}
	if r.Err != nil {
		w.Err = r.Err.Error()
		w.Indefinite = errors.Is(r.Err, topology.ErrIndefinite)
	}
	return w
}

// fromWire decodes an outcome; an indefinite error satisfies errors.Is(err, topology.ErrIndefinite).
func fromWire(w WireResult) topology.WriteResult {
	r := topology.WriteResult{ID: w.ID, Invoked: w.Invoked, Finished: w.Finished, Ack: w.Ack}
	if w.Err != "" || w.Indefinite {
		r.Err = &RemoteError{Msg: w.Err, Indefinite: w.Indefinite}
	}
	return r
}

// RemoteError is an error the agent reported for one write.
type RemoteError struct {
	Msg        string
	Indefinite bool // the outcome is unknown
}

func (e *RemoteError) Error() string {
	if e.Msg == "" {
		return "agent: write failed"
	}
	return e.Msg
}

// Is makes errors.Is(err, topology.ErrIndefinite) hold for an indefinite outcome.
func (e *RemoteError) Is(target error) bool {
	return e.Indefinite && target == topology.ErrIndefinite
}

package api

import (
	"errors"
	"time"

	"dpsim/topology"
)

// The agent's protocol (JSON over HTTP):
//
//	GET  /healthz                                       -> 200 ok
//	GET  /v1/stores                                     -> StoresResponse
//	POST /v1/write?tenant=T&store=S&dataset=D&valueBytes=N
//	     body: one id per line, streamed as the caller paces them
//	     answer: one StreamLine per line, streamed: an outcome as soon as it is known, an empty line
//	     as a heartbeat while none is, and last {"end":true} with the error that ended the stream
//	POST /v1/read      StoreRequest                     -> topology.ReadBack
//	POST /v1/placement StoreRequest                     -> PlacementResponse
//	POST /v1/drop      StoreRequest                     -> {}
//	GET  /v1/describe?store=S&dataset=D                 -> store-specific state
//	GET  /v1/replicated?store=S&dataset=D               -> Replication
//	POST /v1/probe     ProbeRequest                     -> ProbeResponse
//
// The write is full duplex: ids go up while outcomes come down, so pacing (a rate, a bound on
// writes awaiting an outcome) stays with the caller and a broken connection loses only the outcomes
// not yet sent. Errors other than write outcomes are a non-2xx status with ErrorResponse. Times
// are the agent's wall clock (RFC 3339 with nanoseconds).

// StoreRequest names one dataset of one store of a tenant.
type StoreRequest struct {
	Tenant  string `json:"tenant"`
	Store   string `json:"store"`
	Dataset string `json:"dataset"`
}

// StoreInfo names one store the agent offers and its family.
type StoreInfo struct {
	Name string        `json:"name"`
	Kind topology.Kind `json:"kind"`
	// InFlight is how many writes the store works on at once (stores.Description.InFlight).
	InFlight int `json:"inFlight,omitempty"`
}

// StoresResponse names the agent's tenant and the stores it offers.
type StoresResponse struct {
	Tenant string      `json:"tenant"`
	Stores []StoreInfo `json:"stores"`
}

// StreamLine is one line of a write stream's answer: an outcome, or the end of the stream.
type StreamLine struct {
	WireResult
	End   bool   `json:"end,omitempty"`
	Error string `json:"error,omitempty"` // with End: what ended the stream early
}

// WireResult is one write outcome.
type WireResult struct {
	ID         string       `json:"id,omitempty"`
	Invoked    time.Time    `json:"invoked,omitzero"`
	Finished   time.Time    `json:"finished,omitzero"`
	Ack        topology.Ack `json:"ack,omitzero"`
	Err        string       `json:"err,omitempty"`
	Indefinite bool         `json:"indefinite,omitempty"`
	Detail     string       `json:"detail,omitempty"`
}

// PlacementResponse tells where every record lives.
type PlacementResponse struct {
	Placements []topology.Placement `json:"placements"`
}

// Replication says whether every part of a dataset has all its copies, and what is missing.
// Missing says the dataset does not exist at all.
type Replication struct {
	Replicated bool   `json:"replicated"`
	Missing    bool   `json:"missing,omitempty"`
	Detail     string `json:"detail"`
}

// ErrorResponse is the body of a failed request.
type ErrorResponse struct {
	Error string `json:"error"`
}

// ToWire encodes an outcome.
func ToWire(r topology.WriteResult) WireResult {
	w := WireResult{ID: r.ID, Invoked: r.Invoked, Finished: r.Finished, Ack: r.Ack, Detail: r.Detail}
	if r.Err != nil {
		w.Err = r.Err.Error()
		w.Indefinite = errors.Is(r.Err, topology.ErrIndefinite)
	}
	return w
}

// FromWire decodes an outcome; an indefinite error satisfies errors.Is(err, topology.ErrIndefinite).
func FromWire(w WireResult) topology.WriteResult {
	r := topology.WriteResult{ID: w.ID, Invoked: w.Invoked, Finished: w.Finished, Ack: w.Ack, Detail: w.Detail}
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

package api

import (
	"context"
	"net/http"
)

// Probe has the agent probe req's targets from inside its pod (POST /v1/probe) and returns the
// results in the request's order.
func (c *Client) Probe(ctx context.Context, req ProbeRequest) (ProbeResponse, error) {
	var pr ProbeResponse
	err := c.call(ctx, http.MethodPost, "/v1/probe", req, &pr)
	return pr, err
}

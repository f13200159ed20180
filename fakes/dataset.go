package fakes

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"dpsim/topology"
)

// dataset is one dataset of a fake store as the engine sees it. The fake keeps one topic, index and
// bucket per tenant for every dataset: a dataset's records are the ids under its name and a slash
// (the engine's ids start so), and in the shared object store its keys carry the tenant in front.
type dataset struct {
	site *site
	data simData
	// keyPrefix is put before every id to make the store's key ("tenant/" in the object store).
	keyPrefix string
	// prefix is the dataset's part of the ids ("<dataset>/").
	prefix string
	// hashes are the hashes of the values the store holds, by key; the dataset's store shares them.
	hashes map[string]string
}

var _ topology.Store = (*dataset)(nil)

// Name is the component's name.
func (d *dataset) Name() string { return d.data.name() }

// Kind is the store family.
func (d *dataset) Kind() topology.Kind { return d.data.kind() }

// WriteStream writes one id at a time by the store's rules, on the simulated clock.
func (d *dataset) WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(topology.WriteResult)) error {
	mis := d.data.misbehaves()
	for id := range ids {
		res := topology.WriteResult{ID: id}
		err := d.site.do(ctx, func() error {
			res.Invoked = d.site.clock.Now()
			if mis.nothing {
				res.Err = fmt.Errorf("%s: write %s: not sent: the store takes nothing", d.data.name(), id)
			} else {
				key := d.keyPrefix + id
				ack, applied, err := d.data.put(key)
				res.Ack, res.Err = ack, err
				if err == nil {
					res.Detail = fmt.Sprintf("acknowledged by %s with %d copies", ack.Node, ack.Copies)
				}
				if applied {
					d.hashes[key] = topology.ValueHash(topology.Value(id, valueBytes))
					if mis.corrupts() {
						d.hashes[key] = "corrupted"
					}
					if err == nil && mis.failsAfterApply() {
						res.Ack, res.Err = topology.Ack{}, fmt.Errorf("%s: write %s: refused (but applied)", d.data.name(), id)
					}
				}
			}
			d.site.charge(res.Err)
			res.Finished = d.site.clock.Now()
			return nil
		})
		if err != nil { // the platform never saw it
			res.Invoked, res.Finished = d.site.clock.Now(), d.site.clock.Now()
			res.Err = fmt.Errorf("%s: write %s: not sent: %w", d.data.name(), id, err)
		}
		emit(res)
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Read returns the dataset's records a read can reach, with the hashes of their values.
func (d *dataset) Read(ctx context.Context) (topology.ReadBack, error) {
	var rb topology.ReadBack
	err := d.site.do(ctx, func() error {
		if d.data.misbehaves().nothing {
			return nil
		}
		keys, unreadable := d.data.readable(d.keyPrefix + d.prefix)
		rb.Unreadable = unreadable
		for _, k := range keys {
			rb.Records = append(rb.Records, topology.Record{ID: strings.TrimPrefix(k, d.keyPrefix), Hash: d.hashes[k]})
		}
		return nil
	})
	return rb, err
}

// Placement tells where every record of the dataset lives, by node.
func (d *dataset) Placement(ctx context.Context) ([]topology.Placement, error) {
	var out []topology.Placement
	err := d.site.do(ctx, func() error {
		mis := d.data.misbehaves()
		if mis.nothing {
			return nil
		}
		for i, p := range d.data.placements(d.keyPrefix + d.prefix) {
			if !mis.hides(i + 1) {
				p.ID = strings.TrimPrefix(p.ID, d.keyPrefix)
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}

// Drop removes the dataset's records.
func (d *dataset) Drop(ctx context.Context) error {
	return d.site.do(ctx, func() error {
		prefix := d.keyPrefix + d.prefix
		d.data.remove(prefix)
		for k := range d.hashes {
			if strings.HasPrefix(k, prefix) {
				delete(d.hashes, k)
			}
		}
		return nil
	})
}

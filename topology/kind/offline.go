package kind

import (
	"context"
	"fmt"

	"dpsim/topology"
)

var _ topology.DriveOffliner = (*Platform)(nil)

// OfflineDrive implements topology.DriveOffliner for the object store: the drive's server is
// stopped, its data kept. The evidence is the container's state afterwards.
func (p *Platform) OfflineDrive(ctx context.Context, d topology.Drive) (string, error) {
	i, err := p.offlineServer(d)
	if err != nil {
		return "", err
	}
	if err := p.objects.StopServer(ctx, i); err != nil {
		return "", fmt.Errorf("stop object store server %s: %w", d.Name, err)
	}
	st, err := p.cluster.containerState(ctx, d.Name)
	if err != nil {
		return "", err
	}
	if st.running {
		return "", fmt.Errorf("object store server %s still runs after the stop", d.Name)
	}
	return fmt.Sprintf("object store server %s stopped (its container not running), its drive kept", d.Name), nil
}

// OnlineDrive implements topology.DriveOffliner: the server starts again on its drive, at its old
// address, and answers. It does not wait for write quorum: with more drives offline than parity the
// first server back cannot have it, and the others would never be started; settling waits for it.
func (p *Platform) OnlineDrive(ctx context.Context, d topology.Drive) (string, error) {
	i, err := p.offlineServer(d)
	if err != nil {
		return "", err
	}
	if err := p.objects.StartServer(ctx, i); err != nil {
		return "", fmt.Errorf("start object store server %s: %w", d.Name, err)
	}
	err = p.waitFor(ctx, p.opts.ReadyTimeout, func() error {
		ok, err := p.objects.Live(ctx, i)
		if err == nil && !ok {
			err = fmt.Errorf("not live yet")
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("object store server %s after its start: %w", d.Name, err)
	}
	return fmt.Sprintf("object store server %s runs again at %s with its drive and answers", d.Name, p.objects.Servers[i].URL), nil
}

// offlineServer is the object store server of d; only object-store drives can go offline.
func (p *Platform) offlineServer(d topology.Drive) (int, error) {
	if d.Component != objectStoreName {
		return 0, fmt.Errorf("drive %s of %s: only object-store drives can be taken offline", d.Name, d.Component)
	}
	return p.objectServer(d.Name)
}

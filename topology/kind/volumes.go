package kind

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"dpsim/internal/atrest"
)

// The nodes' volumes live on one disk per cluster, as a cloud node's volumes live on its disks:
// an ext4 image on the host, loop-mounted, one directory per worker bound onto
// local-path-provisioner's directory in the node. With encryption the directories carry an fscrypt
// policy under a key that only the kernel holds; without, the same disk keeps them in plaintext,
// which is how a scan shows what encryption changes.
const (
	// VolumesNone keeps volumes in the node containers, as kind does (no disk of their own).
	VolumesNone = ""
	// VolumesPlain puts them on the cluster's disk, unencrypted.
	VolumesPlain = "none"
	// VolumesFscrypt puts them on the cluster's disk under ext4 native encryption.
	VolumesFscrypt = "fscrypt"

	// volumesRoot holds every cluster's disk.
	volumesRoot = "/var/lib/dpsim"
	// volumesSize is the disk's size: sparse, so only what the volumes write takes space, and
	// large enough that Elasticsearch's disk watermarks never bind.
	volumesSize = 200 << 30
)

// VolumesImage is the image file of the cluster's volume disk.
func (p *Provider) VolumesImage() string {
	return filepath.Join(volumesRoot, p.cfg.ClusterName, "volumes.img")
}

// volumesMount is where the disk is mounted on the host.
func (p *Provider) volumesMount() string {
	return filepath.Join(volumesRoot, p.cfg.ClusterName, "volumes")
}

// volumeDir is worker's directory on the disk.
func (p *Provider) volumeDir(worker string) string {
	return filepath.Join(p.volumesMount(), worker)
}

// workerNames are the node names kind gives the workers.
func (p *Provider) workerNames() []string {
	var out []string
	for i := range p.cfg.Workers {
		out = append(out, p.WorkerName(i))
	}
	return out
}

// createVolumes makes the disk and a directory per worker; a disk left by an earlier cluster of
// the same name is removed first. A host that cannot make the disk (no root, no free loop device,
// no mkfs.ext4, no fscrypt in its kernel) keeps the volumes in the node containers: the cluster
// still serves every other scenario, and the scan at rest says why it has nothing to read.
func (p *Provider) createVolumes(ctx context.Context) error {
	if p.cfg.Volumes == VolumesNone {
		return nil
	}
	if err := p.removeVolumes(ctx); err != nil {
		return err
	}
	if err := p.makeVolumes(ctx); err != nil {
		p.volumesErr = fmt.Errorf("no volume disk (encryption.atRest %s needs root, a free loop device, mkfs.ext4 and fscrypt): %w", p.cfg.Volumes, err)
		p.log.Warn("volumes stay in the node containers", "reason", p.volumesErr.Error())
		return p.removeVolumes(ctx)
	}
	p.log.Info("volume disk ready", "image", p.VolumesImage(), "encryption", p.cfg.Volumes)
	return nil
}

// makeVolumes makes the disk and a directory per worker, encrypted or not.
func (p *Provider) makeVolumes(ctx context.Context) error {
	disk, err := atrest.Create(ctx, p.VolumesImage(), p.volumesMount(), volumesSize)
	if err != nil {
		return err
	}
	p.volumes = disk
	for _, w := range p.workerNames() {
		if _, err := disk.Dir(w, p.cfg.Volumes == VolumesFscrypt); err != nil {
			return fmt.Errorf("volume directory of %s: %w", w, err)
		}
	}
	return nil
}

// VolumesDisk is the cluster's volume disk, made by this or an earlier process.
func (p *Provider) VolumesDisk() (*atrest.Disk, error) {
	if p.cfg.Volumes == VolumesNone {
		return nil, errors.New("the cluster's volumes live in its node containers, on no disk of their own")
	}
	if p.volumes != nil {
		return p.volumes, nil
	}
	if p.volumesErr != nil {
		return nil, p.volumesErr
	}
	return atrest.Open(p.VolumesImage(), p.volumesMount())
}

// volumesUnusable says why a reused cluster's disk is not there ("" when it is).
func (p *Provider) volumesUnusable() string {
	if p.cfg.Volumes == VolumesNone || atrest.Mounted(p.volumesMount()) {
		return ""
	}
	return "its volume disk is not mounted at " + p.volumesMount()
}

// removeVolumes unmounts the disk and removes its image and directories; nothing there is fine.
func (p *Provider) removeVolumes(ctx context.Context) error {
	disk := p.volumes
	if disk == nil {
		disk = &atrest.Disk{Image: p.VolumesImage(), Mount: p.volumesMount()}
	}
	if err := disk.Close(ctx); err != nil {
		return fmt.Errorf("remove volume disk: %w", err)
	}
	p.volumes = nil
	err := os.RemoveAll(filepath.Join(volumesRoot, p.cfg.ClusterName))
	if err != nil {
		return fmt.Errorf("remove volume disk: %w", err)
	}
	return nil
}

// volumeMounts binds each worker's directory on the disk onto local-path-provisioner's.
func (p *Provider) volumeMounts(worker string) []v1alpha4.Mount {
	if p.cfg.Volumes == VolumesNone || p.volumesErr != nil {
		return nil
	}
	return []v1alpha4.Mount{{HostPath: p.volumeDir(worker), ContainerPath: localPathDir}}
}

// VolumeDirs are the volumes' directories on the disk, by worker, as local-path-provisioner made
// them (pvc-<uid>_<namespace>_<claim>).
func (p *Provider) VolumeDirs() (map[string][]string, error) {
	out := map[string][]string{}
	for _, w := range p.workerNames() {
		entries, err := os.ReadDir(p.volumeDir(w))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), "pvc-") {
				out[w] = append(out[w], filepath.Join(p.volumeDir(w), e.Name()))
			}
		}
		slices.Sort(out[w])
	}
	return out, nil
}

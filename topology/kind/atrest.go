package kind

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"dpsim/internal/atrest"
	"dpsim/topology"
)

var _ topology.AtRestScanner = (*Platform)(nil)

// atRestEncryption is how a volume disk keeps its volumes, for the report.
var atRestEncryption = map[string]string{
	VolumesFscrypt: "fscrypt v2 (ext4 native encryption): AES-256-XTS contents, AES-256-CTS names, a random 512-bit key held by the kernel",
	VolumesPlain:   "none (ext4, plaintext)",
}

// ScanAtRest implements topology.AtRestScanner: it writes the canaries to a plaintext file at the
// volume disk's root (outside the workers' encrypted directories, on the same ext4 filesystem),
// flushes the disk and reads its image, every allocated byte, for the markers and canaries; each
// volume directory is listed with the kernel's word on its encryption policy. The canary file is
// removed afterwards.
func (p *Platform) ScanAtRest(ctx context.Context, markers, canaries []string) (topology.AtRest, map[string]int, error) {
	disk, err := p.cluster.VolumesDisk()
	if err != nil {
		return topology.AtRest{}, nil, err
	}
	out := topology.AtRest{Encryption: atRestEncryption[p.spec.Encryption.AtRest], Storage: disk.Image + " (every node's volumes, loop-mounted at " + disk.Mount + ")"}
	canaryFile, err := disk.WritePlain("dpsim-canary", []byte(strings.Join(canaries, "\n")+"\n"))
	if err != nil {
		return out, nil, fmt.Errorf("write the plaintext canaries: %w", err)
	}
	defer os.Remove(canaryFile)
	out.Canary.Where = canaryFile + " (beside the workers' directories)"
	dirs, err := p.cluster.VolumeDirs()
	if err != nil {
		return out, nil, fmt.Errorf("list the volumes: %w", err)
	}
	for _, node := range p.cluster.workerNames() {
		for _, dir := range dirs[node] {
			enc, err := disk.Encrypted(dir)
			if err != nil {
				return out, nil, fmt.Errorf("encryption policy of %s: %w", dir, err)
			}
			out.Volumes = append(out.Volumes, topology.AtRestVolume{Node: node, Path: dir, Encrypted: enc})
		}
	}
	start := time.Now()
	if err := disk.Sync(); err != nil {
		return out, nil, fmt.Errorf("flush the volume disk: %w", err)
	}
	counts, read, err := atrest.Scan(ctx, disk.Image, append(slices.Clone(markers), canaries...))
	out.BytesScanned, out.Seconds = read, time.Since(start).Seconds()
	if err != nil {
		return out, nil, fmt.Errorf("scan %s: %w", disk.Image, err)
	}
	return out, counts, nil
}

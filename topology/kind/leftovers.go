package kind

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"

	"dpsim/images"
	"dpsim/topology/minio"
)

// kindClusterLabel is the label kind puts on every node container, valued with the cluster's name.
const kindClusterLabel = "io.x-k8s.kind.cluster"

// Platforms lists by name every platform dpsim made on this host and did not tear down: kind
// clusters whose nodes run dpsim's node image, object store containers and volume disks. A kind
// cluster of another tool is not listed.
func Platforms(ctx context.Context) ([]string, error) {
	names := map[string]bool{}
	out, err := exec.CommandContext(ctx, "docker", "ps", "-a", "--filter", "label="+kindClusterLabel,
		"--format", `{{.Label "`+kindClusterLabel+`"}} {{.Image}}`).Output()
	if err != nil {
		return nil, fmt.Errorf("list kind node containers: %w", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, image, _ := strings.Cut(line, " ")
		if strings.HasPrefix(image, images.Repository+images.KindNode+":") {
			names[name] = true
		}
	}
	owners, err := minio.Owners(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range owners {
		names[o] = true
	}
	disks, err := os.ReadDir(volumesRoot)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("list volume disks: %w", err)
	}
	for _, d := range disks {
		if d.IsDir() {
			names[d.Name()] = true
		}
	}
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	return list, nil
}

package kind

import (
	"strings"
	"testing"
)

func TestCalicoMissingImagesAreNamed(t *testing.T) {
	manifest := `
      containers:
        - name: calico-node
          image: docker.io/calico/node:v3.28.5
      initContainers:
        - name: install-cni
          image: docker.io/calico/cni:v3.28.5
        - name: upgrade-ipam
          image: docker.io/calico/cni:v3.28.5
`
	imgs := manifestImages(manifest)
	if strings.Join(imgs, ",") != "docker.io/calico/node:v3.28.5,docker.io/calico/cni:v3.28.5" {
		t.Fatalf("images %v", imgs)
	}
	present := map[string]bool{"docker.io/calico/cni:v3.28.5": true}
	missing, err := missingImages(imgs, func(img string) (bool, error) { return present[img], nil })
	if err != nil || len(missing) != 1 || missing[0] != "docker.io/calico/node:v3.28.5" {
		t.Fatalf("missing %v, %v", missing, err)
	}
}

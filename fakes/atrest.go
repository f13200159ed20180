package fakes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"maps"
	"slices"
	"strings"

	"dpsim/internal/atrest"
	"dpsim/topology"
)

var _ topology.AtRestScanner = (*Provider)(nil)

// The fake's volume disk is one image of every tenant data store's volumes (Kafka, Elasticsearch,
// StackGraph; not the object store, which is beside the cluster): each volume holds the value of
// every record copy its member keeps (a metadata-only member, the records' names), sealed when
// encryption.atRest is fscrypt and as written when it is none, and the disk's root holds what is
// written there in plaintext. A scan counts the markers in the whole image with the counter the
// kind provider's scan uses.

// fakeEncryption is how the fake's disk keeps its volumes, by whether it encrypts them.
var fakeEncryption = map[bool]string{
	true:  "fscrypt (the fake's model: every volume's contents sealed)",
	false: "none (the fake's model: plaintext)",
}

// ScanAtRest implements topology.AtRestScanner on the fake's volume disk: the canaries go to its
// root in plaintext, then the whole image is read for the markers and the canaries.
func (p *Provider) ScanAtRest(ctx context.Context, markers, canaries []string) (topology.AtRest, map[string]int, error) {
	var out topology.AtRest
	var counts map[string]int
	err := p.do(ctx, func(s *site) error {
		encrypted := s.spec.Encryption.AtRest == "fscrypt"
		out = topology.AtRest{Encryption: fakeEncryption[encrypted], Storage: "the fake's volume disk (every data store's volumes)",
			Canary: topology.AtRestCanary{Where: "a file at the fake volume disk's root"}}
		values := map[string][]byte{} // the markers by their hash: the values a scan can recognise
		for _, m := range markers {
			values[topology.ValueHash([]byte(m))] = []byte(m)
		}
		var image bytes.Buffer
		for _, t := range s.tenants {
			if s.backups.offboarded[t.name] {
				continue
			}
			for _, st := range t.own {
				for _, m := range st.members() {
					out.Volumes = append(out.Volumes, topology.AtRestVolume{Node: m.node.name, Path: "/var/local-path/" + namespace(t.name) + "/data-" + m.name, Encrypted: encrypted})
					image.Write(s.volumeBytes(st, m, values, encrypted))
				}
			}
		}
		image.WriteString(strings.Join(canaries, "\n"))
		out.BytesScanned = int64(image.Len())
		counts = atrest.Count(image.Bytes(), append(slices.Clone(markers), canaries...))
		return nil
	})
	return out, counts, err
}

// volumeBytes is what member m's volume of store st holds on the disk: per record copy its value
// (the markers' are known by their hash; another record's value is stood for by its hash), or
// its name on a metadata-only member; all of it sealed when encrypted.
func (s *site) volumeBytes(st tenantStore, m *member, values map[string][]byte, encrypted bool) []byte {
	var vol bytes.Buffer
	image := st.image(m)
	for _, part := range slices.Sorted(maps.Keys(image)) {
		for _, key := range image[part] {
			v := []byte(key)
			if !m.metadataOnly {
				h := s.hashes[st][key]
				if v = values[h]; v == nil {
					v = []byte(h)
				}
			}
			vol.Write(sealed(v, encrypted))
			vol.WriteByte('\n')
		}
	}
	return vol.Bytes()
}

// sealed is v as an encrypted volume keeps it: bytes of the same length derived from it that give
// none of it away; unencrypted, v itself.
func sealed(v []byte, encrypted bool) []byte {
	if !encrypted {
		return v
	}
	out := make([]byte, 0, len(v)+sha256.Size)
	for i := 0; len(out) < len(v); i++ {
		sum := sha256.Sum256(append([]byte{byte(i)}, v...))
		out = append(out, sum[:]...)
	}
	return out[:len(v)]
}

package atrest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (mount, loop devices)")
	}
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("no mkfs.ext4")
	}
	if out, err := exec.Command("losetup", "-f").CombinedOutput(); err != nil {
		t.Skipf("no free loop device: %v %s", err, out)
	}
}

func markers(n int) []string {
	out := make([]string, n)
	for i := range out {
		b := make([]byte, 16)
		rand.Read(b)
		out[i] = "dpsim-" + hex.EncodeToString(b)
	}
	return out
}

// testDisk is a 64 MiB encrypted disk for one test, closed at its end; the test is skipped
// where one cannot be made.
func testDisk(t *testing.T) *Disk {
	t.Helper()
	requireRoot(t)
	tmp := t.TempDir()
	d, err := Create(context.Background(), filepath.Join(tmp, "disk.img"), filepath.Join(tmp, "mnt"), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return d
}

// 200 markers written through an encrypted directory are nowhere in the raw image; 200 written
// through a plain one on the same disk are all there: the scan sees plaintext when there is some.
func TestEncryptedDirLeavesNoPlaintext(t *testing.T) {
	ctx := context.Background()
	d := testDisk(t)
	secret, plain := markers(200), markers(200)
	for _, c := range []struct {
		name    string
		enc     bool
		markers []string
	}{{"encrypted", true, secret}, {"plain", false, plain}} {
		dir, err := d.Dir(c.name, c.enc)
		if err != nil {
			t.Fatal(err)
		}
		sub := filepath.Join(dir, "volume", "data") // inherits the policy
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, m := range c.markers {
			if err := os.WriteFile(filepath.Join(sub, "record-"+m[:12]), []byte(m+" value "+string(rune('a'+i%26))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := d.Encrypted(sub); err != nil || got != c.enc {
			t.Errorf("%s: Encrypted = %v, %v; want %v", c.name, got, err, c.enc)
		}
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	counts, read, err := Scan(ctx, d.Image, append(secret, plain...))
	if err != nil {
		t.Fatal(err)
	}
	found := func(ms []string) (n int) {
		for _, m := range ms {
			if counts[m] > 0 {
				n++
			}
		}
		return n
	}
	t.Logf("scanned %d bytes", read)
	if n := found(secret); n != 0 {
		t.Errorf("%d of 200 markers written encrypted found in the raw image", n)
	}
	if n := found(plain); n != 200 {
		t.Errorf("%d of 200 markers written in plain found, want 200", n)
	}
}

// A marker across a chunk boundary is counted once.
func TestCountStarting(t *testing.T) {
	b := []byte("xxabcxxabc")
	if n := countStarting(b, []byte("abc"), len(b)); n != 2 {
		t.Errorf("%d, want 2", n)
	}
	if n := countStarting(b, []byte("abc"), 7); n != 1 {
		t.Errorf("%d starting before 7, want 1", n)
	}
}

// Scan reads a sparse file's data only, and finds a marker that straddles two chunks.
func TestScanSparseAcrossChunks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sparse")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	m := "dpsim-straddling-marker"
	const extent = 64 << 20 // data after a 64 MiB hole, with the marker across its first chunk's end
	if _, err := f.WriteAt(bytes.Repeat([]byte("x"), 5<<20), extent); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(m), extent+4<<20-5); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(256 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	counts, read, err := Scan(context.Background(), path, []string{m, "absent"})
	if err != nil {
		t.Fatal(err)
	}
	if counts[m] != 1 || counts["absent"] != 0 {
		t.Errorf("counts %v", counts)
	}
	if read > 6<<20 {
		t.Errorf("read %d bytes of a file with a few KiB of data", read)
	}
}

// Many markers are counted in one pass, overlapping ones and ones sharing a prefix included.
func TestMarkerSetCountsEach(t *testing.T) {
	s := newMarkerSet([]string{"abcdefghij", "abcdefghXY", "cdefgh", "z", "absent-marker"})
	b := []byte("..abcdefghij..abcdefghXY..zz")
	s.count(b, len(b))
	want := map[string]int{"abcdefghij": 1, "abcdefghXY": 1, "cdefgh": 2, "z": 2, "absent-marker": 0}
	for m, n := range want {
		if s.counts[m] != n {
			t.Errorf("%q counted %d, want %d", m, s.counts[m], n)
		}
	}
}

// Count finds markers in bytes held in memory, at the very end too.
func TestCount(t *testing.T) {
	counts := Count([]byte("..marker-one..marker-two..marker-one"), []string{"marker-one", "marker-two", "marker-absent"})
	if counts["marker-one"] != 2 || counts["marker-two"] != 1 || counts["marker-absent"] != 0 {
		t.Errorf("counts %v", counts)
	}
}

// Canaries written with WritePlain at the root of an encrypted disk, beside a directory under
// encryption, are found by the scan, while markers written through the directory are not: the
// scan sees the plaintext that is there.
func TestPlainCanaryBesideEncryptedDirIsFound(t *testing.T) {
	ctx := context.Background()
	d := testDisk(t)
	dir, err := d.Dir("worker", true)
	if err != nil {
		t.Fatal(err)
	}
	secret, canaries := markers(50), markers(8)
	for _, m := range secret {
		if err := os.WriteFile(filepath.Join(dir, "record-"+m[:12]), []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path, err := d.WritePlain("canary", []byte(strings.Join(canaries, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if enc, err := d.Encrypted(path); err != nil || enc {
		t.Errorf("the canary file: Encrypted = %v, %v; want plaintext", enc, err)
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	counts, _, err := Scan(ctx, d.Image, append(secret, canaries...))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range secret {
		if counts[m] > 0 {
			t.Errorf("marker %s written encrypted found %d times", m, counts[m])
		}
	}
	for _, c := range canaries {
		if counts[c] == 0 {
			t.Errorf("canary %s written in plaintext not found", c)
		}
	}
}

// BenchmarkScanManyMarkers is the per-byte cost of a scan for 2400 random markers (a full
// encryption-at-rest drill's), over random bytes as an encrypted image holds.
func BenchmarkScanManyMarkers(b *testing.B) {
	var markers []string
	for i := range 2400 {
		markers = append(markers, fmt.Sprintf("%064d", i*7919))
	}
	data := make([]byte, 4<<20)
	rand.Read(data)
	s := newMarkerSet(markers)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		s.count(data, len(data))
	}
}

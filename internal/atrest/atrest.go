// Package atrest gives volumes a filesystem that is really encrypted at rest, as a cloud disk with
// encryption is: ext4 with native encryption (fscrypt v2 policies, AES-256-XTS contents and
// AES-256-CTS names) on a sparse image file, loop-mounted on the host, one directory per user of
// it under one random key that never leaves the process. It also scans the image's raw bytes for
// plaintext, which is how encryption is proven rather than configured.
package atrest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Disk is an ext4 filesystem with encryption enabled on a loop-mounted image file.
type Disk struct {
	Image, Mount string
	keyID        [unix.FSCRYPT_KEY_IDENTIFIER_SIZE]byte
}

// Create makes a sparse image of size bytes at image, formats it ext4 with the encrypt feature,
// mounts it at mount and adds a fresh random 512-bit key to it. Needs root.
func Create(ctx context.Context, image, mount string, size int64) (*Disk, error) {
	if err := os.MkdirAll(filepath.Dir(image), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(image, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create disk image: %w", err)
	}
	err = f.Truncate(size)
	f.Close()
	d := &Disk{Image: image, Mount: mount}
	if err == nil {
		// An inode per 256 KiB (at least 16384) and no reserved blocks: the inode tables the
		// kernel zeroes after mounting stay small, and so does what a scan reads.
		inodes := strconv.FormatInt(max(size/(256<<10), 16384), 10)
		err = run(ctx, "mkfs.ext4", "-q", "-O", "encrypt", "-E", "nodiscard", "-N", inodes, "-m", "0", image)
	}
	if err == nil {
		err = os.MkdirAll(mount, 0o700)
	}
	if err == nil {
		err = run(ctx, "mount", "-o", "loop", image, mount)
	}
	if err == nil {
		err = d.addKey()
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("encrypted disk %s: %w", image, err), d.Close(context.WithoutCancel(ctx)))
	}
	return d, nil
}

// Open is the disk Create made at image and mounted at mount, from an earlier process: its key
// stays in the kernel as long as the disk is mounted; Encrypted then accepts any v2 policy, as
// the key's identifier went with that process.
func Open(image, mount string) (*Disk, error) {
	if !mounted(mount) {
		return nil, fmt.Errorf("encrypted disk %s: not mounted at %s", image, mount)
	}
	return &Disk{Image: image, Mount: mount}, nil
}

// addKey adds a random raw key to the filesystem (FS_IOC_ADD_ENCRYPTION_KEY) and keeps its
// identifier; the key itself is only in the kernel from then on.
func (d *Disk) addKey() error {
	key := make([]byte, unix.FSCRYPT_MAX_KEY_SIZE)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	head := int(unsafe.Sizeof(unix.FscryptAddKeyArg{}))
	buf := make([]byte, head+len(key))
	arg := (*unix.FscryptAddKeyArg)(unsafe.Pointer(&buf[0]))
	arg.Key_spec.Type = unix.FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER
	arg.Raw_size = uint32(len(key))
	copy(buf[head:], key)
	clear(key)
	err := d.ioctl(d.Mount, unix.FS_IOC_ADD_ENCRYPTION_KEY, unsafe.Pointer(&buf[0]))
	copy(d.keyID[:], arg.Key_spec.U[:])
	clear(buf)
	if err != nil {
		return fmt.Errorf("add encryption key: %w", err)
	}
	return nil
}

// Dir makes the directory name on the disk; encrypted puts the disk's key's v2 policy on it (every
// file and directory created under it is encrypted), otherwise it stays plaintext.
func (d *Disk) Dir(name string, encrypted bool) (string, error) {
	dir := filepath.Join(d.Mount, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	if !encrypted {
		return dir, nil
	}
	pol := unix.FscryptPolicyV2{
		Version:                   unix.FSCRYPT_POLICY_V2,
		Contents_encryption_mode:  unix.FSCRYPT_MODE_AES_256_XTS,
		Filenames_encryption_mode: unix.FSCRYPT_MODE_AES_256_CTS,
		Flags:                     unix.FSCRYPT_POLICY_FLAGS_PAD_32,
		Master_key_identifier:     d.keyID,
	}
	if err := d.ioctl(dir, unix.FS_IOC_SET_ENCRYPTION_POLICY, unsafe.Pointer(&pol)); err != nil {
		return "", fmt.Errorf("encrypt %s: %w", dir, err)
	}
	return dir, nil
}

// Encrypted reports whether path carries an encryption policy with the disk's key (the kernel's
// own answer, FS_IOC_GET_ENCRYPTION_POLICY_EX).
func (d *Disk) Encrypted(path string) (bool, error) {
	var arg unix.FscryptGetPolicyExArg
	arg.Size = uint64(unsafe.Sizeof(arg.Policy))
	err := d.ioctl(path, unix.FS_IOC_GET_ENCRYPTION_POLICY_EX, unsafe.Pointer(&arg))
	if errors.Is(err, unix.ENODATA) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	pol := (*unix.FscryptPolicyV2)(unsafe.Pointer(&arg.Policy))
	if pol.Version != unix.FSCRYPT_POLICY_V2 {
		return false, nil
	}
	return d.keyID == [unix.FSCRYPT_KEY_IDENTIFIER_SIZE]byte{} || pol.Master_key_identifier == d.keyID, nil
}

func (d *Disk) ioctl(path string, req uint, arg unsafe.Pointer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), uintptr(req), uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// WritePlain writes data to the file name at the disk's root, outside every encrypted directory,
// and flushes it: plaintext on purpose, which a scan of the image must find. It returns the
// file's path.
func (d *Disk) WritePlain(name string, data []byte) (string, error) {
	path := filepath.Join(d.Mount, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return path, err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return path, errors.Join(err, f.Close())
}

// Sync writes what the filesystem holds in memory through to the image file.
func (d *Disk) Sync() error {
	f, err := os.Open(d.Mount)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// Close unmounts the disk (the key goes with it) and removes the image; a disk not mounted has
// only its image removed.
func (d *Disk) Close(ctx context.Context) error {
	var errs []error
	if mounted(d.Mount) {
		if err := run(ctx, "umount", d.Mount); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := os.Remove(d.Image); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Mounted reports whether a filesystem is mounted at dir.
func Mounted(dir string) bool { return mounted(dir) }

func mounted(dir string) bool {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == dir {
			return true
		}
	}
	return false
}

// Scan reads every allocated byte of the image (holes skipped) and counts the occurrences of
// each marker; it returns the counts by marker and the bytes read. The image is read once, however
// many markers there are.
func Scan(ctx context.Context, image string, markers []string) (map[string]int, int64, error) {
	f, err := os.Open(image)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	set := newMarkerSet(markers)
	const chunk = 4 << 20
	buf := make([]byte, chunk+set.longest)
	var read int64
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	for off := int64(0); off < st.Size(); {
		if err := ctx.Err(); err != nil {
			return nil, read, err
		}
		data, err := unix.Seek(int(f.Fd()), off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // no data after off
		}
		if err != nil {
			return nil, read, fmt.Errorf("seek data: %w", err)
		}
		hole, err := unix.Seek(int(f.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return nil, read, fmt.Errorf("seek hole: %w", err)
		}
		// Read the extent [data, hole) in chunks that overlap by the longest marker.
		for pos := data; pos < hole; pos += chunk {
			n, err := f.ReadAt(buf[:min(int64(len(buf)), hole-pos)], pos)
			if err != nil && err != io.EOF {
				return nil, read, err
			}
			read += int64(min(n, chunk))
			set.count(buf[:n], min(n, chunk))
		}
		off = hole
	}
	return set.counts, read, nil
}

// Count counts the occurrences of each marker in data, as Scan does in an image (for storage held
// in memory, such as the fake provider's).
func Count(data []byte, markers []string) map[string]int {
	set := newMarkerSet(markers)
	set.count(data, len(data))
	return set.counts
}

// markerSet finds many markers in one pass: a bitmap of their first two bytes rules most
// positions out at once, and the rest are looked up by their first key bytes.
type markerSet struct {
	counts  map[string]int
	first   [1 << 16 / 64]uint64 // bit per two-byte prefix
	byKey   map[string][]string  // the markers by their first keyLen bytes
	keyLen  int
	longest int
	short   []string // markers under two bytes, counted one by one
}

func newMarkerSet(markers []string) *markerSet {
	s := &markerSet{counts: map[string]int{}, byKey: map[string][]string{}, keyLen: 8}
	for _, m := range markers {
		s.counts[m] = 0
		s.longest = max(s.longest, len(m))
		if len(m) >= 2 {
			s.keyLen = min(s.keyLen, len(m))
		}
	}
	for m := range s.counts {
		if len(m) < 2 {
			s.short = append(s.short, m)
			continue
		}
		p := uint16(m[0])<<8 | uint16(m[1])
		s.first[p/64] |= 1 << (p % 64)
		s.byKey[m[:s.keyLen]] = append(s.byKey[m[:s.keyLen]], m)
	}
	return s
}

// count adds the occurrences in b that start before limit (the overlap's are the next chunk's).
func (s *markerSet) count(b []byte, limit int) {
	for _, m := range s.short {
		s.counts[m] += countStarting(b, []byte(m), limit)
	}
	for i := 0; i < limit && i+s.keyLen <= len(b); i++ {
		p := uint16(b[i])<<8 | uint16(b[i+1])
		if s.first[p/64]&(1<<(p%64)) == 0 {
			continue
		}
		for _, m := range s.byKey[string(b[i:i+s.keyLen])] {
			if bytes.HasPrefix(b[i:], []byte(m)) {
				s.counts[m]++
			}
		}
	}
}

// countStarting counts the occurrences of m in b that start before limit.
func countStarting(b, m []byte, limit int) int {
	n := 0
	for i := 0; ; {
		j := bytes.Index(b[i:], m)
		if j < 0 || i+j >= limit {
			return n
		}
		n++
		i += j + 1
	}
}

func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// hostCheck is one prerequisite of the kind provider.
type hostCheck struct {
	name string
	fix  string
	run  func(ctx context.Context) (string, bool)
}

func hostChecks() []hostCheck {
	return []hostCheck{
		{"root", "run as root (it installs packages and starts dockerd)", func(context.Context) (string, bool) {
			return fmt.Sprintf("uid %d", os.Geteuid()), os.Geteuid() == 0
		}},
		{"go", "install Go 1.26 (it builds the images' binaries)", binaryCheck("go", "version")},
		{"docker client", "make deps (installs docker.io)", binaryCheck("docker", "--version")},
		{"docker engine", "make deps (starts dockerd)", func(ctx context.Context) (string, bool) {
			out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}} {{.Driver}} cgroup v{{.CgroupVersion}} default runtime {{.DefaultRuntime}}").Output()
			if err != nil {
				return "not answering", false
			}
			return strings.TrimSpace(string(out)), true
		}},
		{"mmdebstrap", "make deps (installs mmdebstrap)", binaryCheck("mmdebstrap", "--version")},
		{"privileged containers", "make deps (installs the runtime shim when CAP_SYS_RESOURCE is missing)", func(ctx context.Context) (string, bool) {
			if hasCapSysResource() {
				return "CAP_SYS_RESOURCE in the bounding set: no shim needed", true
			}
			out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.DefaultRuntime}}").Output()
			rt := strings.TrimSpace(string(out))
			return "CAP_SYS_RESOURCE missing; default runtime " + rt, err == nil && rt == "dpsim-runc"
		}},
		{"disk", "free at least 30 GB under /var/lib/docker", func(context.Context) (string, bool) {
			var st syscall.Statfs_t
			path := "/var/lib/docker"
			if _, err := os.Stat(path); err != nil {
				path = "/"
			}
			if err := syscall.Statfs(path, &st); err != nil {
				return err.Error(), false
			}
			free := float64(st.Bavail) * float64(st.Bsize) / 1e9
			return fmt.Sprintf("%.0f GB free on %s", free, path), free >= 30
		}},
		{"memory", "at least 16 GiB of memory", func(context.Context) (string, bool) {
			var si syscall.Sysinfo_t
			if err := syscall.Sysinfo(&si); err != nil {
				return err.Error(), false
			}
			gib := float64(si.Totalram) * float64(si.Unit) / (1 << 30)
			return fmt.Sprintf("%.1f GiB", gib), gib >= 16
		}},
	}
}

func binaryCheck(name string, args ...string) func(ctx context.Context) (string, bool) {
	return func(ctx context.Context) (string, bool) {
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil {
			return "missing", false
		}
		return strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0], true
	}
}

// hasCapSysResource reports whether CAP_SYS_RESOURCE (bit 24) is in this process's bounding set.
func hasCapSysResource() bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			bits, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && bits&(1<<24) != 0
		}
	}
	return false
}

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("doctor", "", "Report what the kind provider needs from this host and what is missing.\n`make deps` installs and starts what is missing.", stderr)
	if err := parse(fs, args); err != nil {
		return exitUsage, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	missing := 0
	for _, c := range hostChecks() {
		detail, ok := c.run(ctx)
		mark := "ok     "
		if !ok {
			mark = "MISSING"
			missing++
			detail += " - fix: " + c.fix
		}
		fmt.Fprintf(stdout, "%s %-22s %s\n", mark, c.name, detail)
	}
	if missing > 0 {
		fmt.Fprintf(stdout, "\n%d prerequisite(s) missing; run `make deps` (as root).\n", missing)
		return exitFailed, nil
	}
	return exitOK, nil
}

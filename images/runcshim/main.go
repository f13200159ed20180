// Command runcshim is an OCI runtime wrapper for hosts whose capability
// bounding set lacks CAP_SYS_RESOURCE.
//
// On such hosts `docker run --privileged` (which kind uses for its nodes)
// fails with "unable to apply caps: operation not permitted", because the
// engine asks runc for every capability it knows, CAP_SYS_RESOURCE included.
// runcshim removes that capability from the OCI spec before handing over to
// the real runc: from the bundle's config.json on `create` and `run`, and from
// the `--process` file on `exec`. Everything else is passed through unchanged.
//
// scripts/deps.sh builds it and registers it as the Docker daemon's default
// runtime only when the host lacks the capability.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// dropped is the capability removed from every capability list.
const dropped = "CAP_SYS_RESOURCE"

// realRuncCandidates are where the real runc is looked for, in order.
var realRuncCandidates = []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"}

// globalValueFlags are runc's global flags that take a separate value.
var globalValueFlags = map[string]bool{
	"--log": true, "--log-format": true, "--root": true, "--criu": true, "--rootless": true,
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "runcshim: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	real, err := findRealRunc()
	if err != nil {
		return err
	}
	if err := rewrite(args); err != nil {
		return err
	}
	return syscall.Exec(real, append([]string{"runc"}, args...), os.Environ())
}

func findRealRunc() (string, error) {
	self, _ := os.Executable()
	for _, c := range realRuncCandidates {
		if c == self {
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, nil
		}
	}
	return "", errors.New("real runc not found in " + strings.Join(realRuncCandidates, ", "))
}

// rewrite edits the spec file that the runc invocation in args will read.
func rewrite(args []string) error {
	sub, rest := subcommand(args)
	switch sub {
	case "create", "run":
		bundle := flagValue(rest, "--bundle", "-b")
		if bundle == "" {
			bundle = "."
		}
		return editFile(filepath.Join(bundle, "config.json"), true)
	case "exec":
		if p := flagValue(rest, "--process", "-p"); p != "" {
			return editFile(p, false)
		}
	}
	return nil
}

// subcommand returns runc's subcommand and the arguments after it.
func subcommand(args []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a, args[i+1:]
		}
		if !strings.Contains(a, "=") && globalValueFlags[a] {
			i++
		}
	}
	return "", nil
}

// flagValue returns the value of the first of names found in args, in either
// "--name value" or "--name=value" form.
func flagValue(args []string, names ...string) string {
	for i, a := range args {
		if a == "--" {
			return ""
		}
		for _, n := range names {
			if a == n && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, n+"="); ok {
				return v
			}
		}
	}
	return ""
}

// editFile removes the dropped capability from a full spec (underProcess) or
// from a process spec.
func editFile(path string, underProcess bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	out, changed, err := dropCapability(data, underProcess)
	if err != nil {
		return fmt.Errorf("edit %s: %w", path, err)
	}
	if !changed {
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := path + ".runcshim"
	if err := os.WriteFile(tmp, out, st.Mode().Perm()); err != nil {
		return fmt.Errorf("write spec: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace spec: %w", err)
	}
	return nil
}

// dropCapability returns data with the dropped capability removed from every
// capability list. Numbers are kept exactly as written.
func dropCapability(data []byte, underProcess bool) ([]byte, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, false, err
	}
	proc := doc
	if underProcess {
		p, ok := doc["process"].(map[string]any)
		if !ok {
			return data, false, nil
		}
		proc = p
	}
	caps, ok := proc["capabilities"].(map[string]any)
	if !ok {
		return data, false, nil
	}
	changed := false
	for set, v := range caps {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		kept := make([]any, 0, len(list))
		for _, c := range list {
			if c == dropped {
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		caps[set] = kept
	}
	if !changed {
		return data, false, nil
	}
	out, err := json.Marshal(doc)
	return out, true, err
}

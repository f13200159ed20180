package agent

import (
	"dpsim/agent/api"

	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Main runs the agent: `dpsim agent --config FILE [--listen :8080]`. It serves until ctx ends; then
// batches under way are cancelled (their remaining outcomes are streamed back as failed or unknown),
// the server gets 10 s to finish its answers, and the store connections are closed. Exit codes: 0 after a
// clean shutdown, 1 when serving fails, 2 on a usage or configuration error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "agent configuration file (JSON)")
	listen := fs.String("listen", ":8080", "address to serve on")
	verbose := fs.Bool("v", false, "log every request outcome at debug level")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dpsim agent --config FILE [--listen :8080] [-v]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *configPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := api.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "dpsim agent: %v\n", err)
		return 2
	}
	srv, err := NewServer(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "dpsim agent: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "dpsim agent: listen on %s: %v\n", *listen, err)
		return 1
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       0, // a write stream's body streams ids for as long as the workload runs
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	fmt.Fprintf(stdout, "dpsim agent for tenant %s serving on %s\n", cfg.Tenant, ln.Addr())
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	code := 0
	select {
	case err := <-served:
		log.Error("serve", "err", err)
		code = 1
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			log.Warn("shutdown", "err", err)
		}
	}
	if err := srv.Close(); err != nil {
		log.Warn("close stores", "err", err)
	}
	return code
}

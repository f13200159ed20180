# dpsim: the two commands a user needs are `make simulate` and `make test`; both set the host up.
GO       ?= go
OUT      ?= dpsim-report
PROVIDER ?= kind
ARGS     ?=
DPSIM    := $(CURDIR)/bin/dpsim

.PHONY: test vet unit integration deps images simulate down down-all bench clean FORCE

## test: vet, unit tests with the race detector, then the integration tests on kind (host set-up
## and image builds included; cold on a new machine, cached afterwards)
test: vet unit integration

vet:
	@bash scripts/stage.sh vet $(GO) vet ./...

unit:
	@bash scripts/stage.sh unit $(GO) test -race -count=1 -skip '^TestIntegration' ./...

## integration: -v, so each test's result and time is in the log; each package's time ends its block.
## The packages whose tests start their servers in containers run two at a time; the kind packages
## (each stands a cluster up) one at a time, after them. Both stages run; either failing fails it.
KIND_PACKAGES := ./cmd/dpsim ./topology/kind
integration: deps images
	@status=0; \
	DPSIM_AGENT_BINARY=$(DPSIM) bash scripts/stage.sh integration-containers $(GO) test -v -count=1 -p 2 -timeout 30m -run '^TestIntegration' \
		$$($(GO) list ./... | grep -v -e '/cmd/dpsim$$' -e '/topology/kind$$') || status=1; \
	DPSIM_AGENT_BINARY=$(DPSIM) bash scripts/stage.sh integration-kind $(GO) test -v -count=1 -p 1 -timeout 80m -run '^TestIntegration' $(KIND_PACKAGES) || status=1; \
	exit $$status

## deps: install and start what the kind provider needs (Docker engine, runtime shim, mmdebstrap)
deps:
	bash scripts/deps.sh

## images: build every image from package registries (only what changed)
images: $(DPSIM)
	@DPSIM_AGENT_BINARY=$(DPSIM) bash scripts/stage.sh images $(DPSIM) images build

## simulate: stand the platform up, run every scenario, tear it down, write the reports into $(OUT)/
simulate: $(if $(filter kind,$(PROVIDER)),deps) $(DPSIM)
	$(DPSIM) simulate --provider $(PROVIDER) --out $(OUT) $(ARGS)

## down: remove the kind platform (after a run with --retain or an interrupted one)
down: $(DPSIM)
	$(DPSIM) down

## down-all: remove every platform dpsim left on this host, whatever its name (.ci/run starts with it)
down-all: deps $(DPSIM)
	@bash scripts/stage.sh down-all $(DPSIM) down --all

## bench: speed and memory figures of the engine, checkers and renderers
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

$(DPSIM): FORCE
	CGO_ENABLED=0 $(GO) build -o $(DPSIM) ./cmd/dpsim

clean:
	rm -rf bin $(OUT)

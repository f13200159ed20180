# dpsim: the two commands a user needs are `make simulate` and `make test`.
GO       ?= go
OUT      ?= dpsim-report
PROVIDER ?= fake
ARGS     ?=

.PHONY: test unit vet simulate bench build clean

## test: vet, then every test with the race detector (Docker-free tests; integration tests join later)
test: vet unit

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

## simulate: stand the platform up, run every scenario, write the reports into $(OUT)/
simulate:
	$(GO) run ./cmd/dpsim simulate --provider $(PROVIDER) --out $(OUT) $(ARGS)

## bench: speed and memory figures of the engine, checkers and renderers
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

build:
	$(GO) build -o bin/dpsim ./cmd/dpsim

clean:
	rm -rf bin $(OUT)

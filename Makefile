# eventlog: run `make` or `make help` for the targets.

GO         ?= go
BIN        := bin
BUF        := $(BIN)/buf
STATICCHECK := $(BIN)/staticcheck

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build the eventlog binary into ./eventlog
	$(GO) build -o eventlog ./cmd/eventlog

.PHONY: run
run: build ## run the server on the SQLite file eventlog.db
	./eventlog serve

.PHONY: test
test: test-go test-python ## run every test: Go (race detector, SQLite and PostgreSQL) and the Python client

.PHONY: test-go
test-go: ## the Go tests with the race detector, SQLite and PostgreSQL (starts a throwaway PostgreSQL)
	scripts/with-postgres $(GO) test -count=1 -race ./...

.PHONY: test-python
test-python: ## the Python client's tests (clients/python) against a server built from here
	scripts/python-tests

.PHONY: bench
bench: ## measure performance against the machine's limits, PostgreSQL and SQLite (ARGS=--quick: about 3 minutes)
	$(GO) build -o $(BIN)/eventlog ./cmd/eventlog
	$(GO) build -o $(BIN)/eventlog-bench ./cmd/eventlog-bench
	EVENTLOG_TEST_PG_FSYNC=on scripts/with-postgres $(BIN)/eventlog-bench --eventlog $(BIN)/eventlog $(ARGS)

.PHONY: bench-quick
bench-quick: ## make bench with --quick: a short run for development
	$(MAKE) bench ARGS="--quick $(ARGS)"

.PHONY: generate
generate: $(BUF) ## regenerate the Go code and OpenAPI description from proto/
	$(BUF) generate
	$(BUF) generate --template buf.gen.wire.yaml

.PHONY: lint
lint: $(BUF) $(STATICCHECK) ## gofmt, go vet, staticcheck and buf lint
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(BUF) lint

.PHONY: check-generated
check-generated: generate ## fail if the committed generated code is stale
	@git diff --exit-code -- proto gateway || { echo "generated code is stale: run make generate and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- proto gateway)" || { git status --porcelain -- proto gateway; echo "generate made new files: commit them"; exit 1; }

.PHONY: breaking
breaking: $(BUF) ## fail on a breaking API change against the main branch
	$(BUF) breaking --against '.git#branch=main'

.PHONY: check
check: check-generated lint test ## everything a reviewer runs: generated code current, lint, tests

.PHONY: clean
clean: ## remove built binaries
	rm -rf $(BIN) eventlog

# The tools are pinned in tools/go.mod and built on first use.
$(BUF): tools/go.mod tools/go.sum
	cd tools && $(GO) build -o ../$(BUF) github.com/bufbuild/buf/cmd/buf

$(STATICCHECK): tools/go.mod tools/go.sum
	cd tools && $(GO) build -o ../$(STATICCHECK) honnef.co/go/tools/cmd/staticcheck

# OrderDesk. `make run` builds and serves the demo; `make test` is what CI runs.
.PHONY: run build generate test vet fmt-check templ-check lint bench bench-go

BIN := bin/orderdesk

run: build
	./$(BIN) serve

build:
	go build -o $(BIN) .

# templ is pinned by go.mod's tool directive, so `go tool templ` is the library's version.
generate:
	go tool templ generate

vet:
	go vet ./...

fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './data/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The generated *_templ.go files are committed; regenerating must change nothing.
templ-check:
	@before=$$(find . -name '*_templ.go' -not -path './data/*' | sort | xargs sha256sum); \
	go tool templ generate >/dev/null; \
	after=$$(find . -name '*_templ.go' -not -path './data/*' | sort | xargs sha256sum); \
	if [ "$$before" != "$$after" ]; then echo "templ generate changed the generated code: run 'make generate' and commit"; exit 1; fi

# staticcheck and errcheck are pinned by go.mod's tool directive, like templ.
# errcheck skips test files (-ignoretests): the rule that no error is dropped is
# for the program; there is no exclude list, so a finding is fixed, not hidden.
lint:
	go tool staticcheck ./...
	go tool errcheck -ignoretests ./...

test: vet fmt-check templ-check lint
	go test -race -count=1 ./...

# The speed table of issue 12: BENCH_ORDERS orders (100,000 by default) in a
# temporary data folder, the real server, wrk (Debian: apt-get install wrk)
# against each page; it prints req/s, the ratio to /healthz, p50, p99 and the
# server's peak memory. `./bin/orderdesk bench -h` lists its options (--profile
# writes a CPU profile per page). Not part of `make test`: it asserts no timing.
bench: build
	./$(BIN) bench

# The Go benchmarks of the store and the desk (go test -bench).
bench-go:
	go test -run '^$$' -bench . -benchmem ./...

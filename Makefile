# contactbridge: make run starts the HighLevel twin on the embedded defaults;
# make test is what CI runs.
GO ?= go
BIN := bin/contactbridge

.PHONY: all build run test vet bench api-docs clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/contactbridge

run:
	$(GO) run ./cmd/contactbridge mock

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -race -count=1 ./...

# bench: the in-process pipeline benchmarks, then the harness (perf/): twin vs
# bare net/http as processes on loopback, start-up and memory; prints Markdown,
# writes .bench/results.json. BENCHFLAGS=--smoke for a run of seconds.
BENCHFLAGS ?=
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./mock/
	./$(BIN) bench $(BENCHFLAGS)

clean:
	rm -rf bin

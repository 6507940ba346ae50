# contactbridge: make run builds the binary and runs the twins on the embedded
# defaults (ARGS passes flags: make run ARGS='--seed 42'); make test is what CI
# runs.
GO ?= go
BIN := bin/contactbridge

.PHONY: all build run test test-crash vet bench api-docs check-api-docs clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/contactbridge

ARGS ?=

# The binary replaces make's shell (exec), so Ctrl-C or a kill of make stops
# the twins; go run would leave its child holding the ports.
run: build
	exec ./$(BIN) mock $(ARGS)

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -race -count=1 ./...

# test-crash: the crash tests alone (go test -short skips them): a process
# killed with SIGKILL mid-job, its job rescued on restart (about 20 s).
test-crash:
	$(GO) test -race -count=1 -run 'SIGKILL' -v ./sync/engine/

# bench: the in-process pipeline benchmarks, then the harness (perf/): twin vs
# bare net/http as processes on loopback, start-up and memory; prints Markdown,
# writes .bench/results.json. BENCHFLAGS=--smoke for a run of seconds.
BENCHFLAGS ?=
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./mock/ ./mock/webhooks/ ./sync/receiver/
	./$(BIN) bench $(BENCHFLAGS)

# The exported API of every package, as go doc prints it, committed so that
# a change of API shows in review (STYLE.md #7).
api-docs:
	@mkdir -p .github/docs
	@for p in $$($(GO) list ./...); do \
		f=.github/docs/$$(echo $${p#github.com/contactbridge/contactbridge/} | tr / _).txt; \
		$(GO) doc -all $$p > $$f; \
	done

check-api-docs: api-docs
	@git diff --exit-code -- .github/docs || { echo "API changed: run make api-docs and commit .github/docs"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- .github/docs)" || { echo "new package docs: commit .github/docs"; exit 1; }

clean:
	rm -rf bin

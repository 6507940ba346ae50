# contactbridge: make run builds the binary and runs `contactbridge up`: both
# twins on the embedded defaults and the sync connected to them (ARGS passes
# flags: make run ARGS='--seed 42'); make test is what CI runs.
GO ?= go
BIN := bin/contactbridge

.PHONY: all build build-contract run test test-crash vet bench fuzz fuzz-ci soak api-docs check-api-docs contract pact-ffi check-pacts clean

# Pact (contract/): libpact_ffi from npm into .pact/lib (scripts/pact-ffi.sh),
# linked by the pact build tag; PACT_DO_NOT_TRACK keeps the verifier from
# calling home.
PACT_LIB_DIR := $(CURDIR)/.pact/lib
PACT_ENV := CGO_ENABLED=1 CGO_LDFLAGS="-L$(PACT_LIB_DIR) -Wl,-rpath,$(PACT_LIB_DIR)" PACT_DO_NOT_TRACK=true
export PACT_DO_NOT_TRACK := true

all: build

build:
	$(GO) build -o $(BIN) ./cmd/contactbridge

# build-contract: the binary with contract verify (links libpact_ffi).
build-contract: pact-ffi
	$(PACT_ENV) $(GO) build -tags pact -o $(BIN) ./cmd/contactbridge

ARGS ?=

# The binary replaces make's shell (exec), so Ctrl-C or a kill of make stops
# the twins; go run would leave its child holding the ports.
run: build
	exec ./$(BIN) up $(ARGS)

vet:
	$(GO) vet ./...

# test: the suite, then the pact tests when libpact_ffi is installed
# (make pact-ffi or make contract install it; CI does).
test: vet
	$(GO) test -race -count=1 ./...
	@if [ -f $(PACT_LIB_DIR)/libpact_ffi.so ]; then \
		$(MAKE) --no-print-directory contract-tests; \
	else \
		echo "make test: libpact_ffi is not in .pact/lib, so the pact tests (contract/, tag pact) did not run: make contract runs them"; \
	fi

pact-ffi:
	./scripts/pact-ffi.sh $(PACT_LIB_DIR)

# contract: the consumer tests write the pacts afresh into .pact/out
# (pact-go merges into old files otherwise), which replace contract/pacts/
# when they all pass; both twins are then verified against them in
# process, and the pacts must be the committed ones.
contract: pact-ffi contract-tests check-pacts

.PHONY: contract-tests
contract-tests:
	rm -rf .pact/out && mkdir -p .pact/out
	CONTRACT_PACT_DIR=$(CURDIR)/.pact/out $(PACT_ENV) $(GO) test -race -tags pact -count=1 -run '^TestConsumer' ./contract/
	rm -f contract/pacts/*.json && cp .pact/out/*.json contract/pacts/
	$(PACT_ENV) $(GO) vet -tags pact ./contract/ ./cmd/contactbridge/
	$(PACT_ENV) $(GO) test -race -tags pact -count=1 -skip '^TestConsumer' ./contract/
	$(PACT_ENV) $(GO) test -race -tags pact -count=1 -run '^TestContract' ./cmd/contactbridge/

check-pacts:
	@git diff --exit-code -- contract/pacts || { echo "pacts changed: make contract and commit contract/pacts"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- contract/pacts)" || { echo "new pacts: commit contract/pacts"; exit 1; }

# test-crash: the crash tests alone (go test -short skips them): a process
# killed with SIGKILL mid-job, its job rescued on restart (about 20 s).
test-crash:
	$(GO) test -race -count=1 -run 'SIGKILL' -v ./sync/engine/

# bench: the in-process pipeline benchmarks, a collection of a store of
# 100,000 created contacts beside one of the records alone, the transport's (stack vs bare
# client, quota utilisation of both APIs' limits), the rules' (one event
# planned with 1 rule and with 100 loaded), the sync's (./sync/run/:
# backfill of BENCH_CONTACTS contacts with 2 tasks and 2 notes each, limits
# off: contacts/s and CPU per contact; the same 1,000 without and with a user
# rule acting on each, the time ratio; webhook-to-effect latency p50/p99;
# quota utilisation and 429s under HighLevel's limits scaled to 50 per 1 s),
# then the harness (perf/):
# twin vs bare net/http as processes on loopback, start-up and memory; prints
# Markdown, writes .bench/results.json. BENCHFLAGS=--smoke for a run of seconds.
# BENCH_CONTACTS=10000 is the issue's size (a minute or more).
BENCHFLAGS ?=
BENCH_CONTACTS ?= 1000
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./mock/ ./mock/webhooks/ ./sync/receiver/
	$(GO) test -run '^$$' -bench Collect -benchtime 20x -count 1 ./mock/store/
	$(GO) test -run '^$$' -bench . -count 1 ./sync/transport/
	$(GO) test -run '^$$' -bench Plan -benchmem -count 1 ./sync/rules/
	CONTACTBRIDGE_BENCH_CONTACTS=$(BENCH_CONTACTS) $(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 30m ./sync/run/
	./$(BIN) bench $(BENCHFLAGS)

# The fuzz targets (issue 12), each for FUZZTIME: request bodies of both
# twins, query parameters of both twins and the admin API, the admin state
# import, the state's strict record decoding against the guarded one, the
# state's record scanner against jsontext's stream decoder, the
# OAuth token endpoint, the journal's redaction, a contact's custom field
# values (their JSON form), the pipeline's decoding and compiled check of a
# body against kin-openapi's, the HighLevel contact input built from the
# validator's value against the one decoded from the body, a contact's
# encoding against encoding/json's, the plain e-mail check against net/mail,
# what the sync's rules read from API answers and the rule loader.
# FUZZMINIMIZE bounds the minimising of each new input (go test's
# -fuzzminimizetime, 60s by default: through a twin's HTTP pipeline that
# can stall a target for most of a minute).
#
# fuzz-ci runs each target for a count of inputs (FUZZTIME=20000x, each
# new one minimised at most 200 times), not for a time: Go 1.26's fuzz
# coordinator can fail a timed run with a bare "context deadline exceeded"
# when its deadline passes while a worker is busy (golang/go#75804, fixed
# in Go 1.27), which failed CI on FuzzQueryParams. A count has no deadline
# to race. Sixteen targets take about 3 minutes with the builds; it is not
# part of make test, which it would lengthen by as much.
FUZZTIME ?= 5m
FUZZMINIMIZE ?= 60s
FUZZ_TARGETS := ./mock/:FuzzHighLevelBodies ./mock/:FuzzM360Bodies ./mock/:FuzzQueryParams ./mock/:FuzzAdminImport \
	./mock/store/:FuzzStrictDecode ./mock/store/:FuzzStateScanner ./mock/:FuzzOAuthToken ./mock/journal/:FuzzRedaction ./mock/store/:FuzzCustomFieldValue \
	./mock/pipeline/:FuzzDecodeValue ./mock/pipeline/:FuzzJSONBody ./mock/highlevel/:FuzzContactInputFromValue \
	./mock/highlevel/:FuzzAppendContactView ./mock/highlevel/:FuzzPlainAddress ./sync/engine/:FuzzRuleAnswers ./sync/rules/:FuzzLoad
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) "$${t%%:*}" || exit 1; \
	done
fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=20000x FUZZMINIMIZE=200x

# soak: a bounded mixed load on both twins on loopback (SOAK long, at most
# 50,000 requests per worker), strict, with 0 unexpected answers and the
# exported state checked against what the answers said (mock TestSoak; not
# part of make test, which skips it).
SOAK ?= 60s
soak:
	CONTACTBRIDGE_SOAK=$(SOAK) $(GO) test -race -count=1 -run '^TestSoak$$' -v ./mock/

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
	rm -rf bin .pact

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

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./mock/

clean:
	rm -rf bin

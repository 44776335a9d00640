# regasmdetect: the Splunk app and its Go search command.
# `make run` builds the command and runs it on the bundled sample, as splunkd would and as the offline scanner;
# `make test` runs every test. Both need only Go.

GO       ?= go
BIN      := build/regasmdetect
VERSION  ?= $(shell sed -n 's/^version *= *//p' default/app.conf | head -n 1)

.PHONY: all build run test test-short vet fmt fuzz bench package appgen clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./src/cmd/regasmdetect

run:
	$(GO) run ./src/cmd/demo

test:
	$(GO) test ./...

test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l src)" || { gofmt -l src; echo "gofmt: files above need formatting"; exit 1; }

# Fuzz every target for FUZZTIME each (default 60s), one after the other.
FUZZTIME ?= 60s
fuzz:
	@set -e; for pkg in $$($(GO) list ./src/...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) -parallel=1 $$pkg; \
	  done; \
	done

# The protocol benchmark: a generated 1,000,000-record SCPv2 stream through the real binary, beside the pipe
# floor `cat stream | wc -l`, plus the Go benchmarks of the hot paths.
bench: build
	$(GO) run ./src/cmd/benchstream -bin $(BIN)
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 ./src/scpv2 ./src/engine ./src/command ./src/sysmon

package:
	$(GO) run ./src/cmd/package

appgen:
	$(GO) run ./src/cmd/appgen

clean:
	rm -rf build dist

# regasmdetect: the Splunk app and its Go search command.
# `make run` builds the command and runs it on the bundled sample, as splunkd would and as the offline scanner;
# `make test` runs every test. Both need only Go.

GO       ?= go
BIN      := build/regasmdetect
VERSION  ?= $(shell sed -n 's/^version *= *//p' default/app.conf | head -n 1)

.PHONY: all build run test test-short vet fmt fuzz bench bench-scale package appgen clean

all: build

# build/regasmdetect: the command-line build (search command, scanner, exporters). Then the app's build of the
# search command for this machine, into its platform folder (linux_x86_64/bin/regasmdetect here), so that this
# checkout, linked into $SPLUNK_HOME/etc/apps/regasmdetect, is a working app.
build:
	$(GO) build -trimpath -o $(BIN) ./src/cmd/regasmdetect
	$(GO) run ./src/cmd/package -host

run:
	$(GO) run ./src/cmd/demo

test:
	$(GO) test ./...
	@test -d ../shared/data || echo "note: ../shared/data is absent, so the tests that read its splunkd recordings, ESCU content and Sysmon logs were skipped ('go test -v ./... | grep -- --- SKIP' lists them; CI=true makes them fail instead)"

test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l src)" || { gofmt -l src; echo "gofmt: files above need formatting"; exit 1; }

# Fuzz every target for FUZZTIME each (default 60s), one after the other. A short minimisation time keeps a
# target from spending a minute on every new input it finds.
FUZZTIME ?= 60s
fuzz:
	@set -e; for pkg in $$($(GO) list ./src/...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s -parallel=1 $$pkg; \
	  done; \
	done

# The protocol benchmark: a generated 1,000,000-record SCPv2 stream through the real binary, beside the pipe
# floor `cat stream | wc -l`; the scanner over the shared Sysmon logs replicated, beside `cat file | wc -l`;
# plus the Go benchmarks of the hot paths.
bench: build
	$(GO) run ./src/cmd/benchstream -bin $(BIN)
	$(GO) run ./src/cmd/benchscan -bin $(BIN)
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 ./src/scpv2 ./src/engine ./src/command ./src/sysmon

# The scale measurements, streams generated on the fly through a pipe: memory against input size (1 M and 10 M
# records), 2 M distinct groups against 100 groups (the reduce phase spilling and merging in parts), and the
# emulator's map/reduce over 8 and 32 simulated indexers. About three minutes.
bench-scale: build
	$(GO) run ./src/cmd/benchstream -bin $(BIN) -scale 1000000,10000000 -runs 3
	$(GO) run ./src/cmd/benchstream -bin $(BIN) -groups 2000000 -runs 3
	$(GO) run ./src/cmd/benchstream -bin $(BIN) -indexers 8,32

# Both packages (dist/regasmdetect-<version>.tgz and -cloud.tgz), cross-compiled for every platform, then
# checked: contents, lean builds, AppInspect's Cloud rules (the report is printed), command resolution on every
# platform, and a search through the unpacked app.
package:
	$(GO) run ./src/cmd/package -out dist $(if $(ESCU),-escu $(ESCU)) $(if $(DETECTIONS),-detections $(DETECTIONS))
	REGASMDETECT_PACKAGES=$(CURDIR)/dist $(GO) test -count=1 -v -run '^TestPackages$$' ./src/apptest

appgen:
	$(GO) run ./src/cmd/appgen

clean:
	rm -rf build dist linux_x86_64 linux_aarch64 darwin_x86_64 windows_x86_64

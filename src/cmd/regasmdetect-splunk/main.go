// Command regasmdetect-splunk is the build of regasmdetect that ships inside the Splunk app: the search
// command's protocol path and nothing else. The packaging tool and `make build` install it under the name
// `regasmdetect` (`regasmdetect.exe` on Windows), which is the name splunkd runs.
//
// Started with no arguments (as splunkd starts a chunked custom search command) it speaks SCPv2 on standard
// input and output. `version` and `help` work as in the CLI; the offline scanner (`regasmdetect scan`) and
// its exporters are left out on purpose, so that the executable splunkd spawns for every search links no
// scanner, no EVTX reader, no net/http and no cloud SDK (a test in src/apptest checks the build info and the
// symbols of every packaged binary). The scanner is in the CLI that `make build` writes to build/regasmdetect.
package main

import (
	"fmt"
	"io"
	"os"

	"regasmdetect/src/command"
)

// version and source are set at build time with -ldflags "-X main.version=... -X main.source=...": the
// packaging tool takes the source URL from the Binary File Declaration of app/README.md.
var version, source = "dev", ""

func main() {
	cli := command.CLI{
		Version: version, Build: "search command build", Source: source,
		Note: "This is the search command build shipped in the Splunk app (no offline scanner).",
		Sub: func(args []string, _ io.Reader, _, stderr io.Writer) (int, bool) {
			if args[0] != "scan" {
				return 0, false
			}
			fmt.Fprintln(stderr, "regasmdetect: this is the search command build that ships in the Splunk app; the offline scanner is in the command-line build (make build, build/regasmdetect)")
			return 2, true
		},
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

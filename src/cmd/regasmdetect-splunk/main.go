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
	"runtime"

	"regasmdetect/src/command"
)

// version and source are set at build time with -ldflags "-X main.version=... -X main.source=...": the
// packaging tool takes the source URL from the Binary File Declaration of app/README.md.
var version, source = "dev", ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return command.Run(stdin, stdout)
	}
	switch args[0] {
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "regasmdetect %s (%s, %s/%s, search command build)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		if source != "" {
			fmt.Fprintf(stdout, "source code: %s\n", source)
		}
		return 0
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "scan":
		fmt.Fprintln(stderr, "regasmdetect: this is the search command build that ships in the Splunk app; the offline scanner is in the command-line build (make build, build/regasmdetect)")
		return 2
	}
	fmt.Fprintf(stderr, "regasmdetect: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `regasmdetect %s: ESCU "Detect Regasm Spawning a Process" (MITRE T1218.009), as Splunk's tstats runs it.
This is the search command build shipped in the Splunk app (no offline scanner).

Usage:
  regasmdetect                 speak Splunk's chunked search-command protocol on stdin/stdout
                               (this is how splunkd runs | regasmdetect; not for interactive use)
  regasmdetect version         print the version
  regasmdetect help            print this help

In SPL:
  | regasmdetect [detection=NAME] [fillnull_value=STRING] [summariesonly=BOOL] [allow_old_summaries=BOOL] [annotate=BOOL]

Embedded detections:
`, version)
	command.WriteDetections(w)
}

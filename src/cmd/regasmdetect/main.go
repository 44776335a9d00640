// Command regasmdetect runs ESCU's "Detect Regasm Spawning a Process" exactly as Splunk's tstats search does.
//
// Started with no arguments (as splunkd starts a chunked custom search command) it speaks SCPv2 on standard
// input and output. `regasmdetect scan PATH...` runs the same detection offline over Sysmon logs.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"regasmdetect/src/catalog"
	"regasmdetect/src/command"
	"regasmdetect/src/scan"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return command.Run(stdin, stdout)
	}
	switch args[0] {
	case "scan":
		// SIGINT and SIGTERM cancel ctx: the scanner stops sending and prints the account of every event before
		// exiting. Once ctx is done the default behaviour is back, so a second signal ends the program at once.
		// Only here: the search command keeps the default, as splunkd ends it with a signal.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		go func() { <-ctx.Done(); stop() }()
		return scan.MainContext(ctx, args[1:], stdin, stdout, stderr)
	case "escu":
		return catalog.Main(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "regasmdetect %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "regasmdetect: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `regasmdetect %s: ESCU "Detect Regasm Spawning a Process" (MITRE T1218.009), as Splunk's tstats runs it.

Usage:
  regasmdetect                 speak Splunk's chunked search-command protocol on stdin/stdout
                               (this is how splunkd runs | regasmdetect; not for interactive use)
  regasmdetect scan [flags] PATH...
                               run the detection offline over Sysmon logs (XML, JSON lines, EVTX, CSV, gzip)
                               and print the rows the SPL search would return; "regasmdetect scan -h" for flags
  regasmdetect escu list --escu DIR
                               list the Endpoint.Processes tstats detections of a security_content checkout: runs or why not
  regasmdetect version         print the version
  regasmdetect help            print this help

In SPL:
  | regasmdetect [detection=NAME] [fillnull_value=STRING] [summariesonly=BOOL] [allow_old_summaries=BOOL] [annotate=BOOL]

Embedded detections:
`, version)
	command.WriteDetections(w)
}

// Command regasmdetect runs ESCU's "Detect Regasm Spawning a Process" exactly as Splunk's tstats search does.
//
// Started with no arguments (as splunkd starts a chunked custom search command) it speaks SCPv2 on standard
// input and output. `regasmdetect scan PATH...` runs the same detection offline over Sysmon logs.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"regasmdetect/src/catalog"
	"regasmdetect/src/command"
	"regasmdetect/src/scan"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cli := command.CLI{
		Version: version,
		Commands: `  regasmdetect scan [flags] PATH...
                               run the detection offline over Sysmon logs (XML, JSON lines, EVTX, CSV, gzip)
                               and print the rows the SPL search would return; "regasmdetect scan -h" for flags
  regasmdetect escu list --escu DIR
                               list the Endpoint.Processes tstats detections of a security_content checkout: runs or why not
`,
		Sub: sub,
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// sub runs the commands only this build has: the offline scanner and the ESCU catalogue.
func sub(args []string, stdin io.Reader, stdout, stderr io.Writer) (int, bool) {
	switch args[0] {
	case "scan":
		// SIGINT and SIGTERM cancel ctx: the scanner stops sending and prints the account of every event before
		// exiting. Once ctx is done the default behaviour is back, so a second signal ends the program at once.
		// Only here: the search command keeps the default, as splunkd ends it with a signal.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		go func() { <-ctx.Done(); stop() }()
		return scan.MainContext(ctx, args[1:], stdin, stdout, stderr), true
	case "escu":
		return catalog.Main(args[1:], stdout, stderr), true
	}
	return 0, false
}

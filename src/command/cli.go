package command

import (
	"fmt"
	"io"
	"os/signal"
	"runtime"
	"syscall"
)

// CLI is what both executables share on their command line: with no arguments, the search command's
// protocol mode (Run); `version` and `help`; an unknown command's error. Each executable adds its own
// commands with Sub and its own lines to the help.
type CLI struct {
	// Version is the version string set at build time; Build, when set, follows the platform in the version
	// line ("search command build"); Source, when set, is printed as where the source code is.
	Version, Build, Source string
	// Note, when set, is a line of help printed under the title; Commands are the help's lines for the
	// commands Sub runs, each ending in a newline.
	Note, Commands string
	// Sub runs the command args[0] when it is one of the executable's own and reports whether it was.
	Sub func(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int, ok bool)
}

// Main runs the command line args and returns the exit status.
func (c *CLI) Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		// When splunkd stops reading (a cancelled search), a write to standard output fails with EPIPE rather
		// than killing the process with SIGPIPE: the session then ends as on any write error, and removes its
		// spill folder.
		signal.Ignore(syscall.SIGPIPE)
		return Run(stdin, stdout)
	}
	switch args[0] {
	case "version", "-version", "--version":
		build := ""
		if c.Build != "" {
			build = ", " + c.Build
		}
		fmt.Fprintf(stdout, "regasmdetect %s (%s, %s/%s%s)\n", c.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH, build)
		if c.Source != "" {
			fmt.Fprintf(stdout, "source code: %s\n", c.Source)
		}
		return 0
	case "help", "-h", "-help", "--help":
		c.usage(stdout)
		return 0
	}
	if c.Sub != nil {
		if code, ok := c.Sub(args, stdin, stdout, stderr); ok {
			return code
		}
	}
	fmt.Fprintf(stderr, "regasmdetect: unknown command %q\n\n", args[0])
	c.usage(stderr)
	return 2
}

func (c *CLI) usage(w io.Writer) {
	fmt.Fprintf(w, "regasmdetect %s: ESCU \"Detect Regasm Spawning a Process\" (MITRE T1218.009), as Splunk's tstats runs it.\n", c.Version)
	if c.Note != "" {
		fmt.Fprintln(w, c.Note)
	}
	fmt.Fprint(w, `
Usage:
  regasmdetect                 speak Splunk's chunked search-command protocol on stdin/stdout
                               (this is how splunkd runs | regasmdetect; not for interactive use)
`+c.Commands+`  regasmdetect version         print the version
  regasmdetect help            print this help

In SPL:
  | regasmdetect [detection=NAME] [fillnull_value=STRING] [summariesonly=BOOL] [allow_old_summaries=BOOL] [annotate=BOOL]

Embedded detections:
`)
	WriteDetections(w)
}

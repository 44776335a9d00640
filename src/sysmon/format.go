// Package sysmon reads Sysmon process-creation events (provider Microsoft-Windows-Sysmon, EventID 1) from
// Splunk XmlWinEventLog lines, pretty-printed XML, JSON lines of several shapes and EVTX files, gzip-compressed
// or not, and maps them to Endpoint.Processes records (cim.Process) as the Splunk Sysmon add-on and the CIM
// data model do. Readers stream: memory stays constant whatever the input size.
package sysmon

import (
	"bytes"
	"fmt"
	"strings"

	"regasmdetect/src/cim"
)

// Format is an input format.
type Format int

// The formats. Auto means "detect from the content"; Detect also returns it for content it does not know.
// CSV files are Splunk exports read by package cim (Bind, Feeder): this package only recognises them.
const (
	Auto Format = iota
	XML
	JSON
	EVTX
	CSV
)

var formatNames = [...]string{Auto: "auto", XML: "xml", JSON: "json", EVTX: "evtx", CSV: "csv"}

// String returns the name ParseFormat accepts.
func (f Format) String() string {
	if f < 0 || int(f) >= len(formatNames) {
		return fmt.Sprintf("Format(%d)", int(f))
	}
	return formatNames[f]
}

// ParseFormat parses "auto", "xml", "json", "evtx" or "csv" (case-insensitive).
func ParseFormat(s string) (Format, error) {
	for f, n := range formatNames {
		if strings.EqualFold(s, n) {
			return Format(f), nil
		}
	}
	return Auto, fmt.Errorf("sysmon: unknown format %q (want auto, xml, json, evtx or csv)", s)
}

var evtxMagic = []byte("ElfFile\x00")

// Detect tells the format from the first bytes of an (uncompressed) input: the EVTX magic "ElfFile\x00"; else,
// after a UTF-8 byte-order mark and white space, '<' for XML and '{' for JSON; else CSV when the first line
// holds a comma (a header); else Auto, meaning unknown.
func Detect(head []byte) Format {
	if bytes.HasPrefix(head, evtxMagic) {
		return EVTX
	}
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 {
		return Auto
	}
	switch head[0] {
	case '<':
		return XML
	case '{':
		return JSON
	}
	line := head
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if bytes.IndexByte(line, ',') >= 0 {
		return CSV
	}
	return Auto
}

// Stats counts what a reader has seen so far.
type Stats struct {
	Events           int64 // events read (well-formed or not), process creations included
	ProcessCreations int64 // Sysmon EventID 1 events returned by Next
	Other            int64 // well-formed events of other providers or event IDs, skipped
	Errors           int64 // bad records (each also returned as a *RecordError)
}

// Reader yields Sysmon process-creation events.
type Reader interface {
	// Next fills p with the next process-creation event. It returns io.EOF at the end; a *RecordError for one
	// bad record (the reader stays usable: call Next again); any other error means the input cannot be read
	// further.
	Next(p *cim.Process) error
	// Stats returns the counts so far.
	Stats() Stats
}

// RecordError reports one bad record: where it is and what was wrong with it.
type RecordError struct {
	Source string // the input, usually a file path
	Record int64  // the 1-based line number (text inputs) or EVTX event record number; 0 when unknown
	Err    error
	evtx   bool // Record is an EVTX record number, not a line
}

// Error renders "path:line: what" for text inputs and "path: record N: what" for EVTX.
func (e *RecordError) Error() string {
	switch {
	case e.Record <= 0:
		return fmt.Sprintf("%s: %v", e.Source, e.Err)
	case e.evtx:
		return fmt.Sprintf("%s: record %d: %v", e.Source, e.Record, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.Source, e.Record, e.Err)
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// Package cim adapts Splunk Common Information Model Endpoint.Processes records to the detection engine, from
// either source: it names the data set's fields, holds the Process record that the Sysmon readers fill (Slots
// puts its values in an engine record by slot), and binds Splunk CSV rows of the same records (Bind, Feeder)
// for the search command's execute bodies and the scanner's CSV exports.
package cim

import (
	"strconv"
	"strings"

	"regasmdetect/src/tstats"
)

// Field enumerates the Endpoint.Processes fields the Sysmon mapping produces: ESCU's 20 output fields for
// Sysmon EventID 1, plus process_current_directory and parent_user.
type Field int

// The fields, in ESCU's output-field order, then the two extra ones. NumFields is their count.
const (
	Action Field = iota
	Dest
	OriginalFileName
	ParentProcess
	ParentProcessExec
	ParentProcessGUID
	ParentProcessID
	ParentProcessName
	ParentProcessPath
	ProcessCommandLine // CIM name "process": the full command line
	ProcessExec
	ProcessGUID
	ProcessHash
	ProcessID
	ProcessIntegrityLevel
	ProcessName
	ProcessPath
	User
	UserID
	VendorProduct
	ProcessCurrentDirectory
	ParentUser
	NumFields
)

var names = [NumFields]string{
	Action:                  "action",
	Dest:                    "dest",
	OriginalFileName:        "original_file_name",
	ParentProcess:           "parent_process",
	ParentProcessExec:       "parent_process_exec",
	ParentProcessGUID:       "parent_process_guid",
	ParentProcessID:         "parent_process_id",
	ParentProcessName:       "parent_process_name",
	ParentProcessPath:       "parent_process_path",
	ProcessCommandLine:      "process",
	ProcessExec:             "process_exec",
	ProcessGUID:             "process_guid",
	ProcessHash:             "process_hash",
	ProcessID:               "process_id",
	ProcessIntegrityLevel:   "process_integrity_level",
	ProcessName:             "process_name",
	ProcessPath:             "process_path",
	User:                    "user",
	UserID:                  "user_id",
	VendorProduct:           "vendor_product",
	ProcessCurrentDirectory: "process_current_directory",
	ParentUser:              "parent_user",
}

// DatasetPrefix is the prefix tstats puts before Endpoint.Processes field names ("Processes.dest").
const DatasetPrefix = tstats.Prefix

// String returns the CIM name of f, for example "parent_process_name", or "Field(N)" when f is out of range.
func (f Field) String() string {
	if f < 0 || f >= NumFields {
		return "Field(" + strconv.Itoa(int(f)) + ")"
	}
	return names[f]
}

// FieldByName returns the field called name, with or without the "Processes." prefix
// ("parent_process_name" and "Processes.parent_process_name" both work). Names are case-sensitive, as Splunk
// field names are.
func FieldByName(name string) (Field, bool) {
	name = strings.TrimPrefix(name, DatasetPrefix)
	for f, n := range names {
		if n == name {
			return Field(f), true
		}
	}
	return 0, false
}

// Process is one Endpoint.Processes record. An empty value is a null.
//
// The values are views into the record's own storage, which Reset keeps for reuse: a reader filling the same
// Process again overwrites them. Clone makes a copy that stays valid. Set and SetString copy into the storage.
type Process struct {
	// Time is _time in epoch seconds, millisecond precision (see the sysmon package for where it comes from);
	// meaningful only when HasTime is true.
	Time    float64
	HasTime bool
	// Values holds the field values, indexed by Field. They are read-only views (see Set).
	Values [NumFields][]byte
	// Source names the input (a file path) and Record the position in it (1-based line number, or the EVTX
	// event record number), for messages.
	Source string
	Record int64

	buf []byte
}

// Get returns the value of field f as a string ("" when null or when f is out of range). It allocates: the hot
// paths read Values.
func (p *Process) Get(f Field) string {
	if f < 0 || f >= NumFields {
		return ""
	}
	return string(p.Values[f])
}

// Set sets field f to a copy of v.
func (p *Process) Set(f Field, v []byte) {
	start := len(p.buf)
	p.buf = append(p.buf, v...)
	p.Values[f] = p.buf[start:len(p.buf):len(p.buf)]
}

// SetString sets field f to a copy of v.
func (p *Process) SetString(f Field, v string) {
	start := len(p.buf)
	p.buf = append(p.buf, v...)
	p.Values[f] = p.buf[start:len(p.buf):len(p.buf)]
}

// Reset clears p for reuse, keeping its storage.
func (p *Process) Reset() {
	buf := p.buf[:0]
	*p = Process{buf: buf}
}

// Clone returns a copy of p whose values do not share p's storage.
func (p *Process) Clone() Process {
	c := Process{Time: p.Time, HasTime: p.HasTime, Source: p.Source, Record: p.Record}
	for f, v := range p.Values {
		if len(v) > 0 {
			c.Set(Field(f), v)
		}
	}
	return c
}

// Slots maps the slots of a record layout (the field names of a compiled detection, or of a set of them) to
// the Process fields that fill them: -1 where a Process has no such field.
type Slots []Field

// SlotsFor returns the Slots of a layout given by its field names (with or without the "Processes." prefix).
func SlotsFor(fields []string) Slots {
	s := make(Slots, len(fields))
	for i, name := range fields {
		s[i] = -1
		if f, ok := FieldByName(name); ok {
			s[i] = f
		}
	}
	return s
}

// Adder is a record filled slot by slot, such as engine.Record.
type Adder interface {
	Add(slot int, v []byte)
}

// Fill adds p's non-null values to rec, slot by slot: no lookup by name, no copy.
func (s Slots) Fill(rec Adder, p *Process) {
	for slot, f := range s {
		if f >= 0 {
			if v := p.Values[f]; len(v) > 0 {
				rec.Add(slot, v)
			}
		}
	}
}

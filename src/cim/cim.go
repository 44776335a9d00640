// Package cim names the fields of the Splunk Common Information Model data set Endpoint.Processes and holds
// the process record that the Sysmon readers produce and the scanner feeds to the detection engine.
package cim

import "strings"

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
const DatasetPrefix = "Processes."

// String returns the CIM name of f, for example "parent_process_name", or "Field(N)" when f is out of range.
func (f Field) String() string {
	if f < 0 || f >= NumFields {
		return "Field(" + itoa(int(f)) + ")"
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

// Process is one Endpoint.Processes record. An empty string is a null value.
type Process struct {
	// Time is _time in epoch seconds, millisecond precision (see the sysmon package for where it comes from);
	// meaningful only when HasTime is true.
	Time    float64
	HasTime bool
	// Values holds the field values, indexed by Field.
	Values [NumFields]string
	// Source names the input (a file path) and Record the position in it (1-based line number, or the EVTX
	// event record number), for messages.
	Source string
	Record int64
}

// Get returns the value of field f ("" when null or when f is out of range).
func (p *Process) Get(f Field) string {
	if f < 0 || f >= NumFields {
		return ""
	}
	return p.Values[f]
}

// Reset clears p for reuse.
func (p *Process) Reset() {
	*p = Process{}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	var b [24]byte
	i := len(b)
	for n != 0 {
		d := n % 10
		if d < 0 {
			d = -d
		}
		i--
		b[i] = byte('0' + d)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

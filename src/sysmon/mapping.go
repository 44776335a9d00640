package sysmon

import (
	"bytes"
	"regexp"
	"strings"
	"time"

	"regasmdetect/src/cim"
)

// Unknown is the value the Endpoint data model gives its calculated fields when they are null or empty.
const Unknown = "unknown"

// VendorProduct is the constant vendor_product of Sysmon events.
const VendorProduct = "Microsoft Sysmon"

// Map is the one place where Sysmon EventID 1 fields become Endpoint.Processes fields. It reads the raw fields
// of e by slot: the EventData fields (Image, ParentImage, CommandLine, User, ...), and Computer, UserID
// (System/Security/@UserID), TimeCreated (System/TimeCreated/@SystemTime, RFC 3339, or decimal epoch seconds)
// and UtcTime. Map resets p and fills its values and p.Time/p.HasTime; the caller sets p.Source and p.Record.
//
// The rules, with their sources, are in docs/sysmon-mapping.md. In short: values are taken as they are (case
// kept, user as DOMAIN\name); process_name and parent_process_name are the basenames of Image and ParentImage,
// falling back to the data model's parsing of the command line; process_integrity_level is lower-cased as the
// data model does; dest, user, process, parent_process, process_name, parent_process_name, original_file_name
// and parent_user become "unknown" when empty, as the data model's calculated fields do; the ids, GUIDs,
// hashes, user_id, paths and process_current_directory stay null ("") when absent.
func Map(e *event, p *cim.Process) {
	p.Reset()
	r := rawFields{e, e.isLinux()}
	sep := byte('\\')
	if r.linux {
		sep = '/'
	}
	image, parentImage := r.get(sImage), r.get(sParentImage)
	cmd, parentCmd := r.get(sCommandLine), r.get(sParentCommandLine)

	p.SetString(cim.Action, "allowed")
	p.SetString(cim.VendorProduct, VendorProduct)
	setOrUnknown(p, cim.Dest, r.get(sComputer))
	setOrUnknown(p, cim.User, r.get(sUser))
	p.Set(cim.UserID, r.get(sUserID))
	setOrUnknown(p, cim.ParentUser, r.get(sParentUser))

	setOrUnknown(p, cim.ProcessCommandLine, cmd)
	p.Set(cim.ProcessPath, image)
	p.Set(cim.ProcessExec, basename(image, sep))
	setProcessName(p, cim.ProcessName, basename(image, sep), cmd)
	p.Set(cim.ProcessID, r.get(sProcessID))
	p.Set(cim.ProcessGUID, r.get(sProcessGUID))
	p.Set(cim.ProcessHash, r.get(sHashes))
	setLower(p, cim.ProcessIntegrityLevel, r.get(sIntegrityLevel))
	p.Set(cim.ProcessCurrentDirectory, r.get(sCurrentDirectory))

	setOrUnknown(p, cim.ParentProcess, parentCmd)
	p.Set(cim.ParentProcessPath, parentImage)
	p.Set(cim.ParentProcessExec, basename(parentImage, sep))
	setProcessName(p, cim.ParentProcessName, basename(parentImage, sep), parentCmd)
	p.Set(cim.ParentProcessID, r.get(sParentProcessID))
	p.Set(cim.ParentProcessGUID, r.get(sParentProcessGUID))

	ofn := r.get(sOriginalFileName)
	if string(ofn) == "-" {
		ofn = nil
	}
	setOrUnknown(p, cim.OriginalFileName, ofn)

	if ms, ok := parseTime(r.get(sTimeCreated), false); ok {
		p.Time, p.HasTime = float64(ms)/1000, true
	} else if ms, ok := parseTime(r.get(sUtcTime), true); ok {
		p.Time, p.HasTime = float64(ms)/1000, true
	}
}

// rawFields reads an event's raw fields for Map. Sysmon for Linux writes "-" for a value it does not have
// (ParentImage of an orphan, Hashes, OriginalFileName, FileVersion, ...): for its events "-" is null.
type rawFields struct {
	e     *event
	linux bool
}

func (r rawFields) get(s slot) []byte {
	v := r.e.raw(s)
	if r.linux && len(v) == 1 && v[0] == '-' {
		return nil
	}
	return v
}

func setOrUnknown(p *cim.Process, f cim.Field, v []byte) {
	if len(v) == 0 {
		p.SetString(f, Unknown)
		return
	}
	p.Set(f, v)
}

// setLower sets field f of p to s lower-cased, without allocating for the integrity levels Windows writes or
// values already in lower case.
func setLower(p *cim.Process, f cim.Field, s []byte) {
	switch string(s) {
	case "System":
		p.SetString(f, "system")
	case "High":
		p.SetString(f, "high")
	case "Medium":
		p.SetString(f, "medium")
	case "Low":
		p.SetString(f, "low")
	case "Untrusted":
		p.SetString(f, "untrusted")
	case "AppContainer":
		p.SetString(f, "appcontainer")
	default:
		for _, c := range s {
			if c >= 'A' && c <= 'Z' || c >= 0x80 {
				p.Set(f, bytes.ToLower(s))
				return
			}
		}
		p.Set(f, s)
	}
}

// basename returns what follows the last separator of a path, case kept: backslash for Windows
// ("C:\x\RegAsm.exe" -> "RegAsm.exe"), slash for Sysmon for Linux ("/usr/bin/sudo" -> "sudo"); a value without
// one is its own basename. For Windows this is what the Sysmon add-on's
// replace(Image, "(.*\\\)(?=.*(\.\w*)$|(\w+)$)", "") yields for executable paths.
func basename(path []byte, sep byte) []byte {
	if i := bytes.LastIndexByte(path, sep); i >= 0 {
		return path[i+1:]
	}
	return path
}

// The data model's process_name fallback (CIM 8.5.0), as RE2 expressions. The second one's lookahead (?=\s|$)
// is checked by hand in fallbackName.
var (
	quotedName   = regexp.MustCompile(`^\s*(?:"..*\\([^"]+)")`)
	unquotedName = regexp.MustCompile(`^(?:..*\\)?([^\s"]+)(\s|$)`)
)

// setProcessName sets f to name when it is not empty; else to the data model's parsing of the command line
// cmd; else to "unknown".
func setProcessName(p *cim.Process, f cim.Field, name, cmd []byte) {
	switch {
	case len(name) > 0:
		p.Set(f, name)
	case len(cmd) == 0:
		p.SetString(f, Unknown)
	default:
		p.SetString(f, fallbackName(string(cmd)))
	}
}

// fallbackName applies CIM's case() on a non-empty command line: replace(process, re, "\1") for the first
// expression that matches, where each expression ends in ".*" (which stops at a newline), else "unknown".
func fallbackName(cmd string) string {
	if m := quotedName.FindStringSubmatchIndex(cmd); m != nil {
		return cmd[m[2]:m[3]] + cmd[restOfLine(cmd, m[1]):]
	}
	if m := unquotedName.FindStringSubmatchIndex(cmd); m != nil {
		// The lookahead does not consume: the trailing ".*" starts at the whitespace.
		return cmd[m[2]:m[3]] + cmd[restOfLine(cmd, m[4]):]
	}
	return Unknown
}

// restOfLine returns the index at which ".*" starting at i stops: the next newline, or the end.
func restOfLine(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(s)
}

// parseTime reads a time as epoch milliseconds, truncating finer digits. It accepts RFC 3339 with 'T' or a
// space between date and time, any number of fractional digits, and a zone (Z or ±hh:mm); a time without a
// zone is accepted only when assumeUTC (Sysmon's UtcTime). It also accepts decimal epoch seconds.
func parseTime(b []byte, assumeUTC bool) (int64, bool) {
	s := string(trimSpace(b)) // does not allocate: s does not escape

	if len(s) == 0 {
		return 0, false
	}
	if len(s) >= 19 && s[4] == '-' {
		return parseISO(s, assumeUTC)
	}
	return parseEpoch(s)
}

func parseEpoch(s string) (int64, bool) {
	var sec int64
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if sec > 1e12 {
			return 0, false
		}
		sec = sec*10 + int64(s[i]-'0')
	}
	if i == 0 {
		return 0, false
	}
	ms := sec * 1000
	if i < len(s) {
		if s[i] != '.' {
			return 0, false
		}
		scale := int64(100)
		for i++; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			ms += int64(c-'0') * scale
			scale /= 10
		}
	}
	return ms, true
}

func num(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func parseISO(s string, assumeUTC bool) (int64, bool) {
	y, ok1 := num(s, 0, 4)
	mo, ok2 := num(s, 5, 2)
	d, ok3 := num(s, 8, 2)
	h, ok4 := num(s, 11, 2)
	mi, ok5 := num(s, 14, 2)
	se, ok6 := num(s, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
		s[13] != ':' || s[16] != ':' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 {
		return 0, false
	}
	i := 19
	var ms int64
	if i < len(s) && s[i] == '.' {
		scale := int64(100)
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			ms += int64(s[i]-'0') * scale
			scale /= 10
		}
	}
	offset := 0
	switch {
	case i == len(s):
		if !assumeUTC {
			return 0, false
		}
	case s[i] == 'Z' && i+1 == len(s):
	case (s[i] == '+' || s[i] == '-') && len(s) == i+6 && s[i+3] == ':':
		oh, ok1 := num(s, i+1, 2)
		om, ok2 := num(s, i+4, 2)
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = oh*3600 + om*60
		if s[i] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	sec := time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC).Unix() - int64(offset)
	return sec*1000 + ms, true
}

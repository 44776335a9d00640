package sysmon

import (
	"regexp"
	"strings"
	"time"

	"regasmdetect/src/cim"
)

// Unknown is the value the Endpoint data model gives its calculated fields when they are null or empty.
const Unknown = "unknown"

// VendorProduct is the constant vendor_product of Sysmon events.
const VendorProduct = "Microsoft Sysmon"

// Map is the one place where Sysmon EventID 1 fields become Endpoint.Processes fields. get returns a raw field
// by its Sysmon name ("" when absent): the EventData names (Image, ParentImage, CommandLine, User, ...), and
// Computer, UserID (System/Security/@UserID), TimeCreated (System/TimeCreated/@SystemTime, RFC 3339, or decimal
// epoch seconds) and UtcTime. Map fills p.Values and p.Time/p.HasTime; it leaves p.Source and p.Record alone.
//
// The rules, with their sources, are in docs/sysmon-mapping.md. In short: values are taken as they are (case
// kept, user as DOMAIN\name); process_name and parent_process_name are the basenames of Image and ParentImage,
// falling back to the data model's parsing of the command line; process_integrity_level is lower-cased as the
// data model does; dest, user, process, parent_process, process_name, parent_process_name, original_file_name
// and parent_user become "unknown" when empty, as the data model's calculated fields do; the ids, GUIDs,
// hashes, user_id, paths and process_current_directory stay null ("") when absent.
func Map(get func(name string) string, p *cim.Process) {
	v := &p.Values
	image, parentImage := get("Image"), get("ParentImage")
	cmd, parentCmd := get("CommandLine"), get("ParentCommandLine")

	v[cim.Action] = "allowed"
	v[cim.VendorProduct] = VendorProduct
	v[cim.Dest] = orUnknown(get("Computer"))
	v[cim.User] = orUnknown(get("User"))
	v[cim.UserID] = get("UserID")
	v[cim.ParentUser] = orUnknown(get("ParentUser"))

	v[cim.ProcessCommandLine] = orUnknown(cmd)
	v[cim.ProcessPath] = image
	v[cim.ProcessExec] = Basename(image)
	v[cim.ProcessName] = processName(Basename(image), cmd)
	v[cim.ProcessID] = get("ProcessId")
	v[cim.ProcessGUID] = get("ProcessGuid")
	v[cim.ProcessHash] = get("Hashes")
	v[cim.ProcessIntegrityLevel] = lower(get("IntegrityLevel"))
	v[cim.ProcessCurrentDirectory] = get("CurrentDirectory")

	v[cim.ParentProcess] = orUnknown(parentCmd)
	v[cim.ParentProcessPath] = parentImage
	v[cim.ParentProcessExec] = Basename(parentImage)
	v[cim.ParentProcessName] = processName(Basename(parentImage), parentCmd)
	v[cim.ParentProcessID] = get("ParentProcessId")
	v[cim.ParentProcessGUID] = get("ParentProcessGuid")

	ofn := get("OriginalFileName")
	if ofn == "-" {
		ofn = ""
	}
	v[cim.OriginalFileName] = orUnknown(ofn)

	p.Time, p.HasTime = 0, false
	if ms, ok := parseTime(get("TimeCreated"), false); ok {
		p.Time, p.HasTime = float64(ms)/1000, true
	} else if ms, ok := parseTime(get("UtcTime"), true); ok {
		p.Time, p.HasTime = float64(ms)/1000, true
	}
}

func orUnknown(s string) string {
	if s == "" {
		return Unknown
	}
	return s
}

// lower lower-cases s, without allocating for the integrity levels Windows writes or values already in lower
// case.
func lower(s string) string {
	switch s {
	case "System":
		return "system"
	case "High":
		return "high"
	case "Medium":
		return "medium"
	case "Low":
		return "low"
	case "Untrusted":
		return "untrusted"
	case "AppContainer":
		return "appcontainer"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// Basename returns what follows the last backslash of a Windows path, case kept ("C:\x\RegAsm.exe" ->
// "RegAsm.exe"); a value without a backslash is its own basename. This is what the Sysmon add-on's
// replace(Image, "(.*\\\)(?=.*(\.\w*)$|(\w+)$)", "") yields for executable paths.
func Basename(path string) string {
	if i := strings.LastIndexByte(path, '\\'); i >= 0 {
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

// processName returns name when it is not empty; else the data model's parsing of the command line cmd; else
// "unknown".
func processName(name, cmd string) string {
	if name != "" {
		return name
	}
	if cmd == "" {
		return Unknown
	}
	return fallbackName(cmd)
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
func parseTime(s string, assumeUTC bool) (int64, bool) {
	s = strings.TrimSpace(s)
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

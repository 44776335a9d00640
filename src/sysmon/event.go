package sysmon

// slot indexes the raw event fields a reader keeps. Only the fields the mapping needs are kept; the rest of an
// event is parsed for well-formedness and dropped.
type slot int

const (
	sNone slot = iota - 1
	// System fields.
	sProvider
	sEventID
	sRecordID
	sComputer
	sUserID // System/Security/@UserID: the SID of the Sysmon service, not the process owner
	sChannel
	sTimeCreated // System/TimeCreated/@SystemTime (RFC 3339) or a decimal epoch (EVTX)
	sTimeFlat    // a top-level TimeCreated of flat JSON; used only when it carries a zone
	sTimestamp   // @timestamp (JSON shippers)
	// EventData fields.
	sUser
	sImage
	sParentImage
	sCommandLine
	sParentCommandLine
	sProcessID
	sParentProcessID
	sProcessGUID
	sParentProcessGUID
	sHashes
	sOriginalFileName
	sIntegrityLevel
	sCurrentDirectory
	sParentUser
	sUtcTime
	numSlots
)

// dataSlot returns the slot of an EventData field name, or sNone.
func dataSlot(name []byte) slot {
	switch string(name) {
	case "User":
		return sUser
	case "Image":
		return sImage
	case "ParentImage":
		return sParentImage
	case "CommandLine":
		return sCommandLine
	case "ParentCommandLine":
		return sParentCommandLine
	case "ProcessId":
		return sProcessID
	case "ParentProcessId":
		return sParentProcessID
	case "ProcessGuid":
		return sProcessGUID
	case "ParentProcessGuid":
		return sParentProcessGUID
	case "Hashes":
		return sHashes
	case "OriginalFileName":
		return sOriginalFileName
	case "IntegrityLevel":
		return sIntegrityLevel
	case "CurrentDirectory":
		return sCurrentDirectory
	case "ParentUser":
		return sParentUser
	case "UtcTime":
		return sUtcTime
	}
	return sNone
}

// event collects the kept fields of one raw event. Values are appended to buf; span holds [start, end) of each
// slot in buf, or start -1 when absent. Map reads them by slot.
type event struct {
	buf  []byte
	span [numSlots][2]int32
}

func newEvent() *event {
	e := &event{buf: make([]byte, 0, 4096)}
	e.reset()
	return e
}

func (e *event) reset() {
	e.buf = e.buf[:0]
	for i := range e.span {
		e.span[i] = [2]int32{-1, -1}
	}
}

// begin starts a value for s at the end of buf; end closes it. A value written twice keeps the last one.
func (e *event) begin(s slot) {
	if s >= 0 {
		e.span[s] = [2]int32{int32(len(e.buf)), int32(len(e.buf))}
	}
}

func (e *event) end(s slot) {
	if s >= 0 {
		e.span[s][1] = int32(len(e.buf))
	}
}

// set stores a whole value for s.
func (e *event) set(s slot, v []byte) {
	if s < 0 {
		return
	}
	e.begin(s)
	e.buf = append(e.buf, v...)
	e.end(s)
}

func (e *event) has(s slot) bool { return e.span[s][0] >= 0 }

// raw returns the bytes of s before finish (nil when absent).
func (e *event) raw(s slot) []byte {
	sp := e.span[s]
	if sp[0] < 0 {
		return nil
	}
	return e.buf[sp[0]:sp[1]]
}

// isProcessCreation reports whether the event is Sysmon EventID 1: provider Microsoft-Windows-Sysmon (Windows) or
// Linux-Sysmon (Sysmon for Linux). When a rendering has no provider, the Sysmon channel stands for it.
func (e *event) isProcessCreation() bool {
	if string(trimSpace(e.raw(sEventID))) != "1" {
		return false
	}
	if p := e.raw(sProvider); p != nil {
		return string(p) == "Microsoft-Windows-Sysmon" || string(p) == linuxProvider
	}
	c := e.raw(sChannel)
	return string(c) == "Microsoft-Windows-Sysmon/Operational" || string(c) == linuxChannel
}

// The provider and channel of Sysmon for Linux, as its events carry them.
const (
	linuxProvider = "Linux-Sysmon"
	linuxChannel  = "Linux-Sysmon/Operational"
)

// isLinux reports whether the event comes from Sysmon for Linux.
func (e *event) isLinux() bool {
	if p := e.raw(sProvider); p != nil {
		return string(p) == linuxProvider
	}
	return string(e.raw(sChannel)) == linuxChannel
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

package sysmon

import (
	"fmt"
	"strings"
	"testing"

	"regasmdetect/src/cim"
)

// The same source in three renderings yields identical records.
func TestParityAcrossRenderings(t *testing.T) {
	for _, base := range []string{
		"data/sysmon/evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01",
		"data/sysmon/evtx-attack-samples/panache_sysmon_vs_EDRTestingScript",
		"data/sysmon/omerbenamram-evtx/sysmon",
	} {
		t.Run(base, func(t *testing.T) {
			rx, _ := openShared(t, base+".evtx")
			ev := readAll(t, rx)
			for _, ext := range []string{".xml.log", ".jsonl"} {
				r, _ := openShared(t, base+ext)
				other := readAll(t, r)
				if len(other) != len(ev) {
					t.Fatalf("%s: %d records, evtx %d", ext, len(other), len(ev))
				}
				diffs := 0
				for i := range ev {
					a, b := ev[i], other[i]
					if a.Time != b.Time || a.HasTime != b.HasTime || !sameValues(&a, &b) {
						diffs++
						if diffs <= 3 {
							t.Errorf("%s record %d (evtx record %d, line %d) differs:\n%s", ext, i, a.Record, b.Record, diff(a, b))
						}
					}
				}
			}
		})
	}
}

func diff(a, b cim.Process) string {
	var s strings.Builder
	if a.Time != b.Time || a.HasTime != b.HasTime {
		fmt.Fprintf(&s, "  _time %v/%v vs %v/%v\n", a.Time, a.HasTime, b.Time, b.HasTime)
	}
	for f := cim.Field(0); f < cim.NumFields; f++ {
		if a.Get(f) != b.Get(f) {
			fmt.Fprintf(&s, "  %s: %q vs %q\n", f, a.Get(f), b.Get(f))
		}
	}
	return s.String()
}

// One test per mapped field on the real RegAsm launch, record 3614 (line 2 of the subset).
func TestMapFieldsRecord3614(t *testing.T) {
	for _, rel := range []string{
		"data/sysmon/evtx-attack-samples/subset_regasm_regsvcs_mentions.xml.log",
		"data/sysmon/evtx-attack-samples/subset_regasm_regsvcs_mentions.jsonl",
	} {
		r, _ := openShared(t, rel)
		var p cim.Process
		for {
			if err := r.Next(&p); err != nil {
				t.Fatalf("%s: record 3614 not found: %v", rel, err)
			}
			if p.Get(cim.ProcessGUID) == "{747F3D96-D7A3-5D31-0000-0010D2B42900}" {
				break
			}
		}
		if p.Record != 2 || p.Source == "" {
			t.Errorf("%s: position %s:%d, want line 2", rel, p.Source, p.Record)
		}
		if !p.HasTime || p.Time != 1563547555.699 {
			t.Errorf("%s: _time %v %v, want 1563547555.699 (2019-07-19T14:45:55.699293800Z truncated to ms)", rel, p.Time, p.HasTime)
		}
		tests := []struct {
			f    cim.Field
			want string
		}{
			{cim.Action, "allowed"},
			{cim.Dest, "MSEDGEWIN10"},
			{cim.OriginalFileName, "unknown"}, // Sysmon schema 5 has no OriginalFileName
			{cim.ParentProcess, `"C:\Windows\system32\cmd.exe" /c "C:\Windows\Microsoft.NET\Framework\v4.0.30319\regasm.exe /U T1121.dll"`},
			{cim.ParentProcessExec, "cmd.exe"},
			{cim.ParentProcessGUID, "{747F3D96-D7A3-5D31-0000-001081B22900}"},
			{cim.ParentProcessID, "5800"},
			{cim.ParentProcessName, "cmd.exe"},
			{cim.ParentProcessPath, `C:\Windows\System32\cmd.exe`},
			{cim.ProcessCommandLine, `C:\Windows\Microsoft.NET\Framework\v4.0.30319\regasm.exe  /U T1121.dll`},
			{cim.ProcessExec, "RegAsm.exe"},
			{cim.ProcessGUID, "{747F3D96-D7A3-5D31-0000-0010D2B42900}"},
			{cim.ProcessHash, ""}, // checked by shape below
			{cim.ProcessID, "6176"},
			{cim.ProcessIntegrityLevel, "high"},
			{cim.ProcessName, "RegAsm.exe"},
			{cim.ProcessPath, `C:\Windows\Microsoft.NET\Framework\v4.0.30319\RegAsm.exe`},
			{cim.User, `MSEDGEWIN10\IEUser`},
			{cim.UserID, "S-1-5-18"},
			{cim.VendorProduct, "Microsoft Sysmon"},
			{cim.ProcessCurrentDirectory, `C:\AtomicRedTeam\`},
			{cim.ParentUser, "unknown"},
		}
		for _, tt := range tests {
			t.Run(rel+"/"+tt.f.String(), func(t *testing.T) {
				got := p.Get(tt.f)
				if tt.f == cim.ProcessHash {
					// Check the shape and the algorithms; the digests are long.
					if !strings.HasPrefix(got, "SHA1=") || !strings.Contains(got, ",MD5=") ||
						!strings.Contains(got, ",SHA256=") || !strings.Contains(got, ",IMPHASH=") {
						t.Errorf("%s = %q", tt.f, got)
					}
					return
				}
				if got != tt.want {
					t.Errorf("%s = %q, want %q", tt.f, got, tt.want)
				}
			})
		}
	}
}

func TestMapMissingFieldsAndFallbacks(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]string
		check  map[cim.Field]string
	}{
		{"empty event", map[string]string{}, map[cim.Field]string{
			cim.Dest: "unknown", cim.User: "unknown", cim.ProcessCommandLine: "unknown", cim.ParentProcess: "unknown",
			cim.ProcessName: "unknown", cim.ParentProcessName: "unknown", cim.OriginalFileName: "unknown",
			cim.ParentUser: "unknown", cim.VendorProduct: "Microsoft Sysmon", cim.Action: "allowed",
			cim.ProcessID: "", cim.ParentProcessID: "", cim.ProcessGUID: "", cim.UserID: "", cim.ProcessHash: "",
			cim.ProcessPath: "", cim.ProcessExec: "", cim.ProcessIntegrityLevel: "", cim.ProcessCurrentDirectory: "",
		}},
		{"quoted command line fallback", map[string]string{"ParentCommandLine": `  "C:\Windows\Microsoft.NET\RegAsm.exe" /U x.dll`},
			map[cim.Field]string{cim.ParentProcessName: "RegAsm.exe", cim.ParentProcessExec: "", cim.ParentProcessPath: ""}},
		{"unquoted command line fallback", map[string]string{"CommandLine": `C:\Tools\regasm.exe /U x.dll`},
			map[cim.Field]string{cim.ProcessName: "regasm.exe"}},
		{"bare name fallback", map[string]string{"CommandLine": `regasm.exe`},
			map[cim.Field]string{cim.ProcessName: "regasm.exe"}},
		{"fallback that parses nothing", map[string]string{"CommandLine": `"unterminated`},
			map[cim.Field]string{cim.ProcessName: "unknown", cim.ProcessCommandLine: `"unterminated`}},
		{"original file name dash", map[string]string{"OriginalFileName": "-"},
			map[cim.Field]string{cim.OriginalFileName: "unknown"}},
		{"original file name", map[string]string{"OriginalFileName": "RegAsm.exe"},
			map[cim.Field]string{cim.OriginalFileName: "RegAsm.exe"}},
		{"integrity lower-cased", map[string]string{"IntegrityLevel": "Medium"},
			map[cim.Field]string{cim.ProcessIntegrityLevel: "medium"}},
		{"integrity system", map[string]string{"IntegrityLevel": "System"},
			map[cim.Field]string{cim.ProcessIntegrityLevel: "system"}},
		{"integrity not a Windows level", map[string]string{"IntegrityLevel": "ProtectedÉ"},
			map[cim.Field]string{cim.ProcessIntegrityLevel: "protectedé"}},
		{"integrity already lower", map[string]string{"IntegrityLevel": "low"},
			map[cim.Field]string{cim.ProcessIntegrityLevel: "low"}},
		{"basename case kept", map[string]string{"ParentImage": `C:\X\REGASM.EXE`, "Image": "cmd.exe"},
			map[cim.Field]string{cim.ParentProcessName: "REGASM.EXE", cim.ParentProcessExec: "REGASM.EXE", cim.ProcessName: "cmd.exe"}},
		{"user raw", map[string]string{"User": `NT AUTHORITY\SYSTEM`, "ParentUser": `D\u`},
			map[cim.Field]string{cim.User: `NT AUTHORITY\SYSTEM`, cim.ParentUser: `D\u`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p cim.Process
			Map(eventOf(tt.fields), &p)
			for f, want := range tt.check {
				if p.Get(f) != want {
					t.Errorf("%s = %q, want %q", f, p.Get(f), want)
				}
			}
			if p.HasTime {
				t.Errorf("HasTime without a time")
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in        string
		assumeUTC bool
		ms        int64
		ok        bool
	}{
		{"2019-07-19T14:45:55.699293800Z", false, 1563547555699, true},
		{"2019-07-19T14:45:55Z", false, 1563547555000, true},
		{"2019-07-19T16:45:55.5+02:00", false, 1563547555500, true},
		{"2019-07-19 14:45:55.694", true, 1563547555694, true},
		{"2019-07-19 14:45:55.694", false, 0, false}, // no zone, not UtcTime
		{"1563547555.6999", false, 1563547555699, true},
		{"1563547555", false, 1563547555000, true},
		{"2019-13-19T14:45:55Z", false, 0, false},
		{"2019-07-19T14:45:55X", false, 0, false},
		{"", false, 0, false},
		{"abc", false, 0, false},
		{"99999999999999999999", false, 0, false},
	}
	for _, tt := range tests {
		ms, ok := parseTime([]byte(tt.in), tt.assumeUTC)
		if ms != tt.ms || ok != tt.ok {
			t.Errorf("parseTime(%q, %v) = %d, %v; want %d, %v", tt.in, tt.assumeUTC, ms, ok, tt.ms, tt.ok)
		}
	}
}

func TestBasename(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Windows\Microsoft.NET\Framework\v4.0.30319\RegAsm.exe`: "RegAsm.exe",
		`regasm.exe`:                 "regasm.exe",
		`C:\Program Files\a b\x.exe`: "x.exe",
		`C:\dir\`:                    "",
		``:                           "",
	} {
		if got := string(basename([]byte(in), '\\')); got != want {
			t.Errorf("Basename(%q) = %q, want %q", in, got, want)
		}
	}
}

// eventOf builds an event from raw fields named as in Sysmon (EventData names, and Computer, UserID,
// TimeCreated for the System fields).
func eventOf(fields map[string]string) *event {
	e := newEvent()
	for name, v := range fields {
		s := dataSlot([]byte(name))
		switch name {
		case "Computer":
			s = sComputer
		case "UserID":
			s = sUserID
		case "TimeCreated":
			s = sTimeCreated
		}
		if s == sNone {
			panic("eventOf: no slot for " + name)
		}
		e.set(s, []byte(v))
	}
	return e
}

package sysmon

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"regasmdetect/src/cim"
	"regasmdetect/src/internal/shared"
)

// linuxExample returns the example event of ESCU's "Sysmon for Linux EventID 1" data source: a real Sysmon for
// Linux event as the Splunk Add-on for Sysmon for Linux (sourcetype sysmon:linux) indexes it. The YAML value is a
// plain scalar folded over several lines: each line break and its indentation read as one space.
func linuxExample(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(shared.Path(t, "data/escu/security_content/data_sources/sysmon_for_linux_eventid_1.yml"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\nexample_log: ")
	if !ok {
		t.Fatal("no example_log")
	}
	var parts []string
	for i, line := range strings.Split(rest, "\n") {
		if i > 0 && !strings.HasPrefix(line, "  ") {
			break
		}
		parts = append(parts, strings.TrimSpace(line))
	}
	return []byte(strings.Join(parts, " "))
}

// TestSysmonForLinux: a real Sysmon for Linux process creation maps as ESCU's Linux detections expect
// (process_name=sudo, parent_process_name=bash; "-" is null; user_id from Security/@UserId).
func TestSysmonForLinux(t *testing.T) {
	line := linuxExample(t)
	if !bytes.Contains(line, []byte(`Provider Name="Linux-Sysmon"`)) {
		t.Fatalf("not the Linux example: %s", line)
	}
	recs := readAll(t, NewXMLReader(bytes.NewReader(append(line, '\n')), "linux"))
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	p := recs[0]
	for f, want := range map[cim.Field]string{
		cim.ProcessName:             "sudo",
		cim.ProcessExec:             "sudo",
		cim.ProcessPath:             "/usr/bin/sudo",
		cim.ProcessCommandLine:      "sudo gdb -nx -ex !sh -ex quit",
		cim.ParentProcessName:       "bash",
		cim.ParentProcessPath:       "/bin/bash",
		cim.ParentProcess:           "-bash",
		cim.ProcessID:               "10268",
		cim.ParentProcessID:         "15369",
		cim.ProcessGUID:             "{ec23eae3-3a27-62f2-085e-16549b550000}",
		cim.Dest:                    "ar-linux",
		cim.User:                    "ubuntu",
		cim.ParentUser:              "ubuntu",
		cim.UserID:                  "0",
		cim.ProcessCurrentDirectory: "/home/ubuntu",
		cim.ProcessIntegrityLevel:   "no level",
		cim.OriginalFileName:        "unknown", // "-"
		cim.ProcessHash:             "",        // "-" is null
	} {
		if got := p.Get(f); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	if !p.HasTime || p.Time != 1660041767.749 {
		t.Errorf("_time %v %v, want 1660041767.749", p.Time, p.HasTime)
	}

	// "-" for the parent of an orphan: null, so the names fall back to "unknown" as the data model does.
	orphan := bytes.Replace(bytes.Replace(line, []byte(`<Data Name="ParentImage">/bin/bash</Data>`), []byte(`<Data Name="ParentImage">-</Data>`), 1),
		[]byte(`<Data Name="ParentCommandLine">-bash</Data>`), []byte(`<Data Name="ParentCommandLine">-</Data>`), 1)
	recs = readAll(t, NewXMLReader(bytes.NewReader(orphan), "linux"))
	if len(recs) != 1 || recs[0].Get(cim.ParentProcessName) != "unknown" || recs[0].Get(cim.ParentProcess) != "unknown" || recs[0].Get(cim.ParentProcessPath) != "" {
		t.Errorf("orphan: %+v", recs)
	}
	// The same event as JSON (as a shipper renders the syslog XML) maps the same way.
	js := `{"Event":{"System":{"Provider":{"Name":"Linux-Sysmon"},"EventID":1,"Channel":"Linux-Sysmon/Operational","Computer":"ar-linux","Security":{"UserId":"0"},"TimeCreated":{"SystemTime":"2022-08-09T10:42:47.749450000Z"}},"EventData":{"Image":"/usr/bin/sudo","ParentImage":"/bin/bash","CommandLine":"sudo gdb -nx -ex !sh -ex quit","ParentCommandLine":"-bash","Hashes":"-","OriginalFileName":"-","User":"ubuntu","ProcessId":"10268","ParentProcessId":"15369","ProcessGuid":"{ec23eae3-3a27-62f2-085e-16549b550000}","ParentProcessGuid":"{ec23eae3-315b-62f2-4884-4ea587550000}","CurrentDirectory":"/home/ubuntu","IntegrityLevel":"no level","ParentUser":"ubuntu"}}}`
	jrecs := readAll(t, NewJSONReader(strings.NewReader(js), "linux"))
	if len(jrecs) != 1 || !sameValues(&jrecs[0], &p) || jrecs[0].Time != p.Time {
		t.Errorf("JSON rendering differs:\n%s", diff(p, jrecs[0]))
	}
	// A Windows event keeps "-" and backslash basenames as before.
	win := bytes.Replace(line, []byte(`Provider Name="Linux-Sysmon"`), []byte(`Provider Name="Microsoft-Windows-Sysmon"`), 1)
	recs = readAll(t, NewXMLReader(bytes.NewReader(win), "win"))
	if len(recs) != 1 || recs[0].Get(cim.ProcessName) != "/usr/bin/sudo" || recs[0].Get(cim.ProcessHash) != "-" {
		t.Errorf("Windows provider: %q %q", recs[0].Get(cim.ProcessName), recs[0].Get(cim.ProcessHash))
	}
}

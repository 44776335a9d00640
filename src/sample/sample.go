// Package sample holds the synthetic Sysmon log bundled with regasmdetect, for the demo, the README's first
// command and the end-to-end tests.
//
// sysmon-sample.xml.log is written by hand in Splunk's XmlWinEventLog shape (one event per line), modelled on a
// real Sysmon 10 RegAsm launch. Every value is invented: host WKS-FIN-07.corp.example, users CORP\jdoe and
// CORP\müller, documentation addresses (192.0.2.0/24), placeholder hashes. It holds:
//   - benign: explorer.exe -> notepad.exe;
//   - cmd.exe -> RegAsm.exe (the launch itself, not a detection);
//   - RegAsm.exe -> cmd.exe with "&" and ">" in the command line;
//   - RegAsm.exe -> powershell.exe twice with identical by-field values (one group, count 2);
//   - REGASM.EXE (upper case) -> conhost.exe (kept by the 2021 seed search, excluded from version 3 on);
//   - RegSvcs.exe -> rundll32.exe (the regsvcs detection);
//   - decoy parents regasm.exe.bak and xregasm.exe (no detection);
//   - RegAsm.exe -> cmd.exe with an empty ParentProcessId (a null by-field: left out unless fillnull_value);
//   - Regasm.exe -> a program under "C:\Program Files\..." run by CORP\müller on another host;
//   - one Sysmon network event (EventID 3), which is not a process creation.
package sample

import (
	"bytes"
	_ "embed"
	"io"

	"regasmdetect/src/cim"
	"regasmdetect/src/sysmon"
)

// Name is the file name of the bundled Sysmon sample.
const Name = "sysmon-sample.xml.log"

// Sysmon is the bundled Sysmon sample.
//
//go:embed sysmon-sample.xml.log
var Sysmon []byte

// Processes maps the bundled sample's process creations to Endpoint.Processes records with the scanner's own
// Sysmon reader.
func Processes() ([]cim.Process, error) {
	rd := sysmon.NewXMLReader(bytes.NewReader(Sysmon), Name)
	var ps []cim.Process
	for {
		var p cim.Process
		err := rd.Next(&p)
		if err == io.EOF {
			return ps, nil
		}
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
}

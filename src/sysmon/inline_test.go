package sysmon

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"regasmdetect/src/internal/shared"
)

// checkInLine compares the XML reader with its one-line path (parseInLine) and without it (every event framed,
// copied and parsed the general way): the same records, errors and counts, item for item.
func checkInLine(t testing.TB, name string, data []byte) {
	t.Helper()
	general := NewXMLReader(bytes.NewReader(data), "in").(*xmlReader)
	general.general = true
	want := items(t, general)
	got := items(t, NewXMLReader(bytes.NewReader(data), "in"))
	if got != want {
		t.Errorf("%s: the one-line path differs from the general one\n%s", name, firstDiff(want, got))
	}
}

// xmlInLineCases are events the one-line path must leave to the general one, or read as it would.
var xmlInLineCases = map[string]string{
	"plain":                   inLineEvent,
	"two on a line":           inLineEvent + "  " + inLineEvent,
	"text after":              inLineEvent + "tail",
	"comment":                 strings.Replace(inLineEvent, "<System>", "<System><!-- </Event> -->", 1),
	"comment with a start":    strings.Replace(inLineEvent, "<System>", "<System><!-- <Event> -->", 1),
	"cdata":                   strings.Replace(inLineEvent, "C:\\a\\b.exe", "<![CDATA[C:\\a\\b.exe]]>", 1),
	"cdata holding the end":   strings.Replace(inLineEvent, "C:\\a\\b.exe", "<![CDATA[</Event>]]>", 1),
	"processing instruction":  strings.Replace(inLineEvent, "<System>", "<System><?pi </Event>?>", 1),
	"declaration":             strings.Replace(inLineEvent, "<System>", "<System><!DOCTYPE x>", 1),
	"nested event":            strings.Replace(inLineEvent, "<System>", "<System><Event>1</Event>", 1),
	"nested empty event":      strings.Replace(inLineEvent, "<System>", "<System><Event/>", 1),
	"nested prefixed event":   strings.Replace(inLineEvent, "<System>", "<System><e:Event>1</e:Event>", 1),
	"nested longer name":      strings.Replace(inLineEvent, "<System>", "<System><Events>1</Events><EventX/>", 1),
	"end tag with a space":    strings.Replace(inLineEvent, "</Event>", "</Event >", 1),
	"end tag with a tab":      strings.Replace(inLineEvent, "</Event>", "</Event\t>", 1),
	"end in an attribute":     strings.Replace(inLineEvent, "xmlns='x'", "xmlns='</Event>'", 1),
	"start in an attribute":   strings.Replace(inLineEvent, "xmlns='x'", "xmlns='<Event x'", 1),
	"entities":                strings.Replace(inLineEvent, "C:\\a\\b.exe", "C:\\a&amp;b&#x41;&#65;&lt;.exe", 1),
	"bad entity":              strings.Replace(inLineEvent, "C:\\a\\b.exe", "C:\\a&bogus;.exe", 1),
	"mismatched end":          strings.Replace(inLineEvent, "</System>", "</Sys>", 1),
	"unclosed child":          strings.Replace(inLineEvent, "</System>", "", 1),
	"over two lines":          strings.Replace(inLineEvent, "<EventData>", "\n<EventData>", 1),
	"truncated":               "<Event><System><EventID>1</EventID>\n" + inLineEvent,
	"truncated on the line":   "<Event><System><EventID>1</EventID>" + inLineEvent,
	"prefixed root":           strings.ReplaceAll(strings.ReplaceAll(inLineEvent, "<Event ", "<e:Event "), "</Event>", "</e:Event>"),
	"empty root":              "<Event/>\n<Event />\n<Event></Event>",
	"root without attribute":  strings.Replace(inLineEvent, " xmlns='x'", "", 1),
	"root at line end":        "<Event\n xmlns='x'></Event>",
	"stray then event":        "junk " + inLineEvent,
	"events wrapper":          "<Events>" + inLineEvent + "</Events>",
	"self-closing kept":       strings.Replace(inLineEvent, "<Computer>h</Computer>", "<Computer/>", 1),
	"namespaced attribute":    strings.Replace(inLineEvent, "Provider Name=", "Provider a:Name=", 1),
	"double-prefixed":         strings.Replace(strings.Replace(inLineEvent, "<System>", "<a:b:System>", 1), "</System>", "</a:b:System>", 1),
	"crlf and bom":            "\xef\xbb\xbf" + inLineEvent + "\r\n" + inLineEvent + "\r\n",
	"line too long":           inLineEvent + "\n" + strings.Repeat("y", MaxLine+5) + "\n" + inLineEvent,
	"event as long as a line": "<Event x='" + strings.Repeat("y", MaxLine-20) + "'></Event>\n" + inLineEvent,
	"event just too long":     "<Event x='" + strings.Repeat("y", MaxLine-9) + "'></Event>\n" + inLineEvent,
}

const inLineEvent = `<Event xmlns='x'><System><Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID><TimeCreated SystemTime='2021-02-03T04:05:06.789Z'/><Computer>h</Computer><Security UserID='S-1-5-18'/></System><EventData><Data Name='Image'>C:\a\b.exe</Data><Data Name='CommandLine'>b.exe /x</Data></EventData></Event>`

// TestXMLInLineSameAsGeneral: on every XML fixture, the shared XML logs and the cases above, the one-line path
// changes nothing a caller sees.
func TestXMLInLineSameAsGeneral(t *testing.T) {
	for _, f := range syntheticFiles {
		if f.format != XML || strings.HasSuffix(f.name, ".gz") {
			continue
		}
		data, err := os.ReadFile(filepath.Join("testdata", f.name))
		if err != nil {
			t.Fatal(err)
		}
		checkInLine(t, f.name, data)
	}
	for name, c := range xmlInLineCases {
		checkInLine(t, name, []byte(c))
	}
	for _, rel := range []string{
		"data/sysmon/evtx-attack-samples/ALL_sysmon_events.xml.log",
		"data/sysmon/omerbenamram-evtx/sysmon.xml.log",
		"data/sysmon/evtx-attack-samples/subset_regasm_regsvcs_mentions.xml.log",
	} {
		data, err := os.ReadFile(shared.Path(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		checkInLine(t, filepath.Base(rel), data)
	}
}

func FuzzXMLInLine(f *testing.F) {
	fixtureLines(f, "synthetic_regasm_children.xml.log", 3)
	for _, c := range xmlInLineCases {
		if len(c) < 4096 {
			f.Add([]byte(c))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkInLine(t, "fuzz", in)
	})
}

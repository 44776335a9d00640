package hec

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseResponse(t *testing.T) {
	tests := []struct {
		body    string
		want    Response
		wantErr string
	}{
		{`{"text":"Success","code":0}`, Response{"Success", 0, -1, -1}, ""},
		{`{"text":"Success","code":0,"ackId":7}`, Response{"Success", 0, -1, 7}, ""},
		{` {"text":"Invalid data format","code":6,"invalid-event-number":3}` + "\n", Response{"Invalid data format", 6, 3, -1}, ""},
		{`{"text":"Server is busy","code":"9"}`, Response{"Server is busy", 9, -1, -1}, ""},
		{`{"code":0,"extra":{"x":[1,2]}}`, Response{"", 0, -1, -1}, ""},
		{`{"text":5}`, Response{"5", -1, -1, -1}, ""},
		{``, Response{"", -1, -1, -1}, "empty body"},
		{`<html>busy</html>`, Response{"", -1, -1, -1}, "not a JSON object"},
		{`null`, Response{"", -1, -1, -1}, "not a JSON object"},
		{`{"code":-1}`, Response{"", -1, -1, -1}, "non-negative"},
		{`{"code":1.5}`, Response{"", -1, -1, -1}, "non-negative"},
		{`{"code":99999999999}`, Response{"", -1, -1, -1}, "out of range"},
		{`{"text":"x"`, Response{"", -1, -1, -1}, "not a JSON object"},
	}
	for _, tc := range tests {
		got, err := ParseResponse([]byte(tc.body))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseResponse(%q) err %v, want %q", tc.body, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseResponse(%q) = %+v, %v; want %+v", tc.body, got, err, tc.want)
		}
	}
}

func TestParseAckResponse(t *testing.T) {
	got, err := parseAckResponse([]byte(`{"acks":{"0":true,"1":false,"12":true}}`))
	if err != nil || len(got) != 3 || !got[0] || got[1] || !got[12] {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{`{}`, `{"acks":{"x":true}}`, `{"acks":[1]}`, `nope`} {
		if _, err := parseAckResponse([]byte(bad)); err == nil {
			t.Errorf("parseAckResponse(%q) accepted", bad)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{`{"text":"Success","code":0}`, `{"text":"Server is busy","code":9}`,
		`{"text":"Invalid data format","code":6,"invalid-event-number":2}`, `{"ackId":"12"}`, ``, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseResponse(body)
		if err == nil && (r.Code < -1 || r.InvalidEventNumber < -1 || r.AckID < -1) {
			t.Fatalf("ParseResponse(%q) = %+v: negative numbers must be refused", body, r)
		}
		if err == nil && !json.Valid(body) {
			t.Fatalf("ParseResponse accepted %q, which is not one JSON value", body)
		}
		if _, err := parseAckResponse(body); err == nil && len(body) == 0 {
			t.Fatal("empty ack response accepted")
		}
	})
}

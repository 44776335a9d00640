package scs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"regasmdetect/src/export/internal/deliver"
)

// SuccessCode is the "code" of the ingest service's success reply, `{"code":"SUCCESS","message":"Success"}`:
// the reply Splunk's own ingest API client expects in its tests (splunk/fluent-plugin-splunk-hec,
// test/fluent/plugin/out_splunk_ingest_api_test.rb).
const SuccessCode = "SUCCESS"

// Response is the ingest service's reply body, the API's HTTPResponse schema (the SDK's ingest.HttpResponse):
// a JSON object with the optional members "code" and "message" (strings) and "details" (an object).
type Response struct {
	// Code and Message are the reply's members; HasCode tells whether "code" was there.
	Code, Message string
	HasCode       bool
}

// Success reports whether the reply is the service's success: "code" is SuccessCode (in any case).
func (r Response) Success() bool {
	return r.HasCode && strings.EqualFold(r.Code, SuccessCode)
}

// ParseResponse decodes an ingest reply body. A body that is empty, not one JSON object, or whose members do
// not have the schema's types is an error; unknown members are ignored. It never panics.
func ParseResponse(body []byte) (Response, error) {
	var r Response
	body, err := deliver.ObjectBody("scs: response", body)
	if err != nil {
		return r, err
	}
	var raw struct {
		Code    *string         `json:"code"`
		Message *string         `json:"message"`
		Details json.RawMessage `json:"details"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return r, fmt.Errorf("scs: response: not the ingest API's reply object: %w", err)
	}
	if d := bytes.Trim(raw.Details, deliver.JSONSpace); len(d) > 0 && d[0] != '{' && string(d) != "null" {
		return r, fmt.Errorf("scs: response: \"details\" is not an object: starts with %.10q", d)
	}
	if raw.Code != nil {
		r.Code, r.HasCode = *raw.Code, true
	}
	if raw.Message != nil {
		r.Message = *raw.Message
	}
	return r, nil
}

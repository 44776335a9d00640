package hec

import (
	"encoding/json"
	"fmt"
	"strconv"

	"regasmdetect/src/export/internal/deliver"
)

// Response is HEC's JSON reply to a request: `{"text":"Success","code":0}`, with "ackId" when indexer
// acknowledgement is on and "invalid-event-number" when an event of the batch was rejected.
type Response struct {
	// Text is HEC's message, e.g. "Success", "Invalid token", "Server is busy".
	Text string
	// Code is HEC's status code (0 Success, 1-4 token problems, 5-7 and 10-16 invalid request or data,
	// 8 internal error, 9 server busy), -1 when absent.
	Code int
	// InvalidEventNumber is the 0-based position in the batch of the first rejected event, -1 when absent.
	InvalidEventNumber int
	// AckID is the acknowledgement id of the batch, -1 when absent.
	AckID int64
}

// ParseResponse decodes a HEC reply body. A body that is empty or not a JSON object is an error (the caller
// still has the HTTP status); unknown members are ignored; numbers may also come as strings, as some proxies
// and older Splunk versions write them. It never panics.
func ParseResponse(body []byte) (Response, error) {
	r := Response{Code: -1, InvalidEventNumber: -1, AckID: -1}
	body, err := deliver.ObjectBody("hec: response", body)
	if err != nil {
		return r, err
	}
	var raw struct {
		Text    json.RawMessage `json:"text"`
		Code    json.RawMessage `json:"code"`
		Invalid json.RawMessage `json:"invalid-event-number"`
		AckID   json.RawMessage `json:"ackId"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return r, fmt.Errorf("hec: response: not a JSON object: %w", err)
	}
	if len(raw.Text) > 0 {
		if err := json.Unmarshal(raw.Text, &r.Text); err != nil {
			r.Text = string(raw.Text)
		}
	}
	if r.Code, err = intMember("code", raw.Code); err != nil {
		return r, err
	}
	n, err := intMember("invalid-event-number", raw.Invalid)
	if err != nil {
		return r, err
	}
	r.InvalidEventNumber = n
	a, err := int64Member("ackId", raw.AckID)
	if err != nil {
		return r, err
	}
	r.AckID = a
	return r, nil
}

func intMember(name string, raw json.RawMessage) (int, error) {
	v, err := int64Member(name, raw)
	if err != nil {
		return -1, err
	}
	if v > 1<<31-1 {
		return -1, fmt.Errorf("hec: response: %q out of range", name)
	}
	return int(v), nil
}

// int64Member reads a non-negative integer given as a JSON number or string; absent or null is -1.
func int64Member(name string, raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return -1, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return -1, fmt.Errorf("hec: response: %q: %w", name, err)
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return -1, fmt.Errorf("hec: response: %q is not a non-negative integer: %.40q", name, s)
	}
	return v, nil
}

// parseAckResponse decodes the reply of /services/collector/ack: `{"acks":{"0":true,"1":false}}`.
func parseAckResponse(body []byte) (map[int64]bool, error) {
	var raw struct {
		Acks map[string]bool `json:"acks"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("hec: ack response: %w", err)
	}
	if raw.Acks == nil {
		return nil, fmt.Errorf("hec: ack response: no \"acks\" object")
	}
	out := make(map[int64]bool, len(raw.Acks))
	for k, v := range raw.Acks {
		id, err := strconv.ParseInt(k, 10, 64)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("hec: ack response: ack id %.40q is not a non-negative integer", k)
		}
		out[id] = v
	}
	return out, nil
}

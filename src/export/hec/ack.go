package hec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"regasmdetect/src/export"
	"regasmdetect/src/export/internal/deliver"
)

// awaitAcks polls /services/collector/ack until every pending batch is confirmed or AckTimeout passes (or ctx
// ends). Confirmed batches count as sent; the others are Uncertain: HEC accepted them, indexing is unconfirmed.
func (e *Exporter) awaitAcks(ctx context.Context, acks []pending, res *export.Result) {
	ctx, cancel := context.WithTimeout(ctx, e.ackTimeout)
	defer cancel()
	left := acks
	var lastErr error
	body := make([]byte, 0, 16+12*len(acks))
	for len(left) > 0 {
		body = append(body[:0], `{"acks":[`...)
		for i, p := range left {
			if i > 0 {
				body = append(body, ',')
			}
			body = strconv.AppendInt(body, p.ack, 10)
		}
		body = append(body, "]}"...)
		got, err := e.queryAcks(ctx, body)
		if err != nil {
			if ctx.Err() == nil { // a poll cut by the deadline says nothing new
				lastErr = err
			}
		} else {
			keep := left[:0]
			for _, p := range left {
				if got[p.ack] {
					res.Sent += p.to - p.from
				} else {
					keep = append(keep, p)
				}
			}
			left = keep
			if len(left) == 0 {
				return
			}
		}
		t := time.NewTimer(e.ackInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			why := fmt.Errorf("hec: accepted, but no indexer acknowledgement within %v (%w)", e.ackTimeout, context.Cause(ctx))
			if lastErr != nil {
				why = fmt.Errorf("%w; last poll: %w", why, lastErr)
			}
			for _, p := range left {
				deliver.Tally(res, p.from, p.to, deliver.Outcome{Kind: deliver.Uncertain, Err: why})
			}
			return
		case <-t.C:
		}
	}
}

// queryAcks makes one ack request; an error means no usable answer (the caller polls again and reports the
// last one if the acknowledgements never come).
func (e *Exporter) queryAcks(ctx context.Context, body []byte) (map[int64]bool, error) {
	actx, cancel := context.WithTimeout(ctx, e.policy.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, e.ackURL+"?channel="+url.QueryEscape(e.channel), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("hec: ack request: %w", err)
	}
	req.Header.Set("Authorization", e.auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Splunk-Request-Channel", e.channel)
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hec: ack request: %w", deliver.Scrub(err, e.auth[len("Splunk "):]))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return nil, fmt.Errorf("hec: ack response: HTTP %d, read: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		r, perr := ParseResponse(b)
		if perr != nil {
			r.Text = http.StatusText(resp.StatusCode)
		}
		return nil, fmt.Errorf("hec: ack response: %w", &export.HTTPError{StatusCode: resp.StatusCode, Code: r.Code, Text: r.Text})
	}
	return parseAckResponse(b)
}

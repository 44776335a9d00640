// Package splunkdtest plays splunkd's side of the chunked search-command protocol (SCPv2) against a real
// executable over pipes. Tests, benchmarks and the demo use it to run `regasmdetect` the way a search head and
// its indexers do: a getinfo exchange, execute chunks of varying sizes (one row, thousands, empty bodies,
// header-only final chunks) in Splunk's CSV style, and the map/reduce choreography that the command asks for
// with its streaming_preop.
//
// It is test support, as net/http/httptest is for net/http: it is not splunkd, it is not shipped in the app, and
// nothing in the search command depends on it. It lives under src/internal so that no other module can import it.
package splunkdtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"regasmdetect/src/scpv2"
)

// SessionKey is the session key the emulator sends in every getinfo request. Tests assert that it never
// appears in anything the command writes.
const SessionKey = "EMULATOR-SESSION-KEY-0f3c9a7e-must-never-be-echoed"

// Request is one execute request: a CSV body and the finished flag.
type Request struct {
	Body     []byte
	Finished bool
}

// Reply is one chunk the command wrote.
type Reply struct {
	Meta map[string]any
	Raw  []byte // the metadata bytes as written
	Body []byte
}

// Finished reports the reply's finished flag.
func (r Reply) Finished() bool { b, _ := r.Meta["finished"].(bool); return b }

// Error returns the reply's error text, if any.
func (r Reply) Error() string { s, _ := r.Meta["error"].(string); return s }

// Messages returns the reply's inspector messages as "LEVEL: text" lines.
func (r Reply) Messages() []string {
	ins, _ := r.Meta["inspector"].(map[string]any)
	list, _ := ins["messages"].([]any)
	var out []string
	for _, m := range list {
		pair, _ := m.([]any)
		if len(pair) == 2 {
			level, _ := pair[0].(string)
			text, _ := pair[1].(string)
			out = append(out, level+": "+text)
		}
	}
	return out
}

// Transcript is what one command process did.
type Transcript struct {
	GetInfo  Reply
	Replies  []Reply // one per execute request answered
	Stdout   []byte  // every byte the command wrote
	Stderr   []byte
	ExitCode int
	BodyIn   int64         // bytes of the execute bodies sent to the command (Session only)
	CPU      time.Duration // the process's user and system time (Session only)
}

// Process describes how to start one command process.
type Process struct {
	Binary  string
	Args    []string // SPL option tokens as splunkd puts them in searchinfo.args (quotes removed)
	RawArgs []string // the same with quoting kept; defaults to Args
	Search  string   // the SPL of the search, for searchinfo.search (percent-encoded on the wire)
	Timeout time.Duration
	// SID and DispatchDir are searchinfo.sid and searchinfo.dispatch_dir; empty means the emulator's search
	// head defaults (DefaultSID and a dispatch folder named after it, which need not exist).
	SID         string
	DispatchDir string
}

// DefaultSID is the search id of the emulator's search head. Its indexers run the map phase as
// "remote_sh1_" + DefaultSID, as the sids of distributed searches look on indexers.
const DefaultSID = "1700000000.42"

// GetInfo returns the metadata of a getinfo request as splunkd 8.x/9.x sends it.
func GetInfo(args, rawArgs []string, search string) []byte {
	return getInfo(args, rawArgs, search, "", "")
}

// GetInfoRequest returns the metadata of the getinfo request p sends.
func (p Process) GetInfoRequest() []byte {
	return getInfo(p.Args, p.RawArgs, p.Search, p.SID, p.DispatchDir)
}

func getInfo(args, rawArgs []string, search, sid, dispatch string) []byte {
	if sid == "" {
		sid = DefaultSID
	}
	if dispatch == "" {
		dispatch = "/opt/splunk/var/run/splunk/dispatch/" + sid
	}
	if rawArgs == nil {
		rawArgs = args
	}
	if args == nil {
		args = []string{}
		rawArgs = []string{}
	}
	// Key order as splunkd writes it; values in the types splunkd uses (times as strings). Not scpv2's
	// wireSearchInfo: that is what the command reads (no session_key, lenient number types), this what splunkd sends.
	type searchinfo struct {
		Args          []string `json:"args"`
		RawArgs       []string `json:"raw_args"`
		DispatchDir   string   `json:"dispatch_dir"`
		SID           string   `json:"sid"`
		App           string   `json:"app"`
		Owner         string   `json:"owner"`
		Username      string   `json:"username"`
		SessionKey    string   `json:"session_key"`
		SplunkdURI    string   `json:"splunkd_uri"`
		SplunkVersion string   `json:"splunk_version"`
		Search        string   `json:"search"`
		Command       string   `json:"command"`
		MaxResultRows int      `json:"maxresultrows"`
		EarliestTime  string   `json:"earliest_time"`
		LatestTime    string   `json:"latest_time"`
	}
	type getinfo struct {
		Action                      string     `json:"action"`
		Preview                     bool       `json:"preview"`
		StreamingCommandWillRestart bool       `json:"streaming_command_will_restart"`
		SearchInfo                  searchinfo `json:"searchinfo"`
	}
	m, _ := json.Marshal(getinfo{
		Action: "getinfo",
		SearchInfo: searchinfo{
			Args: args, RawArgs: rawArgs,
			DispatchDir: dispatch, SID: sid,
			App: "regasmdetect", Owner: "admin", Username: "admin", SessionKey: SessionKey,
			SplunkdURI: "https://127.0.0.1:8089", SplunkVersion: "9.2.0",
			Search: strings.ReplaceAll(url.PathEscape(search), "+", "%2B"), Command: "regasmdetect",
			MaxResultRows: 50000, EarliestTime: "0", LatestTime: "0",
		},
	})
	return m
}

// ExecuteMeta is the metadata of an execute request.
func ExecuteMeta(finished bool) []byte {
	return fmt.Appendf(nil, `{"action":"execute","finished":%t}`, finished)
}

// Chunk frames one request chunk.
func Chunk(meta, body []byte) []byte {
	out := fmt.Appendf(nil, "chunked 1.0,%d,%d\n", len(meta), len(body))
	out = append(out, meta...)
	return append(out, body...)
}

// Run starts the binary and plays one session in lock-step: getinfo, then each request in turn, waiting for
// each reply before sending the next. It stops sending after a reply with finished:true or an error, closes
// stdin, and waits for the process to exit.
func Run(ctx context.Context, p Process, reqs []Request) (*Transcript, error) {
	return run(ctx, p, p.GetInfoRequest(), reqs)
}

// RunRaw feeds the bytes in as stdin, whole, without lock-step (for recordings and malformed streams), and
// collects what the command wrote.
func RunRaw(ctx context.Context, binary string, in []byte, timeout time.Duration) (*Transcript, error) {
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t := &Transcript{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if err := exitCode(err, t); err != nil {
		return t, err
	}
	if ctx.Err() != nil {
		return t, fmt.Errorf("splunkd: %s did not finish within %v", binary, timeout)
	}
	replies, err := ParseReplies(t.Stdout)
	if err != nil {
		return t, err
	}
	if len(replies) > 0 {
		t.GetInfo, t.Replies = replies[0], replies[1:]
	}
	return t, nil
}

func exitCode(err error, t *Transcript) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.ExitCode = ee.ExitCode()
		return nil
	}
	return err
}

// Session is one running command process driven in lock-step.
type Session struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  io.Reader
	rd      *scpv2.Reader
	out     bytes.Buffer
	stderr  bytes.Buffer
	ctx     context.Context
	cancel  context.CancelFunc
	timeout time.Duration
	t       Transcript
	closed  bool
}

// Start starts the binary and performs the getinfo exchange.
func Start(ctx context.Context, p Process) (*Session, error) {
	return start(ctx, p, p.GetInfoRequest())
}

func start(ctx context.Context, p Process, getinfo []byte) (*Session, error) {
	s := &Session{timeout: p.Timeout}
	if s.timeout == 0 {
		s.timeout = 120 * time.Second
	}
	s.ctx, s.cancel = context.WithTimeout(ctx, s.timeout)
	s.cmd = exec.CommandContext(s.ctx, p.Binary)
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		s.cancel()
		return nil, err
	}
	if s.stdout, err = s.cmd.StdoutPipe(); err != nil {
		s.cancel()
		return nil, err
	}
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		s.cancel()
		return nil, fmt.Errorf("splunkd: start %s: %w", p.Binary, err)
	}
	s.rd = scpv2.NewReader(io.TeeReader(s.stdout, &s.out))
	rep, err := s.exchange(getinfo, nil)
	if err != nil {
		return s, fmt.Errorf("getinfo: %w", err)
	}
	s.t.GetInfo = rep
	return s, nil
}

func (s *Session) exchange(meta, body []byte) (Reply, error) {
	if _, err := s.stdin.Write(Chunk(meta, body)); err != nil {
		return Reply{}, fmt.Errorf("splunkd: write request: %w", err)
	}
	return readReply(s.rd)
}

// GetInfo returns the command's getinfo reply.
func (s *Session) GetInfo() Reply { return s.t.GetInfo }

// Execute sends one execute request and returns the reply.
func (s *Session) Execute(body []byte, finished bool) (Reply, error) {
	s.t.BodyIn += int64(len(body))
	rep, err := s.exchange(ExecuteMeta(finished), body)
	if err != nil {
		return rep, err
	}
	s.t.Replies = append(s.t.Replies, rep)
	return rep, nil
}

// Close closes the command's stdin, as splunkd does after the final reply, and waits for it to exit.
func (s *Session) Close() (*Transcript, error) {
	if s.closed {
		return &s.t, nil
	}
	s.closed = true
	defer s.cancel()
	s.stdin.Close()
	// Whatever the command writes after its last reply is a protocol violation: keep it for the tests.
	rest, _ := io.ReadAll(s.stdout)
	s.out.Write(rest)
	werr := s.cmd.Wait()
	s.t.Stdout, s.t.Stderr = s.out.Bytes(), s.stderr.Bytes()
	if ps := s.cmd.ProcessState; ps != nil {
		s.t.CPU = ps.UserTime() + ps.SystemTime()
	}
	if s.ctx.Err() != nil {
		return &s.t, fmt.Errorf("splunkd: command did not finish within %v (hang)", s.timeout)
	}
	if err := exitCode(werr, &s.t); err != nil {
		return &s.t, err
	}
	return &s.t, nil
}

func run(ctx context.Context, p Process, getinfo []byte, reqs []Request) (*Transcript, error) {
	s, err := start(ctx, p, getinfo)
	if s == nil {
		return nil, err
	}
	sessionErr := err
	if err == nil && s.t.GetInfo.Error() == "" {
		for i, req := range reqs {
			rep, err := s.Execute(req.Body, req.Finished)
			if err != nil {
				sessionErr = fmt.Errorf("execute %d: %w", i+1, err)
				break
			}
			if rep.Error() != "" || rep.Finished() {
				break
			}
		}
	}
	t, err := s.Close()
	if err != nil {
		return t, err
	}
	return t, sessionErr
}

func readReply(rd *scpv2.Reader) (Reply, error) {
	meta, err := rd.Next()
	if err != nil {
		return Reply{}, fmt.Errorf("read reply: %w", err)
	}
	rep := Reply{Raw: append([]byte(nil), meta...)}
	if err := json.Unmarshal(meta, &rep.Meta); err != nil {
		return rep, fmt.Errorf("reply metadata is not a JSON object: %w", err)
	}
	body, err := io.ReadAll(rd.Body())
	if err != nil {
		return rep, fmt.Errorf("read reply body: %w", err)
	}
	rep.Body = body
	return rep, nil
}

// ParseReplies splits a command's whole stdout into chunks; trailing bytes that are not a whole chunk are an
// error.
func ParseReplies(out []byte) ([]Reply, error) {
	rd := scpv2.NewReader(bytes.NewReader(out))
	var replies []Reply
	for {
		rep, err := readReply(rd)
		if errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return replies, nil
		}
		if err != nil {
			return replies, err
		}
		replies = append(replies, rep)
	}
}

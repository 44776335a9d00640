package splunkconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrUnrepresentable is wrapped by the errors of [Write] for content that no .conf file can carry so that it
// reads back the same: a value with surrounding white space or ending in a backslash, a key that is empty,
// holds '=' or a line break or starts with '#' or '[', a stanza name with a line break.
var ErrUnrepresentable = errors.New("not representable in a .conf file")

// Write writes f in Splunk's .conf syntax: each stanza as "[name]" followed by "key = value" lines, stanzas
// separated by one blank line. A value holding newlines is written as continuation lines (each line but the
// last ending in a backslash), which [Parse] reads back as the same value. An implicit default stanza (Line 0,
// name "default") is written as "[default]" only when it is not the first stanza; as the first stanza its
// settings are written before any header, as Splunk's global settings. Nothing is written when an error is
// returned.
func Write(w io.Writer, f *File) error {
	b, err := Format(f)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("splunkconf: write: %w", err)
	}
	return nil
}

// Format returns f in .conf syntax; see [Write].
func Format(f *File) ([]byte, error) {
	var buf bytes.Buffer
	for i, st := range f.Stanzas {
		if strings.ContainsRune(st.Name, '\n') {
			return nil, fmt.Errorf("splunkconf: stanza %q: name with a line break: %w", clip(st.Name), ErrUnrepresentable)
		}
		if i > 0 {
			buf.WriteByte('\n')
		}
		if i > 0 || st.Name != DefaultStanza || st.Line != 0 || len(st.Settings) == 0 {
			buf.WriteByte('[')
			buf.WriteString(st.Name)
			buf.WriteString("]\n")
		}
		for _, kv := range st.Settings {
			if err := checkSetting(kv); err != nil {
				return nil, fmt.Errorf("splunkconf: stanza [%s]: %w", clip(st.Name), err)
			}
			buf.WriteString(kv.Key)
			buf.WriteString(" = ")
			buf.WriteString(strings.ReplaceAll(kv.Value, "\n", "\\\n"))
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes(), nil
}

func checkSetting(kv Setting) error {
	k := kv.Key
	switch {
	case k == "":
		return fmt.Errorf("empty key: %w", ErrUnrepresentable)
	case strings.TrimSpace(k) != k:
		return fmt.Errorf("key %q with surrounding white space: %w", clip(k), ErrUnrepresentable)
	case strings.ContainsAny(k, "=\n"):
		return fmt.Errorf("key %q holds '=' or a line break: %w", clip(k), ErrUnrepresentable)
	case k[0] == '#' || k[0] == '[':
		return fmt.Errorf("key %q starts with '#' or '[': %w", clip(k), ErrUnrepresentable)
	}
	v := kv.Value
	switch {
	case strings.TrimSpace(v) != v:
		return fmt.Errorf("key %q: value with surrounding white space: %w", clip(k), ErrUnrepresentable)
	case strings.HasSuffix(v, `\`):
		return fmt.Errorf("key %q: value ending in a backslash: %w", clip(k), ErrUnrepresentable)
	}
	return nil
}

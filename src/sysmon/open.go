package sysmon

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxGunzippedEVTX bounds the size of an EVTX file decompressed from gzip (EVTX files are capped by Windows at
// a few GiB; 16 GiB leaves room).
const MaxGunzippedEVTX = 16 << 30

// Open opens the file at path and returns a Reader for it, the Closer to call when done, and the format read.
// gzip input (magic 1f 8b) is decompressed transparently. With f == Auto the format comes from Detect on the
// (decompressed) content; otherwise f is used as given. An EVTX file inside gzip needs random access: it is
// decompressed to a temporary file (memory stays bounded whatever its size), removed by the Closer. For CSV
// content Open returns the CSV format and an error wrapping ErrCSV.
func Open(path string, f Format) (Reader, io.Closer, Format, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, nil, f, fmt.Errorf("sysmon: %w", err)
	}
	fail := func(format Format, err error) (Reader, io.Closer, Format, error) {
		file.Close()
		return nil, nil, format, err
	}
	br := bufio.NewReaderSize(file, 64<<10)
	magic, _ := br.Peek(2)
	gz := len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	var content *bufio.Reader = br
	var closer io.Closer = file
	if gz {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fail(f, fmt.Errorf("sysmon: %s: gzip: %w", path, err))
		}
		content = bufio.NewReaderSize(zr, 64<<10)
		closer = multiCloser{zr, file}
	}
	if f == Auto {
		head, err := content.Peek(512)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			closer.Close()
			return nil, nil, f, fmt.Errorf("sysmon: %s: %w", path, err)
		}
		f = Detect(head)
	}
	switch f {
	case XML:
		return NewXMLReader(content, path), closer, f, nil
	case JSON:
		return NewJSONReader(content, path), closer, f, nil
	case CSV:
		closer.Close()
		return nil, nil, f, fmt.Errorf("sysmon: %s: %w", path, ErrCSV)
	case EVTX:
		if !gz {
			st, err := file.Stat()
			if err != nil {
				return fail(f, fmt.Errorf("sysmon: %w", err))
			}
			r, err := NewEVTXReader(file, st.Size(), path)
			if err != nil {
				return fail(f, err)
			}
			return r, file, f, nil
		}
		return openGzippedEVTX(content, closer, path)
	}
	closer.Close()
	return nil, nil, f, fmt.Errorf("sysmon: %s: unknown input format (not EVTX, XML, JSON or CSV)", path)
}

func openGzippedEVTX(content io.Reader, gzCloser io.Closer, path string) (Reader, io.Closer, Format, error) {
	defer gzCloser.Close()
	tmp, err := os.CreateTemp("", "regasmdetect-*.evtx")
	if err != nil {
		return nil, nil, EVTX, fmt.Errorf("sysmon: %s: temporary file for the decompressed EVTX: %w", path, err)
	}
	tc := tempCloser{tmp}
	n, err := io.Copy(tmp, io.LimitReader(content, MaxGunzippedEVTX+1))
	if err != nil {
		tc.Close()
		return nil, nil, EVTX, fmt.Errorf("sysmon: %s: decompressing: %w", path, err)
	}
	if n > MaxGunzippedEVTX {
		tc.Close()
		return nil, nil, EVTX, fmt.Errorf("sysmon: %s: decompressed EVTX larger than %d bytes", path, int64(MaxGunzippedEVTX))
	}
	r, err := NewEVTXReader(tmp, n, path)
	if err != nil {
		tc.Close()
		return nil, nil, EVTX, err
	}
	return r, tc, EVTX, nil
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var first error
	for _, c := range m {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// tempCloser closes and removes a temporary file.
type tempCloser struct{ f *os.File }

func (t tempCloser) Close() error {
	err := t.f.Close()
	if rerr := os.Remove(t.f.Name()); err == nil {
		err = rerr
	}
	return err
}

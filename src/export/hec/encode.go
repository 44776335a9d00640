package hec

import (
	"math"
	"strconv"

	"regasmdetect/src/export"
	"regasmdetect/src/internal/jsonstr"
)

// meta is the metadata applied to events that do not set their own.
type meta struct {
	source, sourcetype, index string
}

// appendEvent appends the HEC JSON form of ev to dst, followed by a newline (HEC accepts events concatenated
// with or without whitespace between them):
//
//	{"time":1599171244.277,"host":"WIN-01","source":"regasmdetect","sourcetype":"regasmdetect:alert","index":"main","event":{"dest":"WIN-01","process":["a","b"]}}
//
// time is omitted when unknown (HEC then uses the time of receipt); host, source, sourcetype and index are
// omitted when empty (HEC then uses the token's defaults). A field with one value is a JSON string, with
// several a JSON array (a multivalue field), with none it is left out. It does not allocate beyond growing dst.
func appendEvent(dst []byte, ev *export.Event, m *meta) []byte {
	dst = append(dst, '{')
	if t := ev.Time; t > 0 && !math.IsInf(t, 0) {
		dst = append(dst, `"time":`...)
		dst = strconv.AppendFloat(dst, t, 'f', -1, 64)
		dst = append(dst, ',')
	}
	dst = appendMeta(dst, "host", ev.Host, "")
	dst = appendMeta(dst, "source", ev.Source, m.source)
	dst = appendMeta(dst, "sourcetype", ev.Sourcetype, m.sourcetype)
	dst = appendMeta(dst, "index", ev.Index, m.index)
	dst = append(dst, `"event":{`...)
	first := true
	for i := range ev.Fields {
		f := &ev.Fields[i]
		if len(f.Values) == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonstr.Append(dst, f.Name)
		dst = append(dst, ':')
		if len(f.Values) == 1 {
			dst = jsonstr.Append(dst, f.Values[0])
			continue
		}
		dst = append(dst, '[')
		for j, v := range f.Values {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = jsonstr.Append(dst, v)
		}
		dst = append(dst, ']')
	}
	return append(dst, "}}\n"...)
}

func appendMeta(dst []byte, key, v, def string) []byte {
	if v == "" {
		v = def
	}
	if v == "" {
		return dst
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, `":`...)
	dst = jsonstr.Append(dst, v)
	return append(dst, ',')
}

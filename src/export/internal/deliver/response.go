package deliver

import (
	"bytes"
	"fmt"
)

// JSONSpace is the whitespace JSON allows around a value (RFC 8259, section 2).
const JSONSpace = " \t\r\n"

// ObjectBody trims JSON's whitespace from a reply body and checks that what is left starts a JSON object.
// what prefixes the error ("hec: response").
func ObjectBody(what string, body []byte) ([]byte, error) {
	body = bytes.Trim(body, JSONSpace) // JSON's whitespace only: bytes.TrimSpace would also take \v, \f, U+0085, U+00A0
	if len(body) == 0 {
		return nil, fmt.Errorf("%s: empty body", what)
	}
	if body[0] != '{' {
		return nil, fmt.Errorf("%s: not a JSON object: starts with %.10q", what, body)
	}
	return body, nil
}

package brevotest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
)

// maxBody bounds request bodies of routes without a documented limit; a
// larger body gets 413, as from Brevo's front end.
const maxBody = 1 << 20

// decode reads a JSON body into v, answering 413/400 itself on failure.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any, limit int) ([]byte, bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		s.reply(w, http.StatusBadRequest, "bad_request", "Unable to read the request body")
		return nil, false
	}
	if len(data) > limit {
		s.reply(w, http.StatusRequestEntityTooLarge, "bad_request",
			fmt.Sprintf("Request body is larger than the %d bytes allowed", limit))
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if !s.opts.Lenient {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", jsonProblem(err))
		return nil, false
	}
	if dec.More() {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", "Invalid JSON: trailing data after the body")
		return nil, false
	}
	return data, true
}

// jsonProblem words a decoding error the way Brevo words parameter errors.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return fmt.Sprintf("Invalid parameter %s: expected %s, got %s", field, te.Type, te.Value)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "Unknown parameter " + f
	}
	if errors.Is(err, io.EOF) {
		return "Request body is empty"
	}
	return "Invalid JSON body: " + strings.TrimPrefix(msg, "json: ")
}

func (s *Server) reply(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg})
}

// validEmail approximates Brevo's email check: one @, a non-empty local
// part of at most 64 bytes, a dotted domain with a 2+ letter TLD, no spaces,
// control characters or the specials RFC 5322 reserves.
func validEmail(s string) bool {
	if s == "" || len(s) > 254 {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(local) > 64 || strings.Contains(domain, "@") {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || strings.ContainsRune(`<>()[]\,;:"`, r) {
			return false
		}
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return false
		}
		for _, r := range l {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if len([]rune(tld)) < 2 {
		return false
	}
	for _, r := range tld {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// validPhone: Brevo wants a country code: +CC…, 00CC… or CC… — 6 to 17
// digits after an optional "+".
func validPhone(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if len(s) < 6 || len(s) > 17 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// validEventName mirrors the documented rule: ≤255 of [A-Za-z0-9_-].
func validEventName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// validDate accepts the date forms Brevo documents for date attributes and
// timestamps.
func validDate(s string) bool {
	for _, layout := range []string{"2006-01-02", time.RFC3339, time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// typeMatches reports whether v is a valid value for an attribute type.
func typeMatches(typ string, v any) bool {
	switch typ {
	case "text":
		_, ok := v.(string)
		return ok
	case "float":
		_, ok := v.(json.Number)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "date":
		str, ok := v.(string)
		return ok && validDate(str)
	case "category", "id":
		switch v.(type) {
		case json.Number, string:
			return true
		}
		return false
	}
	return true
}

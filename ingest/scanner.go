package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// scanner splits a CloudTrail file, {"Records":[...], ...}, into the raw
// bytes of each record without holding more than one record. It checks the
// JSON structure it walks (nesting, strings, the envelope); the content of
// each record is checked by the JSON decoder that parses it.
type scanner struct {
	r     io.Reader
	buf   []byte // read buffer; buf[pos:end] is unread
	pos   int
	end   int
	off   int64 // stream offset of buf[0]
	eof   bool
	err   error
	max   int
	rec   []byte // the record being collected
	keep  bool   // collect into rec while scanning a value
	count int    // records seen
	stack []byte
}

func newScanner(r io.Reader, maxRecord int) *scanner {
	return &scanner{r: r, buf: make([]byte, 64<<10), max: maxRecord, stack: make([]byte, 0, 32)}
}

var errNotCloudTrail = errors.New("not a CloudTrail log: no Records array")

func (s *scanner) fail(format string, args ...any) error {
	return &DecodeError{Offset: s.off + int64(s.pos), Err: fmt.Errorf(format, args...)}
}

// fill reads more input, keeping buf[pos:end]. It reports false at EOF or
// on a read error (kept in s.err).
func (s *scanner) fill() bool {
	if s.eof {
		return false
	}
	if s.pos > 0 {
		// A value being kept has already been copied into rec as it was
		// passed, so the consumed part can go.
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.off += int64(s.pos)
		s.pos, s.end = 0, n
	}
	if s.end == len(s.buf) {
		s.buf = append(s.buf, make([]byte, len(s.buf))...)
	}
	for {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.err = readError(err)
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

// readErr is the error to report when input ended early.
func (s *scanner) readErr(what string) error {
	if s.err != nil {
		var de *DecodeError
		if errors.As(s.err, &de) {
			return s.err
		}
		return &DecodeError{Offset: s.off + int64(s.end), Err: s.err}
	}
	return s.fail("unexpected end of input %s", what)
}

// peek returns the next non-space byte without consuming it.
func (s *scanner) peek() (byte, bool) {
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
				return c, true
			}
			s.pos++
		}
		if !s.fill() {
			return 0, false
		}
	}
}

func (s *scanner) expect(c byte, what string) error {
	got, ok := s.peek()
	if !ok {
		return s.readErr(what)
	}
	if got != c {
		return s.fail("want %q %s, got %q", c, what, got)
	}
	s.pos++
	return nil
}

// records walks the envelope and calls fn with each element of the
// top-level "Records" array. Other top-level members are skipped.
func (s *scanner) records(fn func(raw []byte, index int) error) error {
	if err := s.expect('{', "at the start of a CloudTrail file"); err != nil {
		return err
	}
	found := false
	for first := true; ; first = false {
		c, ok := s.peek()
		if !ok {
			return s.readErr("in the top-level object")
		}
		if c == '}' {
			s.pos++
			break
		}
		if !first {
			if err := s.expect(',', "between top-level members"); err != nil {
				return err
			}
		}
		name, err := s.key()
		if err != nil {
			return err
		}
		if err := s.expect(':', "after a member name"); err != nil {
			return err
		}
		if name != "Records" || found {
			if err := s.value(false); err != nil {
				return err
			}
			continue
		}
		found = true
		if err := s.array(fn); err != nil {
			return err
		}
	}
	if c, ok := s.peek(); ok {
		return s.fail("data after the top-level object: %q", c)
	}
	if s.err != nil {
		return s.readErr("")
	}
	if !found {
		return &DecodeError{Err: errNotCloudTrail}
	}
	return nil
}

func (s *scanner) array(fn func(raw []byte, index int) error) error {
	c, ok := s.peek()
	if !ok {
		return s.readErr("after \"Records\":")
	}
	if c == 'n' {
		// "Records": null holds no records.
		return s.value(false)
	}
	if err := s.expect('[', "to open the Records array"); err != nil {
		return err
	}
	for first := true; ; first = false {
		c, ok := s.peek()
		if !ok {
			return s.readErr("in the Records array")
		}
		if c == ']' {
			s.pos++
			return nil
		}
		if !first {
			if err := s.expect(',', "between records"); err != nil {
				return err
			}
			if c, _ = s.peek(); c == ']' {
				return s.fail("trailing comma in the Records array")
			}
		}
		if c, _ = s.peek(); c != '{' {
			return s.fail("record %d is not a JSON object", s.count)
		}
		s.rec = s.rec[:0]
		if err := s.value(true); err != nil {
			return err
		}
		s.count++
		if err := fn(s.rec, s.count-1); err != nil {
			return err
		}
		if cap(s.rec) > 4<<20 {
			// Let one huge record's buffer go rather than keep it for the
			// rest of the file.
			s.rec = nil
		}
	}
}

// key reads a member name. Names are short; a long one is an attack.
func (s *scanner) key() (string, error) {
	c, ok := s.peek()
	if !ok {
		return "", s.readErr("before a member name")
	}
	if c != '"' {
		return "", s.fail("want a member name, got %q", c)
	}
	// Only called between records, so s.rec is free to use.
	s.rec = s.rec[:0]
	s.keep = true
	err := s.str()
	s.keep = false
	if err != nil {
		return "", err
	}
	name := string(s.rec)
	s.rec = s.rec[:0]
	if len(name) > 1024 {
		return "", s.fail("member name of %d bytes", len(name))
	}
	return name[1 : len(name)-1], nil
}

// What value expects next.
const (
	wantValue = iota
	wantValueOrClose
	wantKey
	wantKeyOrClose
	wantColon
	wantCommaOrClose
)

// value scans one JSON value, copying it into s.rec when keep is set.
// Whitespace between tokens is dropped, so kept values come out compact;
// whitespace inside strings is kept.
func (s *scanner) value(keep bool) error {
	s.keep = keep
	defer func() { s.keep = false }()
	s.stack = s.stack[:0]
	state := wantValue
	for {
		c, ok := s.peek()
		if !ok {
			return s.readErr("inside a value")
		}
		switch state {
		case wantColon:
			if c != ':' {
				return s.fail("want ':' after a member name, got %q", c)
			}
			if err := s.take(1); err != nil {
				return err
			}
			state = wantValue
			continue
		case wantKey, wantKeyOrClose:
			if c == '}' && state == wantKeyOrClose {
				break // closed below
			}
			if c != '"' {
				return s.fail("want a member name, got %q", c)
			}
			if err := s.str(); err != nil {
				return err
			}
			state = wantColon
			continue
		case wantCommaOrClose:
			if c == ',' {
				if err := s.take(1); err != nil {
					return err
				}
				state = wantValue
				if s.stack[len(s.stack)-1] == '{' {
					state = wantKey
				}
				continue
			}
			if c != '}' && c != ']' {
				return s.fail("want ',' or a closing bracket, got %q", c)
			}
		case wantValue, wantValueOrClose:
			if c == ']' && state == wantValueOrClose {
				break // closed below
			}
			switch c {
			case '{', '[':
				if len(s.stack) >= maxDepth {
					return s.fail("nesting deeper than %d", maxDepth)
				}
				s.stack = append(s.stack, c)
				if err := s.take(1); err != nil {
					return err
				}
				state = wantValueOrClose
				if c == '{' {
					state = wantKeyOrClose
				}
				continue
			case '"':
				if err := s.str(); err != nil {
					return err
				}
			case '}', ']', ',', ':':
				return s.fail("unexpected %q", c)
			default:
				if err := s.scalar(); err != nil {
					return err
				}
			}
			if len(s.stack) == 0 {
				return nil
			}
			state = wantCommaOrClose
			continue
		}
		// c closes the innermost container.
		open := byte('{')
		if c == ']' {
			open = '['
		}
		if s.stack[len(s.stack)-1] != open {
			return s.fail("unbalanced %q", c)
		}
		s.stack = s.stack[:len(s.stack)-1]
		if err := s.take(1); err != nil {
			return err
		}
		if len(s.stack) == 0 {
			return nil
		}
		state = wantCommaOrClose
	}
}

// take consumes n bytes of the buffer, keeping them if asked.
func (s *scanner) take(n int) error {
	if s.keep {
		if len(s.rec)+n > s.max {
			return s.fail("record larger than %d bytes: %w", s.max, ErrTooLarge)
		}
		s.rec = append(s.rec, s.buf[s.pos:s.pos+n]...)
	}
	s.pos += n
	return nil
}

// str consumes a string, quotes included.
func (s *scanner) str() error {
	if err := s.take(1); err != nil { // opening quote
		return err
	}
	for {
		i := bytes.IndexAny(s.buf[s.pos:s.end], "\"\\")
		if i < 0 {
			if err := s.take(s.end - s.pos); err != nil {
				return err
			}
			if !s.fill() {
				return s.readErr("inside a string")
			}
			continue
		}
		if err := s.take(i); err != nil {
			return err
		}
		if s.buf[s.pos] == '"' {
			return s.take(1)
		}
		// A backslash: take it and the escaped byte together.
		for s.end-s.pos < 2 {
			if !s.fill() {
				return s.readErr("inside a string escape")
			}
		}
		if err := s.take(2); err != nil {
			return err
		}
	}
}

// scalar consumes a number, true, false or null.
func (s *scanner) scalar() error {
	n := 0
	for {
		for s.pos+n < s.end {
			c := s.buf[s.pos+n]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ':' {
				if n == 0 {
					return s.fail("unexpected %q", c)
				}
				return s.checkScalar(n)
			}
			if c == '"' || c == '{' || c == '[' {
				return s.fail("unexpected %q after a value", c)
			}
			n++
			if n > 64 {
				return s.fail("literal longer than 64 bytes")
			}
		}
		if !s.fill() {
			if n == 0 {
				return s.readErr("in a literal")
			}
			return s.checkScalar(n)
		}
	}
}

func (s *scanner) checkScalar(n int) error {
	lit := s.buf[s.pos : s.pos+n]
	switch string(lit) {
	case "true", "false", "null":
	default:
		if c := lit[0]; c != '-' && !isDigit(c) {
			return s.fail("invalid literal %q", lit)
		}
	}
	return s.take(n)
}

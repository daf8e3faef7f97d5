package ingest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
)

// scanner splits a CloudTrail file, {"Records":[...], ...}, into the raw
// bytes of each record without holding more than one record. It checks the
// JSON structure it walks (nesting, strings, the envelope); the content of
// each record is checked by the JSON decoder that parses it.
//
// A value being kept is collected in spans: buf[mark:pos] is kept but not
// yet copied. Whitespace between tokens and the end of the buffer copy
// the span into rec; a record that fits in the buffer and holds no such
// whitespace, as CloudTrail writes them, is never copied at all.
type scanner struct {
	r     io.Reader
	buf   []byte // read buffer; buf[pos:end] is unread
	pos   int
	end   int
	off   int64 // stream offset of buf[0]
	eof   bool
	err   error
	max   int
	rec   []byte // the record being collected, up to mark
	mark  int    // start of the kept bytes not yet in rec
	keep  bool   // collect into rec while scanning a value
	count int    // records seen
	stack []byte
	// inPlace, when set, is offered each record where it lies in the read
	// buffer before the scanner scans it: it gets the unread bytes, which
	// start with the record, and returns the record's length if it took
	// the record from there (doing all fn would have done), or 0 to have
	// the scanner scan the record and call fn, with more set if it wants
	// to be offered the record again once more of it is read. Its error
	// stops the scan.
	inPlace func(buf []byte, index int) (n int, more bool, err error)
}

// The read buffer starts small, since most CloudTrail files are a few
// kilobytes, and doubles while the file proves larger.
const (
	minScanBuffer = 4 << 10
	maxScanBuffer = 32 << 10
)

// maxPooledRecord bounds the record buffer a pooled scanner keeps.
const maxPooledRecord = 1 << 20

func newScanner(r io.Reader, maxRecord int) *scanner {
	s := new(scanner)
	s.reset(r, maxRecord)
	return s
}

// reset readies s to scan r as a new scanner would, keeping its buffers.
// The read buffer keeps its memory but starts at minScanBuffer again, so
// that a scanner reads in the same sizes however it was used before.
func (s *scanner) reset(r io.Reader, maxRecord int) {
	buf := s.buf
	if cap(buf) < minScanBuffer || cap(buf) > maxScanBuffer {
		buf = make([]byte, minScanBuffer)
	}
	stack := s.stack
	if stack == nil {
		stack = make([]byte, 0, 32)
	}
	*s = scanner{r: r, buf: buf[:minScanBuffer], max: maxRecord, rec: s.rec[:0], stack: stack[:0]}
}

// release drops what s holds of its last input and callback, and a
// record buffer that one large record made large.
func (s *scanner) release() {
	s.r, s.inPlace = nil, nil
	if cap(s.rec) > maxPooledRecord {
		s.rec = nil
	}
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
	if s.end == len(s.buf) || (len(s.buf) < maxScanBuffer && s.off >= 2*int64(len(s.buf))) {
		if n := 2 * len(s.buf); n <= cap(s.buf) {
			// A reused buffer: its memory is there already.
			s.buf = s.buf[:n]
		} else {
			buf := make([]byte, n)
			copy(buf, s.buf[:s.end])
			s.buf = buf
		}
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

// recordsMember is the one top-level member CloudTrail writes.
const recordsMember = "Records"

// records walks the envelope and calls fn with each element of the
// top-level "Records" array.
//
// Member names are unescaped before they are compared, as every JSON
// reader does, so "Rec\u006frds" is "Records". A file CloudTrail wrote has
// exactly one Records member, so anything that makes readers disagree on
// which records the file holds is an error, not something to pick a side
// in silently:
//
//   - A second "Records" member. encoding/json, Python and jq keep the
//     last one, this scanner the first, and a streaming reader may yield
//     both. The records of the first have been passed to fn when the
//     error is returned; those of the second never are.
//   - A member whose name is "Records" only without regard to case
//     ("records", "RECORDS", "Recordſ"), beside a "Records" member, in
//     either order: encoding/json matches names that way and takes it
//     for the array, case-sensitive readers do not. Alone it is not read
//     (CloudTrail's name is case-sensitive) and the file has no Records
//     array, which is an error too.
//
// Other top-level members, before or after Records, are skipped without
// an error: every reader agrees that they hold no records, and CloudTrail
// may one day add some. They are held to JSON's grammar all the same
// (see skipMember), so that a file encoding/json rejects is not read here
// as a clean log.
func (s *scanner) records(fn func(raw []byte, index int) error) error {
	if err := s.expect('{', "at the start of a CloudTrail file"); err != nil {
		return err
	}
	found := false
	// seen is the name of the first member taken for Records, as spelt.
	seen := ""
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
		isRecords := strings.EqualFold(name, recordsMember)
		if isRecords && seen != "" {
			return s.fail("%s", twiceMessage(seen, name))
		}
		if err := s.expect(':', "after a member name"); err != nil {
			return err
		}
		if !isRecords || name != recordsMember {
			if isRecords {
				seen = name
			}
			if err := s.skipMember(name); err != nil {
				return err
			}
			continue
		}
		found, seen = true, name
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
		if seen != "" {
			return &DecodeError{Err: fmt.Errorf("%w (%q is not %q)", errNotCloudTrail, seen, recordsMember)}
		}
		return &DecodeError{Err: errNotCloudTrail}
	}
	return nil
}

// skipMember passes over the value of a top-level member other than
// Records. value checks structure only (brackets, commas, colons); the
// record decoder checks the rest of each record, but nothing would check
// the strings and numbers of a member that is skipped, so it is kept, up
// to the record size limit, and checked whole. CloudTrail writes no such
// member, so this costs nothing on its files.
func (s *scanner) skipMember(name string) error {
	s.rec = s.rec[:0]
	err := s.value(true)
	var raw []byte
	if err == nil {
		raw, err = s.kept()
	}
	switch {
	case errors.Is(err, ErrTooLarge):
		return s.fail("top-level member %q larger than %d bytes: %w", name, s.max, ErrTooLarge)
	case err != nil:
		return err
	case !json.Valid(raw):
		return s.fail("top-level member %q is not valid JSON", name)
	}
	s.rec = s.rec[:0]
	if cap(s.rec) > 4<<20 {
		s.rec = nil
	}
	return nil
}

// twiceMessage says that a file has a second member taken for Records,
// and how each was spelt when that is not "Records".
func twiceMessage(first, second string) string {
	msg := `"Records" appears twice`
	switch {
	case first != recordsMember:
		msg += fmt.Sprintf(", first as %q", first)
	case second != recordsMember:
		msg += fmt.Sprintf(", the second time as %q", second)
	}
	return msg + ": JSON readers differ on which one holds the records"
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
			if c, ok = s.peek(); !ok {
				return s.readErr("in the Records array")
			}
			if c == ']' {
				return s.fail("trailing comma in the Records array")
			}
		}
		if c != '{' {
			return s.fail("record %d is not a JSON object", s.count)
		}
		if s.inPlace != nil {
			n, err := s.offer()
			if n > 0 {
				s.pos += n
				s.count++
			}
			if err != nil {
				return err
			}
			if n > 0 {
				continue
			}
		}
		s.rec = s.rec[:0]
		if err := s.value(true); err != nil {
			return err
		}
		raw, err := s.kept()
		if err != nil {
			return err
		}
		s.count++
		if err := fn(raw, s.count-1); err != nil {
			return err
		}
		if cap(s.rec) > 4<<20 {
			// Let one huge record's buffer go rather than keep it for the
			// rest of the file.
			s.rec = nil
		}
	}
}

// offer offers the record at pos to inPlace. When inPlace wants more of
// it, the record is moved to the start of the buffer, the buffer filled,
// and the record offered once more; a record larger than the buffer is
// left to the scan. A record is decoded at most twice in place, so the
// work stays linear whatever the input.
func (s *scanner) offer() (int, error) {
	n, more, err := s.inPlace(s.buf[s.pos:s.end], s.count)
	if n > 0 || err != nil || !more || s.eof || s.pos == 0 {
		return n, err
	}
	// Move the record to the start of the buffer and fill the rest.
	for s.fill() && s.end < len(s.buf) {
	}
	n, _, err = s.inPlace(s.buf[s.pos:s.end], s.count)
	return n, err
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
	s.keep, s.mark = true, s.pos
	err := s.str()
	s.keep = false
	if err != nil {
		return "", err
	}
	raw, err := s.kept()
	if err != nil {
		return "", err
	}
	defer func() { s.rec = s.rec[:0] }()
	if len(raw) > 1024 {
		return "", s.fail("member name of %d bytes", len(raw))
	}
	if bytes.IndexByte(raw, '\\') < 0 && !hasControl(raw) {
		return string(raw[1 : len(raw)-1]), nil
	}
	// Names are compared unescaped, so that "Rec\u006frds" is "Records"
	// here as in any JSON reader. str passed over escapes without
	// checking them; an invalid one, or a control character left
	// unescaped, makes the name (and the file) invalid JSON.
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return "", s.fail("invalid member name %q", raw)
	}
	return name, nil
}

// hasControl reports whether b holds a byte that JSON strings must escape.
func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
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

// value scans one JSON value, keeping it (see kept) when keep is set.
// Whitespace between tokens is dropped, so kept values come out compact;
// whitespace inside strings is kept.
func (s *scanner) value(keep bool) error {
	s.keep, s.mark = keep, s.pos
	defer func() { s.keep = false }()
	s.stack = s.stack[:0]
	state := wantValue
	// The loop works on local copies of buf, pos and end, written back
	// before anything that reads or moves the buffer.
	buf, i, end := s.buf, s.pos, s.end
	for {
		if i == end {
			s.pos = i
			if !s.more() {
				return s.readErr("inside a value")
			}
			buf, i, end = s.buf, s.pos, s.end
			continue
		}
		c := buf[i]
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			if keep && i > s.mark {
				s.pos = i
				if err := s.keepBytes(buf[s.mark:i]); err != nil {
					return err
				}
			}
			i++
			s.mark = i
			continue
		}
		switch state {
		case wantColon:
			if c != ':' {
				s.pos = i
				return s.fail("want ':' after a member name, got %q", c)
			}
			i++
			state = wantValue
			continue
		case wantKey, wantKeyOrClose:
			if c == '}' && state == wantKeyOrClose {
				break // closed below
			}
			if c != '"' {
				s.pos = i
				return s.fail("want a member name, got %q", c)
			}
			s.pos = i
			if err := s.str(); err != nil {
				return err
			}
			buf, i, end = s.buf, s.pos, s.end
			state = wantColon
			continue
		case wantCommaOrClose:
			if c == ',' {
				i++
				state = wantValue
				if s.stack[len(s.stack)-1] == '{' {
					state = wantKey
				}
				continue
			}
			if c != '}' && c != ']' {
				s.pos = i
				return s.fail("want ',' or a closing bracket, got %q", c)
			}
		case wantValue, wantValueOrClose:
			if c == ']' && state == wantValueOrClose {
				break // closed below
			}
			switch c {
			case '{', '[':
				if len(s.stack) >= maxDepth {
					s.pos = i
					return s.fail("nesting deeper than %d", maxDepth)
				}
				s.stack = append(s.stack, c)
				i++
				state = wantValueOrClose
				if c == '{' {
					state = wantKeyOrClose
				}
				continue
			case '"':
				s.pos = i
				if err := s.str(); err != nil {
					return err
				}
			case '}', ']', ',', ':':
				s.pos = i
				return s.fail("unexpected %q", c)
			default:
				s.pos = i
				if err := s.scalar(); err != nil {
					return err
				}
			}
			buf, i, end = s.buf, s.pos, s.end
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
			s.pos = i
			return s.fail("unbalanced %q", c)
		}
		s.stack = s.stack[:len(s.stack)-1]
		i++
		if len(s.stack) == 0 {
			s.pos = i
			return nil
		}
		state = wantCommaOrClose
	}
}

// keepBytes copies kept bytes into rec.
func (s *scanner) keepBytes(b []byte) error {
	if len(s.rec)+len(b) > s.max {
		return s.fail("record larger than %d bytes: %w", s.max, ErrTooLarge)
	}
	s.rec = append(s.rec, b...)
	return nil
}

// more copies the kept span into rec and reads more input. It reports
// false at EOF or on a read error, as fill does.
func (s *scanner) more() bool {
	if s.keep && s.pos > s.mark {
		if err := s.keepBytes(s.buf[s.mark:s.pos]); err != nil {
			s.err = err
			return false
		}
	}
	ok := s.fill()
	s.mark = s.pos
	return ok
}

// kept returns the value kept by value or str. When nothing had to be
// copied it aliases the read buffer, valid until the scanner reads on.
func (s *scanner) kept() ([]byte, error) {
	tail := s.buf[s.mark:s.pos]
	if len(s.rec) == 0 {
		if len(tail) > s.max {
			return nil, s.fail("record larger than %d bytes: %w", s.max, ErrTooLarge)
		}
		return tail, nil
	}
	if err := s.keepBytes(tail); err != nil {
		return nil, err
	}
	return s.rec, nil
}

// str consumes a string, quotes included.
func (s *scanner) str() error {
	i := s.pos + 1 // after the opening quote
	for {
		buf := s.buf[:s.end]
		// Eight bytes at a time, stop at the first quote or backslash;
		// the lowest flagged byte is exact, borrows only run upwards.
		for i+8 <= len(buf) {
			x := binary.LittleEndian.Uint64(buf[i:])
			quote := x ^ ('"' * lsb)
			backslash := x ^ ('\\' * lsb)
			if m := ((quote - lsb) &^ quote) | ((backslash - lsb) &^ backslash); m&msb != 0 {
				i += bits.TrailingZeros64(m&msb) >> 3
				break
			}
			i += 8
		}
		for i < len(buf) && buf[i] != '"' && buf[i] != '\\' {
			i++
		}
		switch {
		case i+1 < len(buf) && buf[i] == '\\':
			// A backslash and the byte it escapes, a quote maybe.
			i += 2
			continue
		case i < len(buf) && buf[i] == '"':
			s.pos = i + 1
			return nil
		}
		// The input ends inside the string, or between a backslash and
		// the byte it escapes: read more, the backslash kept unread.
		s.pos = i
		if !s.more() {
			if s.err != nil {
				return s.readErr("")
			}
			if i < len(buf) {
				return s.readErr("inside a string escape")
			}
			return s.readErr("inside a string")
		}
		i = s.pos
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
			if n > maxLiteral {
				return s.fail("literal longer than %d bytes", maxLiteral)
			}
		}
		// more keeps buf[pos:end], the literal so far, unread.
		if !s.more() {
			if s.err != nil {
				return s.readErr("")
			}
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
	s.pos += n
	return nil
}

package ingest

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/gzip"
)

// Limits that keep one object's memory bounded whatever its content.
const (
	// DefaultMaxDecompressed caps the decompressed size of one object.
	// CloudTrail's own files are a few MB; a gzip bomb stops here.
	DefaultMaxDecompressed = 1 << 30
	// DefaultMaxRecord caps one record. CloudTrail bounds each free-form
	// field at 100 KB, so real records stay well below a megabyte.
	DefaultMaxRecord = 8 << 20
	// maxDepth caps JSON nesting.
	maxDepth = 512
	// maxLiteral caps a number, true, false or null.
	maxLiteral = 64
)

// DecodeOptions sets the limits of one decode. Zero values take the
// defaults.
type DecodeOptions struct {
	MaxDecompressed int64
	MaxRecord       int
}

func (o DecodeOptions) withDefaults() DecodeOptions {
	if o.MaxDecompressed <= 0 {
		o.MaxDecompressed = DefaultMaxDecompressed
	}
	if o.MaxRecord <= 0 {
		o.MaxRecord = DefaultMaxRecord
	}
	return o
}

// Body describes the bytes of one decoded object.
type Body struct {
	// SHA256 is the hash of the decompressed bytes of the first gzip member
	// (of the whole body when it was not compressed): the value digests
	// list.
	SHA256 [32]byte
	// Size is the decompressed size, Compressed the size as stored.
	Size, Compressed int64
	// Gzip tells whether the body was gzip. A CloudTrail object that is not
	// was decompressed on its way (an HTTP layer honouring
	// Content-Encoding, or a copy made with gunzip).
	Gzip bool
	// Trailing counts bytes after the first gzip member. CloudTrail writes
	// one member; anything after it is not covered by the hash and was
	// appended by someone else.
	Trailing int64
}

// ErrTooLarge is wrapped by decode errors when a limit was reached.
var ErrTooLarge = errors.New("too large")

// DecodeError is a problem with one object's bytes: corrupt gzip, JSON that
// is not a CloudTrail log, a limit reached. Key is set by the pipeline.
type DecodeError struct {
	Key    string
	Offset int64 // offset in the decompressed bytes, when known
	Err    error
}

func (e *DecodeError) Error() string {
	msg := e.Err.Error()
	if e.Offset > 0 {
		msg = fmt.Sprintf("at byte %d: %s", e.Offset, msg)
	}
	if e.Key != "" {
		return "decode " + e.Key + ": " + msg
	}
	return "decode: " + msg
}

func (e *DecodeError) Unwrap() error { return e.Err }

// openBody sniffs r and returns a reader of its decompressed bytes that
// hashes and counts them as they are read, and a function that finishes
// the Body once the caller has read to EOF.
func openBody(r io.Reader, max int64) (*hashingReader, func() (Body, error), error) {
	raw := &countingReader{r: r}
	br := bufio.NewReaderSize(raw, 4<<10)
	magic, err := br.Peek(2)
	if err != nil && !(errors.Is(err, io.EOF) && len(magic) > 0) {
		if errors.Is(err, io.EOF) {
			return nil, nil, errors.New("empty object")
		}
		return nil, nil, err
	}
	hr := &hashingReader{h: sha256.New(), max: max}
	var zr *gzip.Reader
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err = gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip header: %w", err)
		}
		// CloudTrail hashes the first member only; a second member must
		// not be read as if it were part of the file.
		zr.Multistream(false)
		hr.r = zr
	} else {
		hr.r = br
	}
	finish := func() (Body, error) {
		b := Body{Size: hr.n, Gzip: zr != nil}
		hr.h.Sum(b.SHA256[:0])
		if zr != nil {
			// Whatever follows the first member is counted, up to the cap,
			// and never decompressed.
			n, err := io.Copy(io.Discard, io.LimitReader(br, max))
			if err != nil {
				return b, fmt.Errorf("after the gzip member: %w", err)
			}
			b.Trailing = n
		}
		b.Compressed = raw.n
		return b, nil
	}
	return hr, finish, nil
}

// hashingReader hashes and counts what passes through and fails once more
// than max bytes have passed.
type hashingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	max int64
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 {
		h.h.Write(p[:n])
		h.n += int64(n)
		if h.n > h.max {
			return n, fmt.Errorf("decompressed size over %d bytes: %w", h.max, ErrTooLarge)
		}
	}
	return n, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// DecodeLog reads a CloudTrail log or Insights file, {"Records":[...]},
// gzip-compressed or not, and calls yield with each record in file order.
// It streams: memory is bounded by one record, never the whole file. The
// record passed to yield is reused; yield must copy what it keeps.
//
// A record that cannot be decoded is skipped and counted; the first such
// problem is returned as a *DecodeError once the file is read, together
// with a complete Body. A broken gzip stream, a body that is not a JSON
// object with a Records array, or a limit reached stops the decode with a
// *DecodeError. Errors returned by yield stop it and are returned as they
// are.
func DecodeLog(r io.Reader, opts DecodeOptions, yield func(*Record) error) (Body, error) {
	return decodeLog(r, opts, true, yield)
}

// decodeLog is DecodeLog. inPlace lets the decoder take records where they
// lie in the scanner's buffer; the tests turn it off to compare.
func decodeLog(r io.Reader, opts DecodeOptions, inPlace bool, yield func(*Record) error) (Body, error) {
	opts = opts.withDefaults()
	hr, finish, err := openBody(r, opts.MaxDecompressed)
	if err != nil {
		return Body{}, &DecodeError{Err: err}
	}
	sc := newScanner(hr, opts.MaxRecord)
	dec := newRecordDecoder()
	var rec Record
	var firstBad error
	bad := 0
	if inPlace {
		sc.inPlace = func(buf []byte, index int) (int, bool, error) {
			n, more := dec.decodePrefix(buf, opts.MaxRecord, &rec)
			if n == 0 {
				return 0, more, nil
			}
			return n, false, yield(&rec)
		}
	}
	err = sc.records(func(raw []byte, index int) error {
		if err := dec.decode(raw, &rec); err != nil {
			if bad == 0 {
				firstBad = fmt.Errorf("record %d: %w", index, err)
			}
			bad++
			return nil
		}
		return yield(&rec)
	})
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			body, _ := finishQuietly(hr, finish)
			return body, err
		}
		return Body{}, err
	}
	// Read to the end so that the hash covers every byte, trailing
	// whitespace included.
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return Body{}, &DecodeError{Offset: hr.n, Err: err}
	}
	body, err := finish()
	if err != nil {
		return body, &DecodeError{Offset: hr.n, Err: err}
	}
	if bad > 0 {
		return body, &DecodeError{Err: fmt.Errorf("%d of %d records unreadable, first: %w", bad, sc.count, firstBad)}
	}
	return body, nil
}

// finishQuietly completes a Body after a decode error, for the sizes it
// can still report.
func finishQuietly(hr *hashingReader, finish func() (Body, error)) (Body, error) {
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return Body{Size: hr.n}, err
	}
	return finish()
}

// ReadBody reads a small object whole (a digest), with the same gzip and
// hashing rules as DecodeLog, refusing more than max decompressed bytes.
func ReadBody(r io.Reader, max int64) ([]byte, Body, error) {
	hr, finish, err := openBody(r, max)
	if err != nil {
		return nil, Body{}, &DecodeError{Err: err}
	}
	data, err := io.ReadAll(hr)
	if err != nil {
		return nil, Body{Size: hr.n}, &DecodeError{Offset: hr.n, Err: readError(err)}
	}
	body, err := finish()
	if err != nil {
		return nil, body, &DecodeError{Offset: hr.n, Err: err}
	}
	return data, body, nil
}

// readError names the usual gzip failures plainly.
func readError(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("truncated: %w", err)
	case errors.Is(err, gzip.ErrChecksum):
		return fmt.Errorf("gzip checksum mismatch: %w", err)
	}
	return err
}

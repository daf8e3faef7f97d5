package ingest

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

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
	// HashOnly makes DecodeLog decompress and hash a log file without
	// reading its records (none are yielded): what integrity checking
	// needs, at the cost of gunzip and SHA-256 alone.
	HashOnly bool
	// MaxHeldRecords bounds the records a scan holds of one object
	// (default DefaultMaxHeldRecords): past it, Result.Records stops
	// growing, Result.Overflow is set, and the caller reads the records
	// again in batches with StreamRecords. Memory for one object then
	// follows this bound, not the file's record count.
	MaxHeldRecords int
}

// DefaultMaxHeldRecords is DecodeOptions.MaxHeldRecords' default: more
// than a busy account's five-minute file holds, some 16 MB of records.
const DefaultMaxHeldRecords = 8192

func (o DecodeOptions) withDefaults() DecodeOptions {
	if o.MaxDecompressed <= 0 {
		o.MaxDecompressed = DefaultMaxDecompressed
	}
	if o.MaxRecord <= 0 {
		o.MaxRecord = DefaultMaxRecord
	}
	if o.MaxHeldRecords <= 0 {
		o.MaxHeldRecords = DefaultMaxHeldRecords
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

// bodyReader reads the bytes of one object: it sniffs gzip, hashes and
// counts the decompressed bytes as they are read, and finishes the Body
// once the caller has read to EOF. Its buffers, hash and gzip
// decompressor are reused from object to object (see logDecoder).
type bodyReader struct {
	raw countingReader
	br  *bufio.Reader
	// zr is kept once made: its window and Huffman tables are most of
	// what decoding a small file allocates.
	zr   *gzip.Reader
	gzip bool // whether the current object is gzip
	hr   hashingReader
	max  int64
}

// open starts reading r, refusing more than max decompressed bytes.
func (b *bodyReader) open(r io.Reader, max int64) error {
	b.raw = countingReader{r: r}
	if b.br == nil {
		b.br = bufio.NewReaderSize(&b.raw, 4<<10)
	} else {
		b.br.Reset(&b.raw)
	}
	magic, err := b.br.Peek(2)
	if err != nil && !(errors.Is(err, io.EOF) && len(magic) > 0) {
		if errors.Is(err, io.EOF) {
			return errors.New("empty object")
		}
		return err
	}
	if b.hr.h == nil {
		b.hr.h = sha256.New()
	} else {
		b.hr.h.Reset()
	}
	b.hr.n, b.hr.max, b.max = 0, max, max
	b.gzip = len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	if !b.gzip {
		b.hr.r = b.br
		return nil
	}
	if b.zr == nil {
		b.zr, err = gzip.NewReader(b.br)
	} else {
		err = b.zr.Reset(b.br)
	}
	if err != nil {
		return fmt.Errorf("gzip header: %w", err)
	}
	// CloudTrail hashes the first member only; a second member must not
	// be read as if it were part of the file.
	b.zr.Multistream(false)
	b.hr.r = b.zr
	return nil
}

// drain reads hr to its end and completes the Body.
func (b *bodyReader) drain() (Body, error) {
	if _, err := io.Copy(io.Discard, &b.hr); err != nil {
		return Body{}, &DecodeError{Offset: b.hr.n, Err: readError(err)}
	}
	body, err := b.finish()
	if err != nil {
		return body, &DecodeError{Offset: b.hr.n, Err: err}
	}
	return body, nil
}

// finish completes the Body once hr has been read to EOF.
func (b *bodyReader) finish() (Body, error) {
	body := Body{Size: b.hr.n, Gzip: b.gzip}
	b.hr.h.Sum(body.SHA256[:0])
	if b.gzip {
		// Whatever follows the first member is counted, up to the cap,
		// and never decompressed.
		n, err := io.Copy(io.Discard, io.LimitReader(b.br, b.max))
		if err != nil {
			return body, fmt.Errorf("after the gzip member: %w", err)
		}
		body.Trailing = n
	}
	body.Compressed = b.raw.n
	return body, nil
}

// finishQuietly completes a Body after a decode error, for the sizes it
// can still report.
func (b *bodyReader) finishQuietly() (Body, error) {
	if _, err := io.Copy(io.Discard, &b.hr); err != nil {
		return Body{Size: b.hr.n}, err
	}
	return b.finish()
}

// logDecoder is what a decode needs besides the record being decoded:
// the bodyReader, the scanner's buffers and the record decoder. A scan
// reads thousands of files of a few kilobytes, and making these afresh
// for each (the gzip window alone is 32 KB) was most of what decoding
// allocated; pooling them took a third off BenchmarkDecodeLogReal. A pool
// holds no state of the program, only memory: each piece is reset to
// what a fresh one would be, and the scanner reads in the same sizes, so
// reuse changes no result (TestDecodeLogReuse).
type logDecoder struct {
	body bodyReader
	sc   scanner
	dec  *recordDecoder
}

func newLogDecoder() *logDecoder { return &logDecoder{dec: newRecordDecoder()} }

var logDecoders = sync.Pool{New: func() any { return newLogDecoder() }}

func getLogDecoder() *logDecoder { return logDecoders.Get().(*logDecoder) }

func putLogDecoder(ld *logDecoder) {
	ld.tidy()
	logDecoders.Put(ld)
}

// tidy drops the caller's reader and callback, which ld must not keep
// alive, and buffers that one large record made large.
func (ld *logDecoder) tidy() {
	ld.body.raw.r = nil
	ld.sc.release()
	ld.dec.release()
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
// *DecodeError. So does a second top-level member that a JSON reader may
// take for Records ("Records" again, or "records"): readers differ on
// which one they keep, so such a file hides records from some of them.
// The records of the first member have been yielded by then. Errors
// returned by yield stop the decode and are returned as they are.
func DecodeLog(r io.Reader, opts DecodeOptions, yield func(*Record) error) (Body, error) {
	return decodeLog(r, opts, true, yield)
}

// decodeLog is DecodeLog. inPlace lets the decoder take records where they
// lie in the scanner's buffer; the tests turn it off to compare.
func decodeLog(r io.Reader, opts DecodeOptions, inPlace bool, yield func(*Record) error) (Body, error) {
	ld := getLogDecoder()
	defer putLogDecoder(ld)
	return ld.decodeLog(r, opts, inPlace, yield)
}

func (ld *logDecoder) decodeLog(r io.Reader, opts DecodeOptions, inPlace bool, yield func(*Record) error) (Body, error) {
	opts = opts.withDefaults()
	b := &ld.body
	if err := b.open(r, opts.MaxDecompressed); err != nil {
		return Body{}, &DecodeError{Err: err}
	}
	if opts.HashOnly {
		return b.drain()
	}
	sc := &ld.sc
	sc.reset(&b.hr, opts.MaxRecord)
	dec := ld.dec
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
	err := sc.records(func(raw []byte, index int) error {
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
			body, _ := b.finishQuietly()
			return body, err
		}
		return Body{}, err
	}
	// Read to the end so that the hash covers every byte, trailing
	// whitespace included.
	body, err := b.drain()
	if err != nil {
		return body, err
	}
	if bad > 0 {
		return body, &DecodeError{Err: fmt.Errorf("%d of %d records unreadable, first: %w", bad, sc.count, firstBad)}
	}
	return body, nil
}

// ReadBody reads a small object whole (a digest), with the same gzip and
// hashing rules as DecodeLog, refusing more than max decompressed bytes.
func ReadBody(r io.Reader, max int64) ([]byte, Body, error) {
	ld := getLogDecoder()
	defer putLogDecoder(ld)
	b := &ld.body
	if err := b.open(r, max); err != nil {
		return nil, Body{}, &DecodeError{Err: err}
	}
	data, err := io.ReadAll(&b.hr)
	if err != nil {
		return nil, Body{Size: b.hr.n}, &DecodeError{Offset: b.hr.n, Err: readError(err)}
	}
	body, err := b.finish()
	if err != nil {
		return nil, body, &DecodeError{Offset: b.hr.n, Err: err}
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

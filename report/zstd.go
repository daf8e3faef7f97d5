package report

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/format"
)

// zstdWindow bounds the history of the zstd encoder. parquet-go's own
// codec keeps, per encoder, a history as large as the biggest page it
// has compressed (16 MB once a dictionary page of a few MB went through
// it) and one encoder per CPU; pages are 64 KB and dictionaries rarely
// pass 1 MB, so a 1 MB window costs almost no ratio and holds the
// memory of compression to a few MB.
const zstdWindow = 1 << 20

// zstdCodec is a Parquet zstd codec with one encoder of bounded memory.
// Pages are compressed one at a time by the goroutine that writes the
// table, so one encoder is enough; the mutex makes it safe anyway, as
// compress.Codec requires.
type zstdCodec struct {
	mu  sync.Mutex
	enc *zstd.Encoder
	dec *zstd.Decoder
}

var _ compress.Codec = (*zstdCodec)(nil)

func newZstdCodec() *zstdCodec {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(zstdWindow),
		zstd.WithZeroFrames(true),
		zstd.WithEncoderCRC(false),
	)
	if err != nil {
		// Only invalid options fail, and these are constants.
		panic(err)
	}
	return &zstdCodec{enc: enc}
}

func (c *zstdCodec) String() string { return "ZSTD" }

func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enc.EncodeAll(src, dst[:0]), nil
}

// Decode is never used by a writer; it is here for the interface.
func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dec == nil {
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdWindow))
		if err != nil {
			return nil, err
		}
		c.dec = dec
	}
	return c.dec.DecodeAll(src, dst[:0])
}

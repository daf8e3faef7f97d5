package simulate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// BenchmarkRecords measures the inner loop of log generation: building
// 500 records, hashing and compressing them, at several gzip levels.
func BenchmarkRecords(b *testing.B) {
	for _, level := range []int{1, 2, 6} {
		b.Run(fmt.Sprintf("gzip-%d", level), func(b *testing.B) {
			w := newWorld(1, "123456789012", "eu-west-1", []string{"123456789012", "210987654321"})
			g := newRecordGen(newRand(1, "bench"), w, newEventTable(regionalEvents), newEventTable(globalEvents))
			var out bytes.Buffer
			zw, err := gzip.NewWriterLevel(&out, level)
			if err != nil {
				b.Fatal(err)
			}
			var buf []byte
			var raw, compressed int64
			sec := DefaultStart().Unix() + 12*3600
			b.ReportAllocs()
			for b.Loop() {
				buf = append(buf[:0], `{"Records":[`...)
				for i := range 500 {
					if i > 0 {
						buf = append(buf, ',')
					}
					buf, _ = g.appendRandom(buf, sec+int64(i%300), i%4 == 0)
				}
				buf = append(buf, "]}"...)
				sha256.Sum256(buf)
				out.Reset()
				zw.Reset(&out)
				zw.Write(buf)
				zw.Close()
				raw += int64(len(buf))
				compressed += int64(out.Len())
				b.SetBytes(int64(len(buf)))
			}
			b.ReportMetric(float64(raw)/float64(compressed), "ratio")
			b.ReportMetric(float64(compressed)/1e6/b.Elapsed().Seconds(), "gzMB/s")
		})
	}
}

// BenchmarkGenerate writes a one-day, one-account, four-region archive
// with 2,000 events per hour and region; MB/s is compressed output.
func BenchmarkGenerate(b *testing.B) {
	cfg := Config{Seed: 1, AccountCount: 1, EnabledRegions: DefaultRegions(), EventsPerHour: 2000, Keys: NewKeyRing(1)}
	for r := range cfg.EnabledRegions {
		cfg.Keys.get(cfg.EnabledRegions[r])
	}
	var written int64
	for b.Loop() {
		t, err := Generate(context.Background(), cfg, filepath.Join(b.TempDir(), "archive"))
		if err != nil {
			b.Fatal(err)
		}
		written += t.Objects.Bytes
	}
	b.ReportMetric(float64(written)/1e6/b.Elapsed().Seconds(), "MB/s")
}

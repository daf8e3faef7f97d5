package report

import (
	"io"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// simulatedLogs decodes the log files of a small simulated archive (one
// account, two active regions, one day), as the scan hands them to the
// events writer, and returns them with their decompressed size.
func simulatedLogs(b *testing.B) (logs []*ingest.Result, jsonBytes int64) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "archive")
	cfg := simulate.Config{
		Seed:           1,
		AccountCount:   1,
		Regions:        []string{"us-east-1", "eu-west-1"},
		EnabledRegions: []string{"us-east-1", "eu-west-1"},
		EventsPerHour:  400,
	}
	if _, err := simulate.Generate(b.Context(), cfg, dir); err != nil {
		b.Fatal(err)
	}
	src, err := ingest.OpenDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	_, err = ingest.Scan(b.Context(), src, ingest.ScanOptions{Kinds: []ingest.Kind{ingest.KindLog}}, func(r *ingest.Result) error {
		if r.Err != nil {
			b.Fatalf("%s: %v", r.Object.Key, r.Err)
		}
		logs = append(logs, r)
		jsonBytes += r.Body.Size
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return logs, jsonBytes
}

// BenchmarkEventsWriter writes the events table of a simulated day, flat
// and Hive-partitioned, to a writer that only counts: the Parquet
// encoding and zstd compression that analyze does on its single consumer
// goroutine. One op is the whole table; MB/s counts the records' JSON.
func BenchmarkEventsWriter(b *testing.B) {
	logs, jsonBytes := simulatedLogs(b)
	var records int64
	for _, r := range logs {
		records += int64(len(r.Records))
	}
	for _, tc := range []struct {
		name string
		opts EventsOptions
	}{
		{"flat", EventsOptions{}},
		{"hive", EventsOptions{Partitioned: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var written int64
			open := func(Partition) (io.WriteCloser, error) { return countingFile{&written}, nil }
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.SetBytes(jsonBytes)
			b.ReportAllocs()
			for b.Loop() {
				written = 0
				w := NewEventsWriter(open, tc.opts)
				for _, r := range logs {
					if err := w.Write(r, analyzer.VerdictValid); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				if w.Rows() != records {
					b.Fatalf("%d rows, want %d", w.Rows(), records)
				}
			}
			runtime.ReadMemStats(&after)
			rows := float64(records) * float64(b.N)
			b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/rows, "allocs/row")
			b.ReportMetric(float64(written)/float64(records), "parquetB/row")
		})
	}
}

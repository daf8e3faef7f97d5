package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/simulate"
	"github.com/trailcover/trailcover/report"
)

// benchArchiveEnv names an archive directory (with the public keys in
// .trailcover/public-keys.json, as simulate writes them) for
// BenchmarkAnalyze to read instead of its small simulated one: a way to
// profile analyze on a large archive in process, e.g.
//
//	TRAILCOVER_BENCH_ARCHIVE=$HOME/.cache/trailcover-bench/archive-a3-d9-e2000-s1 \
//	  go test ./cmd/trailcover/ -run '^$' -bench Analyze -benchtime 1x -cpuprofile cpu.out
const benchArchiveEnv = "TRAILCOVER_BENCH_ARCHIVE"

// benchPeakHeapEnv names a file where BenchmarkAnalyze writes a heap
// profile taken when the heap in use was at its highest (-memprofile
// shows the heap after the run, when the peak is long gone).
const benchPeakHeapEnv = "TRAILCOVER_BENCH_PEAK_HEAP"

// BenchmarkAnalyze runs `trailcover analyze` end to end, in process:
// listing, decoding, integrity, and every output. One op is the whole run;
// MB/s counts the archive's bytes as stored. The archive is a small
// simulated one (one account, two active regions of the seventeen with
// digest chains, one day) unless benchArchiveEnv names another. For the
// same measure against DuckDB, validate-logs and the gunzip+SHA-256 floor,
// run ./cmd/trailcover-bench.
func BenchmarkAnalyze(b *testing.B) {
	dir := os.Getenv(benchArchiveEnv)
	if dir == "" {
		dir = filepath.Join(b.TempDir(), "archive")
		_, err := simulate.Generate(b.Context(), simulate.Config{
			Seed:          1,
			AccountCount:  1,
			Regions:       []string{"us-east-1", "eu-west-1"},
			EventsPerHour: 400,
		}, dir)
		if err != nil {
			b.Fatal(err)
		}
	}
	var size int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if err == nil && d.Name() == ingest.StateDir {
				return fs.SkipDir
			}
			return err
		}
		info, err := d.Info()
		size += info.Size()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	keys := filepath.Join(dir, ingest.StateDir, "public-keys.json")
	outs := b.TempDir()
	clock := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	if name := os.Getenv(benchPeakHeapEnv); name != "" {
		stop := watchPeakHeap(b, name)
		defer stop()
	}
	var records, objects int64
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		out := filepath.Join(outs, "out")
		err := run(b.Context(), []string{"analyze", "--public-keys", keys, "--out", out, dir}, io.Discard, io.Discard, clock)
		var fe *findingsError
		if err != nil && !errors.As(err, &fe) {
			b.Fatal(err)
		}
		b.StopTimer()
		s, err := readBenchSummary(out)
		if err != nil {
			b.Fatal(err)
		}
		records += int64(s.Records.Total)
		objects += int64(s.Objects.Listed)
		if err := os.RemoveAll(out); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	elapsed := b.Elapsed().Seconds()
	b.ReportMetric(float64(records)/elapsed, "records/s")
	b.ReportMetric(float64(objects)/elapsed, "objects/s")
}

// watchPeakHeap samples the heap in use every 200 ms and, each time it
// passes its highest so far by 5%, writes a heap profile to name. The
// returned stop waits for the sampler to exit.
func watchPeakHeap(b *testing.B, name string) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		var ms runtime.MemStats
		var peak uint64
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				b.Logf("peak heap in use %d MiB, profile in %s", peak>>20, name)
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse < peak+peak/20 {
				continue
			}
			peak = ms.HeapInuse
			f, err := os.Create(name)
			if err != nil {
				b.Error(err)
				return
			}
			err = pprof.Lookup("heap").WriteTo(f, 0)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

func readBenchSummary(out string) (*report.Summary, error) {
	f, err := os.Open(filepath.Join(out, summaryFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return report.ReadSummary(f)
}

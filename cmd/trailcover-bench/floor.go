package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"github.com/trailcover/trailcover/ingest"
)

// floorStats is what the floor process prints.
type floorStats struct {
	Files        int64 `json:"files"`
	Compressed   int64 `json:"compressed"`
	Decompressed int64 `json:"decompressed"`
}

// runFloor is the floor contestant, run as `trailcover-bench floor
// -workers N DIR` in its own process: it decompresses (first gzip member,
// as CloudTrail's hashes cover) and hashes with SHA-256 every log file and
// digest below DIR, the objects trailcover reads, and does nothing else.
// No analyzer can read those bytes faster on the same cores.
func runFloor(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("floor", flag.ContinueOnError)
	workers := flags.Int("workers", runtime.GOMAXPROCS(0), "files decompressed at once")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() != 1 || *workers < 1 {
		return errors.New("usage: trailcover-bench floor -workers N DIR")
	}
	dir := flags.Arg(0)
	paths := make(chan string, 1024)
	var st floorStats
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(paths)
		return walkObjects(dir, func(path, key string, _ fs.DirEntry) error {
			if k := ingest.ParseKey(key).Kind; k != ingest.KindLog && k != ingest.KindDigest {
				return nil
			}
			select {
			case paths <- path:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})
	for range *workers {
		g.Go(func() error {
			h := &floorHasher{buf: make([]byte, 256<<10)}
			for p := range paths {
				if err := h.file(p); err != nil {
					return err
				}
			}
			atomic.AddInt64(&st.Files, h.files)
			atomic.AddInt64(&st.Compressed, h.compressed)
			atomic.AddInt64(&st.Decompressed, h.decompressed)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(st)
}

// floorHasher is one floor worker: its reader, buffers and totals, reused
// from file to file.
type floorHasher struct {
	zr                              *gzip.Reader
	br                              *bufio.Reader
	buf                             []byte
	files, compressed, decompressed int64
}

func (h *floorHasher) file(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if h.br == nil {
		h.br = bufio.NewReaderSize(f, 64<<10)
	} else {
		h.br.Reset(f)
	}
	if h.zr == nil {
		h.zr, err = gzip.NewReader(h.br)
	} else {
		err = h.zr.Reset(h.br)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	h.zr.Multistream(false)
	sum := sha256.New()
	n, err := io.CopyBuffer(sum, h.zr, h.buf)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	sum.Sum(nil)
	info, err := f.Stat()
	if err != nil {
		return err
	}
	h.files++
	h.compressed += info.Size()
	h.decompressed += n
	return nil
}

// runFloorContestant runs the floor on workers cores: one worker with
// GOMAXPROCS=1, or one worker per CPU.
func (b *bench) runFloorContestant(ctx context.Context, a *archive, workers int) *result {
	r := &result{name: fmt.Sprintf("floor: gunzip + SHA-256, %d core", workers)}
	if workers > 1 {
		r.name += "s"
	}
	self, err := os.Executable()
	if err != nil {
		r.err = err
		return r
	}
	cmd := command(ctx, self, "floor", "-workers", fmt.Sprint(workers), a.dir)
	if workers == 1 {
		cmd.Env = envWithout([]string{"GOMAXPROCS="}, "GOMAXPROCS=1")
		r.command = "GOMAXPROCS=1 " + commandLine(cmd)
	} else {
		r.command = commandLine(cmd)
	}
	r.command = strings.Replace(r.command, self, "trailcover-bench", 1)
	out, m, err := measure(cmd, filepath.Join(b.work, fmt.Sprintf("floor-%d.stderr", workers)))
	r.m = m
	if err != nil {
		r.err = err
		return r
	}
	var st floorStats
	if err := json.Unmarshal(out, &st); err != nil {
		r.err = fmt.Errorf("floor printed %q: %w", out, err)
		return r
	}
	r.objects, r.bytes = st.Files, st.Compressed
	// The floor parses nothing: its records/s is the archive's records
	// over its time, the rate no decoder of these bytes can pass.
	r.records = a.truth.Records.Total
	r.note = fmt.Sprintf("%.0f MB of JSON", float64(st.Decompressed)/1e6)
	a.decompressed = st.Decompressed
	return r
}

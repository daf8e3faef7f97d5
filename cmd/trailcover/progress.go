package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// progressReporter shows a scan's progress: a line redrawn in place on a
// terminal, or a structured log line now and then when stderr is a file or
// a pipe (a batch job's log should not fill with redraws).
type progressReporter struct {
	p        *ingest.Progress
	w        io.Writer
	log      *slog.Logger
	terminal bool
	every    time.Duration
	now      func() time.Time
	start    time.Time

	stop     chan struct{}
	stopOnce sync.Once
	done     sync.WaitGroup
}

// isTerminal reports whether w is a character device, the usual sign of
// an interactive terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func startProgress(p *ingest.Progress, w io.Writer, log *slog.Logger, now func() time.Time) *progressReporter {
	r := &progressReporter{p: p, w: w, log: log, terminal: isTerminal(w), now: now, start: now(), stop: make(chan struct{})}
	r.every = time.Minute
	if r.terminal {
		r.every = 250 * time.Millisecond
	}
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		t := time.NewTicker(r.every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.show()
			case <-r.stop:
				return
			}
		}
	}()
	return r
}

func (r *progressReporter) show() {
	listed, done := r.p.Listed.Load(), r.p.Done.Load()
	bytes, records := r.p.Bytes.Load(), r.p.Records.Load()
	elapsed := r.now().Sub(r.start)
	rate := float64(done) / max(elapsed.Seconds(), 1e-3)
	// Until the listing is done, the total is not known: no ETA.
	listing := r.p.Listing.Load() > 0
	eta := "?"
	switch {
	case listing:
		eta = "when listed"
	case rate > 0 && listed > done:
		eta = (time.Duration(float64(listed-done)/rate) * time.Second).Round(time.Second).String()
	case listed == done:
		eta = "0s"
	}
	of := fmt.Sprint(listed)
	if listing {
		of = fmt.Sprintf("%d listed so far (listing…)", listed)
	}
	if r.terminal {
		fmt.Fprintf(r.w, "\r\033[K%d/%s objects, %s, %d records, %.0f objects/s, %.1f MB/s, ETA %s",
			done, of, humanBytes(bytes), records, rate, float64(bytes)/1e6/max(elapsed.Seconds(), 1e-3), eta)
		return
	}
	r.log.Info("progress", "objects_done", done, "objects_listed", listed, "listing", listing, "bytes", bytes, "records", records,
		"objects_per_second", int64(rate), "eta", eta, "elapsed", elapsed.Round(time.Second))
}

// Stop ends the display and waits for its goroutine; later calls do
// nothing.
func (r *progressReporter) Stop() {
	r.stopOnce.Do(func() {
		close(r.stop)
		r.done.Wait()
		if r.terminal {
			fmt.Fprint(r.w, "\r\033[K")
		}
	})
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

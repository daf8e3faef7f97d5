package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/trailcover/trailcover/report"
)

// sizeReport is the local contest on one archive: every contestant reads
// the same directory from the page cache.
type sizeReport struct {
	archive    *archive
	floor1     *result
	floorAll   *result
	trailcover *result
	duckdb     *result
}

// rows are the contestants in table order, those not run left out.
func (r *sizeReport) rows() []*result {
	var rows []*result
	for _, c := range []*result{r.trailcover, r.duckdb, r.floor1, r.floorAll} {
		if c != nil {
			rows = append(rows, c)
		}
	}
	return rows
}

// runLocal runs every local contestant on a, warming the page cache
// before each.
func (b *bench) runLocal(ctx context.Context, a *archive) (*sizeReport, error) {
	rep := &sizeReport{archive: a}
	contest := func(name string, f func() *result) (*result, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b.log.Info("warming the page cache", "dir", a.dir)
		if err := warm(ctx, a.dir); err != nil {
			return nil, fmt.Errorf("read %s: %w", a.dir, err)
		}
		b.log.Info("running", "contestant", name)
		r := b.best(f)
		if r.err != nil {
			b.log.Error("failed", "contestant", r.name, "error", r.err)
		} else if r.skipped != "" {
			b.log.Warn("skipped", "contestant", r.name, "why", r.skipped)
		} else {
			b.log.Info("done", "contestant", r.name, "wall", r.m.wall.Round(1e6), "records", r.records, "peak_rss_mb", r.m.maxRSS>>20)
		}
		return r, ctx.Err()
	}
	var err error
	if b.cfg.peers[peerFloor] {
		if rep.floor1, err = contest("floor, 1 core", func() *result { return b.runFloorContestant(ctx, a, 1) }); err != nil {
			return nil, err
		}
		if n := runtime.NumCPU(); n > 1 {
			if rep.floorAll, err = contest("floor, all cores", func() *result { return b.runFloorContestant(ctx, a, n) }); err != nil {
				return nil, err
			}
		}
	}
	if rep.trailcover, err = contest("trailcover", func() *result { return b.runAnalyzeDir(ctx, a) }); err != nil {
		return nil, err
	}
	if b.cfg.peers[peerDuckDB] {
		if rep.duckdb, err = contest("duckdb", func() *result { return b.runDuckDB(ctx, a) }); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// best runs a contestant -runs times and keeps the run with the least
// wall time (the one least disturbed by whatever else the machine was
// doing), with the highest peak RSS of all runs. A failed or skipped run
// is the result.
func (b *bench) best(f func() *result) *result {
	var best *result
	var peak int64
	for i := range b.cfg.runs {
		r := f()
		if !r.ok() {
			return r
		}
		if i > 0 {
			b.log.Info("run", "contestant", r.name, "run", i+1, "wall", r.m.wall.Round(1e6))
		}
		peak = max(peak, r.m.maxRSS)
		if best == nil || r.m.wall < best.m.wall {
			best = r
		}
	}
	best.m.maxRSS = peak
	if b.cfg.runs > 1 {
		best.note = strings.TrimPrefix(best.note+fmt.Sprintf("; fastest of %d runs, peak RSS the highest", b.cfg.runs), "; ")
	}
	return best
}

// runAnalyzeDir runs `trailcover analyze` on the archive directory with
// every output it writes by default.
func (b *bench) runAnalyzeDir(ctx context.Context, a *archive) *result {
	r := &result{name: "trailcover analyze (directory, all outputs)"}
	out := filepath.Join(b.work, "trailcover-out")
	args := []string{"--public-keys", a.publicKeys()}
	if b.cfg.workers > 0 {
		args = append(args, "--workers", fmt.Sprint(b.cfg.workers))
	}
	s := b.analyze(ctx, r, out, "trailcover-dir.stderr", append(args, a.dir)...)
	if s == nil {
		return r
	}
	r.records, r.objects = int64(s.Records.Total), int64(s.Objects.LogFiles+s.Objects.DigestFiles)
	r.bytes = a.read().bytes
	r.outBytes = dirSize(out)
	if !b.cfg.keep {
		os.RemoveAll(out)
	}
	return r
}

// analyze runs `trailcover analyze --out OUT ARGS…` (OUT emptied first)
// as contestant r, recording its command and cost, and returns the run's
// summary, or nil with r.err set.
func (b *bench) analyze(ctx context.Context, r *result, out, logName string, args ...string) *report.Summary {
	if err := os.RemoveAll(out); err != nil {
		r.err = err
		return nil
	}
	cmd := command(ctx, b.trailcover, append([]string{"analyze", "--out", out}, args...)...)
	r.command = strings.Replace(commandLine(cmd), b.trailcover, "trailcover", 1)
	// Exit status 3 is findings at or above --fail-on: a result, not a
	// failure.
	var err error
	if _, r.m, err = measure(cmd, filepath.Join(b.work, logName), 3); err != nil {
		r.err = err
		return nil
	}
	s, err := readSummary(out)
	if err != nil {
		r.err = err
		return nil
	}
	return s
}

// readSummary reads summary.json from an output folder.
func readSummary(out string) (*report.Summary, error) {
	f, err := os.Open(filepath.Join(out, "summary.json"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return report.ReadSummary(f)
}

// check returns the failures of the contest: contestants that failed, and
// contestants that read other than the archive holds.
func (r *sizeReport) check() []error {
	var errs []error
	a := r.archive
	for _, c := range r.rows() {
		if c.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, c.err))
		}
	}
	want := a.truth.Records.Total
	if c := r.trailcover; c.ok() && c.records != want {
		errs = append(errs, fmt.Errorf("%s read %d records, the archive holds %d", c.name, c.records, want))
	}
	if c := r.duckdb; c.ok() && c.records != want {
		errs = append(errs, fmt.Errorf("%s wrote %d rows, the archive holds %d records", c.name, c.records, want))
	}
	for _, c := range []*result{r.floor1, r.floorAll, r.trailcover} {
		if c.ok() && c.objects != a.read().files {
			errs = append(errs, fmt.Errorf("%s read %d objects, the archive holds %d log files and digests", c.name, c.objects, a.read().files))
		}
	}
	return errs
}

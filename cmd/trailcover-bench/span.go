package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The span contest (-span): how trailcover's cost grows with the time an
// archive spans rather than with its data. It runs `trailcover analyze`
// on archives that differ in one thing:
//
//   - the same records over 9 days and over 3 years (no digests, so that
//     the objects follow the records in both);
//   - a sparse organization: -org-accounts accounts × 17 regions × 3
//     years, one event a day per account and region;
//   - with -genuine DIR, a genuine archive as it is and under 10 account
//     IDs (files copied and renamed): 10× the data, the same span.
//
// Each archive is made once in the cache and reused.

// spanCase is one archive of the span contest.
type spanCase struct {
	name string
	dir  string
	// make creates the archive in dir (a fresh folder); nil when it
	// exists already.
	make func(ctx context.Context, dir string) error
	// state also runs the analysis with --state, to report the state's
	// bytes per object.
	state bool
}

// spanRow is a span case measured.
type spanRow struct {
	c                 spanCase
	r                 *result
	coverageBytes     int64
	stateBytes        int64
	stateObjectsCount int64
}

func (b *bench) spanCases() []spanCase {
	cfg := b.cfg
	sim := func(args ...string) func(ctx context.Context, dir string) error {
		return func(ctx context.Context, dir string) error {
			args := append(append([]string{"simulate", "-seed", fmt.Sprint(cfg.seed)}, args...), dir)
			if out, err := command(ctx, b.trailcover, args...).CombinedOutput(); err != nil {
				return fmt.Errorf("trailcover %q: %v\n%s", args, err, out)
			}
			return nil
		}
	}
	// 20 events an hour for 9 days are 4,320 per account and region;
	// over 1,095 days, about 4 a day.
	cases := []spanCase{
		{name: "3 accounts, 9 days, 20 events/h per region (no digests)", dir: "span-dense",
			make: sim("-accounts", "3", "-days", "9", "-events-per-hour", "20", "-no-digests"), state: true},
		{name: "the same records over 3 years (4 events/day per region)", dir: "span-3y",
			make: sim("-accounts", "3", "-days", "1095", "-events-per-day", "4", "-no-digests"), state: true},
	}
	if cfg.orgAccounts > 0 {
		regions := "ap-northeast-1,ap-northeast-2,ap-northeast-3,ap-south-1,ap-southeast-1,ap-southeast-2,ca-central-1,eu-central-1," +
			"eu-north-1,eu-west-1,eu-west-2,eu-west-3,sa-east-1,us-east-1,us-east-2,us-west-1,us-west-2"
		cases = append(cases, spanCase{
			name: fmt.Sprintf("sparse organization: %d accounts × 17 regions × 3 years, 1 event/day each (no digests)", cfg.orgAccounts),
			dir:  fmt.Sprintf("span-org-a%d", cfg.orgAccounts),
			make: sim("-accounts", fmt.Sprint(cfg.orgAccounts), "-regions", regions, "-days", "1095", "-events-per-day", "1", "-no-digests"),
		})
	}
	if cfg.genuine != "" {
		src := cfg.genuine
		name := filepath.Base(filepath.Clean(src))
		cases = append(cases,
			spanCase{name: "genuine " + name + " as it is", dir: "span-genuine-1-" + name,
				make: func(ctx context.Context, dir string) error { return replicate(src, dir, 1) }},
			spanCase{name: "genuine " + name + " under 10 account IDs", dir: "span-genuine-10-" + name,
				make: func(ctx context.Context, dir string) error { return replicate(src, dir, 10) }})
	}
	return cases
}

// replicate copies the AWSLogs folder of a genuine archive into dir n
// times, the i-th copy under the account ID plus i, in folder and file
// names alike.
func replicate(src, dir string, n int) error {
	root := filepath.Join(src, "AWSLogs")
	accounts, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if !a.IsDir() || len(a.Name()) != 12 {
			continue
		}
		var id int64
		if _, err := fmt.Sscanf(a.Name(), "%d", &id); err != nil {
			continue
		}
		for i := range n {
			to := fmt.Sprintf("%012d", id+int64(i))
			err := filepath.WalkDir(filepath.Join(root, a.Name()), func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(filepath.Join(root, a.Name()), p)
				dst := filepath.Join(dir, "AWSLogs", to, strings.ReplaceAll(rel, a.Name(), to))
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return err
				}
				return os.WriteFile(dst, data, 0o644)
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// runSpan runs the span contest and prints its table.
func (b *bench) runSpan(ctx context.Context, w io.Writer) error {
	var rows []*spanRow
	for _, c := range b.spanCases() {
		dir := filepath.Join(b.cfg.cacheDir, c.dir)
		if b.cfg.regenerate {
			os.RemoveAll(dir)
		}
		if _, err := os.Stat(dir); err != nil {
			partial, err := os.MkdirTemp(b.cfg.cacheDir, c.dir+".partial-")
			if err != nil {
				return err
			}
			os.Remove(partial) // simulate wants a new or empty folder
			b.log.Info("making the archive", "case", c.name, "dir", dir)
			began := time.Now()
			if err := c.make(ctx, partial); err != nil {
				os.RemoveAll(partial)
				return err
			}
			if err := os.Rename(partial, dir); err != nil {
				return err
			}
			b.log.Info("made the archive", "elapsed", time.Since(began).Round(time.Second))
		}
		if err := warm(ctx, dir); err != nil {
			return err
		}
		row := &spanRow{c: c}
		row.r = b.best(func() *result { return b.analyzeSpan(ctx, dir, "", row) })
		if c.state {
			state := filepath.Join(b.work, c.dir+"-state.json")
			os.Remove(state)
			b.analyzeSpan(ctx, dir, state, row)
		}
		rows = append(rows, row)
		b.log.Info("measured", "case", c.name, "wall", row.r.m.wall, "cpu", row.r.m.cpu(), "peak_rss_mb", row.r.m.maxRSS>>20)
	}
	printSpan(w, rows)
	for _, r := range rows {
		if !r.r.ok() {
			return fmt.Errorf("%s: %v", r.c.name, r.r.err)
		}
	}
	return nil
}

// analyzeSpan runs trailcover analyze on dir, with --state when state is
// set (then it only records the state's size on row).
func (b *bench) analyzeSpan(ctx context.Context, dir, state string, row *spanRow) *result {
	r := &result{name: row.c.name}
	out := filepath.Join(b.work, "span-out")
	args := []string{"--no-fetch-keys"}
	if state != "" {
		args = append(args, "--state", state)
	}
	s := b.analyze(ctx, r, out, "span.stderr", append(args, dir)...)
	if s == nil {
		return r
	}
	r.records, r.objects = int64(s.Records.Total), int64(s.Objects.Listed)
	if state != "" {
		if info, err := os.Stat(state); err == nil {
			row.stateBytes, row.stateObjectsCount = info.Size(), r.objects
		}
		return r
	}
	if info, err := os.Stat(filepath.Join(out, "coverage.parquet")); err == nil {
		row.coverageBytes = info.Size()
	}
	return r
}

func printSpan(w io.Writer, rows []*spanRow) {
	fmt.Fprintf(w, "\n## Cost against span\n\n| archive | objects | records | wall | CPU | peak RSS | coverage.parquet | --state, bytes/object |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, row := range rows {
		r := row.r
		if !r.ok() {
			fmt.Fprintf(w, "| %s | failed: %v | | | | | | |\n", row.c.name, r.err)
			continue
		}
		state := "—"
		if row.stateObjectsCount > 0 {
			state = fmt.Sprintf("%.0f", float64(row.stateBytes)/float64(row.stateObjectsCount))
		}
		fmt.Fprintf(w, "| %s | %d | %d | %.2f s | %.2f s | %d MB | %d KB | %s |\n", row.c.name, r.objects, r.records,
			r.m.wall.Seconds(), r.m.cpu().Seconds(), r.m.maxRSS>>20, row.coverageBytes>>10, state)
	}
	ratio := func(a, b *spanRow) (rss, cpu, wall float64, ok bool) {
		if a == nil || b == nil || !a.r.ok() || !b.r.ok() || b.r.m.maxRSS == 0 || b.r.m.cpu() == 0 || b.r.m.wall == 0 {
			return 0, 0, 0, false
		}
		return float64(a.r.m.maxRSS) / float64(b.r.m.maxRSS), a.r.m.cpu().Seconds() / b.r.m.cpu().Seconds(), a.r.m.wall.Seconds() / b.r.m.wall.Seconds(), true
	}
	find := func(prefix string) *spanRow {
		for _, r := range rows {
			if strings.HasPrefix(r.c.dir, prefix) {
				return r
			}
		}
		return nil
	}
	fmt.Fprintf(w, "\n| comparison | peak RSS | CPU | wall | goal |\n| --- | ---: | ---: | ---: | --- |\n")
	if rss, cpu, wall, ok := ratio(find("span-3y"), find("span-dense")); ok {
		fmt.Fprintf(w, "| 3 years ÷ 9 days, same records | %.2f× | %.2f× | %.2f× | cost follows the data, not the span |\n", rss, cpu, wall)
	}
	if rss, cpu, wall, ok := ratio(find("span-genuine-10-"), find("span-genuine-1-")); ok {
		verdict := "met"
		if rss > 1.5 || wall > 15 {
			verdict = "missed"
		}
		fmt.Fprintf(w, "| genuine × 10 accounts ÷ × 1 (10× the data) | %.2f× | %.2f× | %.2f× | RSS ≤ 1.5×, wall ≤ 15×: %s |\n", rss, cpu, wall, verdict)
	}
	if org := find("span-org-"); org != nil && org.r.ok() {
		verdict := "met"
		if org.r.m.maxRSS > 300<<20 {
			verdict = "missed"
		}
		fmt.Fprintf(w, "| sparse organization | %d MB | | | peak RSS under 300 MB: %s |\n", org.r.m.maxRSS>>20, verdict)
	}
}

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// Goals the project set, checked against ratios from one run.
const (
	goalVsDuckDB    = 4.0  // analyze records/s ÷ DuckDB's
	goalOfFloor     = 0.60 // analyze MB/s ÷ the all-core floor's
	goalVsValidate  = 50.0 // integrity objects/s ÷ validate-logs' on one chain
	goalPeakRSS     = 300 << 20
	goalFlatRSSGrow = 1.20 // largest archive's peak RSS ÷ smallest's
)

func printHeader(w io.Writer, cfg *config) {
	fmt.Fprintf(w, "## trailcover benchmark, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "Machine: %s, %d CPUs, %s/%s; %s.\n", cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(w, "Command: `go run ./cmd/trailcover-bench %s`\n", strings.Join(cfg.args, " "))
}

// cpuModel is the CPU's name from /proc/cpuinfo, or "unknown CPU".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func mb(n int64) string { return fmt.Sprintf("%.1f", float64(n)/1e6) }
func mib(n int64) string {
	if n == 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f", float64(n)/(1<<20))
}
func secs(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

// num formats n with thousands separators.
func num(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// printRows prints contestants as a Markdown table, with each one's
// records/s or objects/s set against ref's.
func printRows(w io.Writer, rows []*result, ref *result, byObjects bool) {
	by := "records/s"
	if byObjects {
		by = "objects/s"
	}
	unit := "records"
	if byObjects {
		unit = "objects"
	}
	fmt.Fprintf(w, "| contestant | records | objects | input MB | wall s | CPU s | records/s | MB/s | objects/s | %s per CPU s | peak RSS MiB | output MB | trailcover ÷ it (%s) |\n", unit, by)
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	rate := func(r *result) float64 {
		if byObjects {
			return r.objectsPerSec()
		}
		return r.recordsPerSec()
	}
	perCPU := func(r *result) float64 {
		if byObjects {
			return perSecond(r.objects, r.m.cpu())
		}
		return perSecond(r.records, r.m.cpu())
	}
	for _, r := range rows {
		switch {
		case r.skipped != "":
			fmt.Fprintf(w, "| %s | skipped: %s ||||||||||||\n", r.name, r.skipped)
			continue
		case r.err != nil:
			fmt.Fprintf(w, "| %s | failed: %s ||||||||||||\n", r.name, firstLine(r.err.Error()))
			continue
		}
		rel := "1"
		if r != ref && ref.ok() {
			rel = ratio(rate(ref), rate(r))
		}
		out := "–"
		if r.outBytes > 0 {
			out = mb(r.outBytes)
		}
		records, recordRate := "–", "–"
		if r.records > 0 {
			records, recordRate = num(float64(r.records)), num(r.recordsPerSec())
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %.1f | %s | %s | %s | %s | %s |\n",
			r.name, records, num(float64(r.objects)), mb(r.bytes), secs(r.m.wall), secs(r.m.cpu()),
			recordRate, r.mbPerSec(), num(r.objectsPerSec()), num(perCPU(r)), mib(r.m.maxRSS), out, rel)
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		if r.command != "" {
			line := fmt.Sprintf("- %s: `%s`", r.name, r.command)
			if r.note != "" {
				line += "; " + r.note
			}
			if r.serverCPU > 0 {
				line += fmt.Sprintf("; the server used %s s of CPU", secs(r.serverCPU))
			}
			if r.m.load != "" {
				line += "; load average " + r.m.load + " when it started"
			}
			fmt.Fprintln(w, line)
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.ReplaceAll(s, "|", `\|`)
}

func printLocal(w io.Writer, rep *sizeReport) {
	a := rep.archive
	t := a.truth
	fmt.Fprintf(w, "\n### Local copy, archive of %s\n\n", sizeName(a.size))
	json := ""
	if a.decompressed > 0 {
		json = fmt.Sprintf(", %.2f GB of JSON", float64(a.decompressed)/1e9)
	}
	fmt.Fprintf(w, "`trailcover simulate -accounts %d -days %d -events-per-hour %d -seed %d`: %.2f GB on disk (gzip level 1)%s, %s log files, %s digests, %s records, %d chains. Page cache warmed before each contestant; each runs alone, as its own process.\n\n",
		len(t.Accounts), a.days, a.eventsPerHour, t.Config.Seed, float64(a.read().bytes)/1e9, json,
		num(float64(a.logs.files)), num(float64(a.digests.files)), num(float64(t.Records.Total)), len(t.Chains))
	printRows(w, rep.rows(), rep.trailcover, false)
}

func printIntegrity(w io.Writer, rep *integrityReport) {
	c := rep.chain
	fmt.Fprintf(w, "\n### Integrity of one digest chain over S3, %s\n\n", latencyName(rep.latency))
	if rep.server != "" {
		fmt.Fprintf(w, "Account %s, source region %s, trail %s, %s: %s digests and %s log files (%s MB), in a bucket of their own on %s. Every contestant verifies each digest's signature and each listed log file's SHA-256.\n\n",
			c.account, c.region, c.trail, plural(c.days, "day"), num(float64(c.digests.files)), num(float64(c.logs.files)), mb(c.objects().bytes), rep.server)
	}
	printRows(w, rep.rows(), rep.trailcover, true)
}

// latencyName says what the integrity contest added to each request.
func latencyName(d time.Duration) string {
	if d == 0 {
		return "loopback, no latency added"
	}
	return d.String() + " added to every request"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// sizeName is a size as -size would take it.
func sizeName(n int64) string {
	switch {
	case n >= 1e9 && n%1e8 == 0:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e9), ".0") + " GB"
	case n >= 1e6:
		return fmt.Sprintf("%.0f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%d bytes", n)
}

// verdict is one goal's outcome.
type verdict struct {
	goal, measured, outcome string
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// goals checks the project's goals against the run's results.
func goals(reports []*sizeReport, integ []*integrityReport) []verdict {
	var v []verdict
	for _, rep := range reports {
		at := " (" + sizeName(rep.archive.size) + ")"
		tc := rep.trailcover
		switch d := rep.duckdb; {
		case !tc.ok() || !d.ok():
			v = append(v, verdict{"analyze records/s ≥ 4× DuckDB's" + at, "–", "not measured"})
		default:
			x := tc.recordsPerSec() / d.recordsPerSec()
			v = append(v, verdict{"analyze records/s ≥ 4× DuckDB's" + at,
				fmt.Sprintf("%.2f× (%s vs %s records/s)", x, num(tc.recordsPerSec()), num(d.recordsPerSec())), met(x >= goalVsDuckDB)})
		}
		floor := rep.floorAll
		if floor == nil {
			floor = rep.floor1 // one CPU: all cores is one core
		}
		if tc.ok() && floor.ok() {
			x := tc.mbPerSec() / floor.mbPerSec()
			v = append(v, verdict{"analyze ≥ 60% of the all-core floor" + at,
				fmt.Sprintf("%.0f%% (%.1f vs %.1f MB/s)", 100*x, tc.mbPerSec(), floor.mbPerSec()), met(x >= goalOfFloor)})
		} else {
			v = append(v, verdict{"analyze ≥ 60% of the all-core floor" + at, "–", "not measured"})
		}
		if tc.ok() && tc.m.maxRSS > 0 {
			v = append(v, verdict{"analyze peak RSS < 300 MB" + at, mib(tc.m.maxRSS) + " MiB", met(tc.m.maxRSS < goalPeakRSS)})
		}
	}
	for _, rep := range integ {
		goal := "integrity ≥ 50× validate-logs, objects/s on one chain (" + latencyName(rep.latency) + ")"
		tc, full, cli := rep.integrityOnly, rep.trailcover, rep.validate
		if !tc.ok() || !cli.ok() {
			v = append(v, verdict{goal, "–", "not measured"})
			continue
		}
		x := tc.objectsPerSec() / cli.objectsPerSec()
		measured := fmt.Sprintf("analyze --integrity-only %.1f× (%s vs %s objects/s)", x, num(tc.objectsPerSec()), num(cli.objectsPerSec()))
		if full.ok() {
			measured += fmt.Sprintf("; analyze with records and every output %.1f×", full.objectsPerSec()/cli.objectsPerSec())
		}
		v = append(v, verdict{goal, measured, met(x >= goalVsValidate)})
	}
	if len(integ) == 0 {
		v = append(v, verdict{"integrity ≥ 50× validate-logs, objects/s on one chain", "–", "not measured"})
	}
	var small, large *sizeReport
	for _, rep := range reports {
		if !rep.trailcover.ok() || rep.trailcover.m.maxRSS == 0 {
			continue
		}
		if small == nil || rep.archive.size < small.archive.size {
			small = rep
		}
		if large == nil || rep.archive.size > large.archive.size {
			large = rep
		}
	}
	if small != nil && large != nil && small != large {
		x := float64(large.trailcover.m.maxRSS) / float64(small.trailcover.m.maxRSS)
		v = append(v, verdict{fmt.Sprintf("peak RSS flat from %s to %s (grows ≤ 20%%)", sizeName(small.archive.size), sizeName(large.archive.size)),
			fmt.Sprintf("%s → %s MiB (%+.0f%%)", mib(small.trailcover.m.maxRSS), mib(large.trailcover.m.maxRSS), 100*(x-1)), met(x <= goalFlatRSSGrow)})
	} else {
		v = append(v, verdict{"peak RSS flat as the archive grows", "–", "not measured: run with -size 1GB,10GB"})
	}
	return v
}

func printGoals(w io.Writer, reports []*sizeReport, integ []*integrityReport) {
	fmt.Fprintf(w, "\n### Goals\n\n| goal | measured | verdict |\n| --- | --- | --- |\n")
	for _, v := range goals(reports, integ) {
		fmt.Fprintf(w, "| %s | %s | %s |\n", v.goal, v.measured, v.outcome)
	}
}

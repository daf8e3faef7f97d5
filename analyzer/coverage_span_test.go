package analyzer

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// TestCoverageSparseSpan: three years of an account's 17 regions, a log
// file every few days in each (no digests: validation off). What
// coverage holds once each region's scope has ended, and the runs it
// reports, follow the files, not the 26,000 hours spanned; and the result
// is the one an analysis that never ends a scope gives.
func TestCoverageSparseSpan(t *testing.T) {
	regions := []string{
		"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
		"ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
		"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	}
	const span = 3 * 365 * 24 // hours
	var a covArchive
	r := rand.New(rand.NewPCG(16, 3))
	byRegion := map[string][]*ingest.Result{}
	files := 0
	for _, region := range regions {
		for h := r.IntN(72); h < span; h += 24 + r.IntN(96) {
			a.log(covAcctA, region, covAt(h, 5+r.IntN(50)))
			byRegion[region] = append(byRegion[region], a.objects[len(a.objects)-1])
			files++
		}
	}
	cfg := Config{ExpectRegions: regions}

	whole := a.run(cfg, nil)

	an := New(cfg)
	for _, region := range regions {
		for _, o := range byRegion[region] {
			an.Observe(o)
		}
		an.EndScope(ingest.Scope{Account: covAcctA, Region: region})
		if n := len(an.coverage.regionDays[acctRegion{covAcctA, region}]); n != 0 {
			t.Fatalf("%s: %d days of cells kept after its scope ended", region, n)
		}
	}
	if n := len(an.coverage.days); n != 0 {
		t.Errorf("%d days of cells kept after every scope ended", n)
	}
	held := 0
	for _, runs := range an.coverage.compact {
		held += len(runs)
	}
	// A file's hour is one run (its record falls in it), or two when the
	// record falls in the hour before.
	if held > 2*files {
		t.Errorf("coverage holds %d runs for %d files", held, files)
	}
	res := an.Finish(nil)
	cov := res.Coverage.Rows()

	// Each region: runs of delivered hours between runs of missing ones.
	if max := 2*files + len(regions); len(cov) > max {
		t.Errorf("%d coverage runs for %d files in %d regions (at most %d)", len(cov), files, len(regions), max)
	}
	hours := map[string]int{}
	logs := 0
	for _, row := range cov {
		hours[row.Region] += row.Hours
		logs += row.LogFiles
	}
	first, last := cov[0].Start, cov[0].End
	for _, row := range cov {
		if row.Start.Before(first) {
			first = row.Start
		}
		if row.End.After(last) {
			last = row.End
		}
	}
	spanned := int(last.Sub(first) / time.Hour)
	if spanned < span-100 {
		t.Errorf("coverage spans %d hours, the archive about %d", spanned, span)
	}
	for _, region := range regions {
		if hours[region] != spanned {
			t.Errorf("%s: runs cover %d of %d hours", region, hours[region], spanned)
		}
	}
	if logs != files {
		t.Errorf("runs count %d log files, the archive holds %d", logs, files)
	}
	t.Logf("%d files over %d hours × %d regions (%d region-hours): %d runs held, %d reported", files, spanned, len(regions), spanned*len(regions), held, len(cov))

	if !reflect.DeepEqual(cov, whole.Coverage.Rows()) {
		t.Error("coverage with scopes ended differs from the whole analysis")
	}
	gj, _ := json.Marshal(res.Findings)
	wj, _ := json.Marshal(whole.Findings)
	if string(gj) != string(wj) {
		t.Errorf("findings differ:\n got %s\nwant %s", gj, wj)
	}
}

// TestMergeRuns: runs of one region read in two scopes add up hour by
// hour, whatever their overlap.
func TestMergeRuns(t *testing.T) {
	c := func(n int32) hourCell { return hourCell{logFiles: n} }
	a := []cellRun{{0, 5, c(1)}, {10, 2, c(2)}}
	b := []cellRun{{3, 4, c(1)}, {11, 3, c(4)}, {20, 1, c(1)}}
	got := mergeRuns(a, b)
	want := []cellRun{{0, 3, c(1)}, {3, 2, c(2)}, {5, 2, c(1)}, {10, 1, c(2)}, {11, 1, c(6)}, {12, 2, c(4)}, {20, 1, c(1)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mergeRuns:\n got %v\nwant %v", got, want)
	}
	// Hour by hour, the same sums.
	perHour := func(runs []cellRun) map[int64]int32 {
		m := map[int64]int32{}
		for _, r := range runs {
			for h := r.start; h < r.end(); h++ {
				m[h] += r.cell.logFiles
			}
		}
		return m
	}
	sum := perHour(a)
	for h, v := range perHour(b) {
		sum[h] += v
	}
	if !reflect.DeepEqual(perHour(got), sum) {
		t.Errorf("per hour %v, want %v", perHour(got), sum)
	}
}

// TestSparseGapsByChance: 17 regions without digests over 3 years, each
// hour holding a log file with chance 1/24. A silence of a week happens
// by chance in such a region; one of 60 days planted in eu-west-1 does
// not. Only that one is a delivery gap.
func TestSparseGapsByChance(t *testing.T) {
	regions := []string{
		"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
		"ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
		"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	}
	const span = 3 * 365 * 24
	planted := [2]int{400 * 24, 460 * 24}
	var a covArchive
	r := rand.New(rand.NewPCG(24, 60))
	for _, region := range regions {
		// Every region delivers in the first and last hour, so the span
		// is the same for all.
		for h := range span {
			if region == "eu-west-1" && h >= planted[0] && h < planted[1] {
				continue
			}
			if h == 0 || h == span-1 || r.IntN(24) == 0 {
				a.log(covAcctA, region, covAt(h, 5))
			}
		}
	}
	res := a.run(Config{ExpectRegions: regions}, nil)
	gaps := covFindings(res, KindDeliveryGap)
	if len(gaps) != 1 {
		for _, g := range gaps {
			t.Logf("%s %s: %s", g.Severity, g.Region, g.Title)
		}
		t.Fatalf("%d delivery gaps, want the one planted", len(gaps))
	}
	g := gaps[0]
	if g.Region != "eu-west-1" || g.Start.After(covAt(planted[0], 0)) || g.End.Before(covAt(planted[1], 0)) {
		t.Errorf("gap %s %s to %s, want eu-west-1 over %s to %s", g.Region, g.Start, g.End, covAt(planted[0], 0), covAt(planted[1], 0))
	}
}

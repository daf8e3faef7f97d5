package analyzer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/simulate"
	"github.com/trailcover/trailcover/report"
)

// coverageKinds are the finding kinds this end-to-end test is about;
// integrity findings are tested elsewhere.
var coverageKinds = []string{
	analyzer.KindRegionNotLogged, analyzer.KindDeliveryGap, analyzer.KindLoggingChanged,
	analyzer.KindGlobalEventsOff, analyzer.KindOutsideAllowlist,
}

// TestCoverageEndToEnd generates an archive holding the reference's seed
// scenarios (crypto mining in sa-east-1, an RDS and EBS snapshot copied to
// ap-northeast-3, denied attempts in a region locked by SCP), a
// single-region trail, a stopped and restarted trail, a delivery gap and
// an account without global events, with an allowlist that leaves out
// us-east-1. It scans the archive as trailcover does and checks that
// every planted problem is found, with the right kind, account and region,
// and that nothing else of these kinds is reported.
func TestCoverageEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and scans an archive")
	}
	ctx := context.Background()
	dir := t.TempDir()
	allow := []string{"eu-central-1", "eu-west-1", "us-west-2"}
	cfg := simulate.Config{
		Seed:          20260807,
		AccountCount:  3,
		Days:          1,
		EventsPerHour: 20,
		// us-east-1 has only global-service events: exempt although the
		// allowlist leaves it out.
		Regions: allow,
		Scenarios: []simulate.Scenario{
			{Name: simulate.ScenarioRegionNotLogged},
			{Name: simulate.ScenarioLoggingStopped},
			{Name: simulate.ScenarioCryptoMining, Region: "sa-east-1"},
			{Name: simulate.ScenarioSnapshotExfil, Region: "ap-northeast-3"},
			{Name: simulate.ScenarioDeniedAttempts},
			{Name: simulate.ScenarioDeliveryGap},
			{Name: simulate.ScenarioGlobalEventsOff},
		},
	}
	began := time.Now()
	truth, err := simulate.Generate(ctx, cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated %d objects in %s", truth.Objects.OnDisk, time.Since(began).Round(time.Millisecond))
	for _, s := range truth.Scenarios {
		if !s.Applied {
			t.Fatalf("scenario %s was not applied: %+v", s.Name, s)
		}
	}

	start, _ := time.Parse(time.RFC3339, truth.Window.Start)
	end, _ := time.Parse(time.RFC3339, truth.Window.End)
	for _, w := range []struct {
		name   string
		window ingest.Window
	}{
		{"whole archive", ingest.Window{}},
		{"simulated days", ingest.Window{Start: start, End: end}},
	} {
		t.Run(w.name, func(t *testing.T) {
			began := time.Now()
			res := scanArchive(t, dir, analyzer.Config{Window: w.window, AllowRegions: allow, Bucket: truth.Bucket})
			t.Logf("scanned %d objects, %d records in %s", res.Objects.Listed, res.Records.Total, time.Since(began).Round(time.Millisecond))
			checkPlanted(t, res, truth)
			checkCoverageRows(t, res, truth, w.window)
			checkSummary(t, res, truth)
		})
	}
}

// scanArchive analyzes a directory as trailcover analyze does: digests
// first, then everything else.
func scanArchive(t *testing.T, dir string, cfg analyzer.Config) *analyzer.Result {
	t.Helper()
	src, err := ingest.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a := analyzer.New(cfg)
	inv := &ingest.Inventory{}
	for _, kinds := range [][]ingest.Kind{{ingest.KindDigest}, {ingest.KindLog, ingest.KindInsight, ingest.KindOther}} {
		part, err := ingest.Scan(context.Background(), src, ingest.ScanOptions{Kinds: kinds, Window: cfg.Window, Workers: 8}, func(r *ingest.Result) error {
			a.Observe(r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		inv.Scopes = append(inv.Scopes, part.Scopes...)
	}
	return a.Finish(inv)
}

// checkPlanted checks that every planted problem is found with the right
// kind, account and region, and that nothing else of coverageKinds is.
func checkPlanted(t *testing.T, res *analyzer.Result, truth *simulate.Truth) {
	t.Helper()
	// Every finding of these kinds must be claimed by a planted problem.
	found := map[string][]analyzer.Finding{}
	for _, f := range res.Findings {
		if slices.Contains(coverageKinds, f.Kind) {
			found[f.Kind] = append(found[f.Kind], f)
		}
	}
	claimed := map[*analyzer.Finding]bool{}
	claim := func(kind, account, region string, match func(f *analyzer.Finding) bool, what string) *analyzer.Finding {
		t.Helper()
		for i := range found[kind] {
			f := &found[kind][i]
			if f.Account == account && f.Region == region && (match == nil || match(f)) {
				claimed[f] = true
				return f
			}
		}
		t.Errorf("%s: no %s finding for account %s region %q", what, kind, account, region)
		return nil
	}

	// The single-region trail: every other expected region, one finding
	// each. Global events of that account go unlogged with us-east-1.
	for _, acct := range truth.Accounts {
		for _, region := range acct.RegionsNotLogged {
			f := claim(analyzer.KindRegionNotLogged, acct.Account, region, nil, "region-not-logged")
			if f != nil && !acct.MultiRegion && f.Evidence["likely_cause"] != "single-region trail" {
				t.Errorf("region-not-logged %s/%s: cause %v, want single-region trail", acct.Account, region, f.Evidence["likely_cause"])
			}
		}
	}

	// The stopped trail: StopLogging (high) and StartLogging (info), and
	// one gap over all the account's regions, linked to the StopLogging.
	for _, acct := range truth.Accounts {
		for _, stop := range acct.LoggingStops {
			f := claim(analyzer.KindLoggingChanged, acct.Account, acct.HomeRegion, func(f *analyzer.Finding) bool {
				return f.Evidence["event_id"] == stop.StopEventID
			}, "StopLogging")
			if f != nil && f.Severity != analyzer.High {
				t.Errorf("StopLogging severity %v, want high", f.Severity)
			}
			if stop.StartEventID != "" {
				claim(analyzer.KindLoggingChanged, acct.Account, acct.HomeRegion, func(f *analyzer.Finding) bool {
					return f.Evidence["event_id"] == stop.StartEventID && f.Severity == analyzer.Info
				}, "StartLogging")
			}
			stopped, _ := time.Parse(time.RFC3339, stop.Stopped)
			restarted, _ := time.Parse(time.RFC3339, stop.Restarted)
			g := claim(analyzer.KindDeliveryGap, acct.Account, "", func(f *analyzer.Finding) bool {
				return overlaps(f.Start, f.End, stopped, restarted)
			}, "logging stopped")
			if g != nil {
				if ex, _ := g.Evidence["explained_by"].(map[string]any); ex["event_id"] != stop.StopEventID {
					t.Errorf("gap %s..%s explained by %v, want %s", g.Start, g.End, g.Evidence["explained_by"], stop.StopEventID)
				}
				if g.Severity != analyzer.High {
					t.Errorf("logging-stopped gap severity %v, want high", g.Severity)
				}
			}
		}
	}

	// The delivery gap of one region.
	for _, chain := range truth.Chains {
		for _, gap := range chain.Gaps {
			start, _ := time.Parse(time.RFC3339, gap.Start)
			end, _ := time.Parse(time.RFC3339, gap.End)
			g := claim(analyzer.KindDeliveryGap, chain.Account, chain.Region, func(f *analyzer.Finding) bool {
				return overlaps(f.Start, f.End, start, end)
			}, "delivery gap")
			if g != nil && (!g.Start.Equal(start) || g.End.After(end)) {
				t.Errorf("delivery gap %s/%s found %s..%s, planted %s..%s", chain.Account, chain.Region, g.Start, g.End, start, end)
			}
		}
	}

	// Global events off: the setting off, or no trail logging us-east-1,
	// where CloudTrail records them (a single-region trail elsewhere).
	for _, acct := range truth.Accounts {
		if !acct.GlobalEvents {
			claim(analyzer.KindGlobalEventsOff, acct.Account, "", nil, "global events off")
		}
	}

	// Activity outside the allowlist: one finding per account × region,
	// severity by what happened, counts as planted.
	for _, act := range truth.Activity {
		if !act.OutsideAllowlist {
			continue
		}
		f := claim(analyzer.KindOutsideAllowlist, act.Account, act.Region, nil, act.Scenario)
		if f == nil {
			continue
		}
		want := analyzer.Medium
		switch {
		case act.SucceededWrites > 0:
			want = analyzer.Critical
		case act.Denied > 0:
			want = analyzer.High
		}
		if f.Severity != want {
			t.Errorf("%s in %s: severity %v, want %v", act.Scenario, act.Region, f.Severity, want)
		}
		for k, n := range map[string]int{"succeeded_writes": act.SucceededWrites, "denied_attempts": act.Denied, "read_only_calls": act.ReadOnly, "other_failures": act.FailedWrites} {
			if f.Evidence[k] != n {
				t.Errorf("%s in %s: %s = %v, want %d", act.Scenario, act.Region, k, f.Evidence[k], n)
			}
		}
		ids, _ := f.Evidence["sample_event_ids"].([]string)
		for _, id := range ids {
			if !slices.Contains(act.EventIDs, id) {
				t.Errorf("%s in %s: sample %s was not planted", act.Scenario, act.Region, id)
			}
		}
	}

	for _, kind := range coverageKinds {
		for i := range found[kind] {
			f := &found[kind][i]
			if !claimed[f] {
				t.Errorf("unexpected %s %s finding %s/%s: %s\n%s", f.Severity, f.Kind, f.Account, f.Region, f.Title, f.Detail)
				continue
			}
			if f.Kind != analyzer.KindRegionNotLogged {
				t.Logf("%-8s %-26s %s %-14s %s", f.Severity, f.Kind, f.Account, f.Region, f.Title)
			}
		}
	}

	if !slices.ContainsFunc(res.Exemptions, func(s string) bool { return strings.HasPrefix(s, "iam.amazonaws.com in us-east-1") }) {
		t.Errorf("Exemptions = %v", res.Exemptions)
	}
	if res.Records.Duplicates != int(truth.Records.Duplicates) || res.Records.Total != int(truth.Records.Total) {
		t.Errorf("records = %+v, truth %+v", res.Records, truth.Records)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func overlaps(aStart, aEnd, bStart, bEnd time.Time) bool {
	return aStart.Before(bEnd) && bStart.Before(aEnd)
}

// checkCoverageRows checks coverage.parquet's rows: one per account ×
// region × hour, sorted, and the planted gaps marked missing.
func checkCoverageRows(t *testing.T, res *analyzer.Result, truth *simulate.Truth, window ingest.Window) {
	t.Helper()
	cov := res.Coverage.Rows()
	if !sort.SliceIsSorted(cov, func(i, j int) bool {
		a, b := cov[i], cov[j]
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.Start.Before(b.Start)
	}) {
		t.Error("coverage runs are not sorted by account, region, start")
	}
	// Each account × region's runs tile the same hours without a hole or
	// an overlap: with a window, every hour of it; without, the hours the
	// archive has data for. Neighbouring runs differ in status.
	first, last := cov[0].Start, cov[0].End
	for _, row := range cov {
		first, last = minTime(first, row.Start), maxTime(last, row.End)
	}
	if !window.Start.IsZero() && (!first.Equal(window.Start) || !last.Equal(window.End)) {
		t.Errorf("coverage runs span %s to %s, the window %s to %s", first, last, window.Start, window.End)
	}
	if want := time.Duration(truth.Config.Days) * 24 * time.Hour; window.Start.IsZero() && last.Sub(first) < want {
		t.Errorf("coverage runs span %s, the archive %s", last.Sub(first), want)
	}
	type pair struct{ account, region string }
	hoursOf := map[pair]int{}
	for i, row := range cov {
		k := pair{row.Account, row.Region}
		if row.Hours < 1 || !row.End.Equal(row.Start.Add(time.Duration(row.Hours)*time.Hour)) {
			t.Errorf("%s/%s: run of %d hours from %s to %s", row.Account, row.Region, row.Hours, row.Start, row.End)
		}
		if hoursOf[k] == 0 && !row.Start.Equal(first) {
			t.Errorf("%s/%s: first run starts %s, not %s", row.Account, row.Region, row.Start, first)
		}
		if i > 0 {
			prev := cov[i-1]
			if (pair{prev.Account, prev.Region}) == k {
				if !prev.End.Equal(row.Start) {
					t.Errorf("%s/%s: run ends %s, the next starts %s", row.Account, row.Region, prev.End, row.Start)
				}
				if prev.Status == row.Status && prev.DigestEmptyProof == row.DigestEmptyProof && (prev.Digests > 0) == (row.Digests > 0) {
					t.Errorf("%s/%s: two neighbouring runs of status %s at %s", row.Account, row.Region, row.Status, row.Start)
				}
			}
		}
		hoursOf[k] += row.Hours
	}
	hours := int(last.Sub(first).Hours())
	for k, n := range hoursOf {
		if n != hours {
			t.Errorf("%s/%s: runs cover %d hours, want %d", k.account, k.region, n, hours)
		}
	}
	for _, acct := range res.Accounts {
		regions := len(slices.Compact(slices.Sorted(slices.Values(slices.Concat(acct.RegionsDelivering, acct.RegionsExpected)))))
		got := 0
		for k := range hoursOf {
			if k.account == acct.Account {
				got++
			}
		}
		if got != regions {
			t.Errorf("account %s: coverage for %d regions, want %d", acct.Account, got, regions)
		}
		if p, ok := res.CoveragePercent(acct.Account); !ok || p <= 0 || p > 100 {
			t.Errorf("account %s: coverage %v%%", acct.Account, p)
		}
	}
	for _, chain := range truth.Chains {
		for _, gap := range chain.Gaps {
			gs, _ := time.Parse(time.RFC3339, gap.Start)
			ge, _ := time.Parse(time.RFC3339, gap.End)
			for _, row := range cov {
				if row.Account == chain.Account && row.Region == chain.Region && row.Start.Before(ge) && row.End.After(gs) && row.Status != analyzer.CoverageMissing {
					t.Errorf("%s/%s %s–%s: status %s inside a planted gap", row.Account, row.Region, row.Start, row.End, row.Status)
				}
			}
		}
	}
	// Quiet regions (no regular traffic) still deliver: digests prove
	// their empty hours.
	quiet := 0
	for _, row := range cov {
		if row.Status == analyzer.CoverageQuiet && row.DigestEmptyProof {
			quiet++
		}
	}
	if quiet == 0 {
		t.Error("no quiet hour proven by digests")
	}
}

// checkSummary writes summary.json and checks it carries every account's
// regions and the findings.
func checkSummary(t *testing.T, res *analyzer.Result, truth *simulate.Truth) {
	t.Helper()
	var buf bytes.Buffer
	if err := report.WriteSummary(&buf, report.NewSummary(report.Run{ToolName: "trailcover", Source: "test"}, res)); err != nil {
		t.Fatal(err)
	}
	var s struct {
		Accounts []struct {
			Account           string   `json:"account"`
			RegionsExpected   []string `json:"regions_expected"`
			RegionsDelivering []string `json:"regions_delivering"`
			RegionsMissing    []string `json:"regions_missing"`
		} `json:"accounts"`
		Findings []struct {
			Kind    string `json:"kind"`
			Account string `json:"account"`
			Region  string `json:"region"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(buf.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Accounts) != len(truth.Accounts) {
		t.Fatalf("summary has %d accounts, truth %d", len(s.Accounts), len(truth.Accounts))
	}
	for i, acct := range s.Accounts {
		tr := truth.Account(acct.Account)
		if tr == nil {
			t.Errorf("summary account %s not in truth", acct.Account)
			continue
		}
		if !slices.Equal(acct.RegionsMissing, tr.RegionsNotLogged) && !(len(acct.RegionsMissing) == 0 && len(tr.RegionsNotLogged) == 0) {
			t.Errorf("account %s: regions_missing %v, truth %v", acct.Account, acct.RegionsMissing, tr.RegionsNotLogged)
		}
		if !slices.Equal(acct.RegionsDelivering, tr.RegionsDelivering) {
			t.Errorf("account %s: regions_delivering %v, truth %v", acct.Account, acct.RegionsDelivering, tr.RegionsDelivering)
		}
		if len(acct.RegionsExpected) == 0 || acct.RegionsExpected == nil {
			t.Errorf("account %s: no regions_expected", acct.Account)
		}
		if want := res.Accounts[i]; !slices.Equal(acct.RegionsExpected, want.RegionsExpected) {
			t.Errorf("account %s: regions_expected %v, result %v", acct.Account, acct.RegionsExpected, want.RegionsExpected)
		}
	}
	if len(s.Findings) != len(res.Findings) {
		t.Errorf("summary has %d findings, result %d", len(s.Findings), len(res.Findings))
	}
	kinds := map[string]int{}
	for _, f := range s.Findings {
		kinds[f.Kind]++
	}
	for _, k := range coverageKinds {
		if kinds[k] == 0 {
			t.Errorf("summary.json has no %s finding", k)
		}
	}
	t.Logf("summary findings by kind: %s", fmt.Sprint(kinds))
}

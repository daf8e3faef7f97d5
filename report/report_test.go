package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/trailcover/trailcover/analyzer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenBase is where the golden fixture's payloads would fetch from.
const goldenBase = "http://127.0.0.1:9"

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the golden file at line %d:\n got %q\nwant %q\n(run go test -update if the change is intended)", name, i+1, g, w)
			}
		}
	}
}

func render(t *testing.T, write func(io.Writer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSummaryGolden(t *testing.T) {
	p := newPayloads(goldenBase)
	got := render(t, func(w io.Writer) error { return WriteSummary(w, NewSummary(fixtureRun(p), fixtureResult(p))) })
	golden(t, "summary.json", got)

	// The contract's fields are all there, under their names.
	var s map[string]any
	if err := json.Unmarshal(got, &s); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"tool.name", "tool.version", "source", "window.start", "window.end",
		"objects.listed", "objects.log_files", "objects.digest_files", "objects.insight_files", "objects.other", "objects.unreadable",
		"records.total", "records.duplicates",
		"accounts.0.account", "accounts.0.org_id", "accounts.0.trails", "accounts.0.regions_expected",
		"accounts.0.regions_delivering", "accounts.0.regions_missing",
		"integrity.chains.0.account", "integrity.chains.0.region", "integrity.chains.0.trail",
		"integrity.chains.0.digests_valid", "integrity.chains.0.digests_invalid", "integrity.chains.0.digests_missing",
		"integrity.chains.0.digests_unverifiable", "integrity.chains.0.logs_valid", "integrity.chains.0.logs_invalid",
		"integrity.chains.0.logs_missing", "integrity.chains.0.logs_unlisted",
		"findings.0.kind", "findings.0.severity", "findings.0.account", "findings.0.region", "findings.0.start",
		"findings.0.end", "findings.0.title", "findings.0.detail", "findings.0.evidence",
	} {
		var v any = s
		for _, k := range strings.Split(path, ".") {
			switch x := v.(type) {
			case map[string]any:
				v = x[k]
			case []any:
				v = nil
				if k == "0" && len(x) > 0 {
					v = x[0]
				}
			default:
				v = nil
			}
		}
		if v == nil {
			t.Errorf("summary.json has no %s", path)
		}
	}
}

func TestSummaryEmptyResult(t *testing.T) {
	got := render(t, func(w io.Writer) error { return WriteSummary(w, NewSummary(Run{}, &analyzer.Result{})) })
	for _, want := range []string{`"accounts": []`, `"chains": []`, `"findings": []`, `"exemptions": []`} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("empty summary lacks %s:\n%s", want, got)
		}
	}
}

func TestHTMLGolden(t *testing.T) {
	p := newPayloads(goldenBase)
	got := render(t, func(w io.Writer) error { return WriteHTML(w, fixtureRun(p), fixtureResult(p)) })
	golden(t, "report.html", got)
}

// TestHTMLSafe checks the page's safety properties on its source; the
// browser test checks them where they matter.
func TestHTMLSafe(t *testing.T) {
	p := newPayloads(goldenBase)
	page := string(render(t, func(w io.Writer) error { return WriteHTML(w, fixtureRun(p), fixtureResult(p)) }))
	const csp = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">`
	if i := strings.Index(page, csp); i < 0 || i > strings.Index(page, "<title>") {
		t.Errorf("the CSP meta tag is missing or comes after <title>")
	}
	for _, tag := range []string{"<script", "<img", "<iframe", "<object", `<link rel="stylesheet"`, "<link rel=stylesheet", "<base", "<a ", "<meta http-equiv=\"refresh\"", "<svg onload", "<style>body"} {
		if strings.Contains(page, tag) {
			t.Errorf("page holds %q", tag)
		}
	}
	if regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?https?:`).MatchString(page) {
		t.Errorf("page references a URL")
	}
	for _, s := range p.all() {
		if strings.Contains(page, s) {
			t.Errorf("payload appears unescaped: %s", s)
		}
	}
	if strings.ContainsRune(page, '\u202e') || !strings.Contains(page, "[U+202E]gpj.exe") {
		t.Errorf("a right-to-left override reaches the page as a control, not as text")
	}
}

// TestOutputsDeterministic writes every deterministic output twice from
// equal values and expects equal bytes.
func TestOutputsDeterministic(t *testing.T) {
	p := newPayloads(goldenBase)
	outputs := map[string]func(io.Writer, *analyzer.Result) error{
		"summary.json": func(w io.Writer, res *analyzer.Result) error {
			return WriteSummary(w, NewSummary(fixtureRun(p), res))
		},
		"report.html":      func(w io.Writer, res *analyzer.Result) error { return WriteHTML(w, fixtureRun(p), res) },
		"findings.parquet": func(w io.Writer, res *analyzer.Result) error { return WriteFindings(w, Run{}, res) },
		"coverage.parquet": func(w io.Writer, res *analyzer.Result) error { return WriteCoverage(w, res.Coverage) },
	}
	for _, name := range slices.Sorted(maps.Keys(outputs)) {
		a := render(t, func(w io.Writer) error { return outputs[name](w, fixtureResult(p)) })
		b := render(t, func(w io.Writer) error { return outputs[name](w, fixtureResult(p)) })
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

func readAll[T any](t *testing.T, data []byte) []T {
	t.Helper()
	r := parquet.NewGenericReader[T](bytes.NewReader(data))
	defer r.Close()
	rows := make([]T, r.NumRows())
	n, err := r.Read(rows)
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return rows[:n]
}

func TestFindingsRoundTrip(t *testing.T) {
	p := newPayloads(goldenBase)
	res := fixtureResult(p)
	findings := res.Findings
	data := render(t, func(w io.Writer) error { return WriteFindings(w, Run{Source: "s3://example-bucket"}, res) })
	rows := readAll[FindingRow](t, data)
	if len(rows) != len(findings) {
		t.Fatalf("%d rows, want %d", len(rows), len(findings))
	}
	for i, f := range findings {
		r := rows[i]
		var ev map[string]any
		if err := json.Unmarshal([]byte(r.Evidence), &ev); err != nil {
			t.Errorf("row %d evidence %q: %v", i, r.Evidence, err)
		}
		wantEv, _ := json.Marshal(f.Evidence)
		gotEv, _ := json.Marshal(ev)
		switch {
		case r.Kind != f.Kind, r.Severity != f.Severity.String(), r.SeverityRank != int32(f.Severity),
			deref(r.AccountID) != f.Account, deref(r.Region) != f.Region, r.Title != f.Title, deref(r.Detail) != f.Detail:
			t.Errorf("row %d: got %+v, want %+v", i, r, f)
		case !timeEq(r.StartTime, f.Start) || !timeEq(r.EndTime, f.End):
			t.Errorf("row %d: times %v %v, want %v %v", i, r.StartTime, r.EndTime, f.Start, f.End)
		case !bytes.Equal(gotEv, wantEv):
			t.Errorf("row %d evidence:\n got %s\nwant %s", i, gotEv, wantEv)
		}
		var rem Remediation
		if err := json.Unmarshal([]byte(r.Remediation), &rem); err != nil || rem.Risk == "" || len(rem.Verify) == 0 ||
			(rem.Type != RemediationFix && rem.Type != RemediationInvestigate) {
			t.Errorf("row %d (%s) remediation %q: %v", i, f.Kind, r.Remediation, err)
		}
	}
	if rows[3].StartTime != nil {
		t.Errorf("a finding without a time has start_time %v, want NULL", rows[3].StartTime)
	}
	if !strings.Contains(rows[0].Evidence, `"<img src=x onerror=`) {
		t.Errorf("evidence escapes HTML characters: %s", rows[0].Evidence)
	}
}

func TestCoverageRoundTrip(t *testing.T) {
	p := newPayloads(goldenBase)
	table := fixtureResult(p).Coverage
	cov := table.Rows()
	data := render(t, func(w io.Writer) error { return WriteCoverage(w, table) })
	rows := readAll[CoverageRow](t, data)
	if len(rows) != len(cov) {
		t.Fatalf("%d rows, want %d", len(rows), len(cov))
	}
	for i, c := range cov {
		r := rows[i]
		if r.AccountID != c.Account || deref(r.OrgID) != c.OrgID || r.Region != c.Region || !r.Start.Equal(c.Start) ||
			!r.End.Equal(c.End) || int(r.Hours) != c.Hours || r.Status != c.Status || r.Expected != c.Expected || int(r.LogFiles) != c.LogFiles || int(r.Records) != c.Records ||
			int(r.Digests) != c.Digests || int(r.ListedLogFiles) != c.ListedLogFiles || r.DigestEmptyProof != c.DigestEmptyProof {
			t.Fatalf("row %d: got %+v, want %+v", i, r, c)
		}
	}
	empty := render(t, func(w io.Writer) error { return WriteCoverage(w, nil) })
	if n := len(readAll[CoverageRow](t, empty)); n != 0 {
		t.Errorf("empty coverage has %d rows", n)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func timeEq(got *time.Time, want time.Time) bool {
	if want.IsZero() {
		return got == nil
	}
	return got != nil && got.Equal(want)
}

func TestPartitionPath(t *testing.T) {
	for _, tc := range []struct {
		p    Partition
		want string
	}{
		{Partition{}, "part-00000.parquet"},
		{Partition{Part: 7}, "part-00007.parquet"},
		{Partition{Part: 123456}, "part-123456.parquet"},
		{Partition{Part: -3}, "part-00000.parquet"},
		{Partition{Account: "111122223333", Region: "us-east-1", Date: "2024-03-01", Part: 2},
			"account_id=111122223333/region=us-east-1/date=2024-03-01/part-00002.parquet"},
		{Partition{Account: "111122223333", Region: "us-gov-west-1", Date: "2024-02-29"},
			"account_id=111122223333/region=us-gov-west-1/date=2024-02-29/part-00000.parquet"},
		{Partition{Account: "../../etc", Region: "../..", Date: "../../../x"},
			"account_id=__HIVE_DEFAULT_PARTITION__/region=__HIVE_DEFAULT_PARTITION__/date=__HIVE_DEFAULT_PARTITION__/part-00000.parquet"},
		{Partition{Account: "111122223333", Region: "us-east-1/../x", Date: "2024-03-01"},
			"account_id=111122223333/region=__HIVE_DEFAULT_PARTITION__/date=2024-03-01/part-00000.parquet"},
		{Partition{Account: "1111222233\x0033", Region: "us-east-1\x00", Date: "2024-03-01\x00"},
			"account_id=__HIVE_DEFAULT_PARTITION__/region=__HIVE_DEFAULT_PARTITION__/date=__HIVE_DEFAULT_PARTITION__/part-00000.parquet"},
		{Partition{Account: "１１１１２２２２３３３３", Region: "ｕｓ-ｅａｓｔ-１", Date: "２０２４-０３-０１"},
			"account_id=__HIVE_DEFAULT_PARTITION__/region=__HIVE_DEFAULT_PARTITION__/date=__HIVE_DEFAULT_PARTITION__/part-00000.parquet"},
		{Partition{Account: "<script>", Region: "<script>alert(1)</script>", Date: "<script>"},
			"account_id=__HIVE_DEFAULT_PARTITION__/region=__HIVE_DEFAULT_PARTITION__/date=__HIVE_DEFAULT_PARTITION__/part-00000.parquet"},
		{Partition{Account: "11112222333", Region: "US-EAST-1", Date: "2024-3-1"},
			"account_id=__HIVE_DEFAULT_PARTITION__/region=__HIVE_DEFAULT_PARTITION__/date=__HIVE_DEFAULT_PARTITION__/part-00000.parquet"},
		{Partition{Account: "111122223333", Region: "us-east-1", Date: "2024-02-30"},
			"account_id=111122223333/region=us-east-1/date=__HIVE_DEFAULT_PARTITION__/part-00000.parquet"},
		{Partition{Account: "/111122223333", Region: "C:\\us-east-1", Date: " 2024-03-01"},
			"account_id=__HIVE_DEFAULT_PARTITION__/region=__HIVE_DEFAULT_PARTITION__/date=__HIVE_DEFAULT_PARTITION__/part-00000.parquet"},
		{Partition{Account: "111122223333", Region: "x", Date: ""},
			"account_id=111122223333/region=__HIVE_DEFAULT_PARTITION__/date=__HIVE_DEFAULT_PARTITION__/part-00000.parquet"},
	} {
		got := tc.p.Path()
		if got != tc.want {
			t.Errorf("%#v.Path() = %q, want %q", tc.p, got, tc.want)
		}
		if !regexp.MustCompile(`^[0-9a-zA-Z=._/-]+$`).MatchString(got) || strings.Contains(got, "..") || strings.HasPrefix(got, "/") {
			t.Errorf("%#v.Path() = %q: unsafe", tc.p, got)
		}
	}
}

// FuzzPartitionPath checks that no value makes an unsafe path.
func FuzzPartitionPath(f *testing.F) {
	for _, s := range []string{"../../etc", "us-east-1/../x", "\x00", "ａ", "<script>", "111122223333", "us-east-1", "2024-03-01"} {
		f.Add(s, s, s)
	}
	null := "__HIVE_DEFAULT_PARTITION__"
	safe := regexp.MustCompile(`^(account_id=([0-9]{12}|` + null + `)/region=([0-9a-z-]+|` + null + `)/date=([0-9-]{10}|` + null + `)/)?part-[0-9]+\.parquet$`)
	f.Fuzz(func(t *testing.T, account, region, date string) {
		got := Partition{Account: account, Region: region, Date: date}.Path()
		if !safe.MatchString(got) || strings.Contains(got, "..") {
			t.Errorf("Path() = %q for %q %q %q", got, account, region, date)
		}
	})
}

func TestControls(t *testing.T) {
	p := newPayloads(goldenBase)
	statuses := func(run Run, res *analyzer.Result) map[string]Status {
		out := map[string]Status{}
		for _, c := range Controls(run, res) {
			out[c.ID] = c.Status
		}
		return out
	}
	clean := &analyzer.Result{
		Objects: analyzer.ObjectCounts{Listed: 2, LogFiles: 1, DigestFiles: 1},
		Records: analyzer.RecordCounts{Total: 5, InWindow: 5},
		Chains:  []analyzer.Chain{{Account: "111122223333", Region: "us-east-1", Trail: "t", DigestsValid: 1, LogsValid: 1}},
	}
	noKeys := *clean
	noKeys.Chains = []analyzer.Chain{{Account: "111122223333", Region: "us-east-1", Trail: "t", DigestsUnverifiable: 1, LogsValid: 1}}
	noDigests := *clean
	noDigests.Objects.DigestFiles = 0
	noDigests.Chains = nil
	lowOnly := *clean
	lowOnly.Findings = []analyzer.Finding{{Kind: analyzer.KindOutsideAllowlist, Severity: analyzer.Low}}
	for _, tc := range []struct {
		name string
		run  Run
		res  *analyzer.Result
		want map[string]Status
	}{
		{"fixture", fixtureRun(p), fixtureResult(p), map[string]Status{
			"multi-region-coverage": StatusFail, "global-service-events": StatusPass, "log-file-integrity": StatusFail,
			"region-allowlist": StatusWarn, "logging-changes": StatusFail}},
		{"nothing read", Run{}, &analyzer.Result{}, map[string]Status{
			"multi-region-coverage": StatusUnknown, "global-service-events": StatusUnknown, "log-file-integrity": StatusUnknown,
			"region-allowlist": StatusNotEvaluated, "logging-changes": StatusUnknown}},
		{"clean with allowlist", Run{AllowRegions: []string{"us-east-1"}}, clean, map[string]Status{
			"multi-region-coverage": StatusPass, "global-service-events": StatusPass, "log-file-integrity": StatusPass,
			"region-allowlist": StatusPass, "logging-changes": StatusPass}},
		{"signatures unverifiable", Run{}, &noKeys, map[string]Status{
			"multi-region-coverage": StatusPass, "global-service-events": StatusPass, "log-file-integrity": StatusWarn,
			"region-allowlist": StatusNotEvaluated, "logging-changes": StatusPass}},
		{"validation off", Run{}, &noDigests, map[string]Status{
			"multi-region-coverage": StatusPass, "global-service-events": StatusPass, "log-file-integrity": StatusUnknown,
			"region-allowlist": StatusNotEvaluated, "logging-changes": StatusPass}},
		{"low finding warns", Run{AllowRegions: []string{"us-east-1"}}, &lowOnly, map[string]Status{
			"multi-region-coverage": StatusPass, "global-service-events": StatusPass, "log-file-integrity": StatusPass,
			"region-allowlist": StatusWarn, "logging-changes": StatusPass}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := statuses(tc.run, tc.res)
			for id, want := range tc.want {
				if got[id] != want {
					t.Errorf("%s: got %s, want %s", id, got[id], want)
				}
			}
		})
	}
}

func TestHeatmapBucketsLongWindows(t *testing.T) {
	for _, tc := range []struct {
		days       int
		wantBucket string
	}{
		{1, "hour"}, {14, "hour"}, {15, "6 hours"}, {84, "6 hours"}, {85, "day"}, {365, "week"}, {3650, "4 weeks"},
	} {
		start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		end := start.AddDate(0, 0, tc.days)
		var cells []hourCell
		for h := start; h.Before(end); h = h.Add(time.Hour) {
			st := cellComplete
			if h.Hour()%7 == 0 {
				st = cellGap
			}
			cells = append(cells, hourCell{Account: "111122223333", Region: "us-east-1", Start: h, Hours: 1, Status: st})
		}
		hm := newHeatmap(slices.Values(cells), start, end)
		if hm.Bucket != tc.wantBucket {
			t.Errorf("%d days: bucket %q, want %q", tc.days, hm.Bucket, tc.wantBucket)
		}
		if len(hm.Runs) > maxColumns || hm.Width > heatLabelWidth+heatPlotWidth+8 {
			t.Errorf("%d days: %d runs, width %d: not bounded", tc.days, len(hm.Runs), hm.Width)
		}
	}
}

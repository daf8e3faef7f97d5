package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/report"
)

// The tests in this file run trailcover on CloudTrail data nobody on this
// project wrote (../shared/data/real, each folder with a PROVENANCE.md),
// laid out as published and as the tests re-lay it. Every expected
// verdict is computed here from the records and file names themselves,
// or taken from the provenance notes, never from what trailcover printed.

// realData returns ../shared/data/real/name, skipping without it (and
// failing with TRAILCOVER_REQUIRE_SHARED=1, as CI sets).
func realData(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("TRAILCOVER_REQUIRE_SHARED") == "1" {
			t.Fatalf("genuine data not found at %s", dir)
		}
		t.Skipf("genuine data not found at %s", dir)
	}
	return dir
}

// genuineRun is one analyze run: its exit status, stderr and summary.
type genuineRun struct {
	exit    int
	stderr  string
	summary report.Summary
}

func analyzeGenuine(t *testing.T, args ...string) genuineRun {
	t.Helper()
	return analyzeGenuineTo(t, filepath.Join(t.TempDir(), "out"), args...)
}

func analyzeGenuineTo(t *testing.T, out string, args ...string) genuineRun {
	t.Helper()
	var stderr bytes.Buffer
	err := run(t.Context(), append([]string{"analyze", "--out", out}, args...), io.Discard, &stderr, func() time.Time { return fixedNow })
	r := genuineRun{exit: exitCode(err, false, &stderr), stderr: stderr.String()}
	if data, err := os.ReadFile(filepath.Join(out, summaryFile)); err == nil {
		if err := json.Unmarshal(data, &r.summary); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// genuineRecord is what these tests read of a record, straight from the
// JSON.
type genuineRecord struct {
	EventID      string `json:"eventID"`
	EventName    string `json:"eventName"`
	EventSource  string `json:"eventSource"`
	AWSRegion    string `json:"awsRegion"`
	ErrorCode    string `json:"errorCode"`
	Recipient    string `json:"recipientAccountId"`
	EventType    string `json:"eventType"`
	ReadOnly     *bool  `json:"readOnly"`
	UserIdentity struct {
		Type      string `json:"type"`
		InvokedBy string `json:"invokedBy"`
	} `json:"userIdentity"`
}

// readGenuine decodes every log file below dir with encoding/json, and
// returns the records and the file names by folder region.
func readGenuine(t *testing.T, dir string) (records []genuineRecord, files map[string][]string) {
	t.Helper()
	files = map[string][]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(d.Name(), "_CloudTrail_") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				return err
			}
			if data, err = io.ReadAll(zr); err != nil {
				return err
			}
		}
		var log struct{ Records []genuineRecord }
		if err := json.Unmarshal(data, &log); err != nil {
			return err
		}
		records = append(records, log.Records...)
		region := strings.Split(d.Name(), "_")[2]
		files[region] = append(files[region], d.Name())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return records, files
}

func findingsOfKind(s report.Summary, kind string) []report.SummaryFinding {
	var out []report.SummaryFinding
	for _, f := range s.Findings {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

func controlStatus(s report.Summary, id string) string {
	for _, c := range s.Controls {
		if c.Control == id {
			return string(c.Status)
		}
	}
	return ""
}

func severityAtLeast(got, want string) bool {
	rank := map[string]int{"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
	return rank[got] >= rank[want]
}

// TestGenuineGrycap: a university account's log files as AWS delivered
// them, 2014-2018, single-region trails in us-east-1 and sa-east-1.
func TestGenuineGrycap(t *testing.T) {
	dir := realData(t, "grycap-974349055189")
	records, files := readGenuine(t, dir)
	// What the records say of sa-east-1, outside an allowlist of
	// us-east-1: IAM users' calls made through the console
	// (invokedBy signin.amazonaws.com), some of them denied.
	denied, console, service := 0, 0, 0
	for _, r := range records {
		if r.AWSRegion != "sa-east-1" || r.EventSource == "signin.amazonaws.com" {
			continue
		}
		if r.UserIdentity.InvokedBy == "signin.amazonaws.com" {
			console++
		}
		if r.UserIdentity.Type == "AWSService" || r.EventType == "AwsServiceEvent" {
			service++
		}
		if strings.Contains(r.ErrorCode, "AccessDenied") || strings.Contains(r.ErrorCode, "UnauthorizedOperation") {
			denied++
		}
	}
	if denied == 0 || console == 0 {
		t.Fatalf("the data changed: %d denied, %d console calls in sa-east-1", denied, console)
	}
	res := analyzeGenuine(t, dir, "--allow-regions", "us-east-1")
	s := res.summary
	if res.exit != exitFindings {
		t.Errorf("exit %d, want %d (denied attempts outside the allowlist are high)\n%s", res.exit, exitFindings, res.stderr)
	}
	if got := s.Records.Total; got != len(records) {
		t.Errorf("records.total = %d, the files hold %d", got, len(records))
	}

	// Item: console users' calls are theirs, not AWS's.
	outside := findingsOfKind(s, "activity-outside-allowlist")
	if len(outside) != 1 || outside[0].Region != "sa-east-1" {
		t.Fatalf("activity-outside-allowlist findings: %+v, want one for sa-east-1", outside)
	}
	f := outside[0]
	if !severityAtLeast(f.Severity, "high") {
		t.Errorf("sa-east-1: severity %s, want high or above: %d calls were denied", f.Severity, denied)
	}
	if got := f.Evidence["denied_attempts"]; got != float64(denied) {
		t.Errorf("sa-east-1: denied_attempts = %v, the records hold %d", got, denied)
	}
	if got := f.Evidence["service_events"]; got != float64(service) {
		t.Errorf("sa-east-1: service_events = %v, the records hold %d made by AWS itself", got, service)
	}
	if via, _ := json.Marshal(f.Evidence["via"]); !bytes.Contains(via, []byte(`"signin.amazonaws.com"`)) {
		t.Errorf("sa-east-1: evidence via = %s, want signin.amazonaws.com", via)
	}

	// Item: IAM and STS events in us-east-1 show global service events
	// logged.
	global := 0
	for _, r := range records {
		if r.AWSRegion == "us-east-1" && (r.EventSource == "iam.amazonaws.com" || r.EventSource == "sts.amazonaws.com") {
			global++
		}
	}
	if global == 0 {
		t.Fatal("the data changed: no IAM or STS event in us-east-1")
	}
	if got := findingsOfKind(s, "global-events-missing"); len(got) != 0 {
		t.Errorf("global-events-missing although us-east-1 logs %d IAM and STS events: %+v", global, got)
	}

	// Item: a delivery gap claims silence only where each region it names
	// was silent: no file of that region is named inside it.
	for _, g := range findingsOfKind(s, "delivery-gap") {
		start, _ := time.Parse(time.RFC3339, g.Start)
		end, _ := time.Parse(time.RFC3339, g.End)
		regions := []string{g.Region}
		if g.Region == "" {
			regions = nil
			for _, r := range g.Evidence["regions"].([]any) {
				regions = append(regions, r.(string))
			}
		}
		for _, region := range regions {
			for _, name := range files[region] {
				named, err := time.Parse("20060102T1504Z", strings.Split(name, "_")[3])
				if err != nil {
					t.Fatal(err)
				}
				if !named.Before(start) && named.Before(end) {
					t.Errorf("%q claims no delivery in %s from %s to %s, but %s was delivered then", g.Title, region, g.Start, g.End, name)
				}
			}
		}
	}
}

// TestGenuineSANS: a multi-region trail's files as the SANS504 lab
// publishes them, <region>/YYYY/MM/DD/ with the AWSLogs/<account>/
// CloudTrail/ part cut, and the same files laid back out as CloudTrail
// writes them: the same analysis, the layout noted only for the first.
func TestGenuineSANS(t *testing.T) {
	dir := realData(t, "sans504-s3-ransomware-lab")
	records, files := readGenuine(t, dir)
	// The severity each region outside the allowlist earns, from its
	// records: succeeded writes critical, denied calls high, reads medium.
	ids := map[string]bool{}
	swept := map[string]bool{}
	severity := map[string]string{}
	for _, r := range records {
		if ids[r.EventID] {
			continue
		}
		ids[r.EventID] = true
		if r.AWSRegion == "us-east-1" || r.AWSRegion == "us-west-1" {
			continue
		}
		swept[r.AWSRegion] = true
		sev := "medium"
		switch {
		case r.ErrorCode == "" && r.ReadOnly != nil && !*r.ReadOnly:
			sev = "critical"
		case strings.Contains(r.ErrorCode, "AccessDenied"):
			sev = "high"
		}
		if severityAtLeast(sev, severity[r.AWSRegion]) {
			severity[r.AWSRegion] = sev
		}
	}
	worst := "info"
	for _, sev := range severity {
		if severityAtLeast(sev, worst) {
			worst = sev
		}
	}
	wantExit := exitOK
	if severityAtLeast(worst, "high") {
		wantExit = exitFindings
	}
	logFiles := 0
	for _, names := range files {
		logFiles += len(names)
	}

	relaid := filepath.Join(t.TempDir(), "bucket")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), ".json.gz") {
			return err
		}
		parts := strings.Split(d.Name(), "_")
		account, region, stamp := parts[0], parts[2], parts[3]
		key := filepath.Join("AWSLogs", account, "CloudTrail", region, stamp[:4], stamp[4:6], stamp[6:8], d.Name())
		return copyFile(p, filepath.Join(relaid, key))
	})
	if err != nil {
		t.Fatal(err)
	}

	published := analyzeGenuine(t, dir, "--allow-regions", "us-east-1,us-west-1")
	standard := analyzeGenuine(t, relaid, "--allow-regions", "us-east-1,us-west-1")
	for name, res := range map[string]genuineRun{"as published": published, "re-laid out": standard} {
		s := res.summary
		if res.exit != wantExit {
			t.Errorf("%s: exit %d, want %d (the worst activity outside the allowlist is %s)\n%s", name, res.exit, wantExit, worst, res.stderr)
		}
		if s.Objects.LogFiles != logFiles || s.Records.Total != len(records) || s.Records.Duplicates != len(records)-len(ids) {
			t.Errorf("%s: %d log files, records %+v; the files are %d with %d records, %d distinct eventIDs",
				name, s.Objects.LogFiles, s.Records, logFiles, len(records), len(ids))
		}
		var regions []string
		for _, f := range findingsOfKind(s, "activity-outside-allowlist") {
			regions = append(regions, f.Region)
			if f.Severity != severity[f.Region] {
				t.Errorf("%s: %s is %s, its records make it %s", name, f.Region, f.Severity, severity[f.Region])
			}
		}
		if want := sortedSet(swept); !slices.Equal(regions, want) {
			t.Errorf("%s: activity outside the allowlist in %v, the records show calls in %v", name, regions, want)
		}
	}
	if len(published.summary.Objects.Layout) != 1 || published.summary.Objects.Layout[0].Objects != logFiles {
		t.Errorf("as published: layout notes %+v, want all %d files noted", published.summary.Objects.Layout, logFiles)
	}
	if len(standard.summary.Objects.Layout) != 0 {
		t.Errorf("re-laid out as CloudTrail writes: layout notes %+v, want none", standard.summary.Objects.Layout)
	}
}

// TestGenuineInvictus: attack-simulation log files kept flat and
// decompressed, named for one account and holding another's records.
func TestGenuineInvictus(t *testing.T) {
	dir := realData(t, "invictus-ir-stratus")
	records, files := readGenuine(t, dir)
	named := map[string]bool{}
	for _, names := range files {
		for _, n := range names {
			named[strings.Split(n, "_")[0]] = true
		}
	}
	recipients := map[string]int{}
	stops := 0
	for _, r := range records {
		recipients[r.Recipient]++
		if r.EventName == "StopLogging" || r.EventName == "DeleteTrail" {
			stops++
		}
	}
	res := analyzeGenuine(t, dir, "--allow-regions", "us-east-1")
	s := res.summary
	if res.exit != exitFindings {
		t.Errorf("exit %d, want %d\n%s", res.exit, exitFindings, res.stderr)
	}
	if s.Records.Total != len(records) {
		t.Errorf("records.total = %d, the files hold %d", s.Records.Total, len(records))
	}
	if len(s.Objects.Layout) != 1 || !strings.Contains(s.Objects.Layout[0].Note, "uncompressed") || !strings.Contains(s.Objects.Layout[0].Note, "folder layout") {
		t.Errorf("layout notes %+v, want the flat, decompressed copy noted", s.Objects.Layout)
	}
	mismatched := 0
	for _, m := range s.Objects.AccountMismatches {
		if !named[m.FileAccount] || m.RecordAccount == m.FileAccount {
			t.Errorf("account mismatch %+v: files are named for %v", m, sortedSet(named))
		}
		mismatched += m.Records
	}
	want := 0
	for acct, n := range recipients {
		if acct != "" && !named[acct] {
			want += n
		}
	}
	if want == 0 || mismatched != want {
		t.Errorf("%d records reported under another account than their files', the records show %d", mismatched, want)
	}
	for _, f := range s.Findings {
		if named[f.Account] && f.Evidence["records_of_other_accounts"] == nil {
			t.Errorf("%s finding %q about %s does not say its files hold another account's records", f.Kind, f.Title, f.Account)
		}
	}
	// A flat export may hold only some regions: their absence is not
	// proof that the trail left them out.
	for _, f := range findingsOfKind(s, "region-not-logged") {
		if severityAtLeast(f.Severity, "high") || !strings.Contains(f.Title, "not in this copy") {
			t.Errorf("%s %s: %s, want at most medium, as not in this copy", f.Severity, f.Kind, f.Title)
		}
	}
	changes := 0
	for _, f := range findingsOfKind(s, "logging-changed") {
		if name, _ := f.Evidence["event_name"].(string); name == "StopLogging" || name == "DeleteTrail" {
			changes++
		}
	}
	if changes != stops {
		t.Errorf("%d StopLogging/DeleteTrail findings, the records hold %d such calls", changes, stops)
	}
}

// TestGenuineNothingToRead: sources that hold no CloudTrail object end
// with exit 1 and say what they hold; a genuine file kept deeper than
// discovery searches, or decompressed where CloudTrail writes, is read.
func TestGenuineNothingToRead(t *testing.T) {
	dir := realData(t, "grycap-974349055189")
	var sample string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && sample == "" && strings.HasSuffix(p, ".json.gz") {
			sample = p
		}
		return err
	})
	rel, err := filepath.Rel(dir, sample)
	if err != nil {
		t.Fatal(err)
	}

	empty := t.TempDir()
	unrelated := t.TempDir()
	if err := os.WriteFile(filepath.Join(unrelated, "notes.txt"), []byte("not CloudTrail"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, source, says string }{
		{"empty", empty, "it is empty"},
		{"unrelated files", unrelated, "notes.txt"},
		{"mistyped folder", filepath.Join(dir, "AWSLogs", "974349055189", "CloudTrial"), "no such file"},
	} {
		res := analyzeGenuine(t, tt.source)
		if res.exit != exitError || !strings.Contains(res.stderr, tt.says) {
			t.Errorf("%s: exit %d, want %d saying %q:\n%s", tt.name, res.exit, exitError, tt.says, res.stderr)
		}
	}

	deep := t.TempDir()
	if err := copyFile(sample, filepath.Join(deep, "exports", "2026", "q3", "org", "audit", rel)); err != nil {
		t.Fatal(err)
	}
	gunzipped := t.TempDir()
	plain := readGzip(t, sample)
	name := filepath.Join(gunzipped, strings.TrimSuffix(rel, ".gz"))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, plain, 0o644); err != nil {
		t.Fatal(err)
	}
	var log struct{ Records []json.RawMessage }
	if err := json.Unmarshal(plain, &log); err != nil {
		t.Fatal(err)
	}
	for what, source := range map[string]string{"five folders deep": deep, "decompressed": gunzipped} {
		res := analyzeGenuine(t, source)
		if res.exit == exitError || res.summary.Objects.LogFiles != 1 || res.summary.Records.Total != len(log.Records) {
			t.Errorf("%s: exit %d, objects %+v, records %+v; want the file's %d records\n%s",
				what, res.exit, res.summary.Objects, res.summary.Records, len(log.Records), res.stderr)
		}
	}
}

// TestDemoVerdicts: the Quick start's archive, judged against what the
// simulator planted (.trailcover/truth.json): no log file accused of
// injection (none was), and the account logged by a single-region trail
// outside us-east-1 fails the global-service-events control.
func TestDemoVerdicts(t *testing.T) {
	demo := filepath.Join("..", "..", "testdata", "demo")
	var truth struct {
		Accounts []struct {
			Account      string `json:"account"`
			GlobalEvents bool   `json:"global_events"`
		} `json:"accounts"`
		Chains []struct {
			LogsInjected int `json:"logs_injected"`
		} `json:"chains"`
	}
	data, err := os.ReadFile(filepath.Join(demo, ".trailcover", "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &truth); err != nil {
		t.Fatal(err)
	}
	res := analyzeGenuine(t, demo, "--public-keys", filepath.Join(demo, ".trailcover", "public-keys.json"))
	s := res.summary
	injected := 0
	for _, c := range truth.Chains {
		injected += c.LogsInjected
	}
	if got := len(findingsOfKind(s, "log-file-unlisted")); got != injected {
		t.Errorf("%d log-file-unlisted findings, %d files were injected", got, injected)
	}
	var off []string
	for _, a := range truth.Accounts {
		if !a.GlobalEvents {
			off = append(off, a.Account)
		}
	}
	var reported []string
	for _, f := range findingsOfKind(s, "global-events-missing") {
		reported = append(reported, f.Account)
	}
	if len(off) == 0 || !slices.Equal(reported, off) {
		t.Errorf("global-events-missing for %v, the truth has global events off for %v", reported, off)
	}
	if got := controlStatus(s, "global-service-events"); got != "fail" {
		t.Errorf("global-service-events control: %s, want fail", got)
	}

	// The Quick start as the README gives it: every signature verifies
	// with the keys the archive carries, and every planted problem is
	// reported where the truth planted it.
	quick := analyzeGenuine(t, demo, "--allow-regions", "us-east-1,eu-west-1,eu-central-1")
	for _, c := range quick.summary.Integrity.Chains {
		if c.DigestsInvalid+c.DigestsUnverifiable > 0 {
			t.Errorf("quick start: chain %s %s has %d invalid and %d unverifiable digests", c.Account, c.Region, c.DigestsInvalid, c.DigestsUnverifiable)
		}
	}
	var scenarios struct {
		Scenarios []struct{ Name, Account, Region string }
	}
	if err := json.Unmarshal(data, &scenarios); err != nil {
		t.Fatal(err)
	}
	kindOf := map[string]string{
		"crypto-mining": "activity-outside-allowlist", "snapshot-exfil": "activity-outside-allowlist",
		"denied-attempts": "activity-outside-allowlist", "region-not-logged": "global-events-missing",
		"logging-stopped": "logging-changed", "log-deleted": "log-file-missing", "digest-deleted": "digest-missing",
	}
	for _, sc := range scenarios.Scenarios {
		kind, ok := kindOf[sc.Name]
		if !ok {
			t.Errorf("planted scenario %s has no expected finding here", sc.Name)
			continue
		}
		found := false
		for _, f := range findingsOfKind(quick.summary, kind) {
			if f.Account == sc.Account && (sc.Region == "" || f.Region == sc.Region || kind == "global-events-missing") && severityAtLeast(f.Severity, "high") {
				found = true
			}
		}
		if !found {
			t.Errorf("quick start: planted %s (%s %s) not reported as %s at or above high", sc.Name, sc.Account, sc.Region, kind)
		}
	}

	// A window after the archive: the integrity control says the window
	// is empty, not that validation is off.
	late := analyzeGenuine(t, demo, "--start", "2030-01-01")
	for _, c := range late.summary.Controls {
		if c.Control == "log-file-integrity" && (c.Status != "unknown" || !strings.Contains(c.Note, "window holds no log file")) {
			t.Errorf("log-file-integrity over an empty window: %s, %q", c.Status, c.Note)
		}
	}
}

func sortedSet(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}

// TestGenuineSymlinks: a copy whose AWSLogs folder is a symbolic link to
// the genuine archive elsewhere, with a link inside that loops back up:
// every file is read once, as the archive itself reads.
func TestGenuineSymlinks(t *testing.T) {
	dir := realData(t, "grycap-974349055189")
	records, files := readGenuine(t, dir)
	logFiles := 0
	for _, names := range files {
		logFiles += len(names)
	}
	linked := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "AWSLogs"), filepath.Join(linked, "AWSLogs")); err != nil {
		t.Fatal(err)
	}
	// The loop lives in a folder of its own: the genuine data is
	// read-only.
	loops := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "AWSLogs", "974349055189", "CloudTrail", "us-east-1"), filepath.Join(loops, "us-east-1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(loops, filepath.Join(loops, "again")); err != nil {
		t.Fatal(err)
	}
	res := analyzeGenuine(t, linked, "--allow-regions", "us-east-1,sa-east-1")
	if res.summary.Objects.LogFiles != logFiles || res.summary.Records.Total != len(records) || res.summary.Records.Duplicates != 0 {
		t.Errorf("through a link: %d log files, records %+v; the archive has %d files, %d records\n%s",
			res.summary.Objects.LogFiles, res.summary.Records, logFiles, len(records), res.stderr)
	}
	res = analyzeGenuine(t, loops, "--allow-regions", "us-east-1,sa-east-1")
	if want := len(files["us-east-1"]); res.summary.Objects.LogFiles != want || res.summary.Records.Duplicates != 0 {
		t.Errorf("with a loop: %d log files, %d duplicate records; us-east-1 has %d files\n%s",
			res.summary.Objects.LogFiles, res.summary.Records.Duplicates, want, res.stderr)
	}
}

// TestGenuineNetworkActivity: VPC endpoint network activity events
// (Panther's detection tests, edited copies of real records) delivered
// in a CloudTrail-NetworkActivity file, as trails deliver them beside
// their log files: read, counted, in events/ as network_activity rows,
// and a denied VPC endpoint call outside the allowlist counts as denied.
func TestGenuineNetworkActivity(t *testing.T) {
	dir := realData(t, "panther-analysis-tests")
	data, err := os.ReadFile(filepath.Join(dir, "DERIVED_rule_test_records.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all struct{ Records []json.RawMessage }
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	const account = "222222222222"
	var picked []json.RawMessage
	denied := 0
	for _, raw := range all.Records {
		var r struct {
			genuineRecord
			EventCategory string `json:"eventCategory"`
		}
		if json.Unmarshal(raw, &r) != nil || r.EventCategory != "NetworkActivity" || r.Recipient != account || r.AWSRegion != "us-east-1" {
			continue
		}
		picked = append(picked, raw)
		if r.ErrorCode == "VpceAccessDenied" {
			denied++
		}
	}
	if len(picked) == 0 || denied == 0 {
		t.Fatalf("the data changed: %d network activity records of %s, %d denied", len(picked), account, denied)
	}
	body, err := json.Marshal(map[string]any{"Records": picked})
	if err != nil {
		t.Fatal(err)
	}
	archive := t.TempDir()
	key := filepath.Join("AWSLogs", account, "CloudTrail-NetworkActivity", "us-east-1", "2023", "03", "01",
		account+"_CloudTrail-NetworkActivity_us-east-1_20230301T0005Z_VpceEvents000001.json.gz")
	if err := os.MkdirAll(filepath.Join(archive, filepath.Dir(key)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(archive, key), gzipped(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	res := analyzeGenuineTo(t, out, archive, "--allow-regions", "eu-west-1")
	s := res.summary
	if s.Objects.NetworkActivityFiles != 1 || s.Objects.Listed != 1 || s.Records.Total != len(picked) {
		t.Fatalf("objects %+v, records %+v; want one network activity file of %d records\n%s", s.Objects, s.Records, len(picked), res.stderr)
	}
	rows := 0
	eachEventRow(t, filepath.Join(out, eventsDir), func(_ string, row *report.EventRow) {
		if row.ObjectKind != "network_activity" {
			t.Errorf("row of %s has object_kind %q", row.ObjectKey, row.ObjectKind)
		}
		rows++
	})
	if rows != len(picked) {
		t.Errorf("%d rows in events/, the file holds %d records", rows, len(picked))
	}
	outside := findingsOfKind(s, "activity-outside-allowlist")
	if len(outside) != 1 || outside[0].Evidence["denied_attempts"] != float64(denied) {
		t.Errorf("activity outside the allowlist: %+v, want one with %d denied attempts", outside, denied)
	}
}

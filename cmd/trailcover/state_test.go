package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// The clocks of the runs of an incremental analysis: a week apart.
var (
	firstRun  = time.Date(2025, 1, 8, 6, 0, 0, 0, time.UTC)
	secondRun = firstRun.AddDate(0, 0, 7)
)

// stateArchive simulates two days with every scenario and returns the
// directory and the first day's end: objects named before it were
// delivered by then.
func stateArchive(t *testing.T) (dir string, dayTwo time.Time) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "full")
	cfg := simulate.Config{
		Seed:          11,
		AccountCount:  2,
		Regions:       []string{"us-east-1", "eu-west-1"},
		Days:          2,
		EventsPerHour: 6,
		Scenarios:     []simulate.Scenario{{Name: simulate.ScenarioAll}},
	}
	if _, err := simulate.Generate(t.Context(), cfg, dir); err != nil {
		t.Fatal(err)
	}
	return dir, simulate.DefaultStart().AddDate(0, 0, 1)
}

// copyTree copies the files of src that want accepts (by slash path,
// relative to src) to dst, keeping modification times, as a bucket copy
// holds them; it returns the object keys copied (the state folder apart).
func copyTree(t *testing.T, src, dst string, want func(rel string) bool) []string {
	t.Helper()
	var keys []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		rel = filepath.ToSlash(rel)
		if !want(rel) {
			return nil
		}
		if _, err := os.Stat(filepath.Join(dst, rel)); err == nil {
			return nil // already there
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			return err
		}
		if !strings.HasPrefix(rel, ingest.StateDir+"/") {
			keys = append(keys, rel)
		}
		return os.Chtimes(to, info.ModTime(), info.ModTime())
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// deliveredBy accepts what the bucket held at end: the state folder,
// objects that are not CloudTrail's, and CloudTrail objects named before
// end; late lists keys held back for a late delivery.
func deliveredBy(end time.Time, late ...string) func(string) bool {
	return func(rel string) bool {
		if strings.HasPrefix(rel, ingest.StateDir+"/") {
			return true
		}
		if slices.Contains(late, rel) {
			return false
		}
		loc := ingest.ParseKey(rel)
		return loc.Kind == ingest.KindOther || loc.Time.Before(end)
	}
}

func everything(string) bool { return true }

// stateRun runs analyze at a time and returns --out and stderr; findings
// above --fail-on are expected, not errors.
func stateRun(t *testing.T, at time.Time, args ...string) (out, stderr string) {
	t.Helper()
	out = t.TempDir()
	var errBuf bytes.Buffer
	err := run(t.Context(), append([]string{"analyze", "--out", out}, args...), io.Discard, &errBuf, func() time.Time { return at })
	var fe *findingsError
	if err != nil && !errors.As(err, &fe) {
		t.Fatalf("analyze %q: %v\n%s", args, err, errBuf.String())
	}
	return out, errBuf.String()
}

// readCounts returns what the "state saved" log line says was read and
// skipped.
func readCounts(t *testing.T, stderr string) (read, skipped int) {
	t.Helper()
	m := regexp.MustCompile(`msg="state saved".* read=(\d+) skipped=(\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no state saved line in:\n%s", stderr)
	}
	read, _ = strconv.Atoi(m[1])
	skipped, _ = strconv.Atoi(m[2])
	return read, skipped
}

// summaryOf reads summary.json without what differs between runs of the
// same analysis: when and how it was run.
func summaryOf(t *testing.T, out string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, summaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	run := s["run"].(map[string]any)
	delete(run, "generated_at")
	delete(run, "command_line")
	return s
}

func findingsOf(s map[string]any) []map[string]any {
	var out []map[string]any
	for _, f := range s["findings"].([]any) {
		out = append(out, f.(map[string]any))
	}
	return out
}

// findingTitled returns the finding whose title starts with prefix and
// ends with key.
func findingTitled(s map[string]any, prefix, key string) map[string]any {
	for _, f := range findingsOf(s) {
		title, _ := f["title"].(string)
		if strings.HasPrefix(title, prefix) && strings.HasSuffix(title, key) {
			return f
		}
	}
	return nil
}

// pickKey returns the first key of kind (sorted) named before end and
// not in the state folder.
func pickKey(t *testing.T, keys []string, kind ingest.Kind, end time.Time) string {
	t.Helper()
	slices.Sort(keys)
	for _, k := range keys {
		if loc := ingest.ParseKey(k); loc.Kind == kind && loc.Time.Before(end) && !strings.Contains(k, "/.") {
			return k
		}
	}
	t.Fatalf("no %v object before %s", kind, end)
	return ""
}

// TestStateIncremental is the weekly job's incremental run: two runs
// with --state over an archive that grows in between (one log file of
// the first day arriving late, after the first run) report exactly what
// one run over the whole archive reports, byte for byte, and the second
// run reads only what is new, the late file included.
func TestStateIncremental(t *testing.T) {
	if testing.Short() {
		t.Skip("generates an archive and analyzes it three times")
	}
	full, dayTwo := stateArchive(t)
	keys := filepath.Join(full, ingest.StateDir, "public-keys.json")
	fullKeys := copyTree(t, full, t.TempDir(), everything)
	late := pickKey(t, fullKeys, ingest.KindLog, dayTwo.Add(-6*time.Hour))

	dir := filepath.Join(t.TempDir(), "bucket")
	copyTree(t, full, dir, deliveredBy(dayTwo, late))
	state := filepath.Join(t.TempDir(), "state")
	flags := []string{"--state", state, "--public-keys", keys, "--allow-regions", "us-east-1,eu-west-1"}

	first, stderr := stateRun(t, firstRun, append(flags, dir)...)
	listedFirst := listed(t, first)
	if read, skipped := readCounts(t, stderr); read != listedFirst || skipped != 0 {
		t.Errorf("first run read %d and skipped %d objects, want %d and 0", read, skipped, listedFirst)
	}
	stateSize := fileSize(t, state)

	// The rest of the archive arrives, the late log file of day one with it.
	newKeys := copyTree(t, full, dir, everything)
	if !slices.Contains(newKeys, late) {
		t.Fatalf("%s was not held back", late)
	}
	incremental, stderr := stateRun(t, secondRun, append(flags, dir)...)
	if read, skipped := readCounts(t, stderr); read != listed(t, incremental)-listedFirst || skipped != listedFirst {
		t.Errorf("second run read %d and skipped %d objects, want the %d new ones and the %d of the first run",
			read, skipped, listed(t, incremental)-listedFirst, listedFirst)
	}
	t.Logf("state after %d objects: %d bytes; after %d: %d bytes", listedFirst, stateSize, listed(t, incremental), fileSize(t, state))

	once, _ := stateRun(t, secondRun, slices.Concat(flags[2:], []string{dir})...)
	got, want := summaryOf(t, incremental), summaryOf(t, once)
	if a, b := canonical(t, want), canonical(t, got); a != b {
		t.Errorf("summary.json of two incremental runs differs from one full run:\n%s", firstDiff(a, b))
	}
	for _, name := range []string{findingsFile, coverageFile} {
		a, err := os.ReadFile(filepath.Join(once, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(incremental, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s of two incremental runs differs from one full run's (%d and %d bytes)", name, len(b), len(a))
		}
	}
	if n := len(findingsOf(got)); n < 10 {
		t.Errorf("only %d findings in an archive with every scenario", n)
	}
}

// listed returns objects.listed of a run's summary.json.
func listed(t *testing.T, out string) int {
	t.Helper()
	return int(summaryOf(t, out)["objects"].(map[string]any)["listed"].(float64))
}

func fileSize(t *testing.T, name string) int64 {
	t.Helper()
	info, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// TestStateChangesBetweenRuns: a log file and a digest deleted, and a
// log file rewritten, after the first run analyzed them are reported by
// the second, and again by the third.
func TestStateChangesBetweenRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("generates an archive and analyzes it three times")
	}
	full, dayTwo := stateArchive(t)
	keys := filepath.Join(full, ingest.StateDir, "public-keys.json")
	dir := filepath.Join(t.TempDir(), "bucket")
	firstKeys := copyTree(t, full, dir, deliveredBy(dayTwo))
	state := filepath.Join(t.TempDir(), "state")
	flags := []string{"--state", state, "--public-keys", keys}
	stateRun(t, firstRun, append(flags, dir)...)

	noon := dayTwo.Add(-12 * time.Hour)
	deletedLog := pickKey(t, firstKeys, ingest.KindLog, noon)
	deletedDigest := pickKey(t, firstKeys, ingest.KindDigest, noon)
	var rewritten, inPlace string
	for _, k := range firstKeys {
		if loc := ingest.ParseKey(k); loc.Kind == ingest.KindLog && loc.Time.Before(noon) && k != deletedLog && !strings.Contains(k, "/.") {
			inPlace, rewritten = rewritten, k
		}
	}
	for _, k := range []string{deletedLog, deletedDigest} {
		if err := os.Remove(filepath.Join(dir, k)); err != nil {
			t.Fatal(err)
		}
	}
	rewrite(t, filepath.Join(dir, rewritten))
	editInPlace(t, filepath.Join(dir, inPlace))
	copyTree(t, full, dir, func(rel string) bool { return rel != deletedLog && rel != deletedDigest && rel != inPlace })

	for i, at := range []time.Time{secondRun, secondRun.AddDate(0, 0, 7)} {
		out, stderr := stateRun(t, at, append(flags, dir)...)
		s := summaryOf(t, out)
		for _, c := range []struct {
			key, title, kind, evidence, want string
		}{
			{deletedLog, "Log file deleted after it was analyzed: ", "log-file-missing", "deleted", "deleted since the previous run at " + firstRun.Format(time.RFC3339)},
			{deletedDigest, "Digest deleted after it was analyzed: ", "digest-missing", "deleted", "deleted since the previous run at " + firstRun.Format(time.RFC3339)},
			{rewritten, "Log file changed after it was analyzed: ", "log-file-modified", "changed", "changed since the previous run"},
			{inPlace, "Log file changed after it was analyzed: ", "log-file-modified", "changed", "changed since the previous run"},
		} {
			f := findingTitled(s, c.title, c.key)
			if f == nil {
				t.Errorf("run %d: no finding %q%s", i+2, c.title, c.key)
				continue
			}
			ev := f["evidence"].(map[string]any)
			if f["kind"] != c.kind || f["severity"] != "high" || ev[c.evidence] != c.want {
				t.Errorf("run %d: %s: kind %v, severity %v, %s %q; want %s, high, %q", i+2, c.key, f["kind"], f["severity"], c.evidence, ev[c.evidence], c.kind, c.want)
			}
			if c.key == inPlace && ev["previous_sha256"] == ev["current_sha256"] {
				t.Errorf("run %d: the file edited in place shows no change: %v", i+2, ev)
			}
			if c.key == rewritten && (ev["previous_sha256"] == ev["current_sha256"] || ev["previous_size"] == ev["current_size"]) {
				t.Errorf("run %d: the rewritten file's evidence shows no change: %v", i+2, ev)
			}
		}
		if i == 0 {
			// The rewritten file is read again; the deleted ones are not.
			if read, _ := readCounts(t, stderr); read == 0 {
				t.Error("the second run read nothing")
			}
		}
	}
}

// rewrite replaces a log file with other bytes: its records with one
// more appended, as an attacker adding an event would.
func rewrite(t *testing.T, name string) {
	t.Helper()
	data := readGzip(t, name)
	data = bytes.Replace(data, []byte(`{"Records":[`), []byte(`{"Records":[{"eventVersion":"1.08","eventID":"00000000-0000-4000-8000-000000000001","eventTime":"2025-01-06T01:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1"},`), 1)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// editInPlace changes one character of a log file's records and writes
// it back with the same size and modification time, as an attacker who
// knows that incremental runs look at those would: the gzip header's
// comment field takes up the difference in length.
func editInPlace(t *testing.T, name string) {
	t.Helper()
	info, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	data := readGzip(t, name)
	i := bytes.Index(data, []byte(`"sourceIPAddress":"`))
	if i < 0 {
		t.Fatalf("%s: no sourceIPAddress to edit", name)
	}
	i += len(`"sourceIPAddress":"`)
	data[i] = '9' + '1' - data[i]%2 // another digit or letter, same length
	gz := func(comment string) []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Comment = comment
		zw.Write(data)
		zw.Close()
		return buf.Bytes()
	}
	out := gz("")
	if pad := int(info.Size()) - len(out) - 1; pad >= 0 {
		out = gz(strings.Repeat("x", pad))
	}
	if int64(len(out)) != info.Size() {
		t.Fatalf("%s: the edit cannot keep its size (%d bytes, was %d)", name, len(out), info.Size())
	}
	if err := os.WriteFile(name, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(name, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// TestStateDeterministic: the same runs over the same archive leave the
// same state, byte for byte, whatever the number of workers.
func TestStateDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("generates an archive")
	}
	full, dayTwo := stateArchive(t)
	dir := filepath.Join(t.TempDir(), "bucket")
	copyTree(t, full, dir, deliveredBy(dayTwo))
	var states [][]byte
	for _, workers := range []string{"1", "8"} {
		state := filepath.Join(t.TempDir(), "state")
		stateRun(t, firstRun, "--state", state, "--workers", workers, dir)
		states = append(states, readFile(t, state))
	}
	if !bytes.Equal(states[0], states[1]) {
		t.Errorf("states of the same run with 1 and 8 workers differ (%d and %d bytes)", len(states[0]), len(states[1]))
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestStateRefused: a state the run cannot go on from stops it before
// anything is read, with the exit code and a message that says why and
// what to do; the state file is left as it was.
func TestStateRefused(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "demo")
	state := filepath.Join(t.TempDir(), "state")
	stateRun(t, firstRun, "--state", state, dir)
	good := readFile(t, state)

	truncated := filepath.Join(t.TempDir(), "truncated")
	if err := os.WriteFile(truncated, good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	alien := filepath.Join(t.TempDir(), "alien")
	if err := os.WriteFile(alien, []byte("trailcover-state v9\nwhatever"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"truncated", []string{"--state", truncated, dir}, exitError, "truncated; remove the file to start a new analysis"},
		{"other version", []string{"--state", alien, dir}, exitError, "the state is trailcover-state v9"},
		{"other allowlist", []string{"--state", state, "--allow-regions", "eu-west-1", dir}, exitUsage, "the state was made with allow regions (none), this run has eu-west-1; remove the file"},
		{"other accounts", []string{"--state", state, "--accounts", "123456789012", dir}, exitUsage, "accounts"},
		{"with an end", []string{"--state", state, "--end", "2025-01-07", dir}, exitUsage, "--end cannot be combined with --state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(t.Context(), append([]string{"analyze", "--out", t.TempDir()}, tc.args...), io.Discard, &stderr, func() time.Time { return secondRun })
			if code := exitCode(err, false, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tc.code, tc.want)
			}
		})
	}
	if !bytes.Equal(readFile(t, state), good) {
		t.Error("a refused run changed the state")
	}

	// A run in progress holds the lock.
	unlock, err := lockState(state)
	if err != nil {
		t.Fatal(err)
	}
	err = run(t.Context(), []string{"analyze", "--out", t.TempDir(), "--state", state, dir}, io.Discard, io.Discard, func() time.Time { return secondRun })
	unlock()
	if err == nil || !strings.Contains(err.Error(), "another trailcover run holds") {
		t.Errorf("a second run while the state is locked: %v", err)
	}
}

// TestAcquireRefusedWhileLocked: a second acquisition into a copy another
// run is writing stops before it touches anything.
func TestAcquireRefusedWhileLocked(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ingest.StateDir), 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := takeLock(filepath.Join(dir, ingest.StateDir, "acquire.lock"), "test", false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	srv := s3test.StartFake(t)
	useServer(t, srv)
	srv.CreateBucket(t, "bucket")
	var stderr bytes.Buffer
	err = run(t.Context(), []string{"acquire", "--endpoint-url", srv.Endpoint, "s3://bucket", dir}, &bytes.Buffer{}, &stderr, time.Now)
	if err == nil || !strings.Contains(err.Error(), "another trailcover run holds") {
		t.Errorf("acquire into a locked copy: %v, want refused", err)
	}
}

package analyzer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// e2eAccount is the one account of the end-to-end archive: validate-logs
// checks one account and one source region per run, and cannot validate
// organization trails given --s3-bucket, so the archive is a single
// account's multi-region trail.
const (
	e2eAccount = "123456789012"
	e2eTrail   = "audit-trail"
	e2eHome    = "us-east-1"
)

// e2eConfig is a small archive (one account, two regions, one day, a few
// log files per hour: validate-logs downloads every log file one by one)
// with every tampering scenario, spread over the day so that none hides
// another.
func e2eConfig() simulate.Config {
	day := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	return simulate.Config{
		Seed:           20250106,
		Bucket:         "trailcover-e2e",
		Accounts:       []string{e2eAccount},
		Regions:        []string{"us-east-1", "eu-west-1"},
		EnabledRegions: []string{"us-east-1", "eu-west-1"},
		Start:          day,
		Days:           1,
		EventsPerHour:  40,
		Trails:         []simulate.Trail{{Name: e2eTrail, HomeRegion: e2eHome, MultiRegion: true}},
		Scenarios: []simulate.Scenario{
			{Name: simulate.ScenarioCorruptObjects, Account: e2eAccount, Region: "us-east-1", At: at(2, 40)},
			{Name: simulate.ScenarioLogDeleted, Account: e2eAccount, Region: "eu-west-1", At: at(3, 12), Count: 2},
			{Name: simulate.ScenarioLogModified, Account: e2eAccount, Region: "us-east-1", At: at(3, 47)},
			{Name: simulate.ScenarioLogInjected, Account: e2eAccount, Region: "eu-west-1", At: at(4, 23)},
			{Name: simulate.ScenarioDigestDeleted, Account: e2eAccount, Region: "us-east-1", At: at(5, 0)},
			{Name: simulate.ScenarioDigestsDeleted, Account: e2eAccount, Region: "eu-west-1", At: at(6, 0), Count: 3},
			{Name: simulate.ScenarioBadSignature, Account: e2eAccount, Region: "us-east-1", At: at(8, 30)},
			{Name: simulate.ScenarioLoggingStopped, Account: e2eAccount, At: at(9, 7), Hours: 1},
		},
	}
}

// TestIntegrityEndToEnd generates an archive with every tampering
// scenario, serves it from a real S3 server process (versitygw), analyzes
// it as `trailcover analyze` does (every digest first, then the rest), and
// checks each chain's counts against the archive's ground truth. Then it
// runs `aws cloudtrail validate-logs` on the same bucket, for each source
// region, and checks that trailcover counts what the CLI counts where the
// CLI sees the problem, and also reports what the CLI misses: injected
// log files, every one of consecutive deleted digests.
func TestIntegrityEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts an S3 server")
	}
	srv := s3test.StartVersity(t)
	ctx := t.Context()
	dir := t.TempDir()
	cfg := e2eConfig()
	truth, err := simulate.Generate(ctx, cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range truth.Scenarios {
		if !s.Applied {
			t.Fatalf("scenario %s was not applied: the archive cannot show it", s.Name)
		}
	}
	srv.CreateBucket(t, truth.Bucket)
	if err := s3test.UploadDir(ctx, srv.Client(t), truth.Bucket, dir); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, ingest.StateDir, "public-keys.json")
	keyJSON, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := analyzer.ParsePublicKeys(keyJSON)
	if err != nil {
		t.Fatalf("%s: %v", keyFile, err)
	}
	src := srv.Source(t, "s3://"+truth.Bucket)

	t.Run("truth", func(t *testing.T) {
		began := time.Now()
		res := analyzeArchive(t, src, ingest.Window{}, keys)
		t.Logf("whole archive analyzed in %v", time.Since(began).Round(time.Millisecond))
		checkAgainstTruth(t, res, truth, dir)
		checkCountsAddUp(t, res, dir)
		// One scan, region by region, each let go when done, as analyze
		// runs without --state or --versions: the same result.
		sameResult(t, analyzeByRegion(t, src, ingest.Window{}, keys), res)
		window := ingest.Window{Start: cfg.Start.Add(6 * time.Hour), End: cfg.Start.Add(20 * time.Hour)}
		sameResult(t, analyzeByRegion(t, src, window, keys), analyzeArchive(t, src, window, keys))
	})

	t.Run("plain copy", func(t *testing.T) {
		// What `aws s3 sync` makes: the objects, no metadata (so no
		// signatures), no record of the bucket. Every digest that a newer
		// one links to is still proven by the signature that one recorded.
		copyDir := t.TempDir()
		if err := os.CopyFS(copyDir, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(copyDir, ingest.StateDir)); err != nil {
			t.Fatal(err)
		}
		plain, err := ingest.OpenDir(copyDir)
		if err != nil {
			t.Fatal(err)
		}
		defer plain.Close()
		res := analyzeArchive(t, plain, ingest.Window{}, keys)
		checkPlainCopy(t, res, truth, copyDir)
		checkCountsAddUp(t, res, copyDir)
		for _, c := range res.Chains {
			t.Logf("%s %s: %d valid, %d invalid, %d missing, %d unverifiable digests; logs %d valid, %d invalid, %d missing, %d unlisted, %d unverified",
				c.Account, c.Region, c.DigestsValid, c.DigestsInvalid, c.DigestsMissing, c.DigestsUnverifiable,
				c.LogsValid, c.LogsInvalid, c.LogsMissing, c.LogsUnlisted, c.LogsUnverified)
		}
	})

	t.Run("validate-logs", func(t *testing.T) {
		aws, err := exec.LookPath("aws")
		if err != nil {
			if os.Getenv(s3test.RequireEnv) == "1" {
				t.Fatalf("the AWS CLI is not installed; %s=1 requires it", s3test.RequireEnv)
			}
			t.Skip("the AWS CLI (aws) is not installed")
		}
		window := ingest.Window{Start: cfg.Start, End: cfg.Start.AddDate(0, 0, 1)}
		res := analyzeArchive(t, src, window, keys)
		keyServer := listPublicKeysServer(t, dir)
		var table []string
		for _, region := range cfg.Regions {
			began := time.Now()
			cli := runValidateLogs(t, aws, srv, keyServer, truth.Bucket, region, window)
			elapsed := time.Since(began).Round(time.Millisecond)
			chain := findChain(res.Chains, e2eAccount, region, e2eTrail, false)
			if chain == nil {
				t.Errorf("%s: no chain", region)
				continue
			}
			row := compareWithCLI(t, res, *chain, cli, truth, dir)
			table = append(table, fmt.Sprintf("%s (CLI %v)\n%s", region, elapsed, row))
		}
		t.Logf("trailcover vs aws cloudtrail validate-logs, window %s to %s:\n%s",
			window.Start.Format(time.RFC3339), window.End.Format(time.RFC3339), strings.Join(table, "\n"))
	})
}

// analyzeArchive scans src twice, every digest, then everything else,
// and returns the analysis: the plainest order, which the region-by-region
// scan `trailcover analyze` makes (analyzeByRegion) must agree with.
func analyzeArchive(t *testing.T, src ingest.Source, window ingest.Window, keys *analyzer.KeySet) *analyzer.Result {
	t.Helper()
	a := analyzer.New(analyzer.Config{Window: window, Bucket: bucketOf(src), PublicKeys: keys})
	inv := &ingest.Inventory{}
	for _, kinds := range [][]ingest.Kind{
		{ingest.KindDigest},
		{ingest.KindLog, ingest.KindInsight, ingest.KindOther},
	} {
		part, err := ingest.Scan(t.Context(), src, ingest.ScanOptions{Window: window, Kinds: kinds, Workers: 8},
			func(r *ingest.Result) error {
				a.Observe(r)
				return nil
			})
		if err != nil {
			t.Fatalf("scan %v: %v", kinds, err)
		}
		inv.Scopes = append(inv.Scopes, part.Scopes...)
	}
	return a.Finish(inv)
}

// analyzeByRegion scans src once with ScopeDone, letting the analyzer
// judge and forget each region when it is done, as `trailcover analyze`
// does without --state or --versions.
func analyzeByRegion(t *testing.T, src ingest.Source, window ingest.Window, keys *analyzer.KeySet) *analyzer.Result {
	t.Helper()
	a := analyzer.New(analyzer.Config{Window: window, Bucket: bucketOf(src), PublicKeys: keys})
	ended := 0
	inv, err := ingest.Scan(t.Context(), src, ingest.ScanOptions{Window: window, Workers: 8, ScopeDone: func(s ingest.Scope) error {
		ended++
		a.EndScope(s)
		return nil
	}}, func(r *ingest.Result) error {
		a.Observe(r)
		return nil
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if ended == 0 {
		t.Fatal("no region ended")
	}
	return a.Finish(inv)
}

// sameResult fails unless two analyses agree in everything (the order of
// the inventory's scopes aside).
func sameResult(t *testing.T, got, want *analyzer.Result) {
	t.Helper()
	for _, r := range []*analyzer.Result{got, want} {
		slices.SortFunc(r.Scopes, func(a, b ingest.Scope) int {
			return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
		})
	}
	// The coverage tables hold each analysis's state: their runs are
	// what is compared.
	if !reflect.DeepEqual(got.Coverage.Rows(), want.Coverage.Rows()) {
		t.Error("coverage runs region by region differ from the two-phase ones")
	}
	g, w := *got, *want
	g.Coverage, w.Coverage = nil, nil
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.MarshalIndent(g, "", " ")
		wj, _ := json.MarshalIndent(w, "", " ")
		t.Errorf("analysis region by region differs from the two-phase one:\n%s", firstDiff(string(gj), string(wj)))
	}
}

// firstDiff shows the first differing line of two texts, with context.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			lo := max(0, i-5)
			return fmt.Sprintf("line %d:\ngot  %q\nwant %q\ncontext (want):\n%s", i+1, gl, wl, strings.Join(w[lo:min(len(w), i+3)], "\n"))
		}
	}
	return "(no line differs)"
}

// bucketOf is the bucket a source knows it reads, or "".
func bucketOf(src ingest.Source) string {
	if b, ok := src.(ingest.Bucketed); ok {
		return b.Bucket()
	}
	return ""
}

func findChain(chains []analyzer.Chain, account, region, trail string, backfill bool) *analyzer.Chain {
	for i, c := range chains {
		if c.Account == account && c.Region == region && c.Trail == trail && c.Backfill == backfill {
			return &chains[i]
		}
	}
	return nil
}

// integrityFindings returns the integrity findings of one region, by kind.
func integrityFindings(res *analyzer.Result, region string) map[string][]analyzer.Finding {
	out := map[string][]analyzer.Finding{}
	for _, f := range res.Findings {
		switch f.Kind {
		case analyzer.KindDigestInvalid, analyzer.KindDigestMissing, analyzer.KindDigestChainBreak,
			analyzer.KindLogFileMissing, analyzer.KindLogFileModified, analyzer.KindLogFileUnlisted:
			if f.Region == region {
				out[f.Kind] = append(out[f.Kind], f)
			}
		}
	}
	return out
}

// evidenceKeys collects one evidence value of findings, sorted.
func evidenceKeys(fs []analyzer.Finding, name string) []string {
	var keys []string
	for _, f := range fs {
		if k, ok := f.Evidence[name].(string); ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// checkAgainstTruth compares each chain of a whole-archive analysis with
// what the simulator planted.
func checkAgainstTruth(t *testing.T, res *analyzer.Result, truth *simulate.Truth, dir string) {
	t.Helper()
	if len(res.Chains) != len(truth.Chains) {
		t.Errorf("%d chains, want %d: %+v", len(res.Chains), len(truth.Chains), res.Chains)
	}
	listed := listedOnDisk(t, dir)
	for _, tc := range truth.Chains {
		c := findChain(res.Chains, tc.Account, tc.Region, tc.Trail, false)
		if c == nil {
			t.Errorf("%s %s: no chain", tc.Account, tc.Region)
			continue
		}
		// A log file can only be judged against a digest that is still
		// there: a modified or deleted file that only a deleted digest
		// listed is just unlisted, or leaves no trace.
		var modified, deleted []string
		for _, k := range tc.ModifiedLogs {
			if listed[k] != "" {
				modified = append(modified, k)
			}
		}
		for _, o := range truth.CorruptObjects {
			if o.Listed && listed[o.Key] != "" && ingest.ParseKey(o.Key).Region == tc.Region {
				modified = append(modified, o.Key)
			}
		}
		for _, k := range tc.DeletedLogs {
			if listed[k] != "" {
				deleted = append(deleted, k)
			}
		}
		listedHere := 0
		for k := range listed {
			if ingest.ParseKey(k).Region == tc.Region {
				listedHere++
			}
		}
		want := analyzer.Chain{
			DigestsValid:   tc.DigestsWritten - tc.DigestsBadSignature,
			DigestsInvalid: tc.DigestsBadSignature,
			DigestsMissing: tc.DigestsDeleted,
			LogsValid:      listedHere - len(deleted) - len(modified),
			LogsInvalid:    len(modified),
			LogsMissing:    len(deleted),
			LogsUnlisted:   tc.LogsUnlisted,
			// Listed only by a deleted digest: nothing left can tell
			// whether CloudTrail delivered them.
			LogsUnverified: tc.LogsOnlyInDeletedDigests,
		}
		got := *c
		got.Account, got.OrgID, got.Region, got.Trail, got.HomeRegion, got.Prefix = "", "", "", "", "", ""
		got.First, got.Last = time.Time{}, time.Time{}
		if got != want {
			t.Errorf("%s %s: counts\n got %+v\nwant %+v", tc.Account, tc.Region, got, want)
		}
		fs := integrityFindings(res, tc.Region)
		if got, want := evidenceKeys(fs[analyzer.KindDigestMissing], "missing_key"), sorted(tc.DeletedDigests); !slices.Equal(got, want) {
			t.Errorf("%s: digest-missing for %v, want every deleted digest %v", tc.Region, got, want)
		}
		if got, want := evidenceKeys(fs[analyzer.KindLogFileMissing], "object_key"), sorted(deleted); !slices.Equal(got, want) {
			t.Errorf("%s: log-file-missing for %v, want %v", tc.Region, got, want)
		}
		if got, want := evidenceKeys(fs[analyzer.KindLogFileModified], "object_key"), sorted(modified); !slices.Equal(got, want) {
			t.Errorf("%s: log-file-modified for %v, want %v", tc.Region, got, want)
		}
		unlisted := evidenceKeys(fs[analyzer.KindLogFileUnlisted], "object_key")
		for _, k := range tc.InjectedLogs {
			if !slices.Contains(unlisted, k) {
				t.Errorf("%s: injected log file %s not reported unlisted", tc.Region, k)
			}
		}
		var badSig []string
		for _, f := range fs[analyzer.KindDigestInvalid] {
			if f.Severity == analyzer.Critical {
				badSig = append(badSig, f.Evidence["digest_key"].(string))
			}
		}
		slices.Sort(badSig)
		if want := sorted(tc.BadSignatureDigests); !slices.Equal(badSig, want) {
			t.Errorf("%s: critical digest-invalid for %v, want %v", tc.Region, badSig, want)
		}
		// Every restart of logging is a chain break.
		if got, want := len(fs[analyzer.KindDigestChainBreak]), tc.ChainStarts-1; got != want {
			t.Errorf("%s: %d digest-chain-break findings, want %d", tc.Region, got, want)
		}
	}
}

// checkPlainCopy compares each chain of a copy without metadata with what
// the digests on disk allow: a digest is proven when a newer one on disk
// links to it (its previousDigestSignature verifies it), unverifiable
// otherwise (the newest of each chain segment, the one before a deleted
// digest).
func checkPlainCopy(t *testing.T, res *analyzer.Result, truth *simulate.Truth, dir string) {
	t.Helper()
	digests := digestsOnDisk(t, dir)
	linked := map[string]bool{}
	for _, d := range digests {
		if d.PreviousDigestS3Object != nil {
			linked[*d.PreviousDigestS3Object] = true
		}
	}
	for _, tc := range truth.Chains {
		c := findChain(res.Chains, tc.Account, tc.Region, tc.Trail, false)
		if c == nil {
			t.Errorf("%s %s: no chain", tc.Account, tc.Region)
			continue
		}
		deleted, modified := map[string]bool{}, map[string]bool{}
		for _, k := range tc.DeletedLogs {
			deleted[k] = true
		}
		for _, k := range tc.ModifiedLogs {
			modified[k] = true
		}
		for _, o := range truth.CorruptObjects {
			if o.Listed {
				modified[o.Key] = true
			}
		}
		want := analyzer.Chain{DigestsMissing: tc.DigestsDeleted, LogsUnlisted: tc.LogsUnlisted, LogsUnverified: tc.LogsOnlyInDeletedDigests}
		for key, d := range digests {
			if ingest.ParseKey(key).Region != tc.Region {
				continue
			}
			proven := linked[key]
			if proven {
				want.DigestsValid++
			} else {
				want.DigestsUnverifiable++
			}
			for _, lf := range d.LogFiles {
				switch {
				case deleted[lf.S3Object]:
					want.LogsMissing++
				case modified[lf.S3Object]:
					want.LogsInvalid++
				case proven:
					want.LogsValid++
				default:
					want.LogsUnverified++
				}
			}
		}
		got := *c
		got.Account, got.OrgID, got.Region, got.Trail, got.HomeRegion, got.Prefix = "", "", "", "", "", ""
		got.First, got.Last = time.Time{}, time.Time{}
		if got != want {
			t.Errorf("%s %s: counts\n got %+v\nwant %+v", tc.Account, tc.Region, got, want)
		}
		// The digest whose stored signature was bad is, without the
		// metadata, proven like any other.
		if got, want := want.DigestsValid, tc.DigestsWritten-want.DigestsUnverifiable; got != want {
			t.Errorf("%s: %d digests proven, want %d", tc.Region, got, want)
		}
	}
}

// digestsOnDisk decodes every digest of the archive directory, by key.
func digestsOnDisk(t *testing.T, dir string) map[string]*ingest.Digest {
	t.Helper()
	out := map[string]*ingest.Digest{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ingest.StateDir {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || d.IsDir() || ingest.ParseKey(filepath.ToSlash(rel)).Kind != ingest.KindDigest {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		dg, _, err := ingest.DecodeDigest(f)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		out[filepath.ToSlash(rel)] = dg
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// listedOnDisk returns the log files the archive's digests list, each
// with the digest that lists it.
func listedOnDisk(t *testing.T, dir string) map[string]string {
	t.Helper()
	listed := map[string]string{}
	for key, d := range digestsOnDisk(t, dir) {
		for _, lf := range d.LogFiles {
			listed[lf.S3Object] = key
		}
	}
	return listed
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	if s == nil {
		s = []string{}
	}
	return s
}

// listPublicKeysServer answers CloudTrail's ListPublicKeys (JSON 1.1) with
// the archive's public keys, as validate-logs fetches them: timestamps as
// epoch seconds, the DER as base64.
func listPublicKeysServer(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ingest.StateDir, "public-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list simulate.PublicKeyList
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	type key struct {
		Value             string
		ValidityStartTime float64
		ValidityEndTime   float64
		Fingerprint       string
	}
	var out struct{ PublicKeyList []key }
	for _, k := range list.PublicKeyList {
		start, err1 := time.Parse(time.RFC3339, k.ValidityStartTime)
		end, err2 := time.Parse(time.RFC3339, k.ValidityEndTime)
		if _, err := base64.StdEncoding.DecodeString(k.Value); err != nil || err1 != nil || err2 != nil {
			t.Fatalf("public key %s: %v %v %v", k.Fingerprint, err, err1, err2)
		}
		out.PublicKeyList = append(out.PublicKeyList, key{k.Value, float64(start.Unix()), float64(end.Unix()), k.Fingerprint})
	}
	body, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// botocore sends the namespaced form,
		// com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListPublicKeys.
		if target := r.Header.Get("X-Amz-Target"); !strings.HasSuffix(target, "CloudTrail_20131101.ListPublicKeys") {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":"not served here: %s"}`, target)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write(body)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// cliCounts is what validate-logs reported for one source region.
type cliCounts struct {
	DigestsValid, DigestsInvalid, DigestsNotFound int
	LogsValid, LogsInvalid                        int
	Gaps                                          int
	NotFound                                      []string
	InvalidDigests                                []string
	InvalidLogs                                   []string
	Summary                                       []string
}

// runValidateLogs runs `aws cloudtrail validate-logs --verbose` for one
// source region of the archive's trail, against the S3 server and the
// ListPublicKeys stand-in, and parses what it prints (tab-separated
// status lines; errors on stderr).
func runValidateLogs(t *testing.T, aws string, srv *s3test.Server, keys *httptest.Server, bucket, region string, w ingest.Window) cliCounts {
	t.Helper()
	home := t.TempDir()
	config := filepath.Join(home, "config")
	// Path-style requests: the server is an IP address and port.
	if err := os.WriteFile(config, []byte("[default]\ns3 =\n    addressing_style = path\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	args := []string{"cloudtrail", "validate-logs",
		"--trail-arn", fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", e2eHome, e2eAccount, e2eTrail),
		"--start-time", w.Start.Format(time.RFC3339),
		"--end-time", w.End.Format(time.RFC3339),
		"--s3-bucket", bucket,
		"--region", region,
		"--endpoint-url", keys.URL,
		"--verbose",
	}
	cmd := exec.CommandContext(ctx, aws, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		"HOME="+home,
		"AWS_CONFIG_FILE="+config,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"AWS_ACCESS_KEY_ID="+srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY="+srv.SecretKey,
		"AWS_DEFAULT_REGION="+srv.Region,
		"AWS_ENDPOINT_URL_S3="+srv.Endpoint,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_RETRY_MODE=standard",
		"AWS_MAX_ATTEMPTS=2",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	// Exit status 1 means invalid digests or logs were found.
	if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 1) {
		t.Fatalf("aws %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "Results requested for") {
		t.Fatalf("validate-logs printed no summary\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	var c cliCounts
	for _, line := range strings.Split(stdout.String()+"\n"+stderr.String(), "\n") {
		line = strings.TrimPrefix(line, "(backfill) ")
		f := strings.Split(line, "\t")
		switch {
		case strings.HasPrefix(line, "No log files were delivered by CloudTrail between"):
			c.Gaps++
		case strings.HasPrefix(line, "Results found for"), strings.Contains(line, " files valid"):
			c.Summary = append(c.Summary, strings.TrimSpace(line))
		case len(f) != 3:
		case f[0] == "Digest file" && f[2] == "valid":
			c.DigestsValid++
		case f[0] == "Digest file" && f[2] == "INVALID: not found":
			c.DigestsNotFound++
			c.NotFound = append(c.NotFound, strings.TrimPrefix(f[1], "s3://"+bucket+"/"))
		case f[0] == "Digest file" && strings.HasPrefix(f[2], "INVALID"):
			c.DigestsInvalid++
			c.InvalidDigests = append(c.InvalidDigests, strings.TrimPrefix(f[1], "s3://"+bucket+"/")+" "+f[2])
		case f[0] == "Log file" && f[2] == "valid":
			c.LogsValid++
		case f[0] == "Log file" && strings.HasPrefix(f[2], "INVALID"):
			c.LogsInvalid++
			c.InvalidLogs = append(c.InvalidLogs, strings.TrimPrefix(f[1], "s3://"+bucket+"/")+" "+f[2])
		}
	}
	return c
}

// compareWithCLI checks one chain against validate-logs and returns the
// rows of the comparison table.
func compareWithCLI(t *testing.T, res *analyzer.Result, c analyzer.Chain, cli cliCounts, truth *simulate.Truth, dir string) string {
	t.Helper()
	tc := truth.Chain(c.Account, c.Region)
	fs := integrityFindings(res, c.Region)
	// A digest whose stored signature was replaced but whose bytes the
	// next digest still commits to is invalid for both; trailcover still
	// verifies its log files through the chain, the CLI skips them.
	provenThroughChain := 0
	for _, key := range tc.BadSignatureDigests {
		provenThroughChain += logFilesOf(t, dir, key)
	}
	// The CLI reports one "not found" per run of consecutive deleted
	// digests (aws-cli#7054); trailcover reports each.
	runs := deletedRuns(tc.DeletedDigests)

	check := func(what string, got, want int) {
		if got != want {
			t.Errorf("%s %s: trailcover %d, want %d (from validate-logs)", c.Region, what, got, want)
		}
	}
	check("valid digests", c.DigestsValid, cli.DigestsValid)
	check("invalid digests", c.DigestsInvalid, cli.DigestsInvalid)
	check("missing digest runs", runs, cli.DigestsNotFound)
	check("missing digests", c.DigestsMissing, len(tc.DeletedDigests))
	check("valid log files", c.LogsValid, cli.LogsValid+provenThroughChain)
	check("invalid log files", c.LogsInvalid+c.LogsMissing, cli.LogsInvalid)
	check("chain breaks", len(fs[analyzer.KindDigestChainBreak]), cli.Gaps)
	// What the CLI cannot see.
	check("unlisted log files", c.LogsUnlisted, tc.LogsUnlisted)
	if c.DigestsMissing <= cli.DigestsNotFound && len(tc.DeletedDigests) > 1 {
		t.Errorf("%s: trailcover reports %d missing digests, the CLI %d: consecutive deletions should show more", c.Region, c.DigestsMissing, cli.DigestsNotFound)
	}
	for _, k := range cli.NotFound {
		if !slices.Contains(evidenceKeys(fs[analyzer.KindDigestMissing], "missing_key"), k) {
			t.Errorf("%s: validate-logs reports %s not found; trailcover does not", c.Region, k)
		}
	}
	if t.Failed() {
		t.Logf("validate-logs %s:\n  invalid digests %q\n  not found %q\n  invalid logs %q\n  summary %q", c.Region, cli.InvalidDigests, cli.NotFound, cli.InvalidLogs, cli.Summary)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %-24s %10s %10s\n", "", "trailcover", "CLI")
	row := func(name string, tcv int, cliv string) { fmt.Fprintf(&b, "  %-24s %10d %10s\n", name, tcv, cliv) }
	row("digests valid", c.DigestsValid, fmt.Sprint(cli.DigestsValid))
	row("digests invalid", c.DigestsInvalid, fmt.Sprint(cli.DigestsInvalid))
	row("digests missing", c.DigestsMissing, fmt.Sprint(cli.DigestsNotFound))
	row("digests unverifiable", c.DigestsUnverifiable, "-")
	row("chain breaks (gaps)", len(fs[analyzer.KindDigestChainBreak]), fmt.Sprint(cli.Gaps))
	row("logs valid", c.LogsValid, fmt.Sprint(cli.LogsValid))
	row("logs invalid", c.LogsInvalid, fmt.Sprint(cli.LogsInvalid)+" (incl. not found)")
	row("logs missing", c.LogsMissing, "-")
	row("logs unlisted", c.LogsUnlisted, "-")
	fmt.Fprintf(&b, "  CLI summary: %s", strings.Join(cli.Summary, "; "))
	return b.String()
}

// logFilesOf returns how many log files the digest at key lists.
func logFilesOf(t *testing.T, dir, key string) int {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, _, err := ingest.DecodeDigest(f)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return len(d.LogFiles)
}

// deletedRuns counts runs of consecutive (hourly) deleted digests.
func deletedRuns(keys []string) int {
	var times []time.Time
	for _, k := range keys {
		times = append(times, ingest.ParseKey(k).Time)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	runs := 0
	for i, tm := range times {
		if i == 0 || tm.Sub(times[i-1]) > time.Hour+time.Minute {
			runs++
		}
	}
	return runs
}

// checkCountsAddUp: every log file on disk is in exactly one of a chain's
// valid, invalid, unlisted and unverified counts (missing ones are not on
// disk), or in LogsWithoutDigests, whatever its verdict.
func checkCountsAddUp(t *testing.T, res *analyzer.Result, dir string) {
	t.Helper()
	onDisk := map[string]int{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if loc := ingest.ParseKey(filepath.ToSlash(rel)); loc.Kind == ingest.KindLog {
			onDisk[loc.Account+" "+loc.Region]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	counted := map[string]int{}
	for _, c := range res.Chains {
		counted[c.Account+" "+c.Region] += c.LogsValid + c.LogsInvalid + c.LogsUnlisted + c.LogsUnverified
	}
	without := 0
	for k, n := range onDisk {
		got, ok := counted[k]
		switch {
		case !ok:
			without += n
		case got != n:
			t.Errorf("%s: %d log files counted in its chains, %d on disk", k, got, n)
		}
	}
	if without != res.LogsWithoutDigests {
		t.Errorf("%d log files in regions without digests, LogsWithoutDigests %d", without, res.LogsWithoutDigests)
	}
}

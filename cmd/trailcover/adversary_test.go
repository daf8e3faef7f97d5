package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// The attacks below are made on a clean simulated archive, every digest
// signed, the way an adversary with write access to the bucket would
// make them after the fact: files added, deleted or rewritten, and S3
// metadata (where CloudTrail keeps each digest's signature) removed. Each
// must end with exit status 3 and a finding at or above high, never with
// a green run.

// adversaryArchive is a clean archive: one account, two regions, a day,
// every digest signed. It returns the directory and the end of the
// archive's day.
func adversaryArchive(t *testing.T) (string, time.Time) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "archive")
	cfg := simulate.Config{
		Seed: 21, AccountCount: 1,
		Regions: []string{"us-east-1", "eu-west-1"}, EnabledRegions: []string{"us-east-1", "eu-west-1"},
		Days: 1, EventsPerHour: 20,
	}
	if _, err := simulate.Generate(t.Context(), cfg, dir); err != nil {
		t.Fatal(err)
	}
	return dir, simulate.DefaultStart().Add(24 * time.Hour)
}

// adversaryRun analyzes dir (or an s3:// source with extra args) as the
// weekly job would, with the archive's public keys.
func adversaryRun(t *testing.T, dir string, args ...string) genuineRun {
	t.Helper()
	keys := filepath.Join(dir, ingest.StateDir, "public-keys.json")
	return analyzeGenuine(t, append([]string{"--public-keys", keys, "--expect-regions", "us-east-1,eu-west-1"}, args...)...)
}

// digestsOf lists the archive's digest keys of one region, oldest first.
func digestsOf(t *testing.T, dir, region string) []string {
	t.Helper()
	var keys []string
	err := filepath.WalkDir(filepath.Join(dir, "AWSLogs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if loc := ingest.ParseKey(filepath.ToSlash(rel)); loc.Kind == ingest.KindDigest && loc.Region == region {
			keys = append(keys, loc.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// readDigest decodes a digest file of the archive as plain JSON.
func readDigest(t *testing.T, dir, key string) map[string]any {
	t.Helper()
	raw := readGzip(t, filepath.Join(dir, filepath.FromSlash(key)))
	var d map[string]any
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func writeGzipJSON(t *testing.T, dir, key string, v any) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, gzipped(raw), 0o644); err != nil {
		t.Fatal(err)
	}
}

// removeSignature deletes the metadata sidecar that holds a digest's
// signature: what deleting the object and writing it back without its
// metadata does in S3.
func removeSignature(t *testing.T, dir, key string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, ingest.StateDir, "meta", filepath.FromSlash(key)+".json")); err != nil {
		t.Fatal(err)
	}
}

// listedLogs are the log files a digest lists.
func listedLogs(d map[string]any) []string {
	var out []string
	for _, f := range d["logFiles"].([]any) {
		out = append(out, f.(map[string]any)["s3Object"].(string))
	}
	return out
}

// injectLog writes a well-formed log file no digest lists and returns
// its key and the SHA-256 of its decompressed bytes.
func injectLog(t *testing.T, dir string, at time.Time) (string, string) {
	t.Helper()
	loc := ingest.Location{Kind: ingest.KindLog, Account: "", Region: "us-east-1", Time: at, Unique: "InjectedByAttack"}
	for _, k := range digestsOf(t, dir, "us-east-1") {
		loc.Account = ingest.ParseKey(k).Account
		break
	}
	body := []byte(records(ctRecord("injected-record", "us-east-1", at.Format("15:04"), "")))
	writeFile(t, filepath.Join(dir, filepath.FromSlash(loc.ObjectKey())), gzipped(body))
	sum := sha256.Sum256(body)
	return loc.ObjectKey(), hex.EncodeToString(sum[:])
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantCaught checks that a run over tampered evidence is not green.
func wantCaught(t *testing.T, res genuineRun, kind, mention string) {
	t.Helper()
	if res.exit != exitFindings {
		t.Errorf("exit %d, want %d\n%s", res.exit, exitFindings, res.stderr)
	}
	for _, f := range findingsOfKind(res.summary, kind) {
		if severityAtLeast(f.Severity, "high") && strings.Contains(f.Title+" "+f.Detail, mention) {
			return
		}
	}
	var got []string
	for _, f := range res.summary.Findings {
		got = append(got, f.Severity+" "+f.Kind+": "+f.Title)
	}
	t.Errorf("no %s finding at or above high mentioning %q; findings:\n%s", kind, mention, strings.Join(got, "\n"))
}

func TestAdversary(t *testing.T) {
	clean, end := adversaryArchive(t)
	copyArchive := func(t *testing.T) string {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(clean)); err != nil {
			t.Fatal(err)
		}
		return dir
	}

	t.Run("clean", func(t *testing.T) {
		res := adversaryRun(t, clean, clean, "--end", end.Format(time.RFC3339))
		if res.exit != exitOK {
			t.Errorf("clean archive: exit %d\n%+v\n%s", res.exit, res.summary.Findings, res.stderr)
		}
	})
	t.Run("plain copy", func(t *testing.T) {
		// aws s3 sync: no metadata, no .trailcover folder. Only the
		// newest digest of each chain is unproven; nothing is tampering.
		dir := copyArchive(t)
		keys := filepath.Join(t.TempDir(), "public-keys.json")
		writeFile(t, keys, must(os.ReadFile(filepath.Join(dir, ingest.StateDir, "public-keys.json"))))
		if err := os.RemoveAll(filepath.Join(dir, ingest.StateDir)); err != nil {
			t.Fatal(err)
		}
		res := analyzeGenuine(t, dir, "--public-keys", keys, "--expect-regions", "us-east-1,eu-west-1")
		if res.exit != exitOK {
			t.Errorf("plain copy: exit %d\n%+v", res.exit, res.summary.Findings)
		}
		invalid := findingsOfKind(res.summary, "digest-invalid")
		if len(invalid) == 0 {
			t.Error("plain copy: nothing says the newest digests are unverifiable")
		}
		for _, f := range invalid {
			if f.Severity != "info" || !strings.Contains(f.Detail, "trailcover acquire") {
				t.Errorf("plain copy: %s %s does not say, as information, how to verify the newest digests: %s", f.Severity, f.Title, f.Detail)
			}
		}
	})

	// An injected log file laundered by a digest without a signature that
	// lists it: a backfill digest, or one of a trail that does not exist.
	for _, forged := range []struct{ name, trail string }{{"backfill digest", ""}, {"made-up trail", "audit-shadow"}} {
		t.Run("unsigned "+forged.name+" lists an injected log", func(t *testing.T) {
			dir := copyArchive(t)
			digests := digestsOf(t, dir, "us-east-1")
			at := ingest.ParseKey(digests[10]).Time.Add(-30 * time.Minute)
			logKey, sum := injectLog(t, dir, at)
			base := ingest.ParseKey(digests[10])
			d := readDigest(t, dir, digests[10])
			loc := base
			if forged.trail != "" {
				loc.Trail = forged.trail
			} else {
				loc.Backfill = true
			}
			key := loc.ObjectKey()
			d["digestS3Object"] = key
			d["logFiles"] = []any{map[string]any{"s3Bucket": d["digestS3Bucket"], "s3Object": logKey, "hashValue": sum, "hashAlgorithm": "SHA-256"}}
			d["previousDigestSignature"], d["previousDigestHashValue"], d["previousDigestS3Object"], d["previousDigestS3Bucket"] = nil, nil, nil, nil
			writeGzipJSON(t, dir, key, d)
			wantCaught(t, adversaryRun(t, dir, dir), "digest-invalid", key)
		})
	}

	t.Run("newest digest rewritten without its signature", func(t *testing.T) {
		dir := copyArchive(t)
		digests := digestsOf(t, dir, "us-east-1")
		newest := digests[len(digests)-1]
		logs := listedLogs(readDigest(t, dir, newest))
		if len(logs) == 0 {
			t.Fatal("the newest digest lists no log file")
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(logs[0]))); err != nil {
			t.Fatal(err)
		}
		removeSignature(t, dir, newest)
		wantCaught(t, adversaryRun(t, dir, dir), "digest-invalid", newest)

		// The same bucket in S3, the digest stored without metadata.
		srv := s3test.StartVersity(t)
		useServer(t, srv)
		bucket := simulate.DefaultBucket
		srv.CreateBucket(t, bucket)
		if err := s3test.UploadDir(t.Context(), srv.Client(t), bucket, dir); err != nil {
			t.Fatal(err)
		}
		wantCaught(t, adversaryRun(t, dir, "s3://"+bucket, "--endpoint-url", srv.Endpoint), "digest-invalid", newest)
	})

	t.Run("unknown fingerprint and no signature", func(t *testing.T) {
		dir := copyArchive(t)
		digests := digestsOf(t, dir, "eu-west-1")
		newest := digests[len(digests)-1]
		d := readDigest(t, dir, newest)
		d["digestPublicKeyFingerprint"] = strings.Repeat("0", 32)
		writeGzipJSON(t, dir, newest, d)
		removeSignature(t, dir, newest)
		wantCaught(t, adversaryRun(t, dir, dir), "digest-invalid", newest)
	})

	t.Run("tail cut in every region", func(t *testing.T) {
		// The last two digests of every chain and the log files they
		// list are deleted; the window given ends with the archive's day.
		dir := copyArchive(t)
		for _, region := range []string{"us-east-1", "eu-west-1"} {
			digests := digestsOf(t, dir, region)
			for _, key := range digests[len(digests)-2:] {
				for _, l := range listedLogs(readDigest(t, dir, key)) {
					os.Remove(filepath.Join(dir, filepath.FromSlash(l)))
				}
				if err := os.Remove(filepath.Join(dir, filepath.FromSlash(key))); err != nil {
					t.Fatal(err)
				}
				removeSignature(t, dir, key)
			}
		}
		wantCaught(t, adversaryRun(t, dir, dir, "--end", end.Format(time.RFC3339)), "digest-missing", "stops")
	})
}

// TestReadFailures: an object the source refuses (403) or a source that
// dies mid-run is a failure to read, never a verdict on content.
func TestReadFailures(t *testing.T) {
	dir, _ := adversaryArchive(t)
	srv := s3test.StartVersity(t)
	useServer(t, srv)
	bucket := simulate.DefaultBucket
	srv.CreateBucket(t, bucket)
	if err := s3test.UploadDir(t.Context(), srv.Client(t), bucket, dir); err != nil {
		t.Fatal(err)
	}
	digests := digestsOf(t, dir, "us-east-1")
	denied := listedLogs(readDigest(t, dir, digests[5]))[0]

	t.Run("403 on a listed log file", func(t *testing.T) {
		proxy := s3test.StartFaultProxy(t, srv.Endpoint, s3test.Faults{ForbiddenKeys: []string{denied}})
		res := adversaryRun(t, dir, "s3://"+bucket, "--endpoint-url", proxy.Endpoint)
		unreadable := false
		for _, f := range res.summary.Findings {
			named := strings.Contains(f.Title+f.Detail, denied) || f.Evidence["object_key"] == denied
			switch {
			case named && f.Kind == "unreadable-object":
				unreadable = true
			case named:
				t.Errorf("the refused object is named by %s %s: %s", f.Severity, f.Kind, f.Detail)
			}
		}
		if !unreadable {
			t.Errorf("no unreadable-object finding names %s", denied)
		}
		for _, c := range res.summary.Integrity.Chains {
			if c.Region == "us-east-1" && (c.LogsInvalid != 0 || c.LogsUnverified != 1) {
				t.Errorf("us-east-1 chain: %+v, want the refused file unverified, none invalid", c)
			}
		}
	})

	t.Run("the server dies mid-run", func(t *testing.T) {
		proxy := s3test.StartFaultProxy(t, srv.Endpoint, s3test.Faults{DownAfter: 60})
		// The SDK's standard setting bounds the attempts per request.
		t.Setenv("AWS_MAX_ATTEMPTS", "2")
		out := filepath.Join(t.TempDir(), "out")
		res := analyzeGenuineTo(t, out, "s3://"+bucket, "--endpoint-url", proxy.Endpoint)
		// Whether the listing or the objects fail first, the run fails,
		// naming the endpoint.
		host := strings.TrimPrefix(proxy.Endpoint, "http://")
		if res.exit != exitError || !strings.Contains(res.stderr, host) {
			t.Errorf("exit %d, want %d naming %s:\n%s", res.exit, exitError, host, res.stderr)
		}
		if _, err := os.Stat(filepath.Join(out, summaryFile)); err == nil {
			t.Error("the failed run wrote summary.json")
		}
		if !strings.Contains(res.stderr, "maximum number of attempts, 2") {
			t.Errorf("AWS_MAX_ATTEMPTS=2 not honoured:\n%s", res.stderr)
		}
	})

	t.Run("a stalled endpoint", func(t *testing.T) {
		// Connections are accepted, object reads never answered: the
		// run gives up after the request timeout and the attempts the
		// SDK's settings allow, says so as it retries, and fails.
		proxy := s3test.StartFaultProxy(t, srv.Endpoint, s3test.Faults{Hang: 1, OnlyGet: true})
		t.Setenv("AWS_MAX_ATTEMPTS", "2")
		out := filepath.Join(t.TempDir(), "out")
		began := time.Now()
		res := analyzeGenuineTo(t, out, "s3://"+bucket, "--endpoint-url", proxy.Endpoint, "--request-timeout", "1s", "--workers", "4")
		t.Logf("stalled endpoint: exit %d after %v", res.exit, time.Since(began).Round(100*time.Millisecond))
		host := strings.TrimPrefix(proxy.Endpoint, "http://")
		if res.exit != exitError || !strings.Contains(res.stderr, host) {
			t.Errorf("exit %d, want %d naming %s:\n%s", res.exit, exitError, host, res.stderr)
		}
		if !strings.Contains(res.stderr, "retrying S3 requests") || !strings.Contains(res.stderr, "endpoint="+proxy.Endpoint) {
			t.Errorf("no log line of the retries naming the endpoint:\n%s", res.stderr)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestSimulatedTampering: the same attacks planted by the simulator
// (signature-removed on the newest digest over a deleted log file,
// digest-forged, tail-cut), judged against its ground truth: every
// digest the truth says lost its signature or was forged, every file the
// forged digest launders and every chain whose tail was cut is reported
// at or above high, and the run is not green, with the window the user
// gave and with the one the archive's data suggests.
func TestSimulatedTampering(t *testing.T) {
	day := simulate.DefaultStart()
	end := day.Add(24 * time.Hour)
	accounts := []string{"111111111111", "222222222222", "333333333333"}
	cfg := simulate.Config{
		Seed: 22, Accounts: accounts,
		Regions: []string{"us-east-1", "eu-west-1"}, EnabledRegions: []string{"us-east-1", "eu-west-1"},
		Days: 1, EventsPerHour: 20,
		Scenarios: []simulate.Scenario{
			{Name: simulate.ScenarioLogDeleted, Account: accounts[0], Region: "us-east-1", At: end.Add(-15 * time.Minute)},
			{Name: simulate.ScenarioSignatureRemoved, Account: accounts[0], Region: "us-east-1", At: end.Add(-time.Second)},
			{Name: simulate.ScenarioDigestForged, Account: accounts[1], Region: "eu-west-1"},
			{Name: simulate.ScenarioTailCut, Account: accounts[2], Hours: 3},
		},
	}
	dir := filepath.Join(t.TempDir(), "archive")
	truth, err := simulate.Generate(t.Context(), cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	var unsigned, forged, laundered []string
	cut := map[string]string{}
	for _, c := range truth.Chains {
		unsigned = append(unsigned, c.UnsignedDigests...)
		forged = append(forged, c.ForgedDigests...)
		if c.Cut != "" {
			cut[c.Account+" "+c.Region] = c.Cut
		}
	}
	for _, s := range truth.Scenarios {
		if !s.Applied {
			t.Fatalf("scenario %s not applied", s.Name)
		}
		if s.Name == simulate.ScenarioDigestForged {
			for _, k := range s.Objects {
				if ingest.ParseKey(k).Kind == ingest.KindLog {
					laundered = append(laundered, k)
				}
			}
		}
	}
	if len(unsigned) != 1 || len(forged) != 1 || len(laundered) != 1 || len(cut) != 2 {
		t.Fatalf("truth: unsigned %v, forged %v, laundered %v, cut %v", unsigned, forged, laundered, cut)
	}
	// The unsigned digest is the newest of its chain, and lists the
	// deleted file.
	if last := truth.Chain(accounts[0], "us-east-1").LastDigest; unsigned[0] != last {
		t.Fatalf("the unsigned digest %s is not the chain's newest %s", unsigned[0], last)
	}

	for _, window := range [][]string{{"--end", end.Format(time.RFC3339)}, nil} {
		t.Run(fmt.Sprint("window ", window), func(t *testing.T) {
			res := adversaryRun(t, dir, append([]string{dir}, window...)...)
			wantCaught(t, res, "digest-invalid", unsigned[0])
			wantCaught(t, res, "digest-invalid", forged[0])
			wantCaught(t, res, "log-file-unlisted", laundered[0])
			stops := map[string]bool{}
			for _, f := range findingsOfKind(res.summary, "digest-missing") {
				if severityAtLeast(f.Severity, "high") && strings.Contains(f.Title, "stops") {
					stops[f.Account+" "+f.Region] = true
				}
			}
			for chain := range cut {
				if !stops[chain] {
					t.Errorf("%s: the chain cut at %s is not reported as stopping", chain, cut[chain])
				}
			}
			for chain := range stops {
				if cut[chain] == "" {
					t.Errorf("%s: reported as stopping; the truth cut no tail there", chain)
				}
			}
			if got := controlStatus(res.summary, "multi-region-coverage"); got == "pass" {
				t.Errorf("coverage %s with the tail of %s cut", got, accounts[2])
			}
		})
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest/s3test"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// e2eArchive simulates a small archive with problems of every family,
// uploads it to a real S3 server process, and returns the directory, the
// server and the bucket.
func e2eArchive(t *testing.T) (dir string, srv *s3test.Server, bucket string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "archive")
	cfg := simulate.Config{
		Seed:          7,
		AccountCount:  2,
		Regions:       []string{"us-east-1", "eu-west-1"},
		Days:          1,
		EventsPerHour: 10,
		Scenarios: []simulate.Scenario{
			{Name: simulate.ScenarioCryptoMining},
			{Name: simulate.ScenarioRegionNotLogged},
			{Name: simulate.ScenarioLogDeleted},
			{Name: simulate.ScenarioDigestDeleted},
			{Name: simulate.ScenarioCorruptObjects},
		},
	}
	if _, err := simulate.Generate(t.Context(), cfg, dir); err != nil {
		t.Fatal(err)
	}
	srv = s3test.StartVersity(t)
	bucket = simulate.DefaultBucket
	srv.CreateBucket(t, bucket)
	if err := s3test.UploadDir(t.Context(), srv.Client(t), bucket, dir); err != nil {
		t.Fatal(err)
	}
	// The S3 source finds its credentials through the standard chain.
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_REGION", srv.Region)
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", noCloudTrail)
	return dir, srv, bucket
}

// analyzeSummary runs `trailcover analyze` and returns summary.json
// without its source, which names where the archive was read from.
func analyzeSummary(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out := t.TempDir()
	var stderr bytes.Buffer
	err := run(t.Context(), append([]string{"analyze", "--out", out}, args...), &bytes.Buffer{}, &stderr, func() time.Time { return fixedNow })
	var fe *findingsError
	if err != nil && !errors.As(err, &fe) {
		t.Fatalf("analyze %q: %v\n%s", args, err, stderr.String())
	}
	if fe == nil {
		t.Fatalf("analyze %q found nothing at or above high in an archive with planted problems", args)
	}
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if s["source"] == "" {
		t.Error("summary.json has no source")
	}
	delete(s, "source")
	// The command line names the source and the output folder too, and
	// where the keys came from depends on the source (a copy brings its
	// own).
	if run, ok := s["run"].(map[string]any); ok {
		delete(run, "command_line")
		delete(run, "public_key_sources")
	}
	dropRemediations(t, s)
	for _, name := range []string{"report.html", "findings.parquet", "coverage.parquet", "events"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("output %s: %v", name, err)
		}
	}
	return s
}

// dropRemediations removes each finding's remediation from a decoded
// summary.json, after checking it is there: its commands name the source
// and its bucket, as the source field does.
func dropRemediations(t *testing.T, s map[string]any) {
	t.Helper()
	findings, _ := s["findings"].([]any)
	for _, f := range findings {
		m := f.(map[string]any)
		if r, ok := m["remediation"].(map[string]any); !ok || r["risk"] == "" {
			t.Errorf("finding %v %v has no remediation", m["kind"], m["title"])
		}
		delete(m, "remediation")
	}
}

func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAnalyzeSameEverywhere: the same archive read from S3, from the
// simulator's directory and from an acquired copy gives the same
// summary.json apart from the source.
func TestAnalyzeSameEverywhere(t *testing.T) {
	dir, srv, bucket := e2eArchive(t)
	keys := filepath.Join(dir, ".trailcover", "public-keys.json")

	fromDir := analyzeSummary(t, "--public-keys", keys, dir)
	fromS3 := analyzeSummary(t, "--public-keys", keys, "--endpoint-url", srv.Endpoint, "s3://"+bucket)
	if a, b := canonical(t, fromDir), canonical(t, fromS3); a != b {
		t.Errorf("summary from S3 differs from the directory's:\n%s", firstDiff(a, b))
	}

	copyDir := filepath.Join(t.TempDir(), "copy")
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"acquire", "--endpoint-url", srv.Endpoint, "s3://" + bucket, copyDir}, &stdout, &stderr, time.Now); err != nil {
		t.Fatalf("acquire: %v\n%s", err, stderr.String())
	}
	if stdout.Len() < 64 {
		t.Errorf("acquire printed %q, want the manifest hash", stdout.String())
	}
	fromCopy := analyzeSummary(t, "--public-keys", keys, copyDir)
	if a, b := canonical(t, fromDir), canonical(t, fromCopy); a != b {
		t.Errorf("summary from the acquired copy differs from the directory's:\n%s", firstDiff(a, b))
	}
}

// firstDiff shows where two texts part.
func firstDiff(a, b string) string {
	la, lb := bytes.Split([]byte(a), []byte("\n")), bytes.Split([]byte(b), []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			from := max(0, i-3)
			return "line " + string(rune('0'+i%10)) + ":\n  got  " + string(bytes.Join(lb[from:i+1], []byte("\n  got  "))) +
				"\n  want " + string(bytes.Join(la[from:i+1], []byte("\n  want ")))
		}
	}
	return "lengths differ"
}

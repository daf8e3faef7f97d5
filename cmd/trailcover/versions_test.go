package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
	"github.com/trailcover/trailcover/ingest/simulate"
	"github.com/trailcover/trailcover/report"
)

// versionedArchive is a simulated archive in a versioned bucket of a real
// S3 server, tampered with after delivery: one log file deleted, one
// rewritten, one digest deleted. The originals survive as noncurrent
// versions.
type versionedArchive struct {
	dir, bucket                 string
	srv                         *s3test.Server
	deleted, rewritten, digest  string
	deletedRecords, rewrittenTo int
}

func newVersionedArchive(t *testing.T) *versionedArchive {
	t.Helper()
	va := &versionedArchive{dir: filepath.Join(t.TempDir(), "archive"), bucket: simulate.DefaultBucket}
	cfg := simulate.Config{Seed: 11, AccountCount: 1, Regions: []string{"us-east-1", "eu-west-1"}, Days: 1, EventsPerHour: 20}
	if _, err := simulate.Generate(t.Context(), cfg, va.dir); err != nil {
		t.Fatal(err)
	}
	va.srv = s3test.StartVersity(t)
	va.srv.CreateBucket(t, va.bucket)
	va.srv.EnableVersioning(t, va.bucket)
	client := va.srv.Client(t)
	if err := s3test.UploadDir(t.Context(), client, va.bucket, va.dir); err != nil {
		t.Fatal(err)
	}
	useServer(t, va.srv)

	var logs, digests []string
	err := filepath.WalkDir(va.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(va.dir, p)
		key := filepath.ToSlash(rel)
		switch loc := ingest.ParseKey(key); {
		case loc.Kind == ingest.KindLog && loc.Region == "us-east-1":
			logs = append(logs, key)
		case loc.Kind == ingest.KindDigest && loc.Region == "eu-west-1":
			digests = append(digests, key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(logs)
	slices.Sort(digests)
	if len(logs) < 40 || len(digests) < 10 {
		t.Fatalf("simulated %d logs, %d digests: too few", len(logs), len(digests))
	}
	// Files from the middle of the day, well inside the digests' cover.
	va.deleted, va.rewritten, va.digest = logs[len(logs)/2], logs[len(logs)/2+3], digests[len(digests)/2]
	va.deletedRecords = countRecords(t, filepath.Join(va.dir, filepath.FromSlash(va.deleted)))

	// The rewrite keeps one record of the original: the rest were
	// "removed" by whoever rewrote it.
	orig := readGzip(t, filepath.Join(va.dir, filepath.FromSlash(va.rewritten)))
	var doc struct{ Records []json.RawMessage }
	if err := json.Unmarshal(orig, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Records) < 2 {
		t.Fatalf("%s has %d records; the test needs two", va.rewritten, len(doc.Records))
	}
	doc.Records = doc.Records[:1]
	va.rewrittenTo = 1
	tampered, _ := json.Marshal(doc)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(tampered)
	w.Close()
	if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(va.bucket), Key: aws.String(va.rewritten), Body: bytes.NewReader(gz.Bytes())}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{va.deleted, va.digest} {
		if _, err := client.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(va.bucket), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
	}
	return va
}

func readGzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func countRecords(t *testing.T, path string) int {
	t.Helper()
	var doc struct{ Records []json.RawMessage }
	if err := json.Unmarshal(readGzip(t, path), &doc); err != nil {
		t.Fatal(err)
	}
	return len(doc.Records)
}

// versionRun is one analyze run's summary (without its source) and the
// events rows read from noncurrent versions, by object key.
type versionRun struct {
	summary  map[string]any
	versions map[string]int
}

func analyzeVersions(t *testing.T, args ...string) versionRun {
	t.Helper()
	out := t.TempDir()
	var stderr bytes.Buffer
	err := run(t.Context(), append([]string{"analyze", "--out", out}, args...), &bytes.Buffer{}, &stderr, func() time.Time { return fixedNow })
	var fe *findingsError
	if err != nil && !errors.As(err, &fe) {
		t.Fatalf("analyze %q: %v\n%s", args, err, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	vr := versionRun{versions: map[string]int{}}
	if err := json.Unmarshal(data, &vr.summary); err != nil {
		t.Fatal(err)
	}
	delete(vr.summary, "source")
	delete(vr.summary["run"].(map[string]any), "command_line")
	dropRemediations(t, vr.summary)
	eachEventRow(t, filepath.Join(out, "events"), func(_ string, row *report.EventRow) {
		if row.ObjectVersionID != nil {
			vr.versions[row.ObjectKey]++
		}
	})
	return vr
}

// findingAbout returns the finding of kind whose evidence names key.
func findingAbout(summary map[string]any, kind, key string) map[string]any {
	findings, _ := summary["findings"].([]any)
	for _, f := range findings {
		m := f.(map[string]any)
		ev, _ := m["evidence"].(map[string]any)
		if m["kind"] == kind && (ev["object_key"] == key || ev["missing_key"] == key) {
			return m
		}
	}
	return nil
}

// TestAnalyzeVersions: in a versioned bucket where a log file was
// deleted, another rewritten and a digest deleted, analyze --versions
// names the surviving originals in the findings about them, when each was
// deleted, and puts the originals' records in the events table; an
// acquired copy (acquire --versions) gives the same summary as the
// bucket, with and without --versions.
func TestAnalyzeVersions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an S3 server")
	}
	va := newVersionedArchive(t)
	keys := filepath.Join(va.dir, ".trailcover", "public-keys.json")
	s3 := "s3://" + va.bucket

	copyDir := filepath.Join(t.TempDir(), "copy")
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"acquire", "--versions", "--endpoint-url", va.srv.Endpoint, s3, copyDir}, &stdout, &stderr, time.Now); err != nil {
		t.Fatalf("acquire: %v\n%s", err, stderr.String())
	}

	for _, versions := range []bool{false, true} {
		args := []string{"--public-keys", keys}
		if versions {
			args = append(args, "--versions")
		}
		fromS3 := analyzeVersions(t, append(args, "--endpoint-url", va.srv.Endpoint, s3)...)
		fromCopy := analyzeVersions(t, append(args, copyDir)...)
		if a, b := canonical(t, fromS3.summary), canonical(t, fromCopy.summary); a != b {
			t.Errorf("--versions=%v: the acquired copy's summary differs from the bucket's:\n%s", versions, firstDiff(a, b))
		}
		if !maps.Equal(fromS3.versions, fromCopy.versions) {
			t.Errorf("--versions=%v: events from versions: bucket %v, copy %v", versions, fromS3.versions, fromCopy.versions)
		}

		s := fromS3.summary
		objects := s["objects"].(map[string]any)
		missing := findingAbout(s, "log-file-missing", va.deleted)
		modified := findingAbout(s, "log-file-modified", va.rewritten)
		digest := findingAbout(s, "digest-missing", va.digest)
		if missing == nil || modified == nil || digest == nil {
			t.Fatalf("--versions=%v: findings about the deleted log %v, the rewritten log %v, the deleted digest %v; want all three", versions, missing != nil, modified != nil, digest != nil)
		}
		if !versions {
			if objects["noncurrent_versions"] != 0.0 || objects["delete_markers"] != 0.0 || len(fromS3.versions) != 0 {
				t.Errorf("without --versions: objects %v, events from versions %v", objects, fromS3.versions)
			}
			if ev := missing["evidence"].(map[string]any); ev["original_version_id"] != nil {
				t.Errorf("without --versions the history is not read, yet evidence %v", ev)
			}
			continue
		}

		t.Logf("%s\n%s\n%s", missing["detail"], modified["detail"], digest["detail"])
		if objects["noncurrent_versions"] != 3.0 || objects["delete_markers"] != 2.0 {
			t.Errorf("objects %v, want 3 noncurrent versions and 2 delete markers", objects)
		}
		for _, f := range []map[string]any{missing, modified} {
			ev := f["evidence"].(map[string]any)
			if id, _ := ev["original_version_id"].(string); id == "" || !strings.Contains(f["detail"].(string), id) {
				t.Errorf("%s %s: no original version named: %v", f["kind"], ev["object_key"], f)
			}
		}
		for _, f := range []map[string]any{missing, digest} {
			ev := f["evidence"].(map[string]any)
			if at, _ := ev["deleted_at"].(string); at == "" || !strings.Contains(f["detail"].(string), "deleted at "+at) {
				t.Errorf("%s: deletion time not given: %v", f["kind"], f)
			}
		}
		if ev := digest["evidence"].(map[string]any); ev["noncurrent_versions"] == nil || ev["original_version_id"] == nil {
			t.Errorf("digest-missing %s: its surviving version not in the evidence: %v", va.digest, ev)
		}
		// The originals' records are in the events table.
		want := map[string]int{va.deleted: va.deletedRecords, va.rewritten: countRecords(t, filepath.Join(va.dir, filepath.FromSlash(va.rewritten)))}
		if !maps.Equal(fromS3.versions, want) {
			t.Errorf("events from noncurrent versions %v, want %v", fromS3.versions, want)
		}
		// Nothing else in the history to report: each key with history
		// has its finding.
		for _, f := range s["findings"].([]any) {
			if k := f.(map[string]any)["kind"]; k == "object-deleted" || k == "object-overwritten" {
				t.Errorf("unexpected %v", f)
			}
		}
	}
}

// TestAnalyzeVersionsIncremental: --versions with --state reads the
// version history on every run (it is not part of the state), so a second
// run with nothing new reports the same history as the first.
func TestAnalyzeVersionsIncremental(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an S3 server")
	}
	va := newVersionedArchive(t)
	state := filepath.Join(t.TempDir(), "state")
	args := []string{"--public-keys", filepath.Join(va.dir, ".trailcover", "public-keys.json"), "--versions", "--state", state,
		"--endpoint-url", va.srv.Endpoint, "s3://" + va.bucket}
	first := analyzeVersions(t, args...)
	second := analyzeVersions(t, args...)
	for i, s := range []map[string]any{first.summary, second.summary} {
		objects := s["objects"].(map[string]any)
		if objects["noncurrent_versions"] != 3.0 || objects["delete_markers"] != 2.0 {
			t.Errorf("run %d: objects %v, want 3 noncurrent versions and 2 delete markers", i+1, objects)
		}
		for kind, key := range map[string]string{"log-file-missing": va.deleted, "log-file-modified": va.rewritten, "digest-missing": va.digest} {
			f := findingAbout(s, kind, key)
			if f == nil || f["evidence"].(map[string]any)["original_version_id"] == nil {
				t.Errorf("run %d: %s %s: %v, want the original named", i+1, kind, key, f)
			}
		}
	}
	if len(second.versions) != 2 {
		t.Errorf("second run wrote events from versions of %v, want both originals again", second.versions)
	}
}

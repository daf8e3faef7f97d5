package ingest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
)

// acquireFixture is the Source fixture without its thousand-object
// folder, in a versioned bucket of a real S3 server, where one log file
// was then overwritten and another deleted.
type acquireFixture struct {
	srv                  *s3test.Server
	objects              map[string][]byte // current content
	overwritten, deleted string
	oldOverwritten       []byte
	oldDeleted           []byte
}

func newAcquireFixture(t *testing.T) *acquireFixture {
	t.Helper()
	f := newSourceFixture(t)
	for k := range f.objects {
		if strings.HasPrefix(k, manyPrefix) {
			delete(f.objects, k)
		}
	}
	srv := s3test.StartVersity(t)
	srv.CreateBucket(t, fixtureBucket)
	srv.EnableVersioning(t, fixtureBucket)
	dir := t.TempDir()
	f.writeDir(t, dir)
	client := srv.Client(t)
	if err := s3test.UploadDir(t.Context(), client, fixtureBucket, dir); err != nil {
		t.Fatal(err)
	}
	keys := f.keys("AWSLogs/111122223333/CloudTrail/us-east-1/")
	af := &acquireFixture{srv: srv, objects: f.objects, overwritten: keys[0], deleted: keys[1]}
	af.oldOverwritten, af.oldDeleted = f.objects[af.overwritten], f.objects[af.deleted]
	newBytes := gzipBytes(t, `{"Records":[{"eventID":"rewritten"}]}`)
	if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(fixtureBucket), Key: aws.String(af.overwritten), Body: bytes.NewReader(newBytes)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(fixtureBucket), Key: aws.String(af.deleted)}); err != nil {
		t.Fatal(err)
	}
	af.objects = map[string][]byte{}
	for k, v := range f.objects {
		af.objects[k] = v
	}
	af.objects[af.overwritten] = newBytes
	delete(af.objects, af.deleted)
	return af
}

func (f *acquireFixture) acquire(t *testing.T, ctx context.Context, dir string, fn func(ingest.ManifestEntry)) (ingest.AcquireStats, error) {
	t.Helper()
	src := f.srv.Source(t, "s3://"+fixtureBucket)
	return ingest.Acquire(ctx, src, dir, ingest.AcquireOptions{
		Scan:   ingest.ScanOptions{Versions: true, Workers: 4},
		Bucket: fixtureBucket,
	}, fn)
}

func readManifest(t *testing.T, dir string) []ingest.ManifestEntry {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, ingest.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := ingest.ReadManifest(f)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestAcquire(t *testing.T) {
	f := newAcquireFixture(t)
	dir := t.TempDir()
	stats, err := f.acquire(t, t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Failed != 0 || stats.DeleteMarkers != 1 || stats.Skipped != 0 {
		t.Errorf("stats = %+v, want no failures, one delete marker, nothing skipped", stats)
	}
	// Every current object sits at its key with its current bytes.
	for key, want := range f.objects {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got %d bytes (%v), want %d", key, len(got), err, len(want))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.deleted))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("deleted key %s is in the copy: %v", f.deleted, err)
	}
	// The older versions survive below the state folder, and the delete
	// marker is in the manifest.
	entries := readManifest(t, dir)
	var marker, oldOverwritten, oldDeleted bool
	for _, e := range entries {
		switch {
		case e.Key == f.deleted && e.DeleteMarker:
			marker = e.IsLatest && e.Path == ""
		case !e.IsLatest && (e.Key == f.overwritten || e.Key == f.deleted):
			got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Path)))
			if err != nil {
				t.Errorf("version %s of %s: %v", e.VersionID, e.Key, err)
				continue
			}
			if !strings.HasPrefix(e.Path, ingest.StateDir+"/versions/") {
				t.Errorf("noncurrent version stored at %s", e.Path)
			}
			want := f.oldOverwritten
			if e.Key == f.deleted {
				want = f.oldDeleted
			}
			if !bytes.Equal(got, want) {
				t.Errorf("version %s of %s has other bytes", e.VersionID, e.Key)
			}
			if sum := sha256.Sum256(got); e.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("manifest sha256 of %s is wrong", e.Path)
			}
			oldOverwritten = oldOverwritten || e.Key == f.overwritten
			oldDeleted = oldDeleted || e.Key == f.deleted
		}
		if e.Error != "" {
			t.Errorf("%s: %s", e.Key, e.Error)
		}
	}
	if !marker || !oldOverwritten || !oldDeleted {
		t.Errorf("manifest: delete marker %v, old version of overwritten %v, of deleted %v; want all", marker, oldOverwritten, oldDeleted)
	}
	// The manifest's hash is what Acquire reported and wrote.
	data, _ := os.ReadFile(filepath.Join(dir, ingest.ManifestFile))
	sum := sha256.Sum256(data)
	hashFile, _ := os.ReadFile(filepath.Join(dir, ingest.ManifestHashFile))
	if stats.ManifestSHA256 != hex.EncodeToString(sum[:]) || !strings.HasPrefix(string(hashFile), stats.ManifestSHA256) {
		t.Errorf("manifest hash %s, file says %q, sha256 of the manifest is %x", stats.ManifestSHA256, hashFile, sum)
	}
	// analyze reads the copy with its metadata: the digest signature is
	// back, and the bucket is known.
	src, err := ingest.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if src.Bucket() != fixtureBucket {
		t.Errorf("Bucket() = %q, want %q", src.Bucket(), fixtureBucket)
	}
	_, meta, err := src.Open(t.Context(), digestKey)
	if err != nil || meta["signature"] == "" || meta["signature-algorithm"] != "SHA256withRSA" {
		t.Errorf("Open(%s) metadata = %v, %v", digestKey, meta, err)
	}

	// A second run fetches nothing and writes the same manifest.
	again, err := f.acquire(t, t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Copied != 0 || again.Skipped != stats.Copied || again.ManifestSHA256 != stats.ManifestSHA256 {
		t.Errorf("second run %+v, want nothing copied, %d skipped, hash %s", again, stats.Copied, stats.ManifestSHA256)
	}
	// A file changed on disk fails verification and is fetched again.
	victim := filepath.Join(dir, filepath.FromSlash(f.overwritten))
	if err := os.WriteFile(victim, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	third, err := f.acquire(t, t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if third.Copied != 1 || third.ManifestSHA256 != stats.ManifestSHA256 {
		t.Errorf("after tampering: %+v, want 1 copied and the original manifest hash", third)
	}
	if got, _ := os.ReadFile(victim); !bytes.Equal(got, f.objects[f.overwritten]) {
		t.Error("tampered file was not restored")
	}
}

// TestAcquireResumes interrupts an acquisition after a few objects and
// checks that the next run completes it to the same manifest as an
// uninterrupted one.
func TestAcquireResumes(t *testing.T) {
	f := newAcquireFixture(t)
	full := t.TempDir()
	want, err := f.acquire(t, t.Context(), full, nil)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	_, err = f.acquire(t, ctx, dir, func(ingest.ManifestEntry) {
		if n++; n == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted acquire = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ingest.ManifestFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an interrupted run wrote a final manifest: %v", err)
	}
	got, err := f.acquire(t, t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Skipped < 3 || got.Copied+got.Skipped != want.Copied {
		t.Errorf("resumed run %+v: want at least 3 skipped and %d in all", got, want.Copied)
	}
	if got.ManifestSHA256 != want.ManifestSHA256 {
		t.Errorf("resumed manifest hash %s, uninterrupted %s", got.ManifestSHA256, want.ManifestSHA256)
	}
	if entries, err := os.ReadDir(filepath.Join(dir, ingest.StateDir)); err == nil {
		for _, e := range entries {
			if strings.Contains(e.Name(), "journal") || e.Name() == "tmp" {
				t.Errorf("left behind: %s", e.Name())
			}
		}
	}
}

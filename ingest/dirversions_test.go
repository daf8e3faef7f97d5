package ingest_test

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// versionScan is what a test compares of one delivered object.
type versionScan struct {
	key, version    string
	marker, current bool
	modified        time.Time
	sha256          string
	records         int
	err             bool
}

func scanVersions(t *testing.T, src ingest.Source, opts ingest.ScanOptions) []versionScan {
	t.Helper()
	var out []versionScan
	_, err := ingest.Scan(t.Context(), src, opts, func(r *ingest.Result) error {
		s := versionScan{
			key: r.Object.Key, marker: r.Object.DeleteMarker, current: r.Object.Current(),
			modified: r.Object.LastModified.Truncate(time.Second), records: len(r.Records), err: r.Err != nil,
		}
		if !s.current {
			s.version = r.Object.VersionID
		}
		if r.Body.SHA256 != ([32]byte{}) {
			s.sha256 = hex.EncodeToString(r.Body.SHA256[:])
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b versionScan) int {
		return cmpString(a.key+"\x00"+a.version, b.key+"\x00"+b.version)
	})
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestDirVersions: a copy acquire made with versions lists and reads the
// noncurrent versions and delete markers of a versioned bucket exactly as
// the bucket does, and a plain scan of the copy sees what a plain scan of
// the bucket sees.
func TestDirVersions(t *testing.T) {
	f := newAcquireFixture(t)
	dir := t.TempDir()
	if _, err := f.acquire(t, t.Context(), dir, nil); err != nil {
		t.Fatal(err)
	}
	s3src := f.srv.Source(t, "s3://"+fixtureBucket)
	dirsrc, err := ingest.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer dirsrc.Close()

	for _, opts := range []ingest.ScanOptions{
		{Workers: 2},
		{Workers: 2, Noncurrent: true},
		{Workers: 2, Noncurrent: true, Kinds: []ingest.Kind{ingest.KindLog}},
	} {
		t.Run(fmt.Sprintf("noncurrent=%v kinds=%v", opts.Noncurrent, opts.Kinds), func(t *testing.T) {
			fromS3, fromDir := scanVersions(t, s3src, opts), scanVersions(t, dirsrc, opts)
			if !slices.Equal(fromS3, fromDir) {
				t.Errorf("the copy differs from the bucket:\n s3:  %+v\n dir: %+v", fromS3, fromDir)
			}
			if !opts.Noncurrent {
				return
			}
			// Exactly the history: the overwritten file's first
			// version, the deleted file's last version and the delete
			// marker over it.
			var got []string
			for _, s := range fromDir {
				switch {
				case s.current:
					t.Errorf("%s: a current object in a noncurrent scan", s.key)
				case s.marker:
					got = append(got, "marker "+s.key)
				default:
					got = append(got, "version "+s.key)
					if s.err || s.records == 0 || s.sha256 == "" {
						t.Errorf("version %s of %s: %d records, err %v, sha256 %q", s.version, s.key, s.records, s.err, s.sha256)
					}
				}
			}
			want := []string{"version " + f.overwritten, "version " + f.deleted, "marker " + f.deleted}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("noncurrent scan delivered %q, want %q", got, want)
			}
		})
	}
}

// TestDirVersionsNeedManifest: a copy holding acquire's versions folder but
// no manifest cannot say which file is which version: listing fails with
// an error that says so, rather than reading nothing.
func TestDirVersionsNeedManifest(t *testing.T) {
	f := newAcquireFixture(t)
	dir := t.TempDir()
	if _, err := f.acquire(t, t.Context(), dir, nil); err != nil {
		t.Fatal(err)
	}
	if err := removeFile(dir, ingest.ManifestFile); err != nil {
		t.Fatal(err)
	}
	src, err := ingest.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, err = ingest.Scan(t.Context(), src, ingest.ScanOptions{Noncurrent: true}, func(*ingest.Result) error { return nil })
	if err == nil || !contains(err.Error(), "manifest") {
		t.Errorf("scan without a manifest: %v, want an error naming the manifest", err)
	}
}

func removeFile(dir, name string) error {
	return os.Remove(filepath.Join(dir, filepath.FromSlash(name)))
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

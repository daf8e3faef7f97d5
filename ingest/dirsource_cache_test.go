package ingest_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/trailcover/trailcover/ingest"
)

// cacheTreeFolders is more folders than a DirSource keeps open (64), so
// that the tests below see folders evicted while others open them.
const cacheTreeFolders = 150

// cacheTree is a bucket copy on disk with many small folders, as
// CloudTrail makes them: one per account, region and day.
type cacheTree struct {
	dir string
	// keys are the objects' keys, sorted.
	keys []string
	// objects maps each key to its bytes.
	objects map[string][]byte
	// sidecars maps the keys that have a sidecar to its metadata.
	sidecars map[string]ingest.Metadata
}

// newCacheTree writes folders day folders of perFolder objects below a
// new temporary folder. Every third folder holds digests, which have
// sidecars, all but the folder's last object.
func newCacheTree(t testing.TB, folders, perFolder int) *cacheTree {
	t.Helper()
	tree := &cacheTree{dir: t.TempDir(), objects: map[string][]byte{}, sidecars: map[string]ingest.Metadata{}}
	files := fstest.MapFS{
		ingest.StateDir + "/source.json": {Data: []byte(`{"bucket":"cache-test"}`)},
	}
	for i := range folders {
		acct := []string{"111111111111", "222222222222"}[i%2]
		region := []string{"us-east-1", "eu-west-1", "ap-south-1"}[i/2%3]
		day := fmt.Sprintf("2024/%02d/%02d", 1+i/6/28%12, 1+i/6%28)
		kind := "CloudTrail"
		if i%3 == 0 {
			kind = "CloudTrail-Digest"
		}
		dir := path.Join("AWSLogs", acct, kind, region, day)
		for j := range perFolder {
			key := fmt.Sprintf("%s/%s_%s_%s_%sT%02d%02dZ_%016d.json.gz", dir, acct, kind, region, strings.ReplaceAll(day, "/", ""), j/60, j%60, i*perFolder+j)
			data := []byte(strings.Repeat(fmt.Sprintf("%s\n", key), 1+j%5))
			tree.objects[key] = data
			files[key] = &fstest.MapFile{Data: data}
			if kind == "CloudTrail-Digest" && j < perFolder-1 {
				meta := ingest.Metadata{"signature": fmt.Sprintf("%x", sha256.Sum256(data)), "signature-algorithm": "SHA256withRSA"}
				tree.sidecars[key] = meta
				sc := mustJSON(t, ingest.Sidecar{Key: key, Metadata: meta})
				files[path.Join(ingest.StateDir, "meta", key+".json")] = &fstest.MapFile{Data: sc}
			}
		}
	}
	tree.keys = slices.Sorted(maps.Keys(tree.objects))
	tree.write(t, files)
	return tree
}

// write writes files, by their slash-separated names, below the tree.
func (tree *cacheTree) write(t testing.TB, files fstest.MapFS) {
	t.Helper()
	for name, f := range files {
		p := filepath.Join(tree.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// symlink makes the link name, a slash-separated path in the tree, point
// to target. It skips the test where links cannot be made.
func (tree *cacheTree) symlink(t *testing.T, target, name string) {
	t.Helper()
	p := filepath.Join(tree.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
}

// fullPathSource is the tree as a source that opens every object by its
// full path through the os.Root's fs.FS, as DirSource always did: the
// reference the folder cache must agree with.
func (tree *cacheTree) fullPathSource(t testing.TB) ingest.Source {
	t.Helper()
	root, err := os.OpenRoot(tree.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	src, err := ingest.NewFSSource(root.FS(), tree.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (tree *cacheTree) openDir(t testing.TB) *ingest.DirSource {
	t.Helper()
	src, err := ingest.OpenDir(tree.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// openOutcome is everything Open says about a key.
type openOutcome struct {
	data []byte
	meta ingest.Metadata
	err  string
}

func (o openOutcome) String() string {
	if o.err != "" {
		return "error " + o.err
	}
	return fmt.Sprintf("%s with metadata %v", describe(o.data), o.meta)
}

func (o openOutcome) equal(p openOutcome) bool {
	return bytes.Equal(o.data, p.data) && maps.Equal(o.meta, p.meta) && o.err == p.err
}

// openKey opens key in src and reads it whole. It is safe to call from
// any goroutine.
func openKey(t testing.TB, src ingest.Source, key string) openOutcome {
	rc, meta, err := src.Open(t.Context(), key)
	if err != nil {
		return openOutcome{err: err.Error()}
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return openOutcome{err: "read: " + err.Error()}
	}
	return openOutcome{data: data, meta: meta}
}

// oddKeys are keys of the tree that are not plain objects, with the
// files that make them odd, and what Open must say of each beyond
// agreeing with the full-path open.
func oddKeys(t testing.TB, tree *cacheTree) (files fstest.MapFS, wantNotExist, wantErr []string) {
	t.Helper()
	logDir := path.Dir(tree.keys[len(tree.keys)-1])
	digestDir := path.Dir(tree.keys[0])
	meta := func(key string) string { return path.Join(ingest.StateDir, "meta", key+".json") }
	files = fstest.MapFS{
		"notes.txt":                             {Data: []byte("notes\n")},
		logDir + "/bad-sidecar.json":            {Data: []byte("log\n")},
		meta(logDir + "/bad-sidecar.json"):      {Data: []byte("{not json")},
		logDir + "/sidecar-dir.json":            {Data: []byte("log\n")},
		meta(logDir+"/sidecar-dir.json") + "/x": {Data: []byte("{}")},
		// A file where a sidecar folder should be.
		"AWSLogs/333333333333/CloudTrail/us-east-1/2024/01/01/log.json.gz":    {Data: []byte("log\n")},
		path.Join(ingest.StateDir, "meta", "AWSLogs/333333333333/CloudTrail"): {Data: []byte("a file")},
		digestDir + "/no-sidecar.json.gz":                                     {Data: []byte("digest without sidecar\n")},
	}
	wantNotExist = []string{
		logDir + "/missing.json.gz",
		"AWSLogs/999999999999/CloudTrail/us-east-1/2024/01/01/missing.json.gz",
		logDir,              // a folder, not an object
		logDir + "/",        // not a path
		"notes.txt/child",   // below a file
		"/" + tree.keys[0],  // not a path
		"./" + tree.keys[0], // not a path
		strings.Replace(tree.keys[0], "/", "//", 1), // not a path
		logDir + "/../" + path.Base(tree.keys[0]),   // not a path
		ingest.StateDir + "/source.json",            // state, not an object
		"AWSLogs",
		".",
	}
	wantErr = []string{
		logDir + "/" + strings.Repeat("n", 300),         // longer than a name may be
		logDir + "/" + strings.Repeat("s", 250) + ".gz", // its sidecar's name is too long
		logDir + "/bad-sidecar.json",
		logDir + "/sidecar-dir.json",
		"AWSLogs/333333333333/CloudTrail/us-east-1/2024/01/01/log.json.gz",
	}
	// Only in a sidecar folder that exists, as logDir's does, is the name
	// of its sidecar found too long.
	files[logDir+"/"+strings.Repeat("s", 250)+".gz"] = &fstest.MapFile{Data: []byte("log\n")}
	return files, wantNotExist, wantErr
}

// TestDirSourceFolderCache opens every object of a tree of more folders
// than the cache holds from 32 goroutines at once, each starting in
// another folder, along with keys that name no object or whose sidecar
// is broken: every answer, bytes, metadata and error text alike, is the
// full-path open's.
func TestDirSourceFolderCache(t *testing.T) {
	tree := newCacheTree(t, cacheTreeFolders, 4)
	files, wantNotExist, wantErr := oddKeys(t, tree)
	tree.write(t, files)
	keys := slices.Concat(tree.keys, slices.Sorted(maps.Keys(files)), wantNotExist, wantErr)

	ref := tree.fullPathSource(t)
	want := map[string]openOutcome{}
	for _, key := range keys {
		want[key] = openKey(t, ref, key)
	}
	for _, key := range tree.keys {
		if w := (openOutcome{data: tree.objects[key], meta: tree.sidecars[key]}); !want[key].equal(w) {
			t.Fatalf("full-path Open(%s) = %v, want %v", key, want[key], w)
		}
	}
	for _, key := range wantNotExist {
		if _, _, err := ref.Open(t.Context(), key); !errors.Is(err, ingest.ErrNotExist) {
			t.Fatalf("full-path Open(%q) = %v, want ErrNotExist", key, err)
		}
	}
	for _, key := range wantErr {
		if want[key].err == "" {
			t.Fatalf("full-path Open(%q) succeeded, want an error", key)
		}
	}

	src := tree.openDir(t)
	const workers = 32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			start := w * len(keys) / workers
			for i := range keys {
				key := keys[(start+i)%len(keys)]
				if got := openKey(t, src, key); !got.equal(want[key]) {
					t.Errorf("Open(%q) = %v, want %v", key, got, want[key])
				}
			}
		})
	}
	wg.Wait()
	for _, key := range wantNotExist {
		if _, _, err := src.Open(t.Context(), key); !errors.Is(err, ingest.ErrNotExist) {
			t.Errorf("Open(%q) = %v, want ErrNotExist", key, err)
		}
	}
}

// TestDirSourceFolderCacheSymlinks: symbolic links that lead out of the
// copy are followed for reading, as aws s3 sync follows them, whether the
// link is the object or one of its folders, but never for the copy's own
// metadata (a sidecar linked from outside is not read); links that stay
// inside open as they did by full path: to a folder, to an object in a
// sibling folder, to a sidecar folder.
func TestDirSourceFolderCacheSymlinks(t *testing.T) {
	tree := newCacheTree(t, 6, 3)
	outside := t.TempDir()
	secret := []byte("outside the copy\n")
	if err := os.WriteFile(filepath.Join(outside, "secret.json.gz"), secret, 0o644); err != nil {
		t.Fatal(err)
	}
	// Folders of tree.keys: [0] digests of 111111111111 in us-east-1,
	// [1] logs of 222222222222 in us-east-1.
	digestDir := path.Dir(tree.keys[0])
	logKey := ""
	for _, key := range tree.keys {
		if strings.Contains(key, "/222222222222/CloudTrail/us-east-1/") {
			logKey = key
			break
		}
	}
	logDir := path.Dir(logKey)
	depth := strings.Count(logDir, "/") + 1

	stolen := mustJSON(t, ingest.Sidecar{Key: "stolen", Metadata: ingest.Metadata{"signature": "stolen"}})
	if err := os.WriteFile(filepath.Join(outside, "sidecar.json"), stolen, 0o644); err != nil {
		t.Fatal(err)
	}
	sidecarEscapes := logDir + "/sidecar-escapes.json.gz"
	tree.write(t, fstest.MapFS{sidecarEscapes: {Data: []byte("log\n")}})
	escapes := map[string]string{
		logDir + "/absolute.json.gz":                               filepath.Join(outside, "secret.json.gz"),
		logDir + "/relative.json.gz":                               strings.Repeat("../", depth+1) + filepath.Base(outside) + "/secret.json.gz",
		"AWSLogs/222222222222/CloudTrail/eu-north-1":               outside,
		path.Join(ingest.StateDir, "meta", sidecarEscapes+".json"): filepath.Join(outside, "sidecar.json"),
	}
	for name, target := range escapes {
		tree.symlink(t, target, name)
	}
	// Inside: a region folder that is another's, an object that is one
	// in a sibling folder, a digest folder and its sidecar folder that
	// are others.
	tree.symlink(t, "us-east-1", "AWSLogs/222222222222/CloudTrail/us-west-1")
	sibling := path.Join(path.Dir(logDir), "sibling-day")
	if err := os.MkdirAll(filepath.Join(tree.dir, filepath.FromSlash(sibling)), 0o755); err != nil {
		t.Fatal(err)
	}
	tree.symlink(t, "../"+path.Base(logDir)+"/"+path.Base(logKey), sibling+"/linked.json.gz")
	tree.symlink(t, "../"+path.Base(logDir)+"/"+path.Base(logKey), logDir+"/up-and-back.json.gz")
	digestLink := path.Join(path.Dir(digestDir), "linked-day")
	tree.symlink(t, path.Base(digestDir), digestLink)
	tree.symlink(t, path.Base(digestDir), path.Join(ingest.StateDir, "meta", digestLink))

	inside := map[string]openOutcome{
		strings.Replace(logKey, "/us-east-1/", "/us-west-1/", 1): {data: tree.objects[logKey]},
		sibling + "/linked.json.gz":                              {data: tree.objects[logKey]},
		logDir + "/up-and-back.json.gz":                          {data: tree.objects[logKey]},
		path.Join(digestLink, path.Base(tree.keys[0])):           {data: tree.objects[tree.keys[0]], meta: tree.sidecars[tree.keys[0]]},
	}
	escaping := []string{
		logDir + "/absolute.json.gz",
		logDir + "/relative.json.gz",
		"AWSLogs/222222222222/CloudTrail/eu-north-1/secret.json.gz",
		sidecarEscapes,
	}

	ref := tree.fullPathSource(t)
	src := tree.openDir(t)
	keys := slices.Concat(tree.keys, slices.Sorted(maps.Keys(inside)), escaping)
	// Twice: with the folders loaded by the first round, and cached.
	for round := range 2 {
		for _, key := range keys {
			got := openKey(t, src, key)
			if slices.Contains(escaping, key) {
				switch {
				case got.meta["signature"] == "stolen":
					t.Errorf("round %d: Open(%q) read a sidecar from outside the copy: %v", round, key, got)
				case key == sidecarEscapes && !strings.Contains(got.err, "metadata sidecar"):
					t.Errorf("round %d: Open(%q) = %v, want an error about its sidecar", round, key, got)
				case key != sidecarEscapes && (got.err != "" || !bytes.Equal(got.data, secret)):
					t.Errorf("round %d: Open(%q) = %v, want the bytes the link leads to", round, key, got)
				}
				continue
			}
			if want := openKey(t, ref, key); !got.equal(want) {
				t.Errorf("round %d: Open(%q) = %v; the full path gives %v", round, key, got, want)
			}
			if w, ok := inside[key]; ok && !got.equal(w) {
				t.Errorf("round %d: Open(%q) = %v, want %v", round, key, got, w)
			}
		}
	}
}

// TestDirSourceCloseReleasesFolders counts the file descriptors open on
// the copy's folders: at most the cache's bound while objects of more
// folders are opened, none after Close.
func TestDirSourceCloseReleasesFolders(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts file descriptors in /proc/self/fd")
	}
	tree := newCacheTree(t, cacheTreeFolders, 2)
	realDir, err := filepath.EvalSymlinks(tree.dir)
	if err != nil {
		t.Fatal(err)
	}
	// openInTree counts this process's descriptors open on the tree.
	openInTree := func() int {
		t.Helper()
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
			if err == nil && (target == realDir || strings.HasPrefix(target, realDir+"/")) {
				n++
			}
		}
		return n
	}
	if n := openInTree(); n != 0 {
		t.Fatalf("%d descriptors open on the tree before OpenDir", n)
	}
	src, err := ingest.OpenDir(tree.dir)
	if err != nil {
		t.Fatal(err)
	}
	most := 0
	for _, key := range tree.keys {
		if got := openKey(t, src, key); got.err != "" {
			t.Fatalf("Open(%s): %s", key, got.err)
		}
		most = max(most, openInTree())
	}
	// The cache's folders, its ancestors of them and the root.
	if most < 2 || most > 64+1 {
		t.Errorf("while opening objects of %d folders, at most %d descriptors were open on the tree, want 2 to 65", cacheTreeFolders, most)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if n := openInTree(); n != 0 {
		t.Errorf("%d descriptors open on the tree after Close, want 0", n)
	}
	if rc, _, err := src.Open(t.Context(), tree.keys[0]); err == nil {
		rc.Close()
		t.Errorf("Open after Close succeeded")
	}
}

// BenchmarkDirSourceOpen opens and reads every object of a copy of 40
// day folders of 50 small files each (with a third of the folders
// digests with sidecars), through the folder cache and by full path.
func BenchmarkDirSourceOpen(b *testing.B) {
	tree := newCacheTree(b, 40, 50)
	var size int64
	for _, data := range tree.objects {
		size += int64(len(data))
	}
	for _, bc := range []struct {
		name string
		open func(testing.TB) ingest.Source
	}{
		{"folder-cache", func(tb testing.TB) ingest.Source { return tree.openDir(tb) }},
		{"full-path", tree.fullPathSource},
	} {
		b.Run(bc.name, func(b *testing.B) {
			src := bc.open(b)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				for _, key := range tree.keys {
					rc, _, err := src.Open(b.Context(), key)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, rc); err != nil {
						b.Fatal(err)
					}
					rc.Close()
				}
			}
			b.ReportMetric(float64(len(tree.keys)), "objects/op")
		})
	}
}

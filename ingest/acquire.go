package ingest

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Files of a bucket copy's state folder written by Acquire.
const (
	// ManifestFile lists every object of the copy, sorted by key and
	// version: the chain-of-custody record.
	ManifestFile = StateDir + "/manifest.jsonl"
	// ManifestHashFile holds the manifest's SHA-256, as Acquire printed it.
	ManifestHashFile = StateDir + "/manifest.sha256"
	// journalFile collects manifest entries as objects complete, so that
	// an interrupted acquisition resumes where it stopped.
	journalFile = StateDir + "/manifest.journal.jsonl"
	// tmpDir holds objects being downloaded.
	tmpDir = StateDir + "/tmp"
	// versionsDir holds noncurrent versions: versions/<key>/<version id>.
	versionsDir = StateDir + "/versions"
	// objectsDir holds objects whose key is not a usable path (a leading
	// slash, "..", a folder marker ending in "/"), named by the SHA-256 of
	// the key.
	objectsDir = StateDir + "/objects"
)

// ManifestEntry is one object (or version, or delete marker) of a bucket
// copy.
type ManifestEntry struct {
	Key          string   `json:"key"`
	VersionID    string   `json:"version_id,omitempty"`
	IsLatest     bool     `json:"is_latest"`
	DeleteMarker bool     `json:"delete_marker,omitempty"`
	Size         int64    `json:"size"`
	ETag         string   `json:"etag,omitempty"`
	LastModified string   `json:"last_modified,omitempty"`
	Metadata     Metadata `json:"metadata,omitempty"`
	// SHA256 is the hash of the bytes as stored in S3 (compressed).
	SHA256 string `json:"sha256,omitempty"`
	// Path is where the bytes are in the copy, relative to its top.
	Path string `json:"path,omitempty"`
	// Error says why the object could not be copied.
	Error string `json:"error,omitempty"`
}

func (e ManifestEntry) id() string { return e.Key + "\x00" + e.VersionID }

// AcquireOptions configures Acquire.
type AcquireOptions struct {
	// Scan chooses what is copied: prefix, window, accounts, workers,
	// versions. Kinds is ignored: everything listed is copied.
	Scan ScanOptions
	// Bucket and Prefix are recorded in the copy's source.json.
	Bucket, Prefix string
}

// AcquireStats counts what an acquisition did.
type AcquireStats struct {
	Listed, Copied, Skipped, Failed, DeleteMarkers int
	Bytes                                          int64
	// ManifestSHA256 is the hex SHA-256 of the manifest written.
	ManifestSHA256 string
}

// Acquire copies what src lists into the directory dir, keeping what a
// plain file copy loses: object metadata in sidecars (the digest
// signatures), versions and delete markers with Scan.Versions, and a
// manifest with every object's key, size, ETag, version, last-modified
// time, metadata and SHA-256.
//
// It resumes: an object already in the copy with the same ETag and size,
// whose bytes still hash to the manifest's SHA-256, is not fetched again.
// Objects are written under a temporary name and renamed, and manifest
// entries are journalled as objects complete, so a kill at any point
// leaves a copy that the next run completes. An object that cannot be
// read is recorded with its error and counted in Failed; the rest goes on.
// fn, if not nil, sees each entry as it completes, on the calling
// goroutine.
func Acquire(ctx context.Context, src Source, dir string, opts AcquireOptions, fn func(ManifestEntry)) (AcquireStats, error) {
	var stats AcquireStats
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return stats, fmt.Errorf("acquire: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return stats, fmt.Errorf("acquire: %w", err)
	}
	defer root.Close()
	if err := root.RemoveAll(tmpDir); err != nil {
		return stats, fmt.Errorf("acquire: clear %s: %w", tmpDir, err)
	}
	if err := root.MkdirAll(tmpDir, 0o755); err != nil {
		return stats, fmt.Errorf("acquire: %w", err)
	}
	info, _ := json.Marshal(SourceInfo{Bucket: opts.Bucket, Prefix: opts.Prefix})
	if err := writeRootFile(root, sourceFile, append(info, '\n')); err != nil {
		return stats, err
	}

	known, err := loadManifests(root)
	if err != nil {
		return stats, err
	}
	journal, err := openJournal(root)
	if err != nil {
		return stats, err
	}
	defer journal.Close()

	// Workers read known (what earlier runs recorded) while the consumer
	// records this run's entries in done; the manifest merges both.
	c := &copier{src: src, root: root, known: known, moved: map[string]string{}}
	done := map[string]ManifestEntry{}
	scan := opts.Scan
	scan.Kinds = nil
	if scan.Progress == nil {
		scan.Progress = new(Progress)
	}
	_, err = Walk(ctx, src, scan, func(ctx context.Context, obj Object) (copied, bool) {
		res := c.copy(ctx, obj)
		if ctx.Err() != nil && res.entry.Error != "" {
			return res, false
		}
		scan.Progress.Bytes.Add(res.bytes)
		return res, true
	}, func(res copied) error {
		e := res.entry
		stats.Listed++
		switch {
		case e.DeleteMarker:
			stats.DeleteMarkers++
		case e.Error != "":
			stats.Failed++
		case res.skipped:
			stats.Skipped++
		default:
			stats.Copied++
			stats.Bytes += res.bytes
		}
		done[e.id()] = e
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		// One write per entry: a kill loses no entry already
		// written, and cannot leave half of one.
		if _, err := journal.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("acquire: journal: %w", err)
		}
		if fn != nil {
			fn(e)
		}
		return nil
	})
	// The journal is synced whatever happened: what was copied stays
	// recorded for the next run.
	if serr := journal.Sync(); serr != nil && err == nil {
		err = fmt.Errorf("acquire: journal: %w", serr)
	}
	if err != nil {
		return stats, err
	}
	for id, e := range done {
		known[id] = e
	}
	for id, e := range known {
		if to, ok := c.moved[e.Path]; ok {
			e.Path = to
			known[id] = e
		}
	}
	sum, err := writeManifest(root, known)
	if err != nil {
		return stats, err
	}
	stats.ManifestSHA256 = sum
	journal.Close()
	if err := root.Remove(journalFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return stats, fmt.Errorf("acquire: remove journal: %w", err)
	}
	root.RemoveAll(tmpDir)
	return stats, nil
}

// copied is one object's outcome.
type copied struct {
	entry   ManifestEntry
	bytes   int64
	skipped bool
}

type copier struct {
	src   Source
	root  *os.Root
	known map[string]ManifestEntry // read-only while workers run

	// mu guards moved: the objects moved out of a folder's way (see
	// clearWay), from the path at their key to their hashed path.
	mu    sync.Mutex
	moved map[string]string
}

func (c *copier) copy(ctx context.Context, obj Object) copied {
	e := ManifestEntry{
		Key:          obj.Key,
		VersionID:    obj.VersionID,
		IsLatest:     obj.IsLatest || obj.VersionID == "",
		DeleteMarker: obj.DeleteMarker,
		Size:         obj.Size,
		ETag:         obj.ETag,
	}
	if !obj.LastModified.IsZero() {
		e.LastModified = obj.LastModified.UTC().Format(time.RFC3339)
	}
	if obj.DeleteMarker {
		return copied{entry: e}
	}
	e.Path = objectPath(obj.Key, obj.VersionID, e.IsLatest)
	fallback := hashedPath(obj.Key, obj.VersionID, e.IsLatest)
	if prev, ok := c.known[e.id()]; ok && prev.Error == "" && prev.ETag == e.ETag && prev.Size == e.Size && (prev.Path == e.Path || prev.Path == fallback) {
		if sum, err := hashRootFile(c.root, prev.Path); err == nil && sum == prev.SHA256 {
			return copied{entry: prev, skipped: true}
		}
	}
	var body io.ReadCloser
	var meta Metadata
	var err error
	if obj.VersionID != "" && !obj.IsLatest {
		vo, ok := c.src.(VersionOpener)
		if !ok {
			e.Error = "source cannot open versions"
			return copied{entry: e}
		}
		body, meta, err = vo.OpenVersion(ctx, obj.Key, obj.VersionID)
	} else {
		body, meta, err = c.src.Open(ctx, obj.Key)
	}
	if err != nil {
		e.Error = err.Error()
		return copied{entry: e}
	}
	defer body.Close()
	e.Metadata = meta
	n, sum, where, err := c.store(body, e.Path, fallback, obj.LastModified)
	e.Path = where
	if err != nil {
		e.Error = fmt.Sprintf("copy %s: %v", obj.Key, err)
		return copied{entry: e}
	}
	e.Size, e.SHA256 = n, sum
	if len(meta) > 0 && e.IsLatest && e.Path == obj.Key {
		sc, _ := json.MarshalIndent(Sidecar{Key: obj.Key, ETag: e.ETag, VersionID: e.VersionID, LastModified: e.LastModified, Metadata: meta}, "", "  ")
		if err := writeRootFile(c.root, path.Join(metaDir, obj.Key+".json"), append(sc, '\n')); err != nil {
			e.Error = err.Error()
			return copied{entry: e}
		}
	}
	return copied{entry: e, bytes: n}
}

// store writes r to name in the copy through a temporary file, returning
// the size and hex SHA-256 of what was written and where it went: name,
// or fallback when the file system cannot hold the object at name. S3
// keys are not paths: "k" and "k/child" can both exist, and a key's
// segment may be longer than a file name can be. The file's modification
// time is the object's, when known: a directory copy lists with it.
func (c *copier) store(r io.Reader, name, fallback string, modified time.Time) (int64, string, string, error) {
	tmpName := path.Join(tmpDir, "obj-"+rand.Text())
	tmp, err := c.root.OpenFile(tmpName, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, "", name, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && !modified.IsZero() {
		err = c.root.Chtimes(tmpName, modified, modified)
	}
	if err == nil {
		err = c.place(tmpName, name)
		if err != nil && name != fallback {
			name = fallback
			err = c.place(tmpName, name)
		}
	}
	if err != nil {
		c.root.Remove(tmpName)
		return 0, "", name, err
	}
	return n, hex.EncodeToString(h.Sum(nil)), name, nil
}

// place renames the temporary file tmpName to name, making its folders.
func (c *copier) place(tmpName, name string) error {
	if err := c.root.MkdirAll(path.Dir(name), 0o755); err != nil {
		c.clearWay(name)
		if err := c.root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return err
		}
	}
	return c.root.Rename(tmpName, name)
}

// clearWay moves aside an object stored at a path that name needs as a
// folder. S3 lets "k" and "k/child" both exist; in the copy the folder
// wins, whichever object came first: "k" goes to its hashed path, so that
// one planted object named "AWSLogs" cannot push every log file of the
// copy out of the places analysis looks.
func (c *copier) clearWay(name string) {
	if strings.HasPrefix(name, StateDir+"/") {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		info, err := c.root.Lstat(dir)
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		to := hashedPath(dir, "", true)
		if c.root.MkdirAll(path.Dir(to), 0o755) == nil && c.root.Rename(dir, to) == nil {
			c.moved[dir] = to
		}
		return
	}
}

// objectPath is where an object's bytes go in the copy. The latest version
// of a key that is a usable path sits at the key, where a plain sync would
// put it; anything else goes below the state folder under a name no key
// can choose.
func objectPath(key, versionID string, latest bool) string {
	usable := fs.ValidPath(key) && key != "." && !strings.HasSuffix(key, "/") &&
		key != StateDir && !strings.HasPrefix(key, StateDir+"/")
	if latest {
		if usable {
			return key
		}
		return hashedPath(key, versionID, latest)
	}
	if usable && safeVersionID(versionID) {
		return path.Join(versionsDir, key, versionID)
	}
	return hashedPath(key, versionID, latest)
}

// hashedPath is where an object goes whose key is not a usable path, or
// whose path the file system cannot hold (see copier.store).
func hashedPath(key, versionID string, latest bool) string {
	if latest {
		return path.Join(objectsDir, hashName(key))
	}
	return path.Join(versionsDir, "by-hash", hashName(key+"\x00"+versionID))
}

func hashName(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// safeVersionID accepts the version IDs S3 makes (URL-safe characters);
// a source could send anything.
func safeVersionID(v string) bool {
	if v == "" || v == "." || v == ".." || len(v) > 1024 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func hashRootFile(root *os.Root, name string) (string, error) {
	f, err := root.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeRootFile(root *os.Root, name string, data []byte) error {
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp := name + ".tmp"
	if err := root.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := root.Rename(tmp, name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// loadManifests reads the manifest of an earlier complete run and the
// journal of an interrupted one; journal entries are newer.
func loadManifests(root *os.Root) (map[string]ManifestEntry, error) {
	known := map[string]ManifestEntry{}
	for _, name := range []string{ManifestFile, journalFile} {
		f, err := root.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("acquire: %w", err)
		}
		var entries []ManifestEntry
		if name == journalFile {
			entries, err = readJournal(f)
		} else {
			entries, err = ReadManifest(f)
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("acquire: %s: %w", name, err)
		}
		for _, e := range entries {
			known[e.id()] = e
		}
	}
	return known, nil
}

// readJournal reads the journal's entries, passing over lines that are
// not one: an entry that was lost only means that its object is
// fetched again, so a damaged journal never stops a run from resuming.
func readJournal(r io.Reader) ([]ManifestEntry, error) {
	var entries []ManifestEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var e ManifestEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Key != "" {
			entries = append(entries, e)
		}
	}
	return entries, sc.Err()
}

// openJournal opens the journal for appending, first cutting off a last
// line without its newline, the end of a write that a crash or a full
// disk cut short: appended to, it would join the next entry into one
// line that is neither.
func openJournal(root *os.Root) (*os.File, error) {
	f, err := root.OpenFile(journalFile, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("acquire: open journal: %w", err)
	}
	keep, size, err := completeLines(f)
	if err == nil && keep < size {
		err = f.Truncate(keep)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("acquire: journal: %w", err)
	}
	return f, nil
}

// completeLines returns the length of f up to the end of its last
// newline, reading backwards from the end, and its size.
func completeLines(f *os.File) (keep, size int64, err error) {
	info, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size = info.Size()
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil {
			return 0, 0, err
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return start + int64(i) + 1, size, nil
		}
		end = start
	}
	return 0, size, nil
}

// ReadManifest reads manifest lines. A torn last line (a write cut
// short) is ignored; any other bad line is an error.
func ReadManifest(r io.Reader) ([]ManifestEntry, error) {
	var entries []ManifestEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var bad error
	line := 0
	for sc.Scan() {
		line++
		if bad != nil {
			return nil, bad
		}
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var e ManifestEntry
		if err := json.Unmarshal(b, &e); err != nil {
			bad = fmt.Errorf("line %d: %w", line, err)
			continue
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return entries, nil
}

// writeManifest writes the sorted manifest and its hash file, returning
// the hash.
func writeManifest(root *os.Root, known map[string]ManifestEntry) (string, error) {
	entries := make([]ManifestEntry, 0, len(known))
	for _, e := range known {
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b ManifestEntry) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(b.LastModified, a.LastModified), strings.Compare(a.VersionID, b.VersionID))
	})
	var buf bytes.Buffer
	for _, e := range entries {
		line, err := json.Marshal(e)
		if err != nil {
			return "", err
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	sum := sha256.Sum256(buf.Bytes())
	hexSum := hex.EncodeToString(sum[:])
	if err := writeRootFile(root, ManifestFile, buf.Bytes()); err != nil {
		return "", err
	}
	if err := writeRootFile(root, ManifestHashFile, []byte(hexSum+"  manifest.jsonl\n")); err != nil {
		return "", err
	}
	return hexSum, nil
}

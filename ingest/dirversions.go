package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// Current reports whether o is an object as a plain listing shows it: not
// a delete marker, and the latest version (or from a listing without
// versions).
func (o Object) Current() bool {
	return !o.DeleteMarker && (o.VersionID == "" || o.IsLatest)
}

// copyIndex is what a directory copy's manifest adds to its files: the
// objects whose bytes are not at their key (noncurrent versions, delete
// markers, keys that are not usable paths). It is read once, on first use,
// and only when acquire stored such objects.
type copyIndex struct {
	// entries are sorted by key, then newest first.
	entries []ManifestEntry
	// byID finds an entry by key and version ID.
	byID map[string]int
	// offKey finds the latest version of a key stored off its key.
	offKey map[string]int
}

// maxManifestLine bounds one manifest line: an entry holds a key of at
// most 1,024 bytes and a digest's metadata.
const maxManifestLine = 1 << 20

// index reads the copy's manifest for the entries not at their key. A copy
// without acquire's versions or objects folders has none, and its manifest
// is not read.
func (s *DirSource) index() (*copyIndex, error) {
	s.indexOnce.Do(func() {
		s.idx, s.idxErr = s.readIndex()
	})
	return s.idx, s.idxErr
}

func (s *DirSource) readIndex() (*copyIndex, error) {
	idx := &copyIndex{byID: map[string]int{}, offKey: map[string]int{}}
	needed := false
	for _, dir := range []string{versionsDir, objectsDir} {
		if _, err := fs.Stat(s.fsys, dir); err == nil {
			needed = true
		}
	}
	if !needed {
		return idx, nil
	}
	f, err := s.fsys.Open(ManifestFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %s holds objects stored off their keys but there is no %s to say which", s.name, StateDir, ManifestFile)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxManifestLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		// Most entries are objects at their key, which the file system
		// lists; decode only the others.
		if !bytes.Contains(b, []byte(`"is_latest":false`)) && !bytes.Contains(b, []byte(`"delete_marker":true`)) &&
			!bytes.Contains(b, []byte(`"path":"`+objectsDir)) {
			continue
		}
		var e ManifestEntry
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("%s: %s line %d: %w", s.name, ManifestFile, line, err)
		}
		if e.Error != "" || (e.IsLatest && !e.DeleteMarker && e.Path == e.Key) {
			// Never copied, or at its key, where the file system
			// lists it.
			continue
		}
		if e.DeleteMarker {
			e.Path = ""
		} else if !fs.ValidPath(e.Path) || !strings.HasPrefix(e.Path, StateDir+"/") {
			return nil, fmt.Errorf("%s: %s line %d: path %q is not in %s", s.name, ManifestFile, line, e.Path, StateDir)
		}
		idx.entries = append(idx.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", s.name, ManifestFile, err)
	}
	slices.SortStableFunc(idx.entries, func(a, b ManifestEntry) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(b.LastModified, a.LastModified)
	})
	for i, e := range idx.entries {
		idx.byID[e.id()] = i
		if e.IsLatest && !e.DeleteMarker {
			idx.offKey[e.Key] = i
		}
	}
	return idx, nil
}

// object is the listing entry of a manifest entry.
func (e *ManifestEntry) object() Object {
	o := Object{Key: e.Key, Size: e.Size, ETag: e.ETag, VersionID: e.VersionID, IsLatest: e.IsLatest, DeleteMarker: e.DeleteMarker}
	if t, err := time.Parse(time.RFC3339Nano, e.LastModified); err == nil {
		o.LastModified = t.UTC()
	}
	if e.IsLatest && !e.DeleteMarker {
		// Listed as a plain listing lists it, like the files at their
		// keys.
		o.VersionID, o.IsLatest = "", true
	}
	return o
}

// listIndex lists the index entries below opts.Prefix: the latest
// versions stored off their keys always, noncurrent versions and delete
// markers with opts.Versions. With a delimiter, entries deeper than one
// level are folded into folders, each given once and only if dirs (the
// folders the file system listed) does not hold it.
func (s *DirSource) listIndex(ctx context.Context, opts ListOptions, dirs map[string]bool, fn func(Object) error) error {
	idx, err := s.index()
	if err != nil {
		return err
	}
	i, _ := slices.BinarySearchFunc(idx.entries, opts.Prefix, func(e ManifestEntry, p string) int { return strings.Compare(e.Key, p) })
	for ; i < len(idx.entries) && strings.HasPrefix(idx.entries[i].Key, opts.Prefix); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := &idx.entries[i]
		o := e.object()
		if !o.Current() && !opts.Versions {
			continue
		}
		if opts.Delimiter != "" {
			if j := strings.IndexByte(e.Key[len(opts.Prefix):], '/'); j >= 0 {
				dir := e.Key[:len(opts.Prefix)+j+1]
				if !dirs[dir] {
					dirs[dir] = true
					if err := fn(Object{Key: dir, IsPrefix: true}); err != nil {
						return err
					}
				}
				continue
			}
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// OpenVersion implements VersionOpener for copies acquire made with
// versions: the bytes and metadata of a noncurrent version as the manifest
// records them.
func (s *DirSource) OpenVersion(ctx context.Context, key, versionID string) (io.ReadCloser, Metadata, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	idx, err := s.index()
	if err != nil {
		return nil, nil, err
	}
	i, ok := idx.byID[key+"\x00"+versionID]
	if !ok {
		return nil, nil, fmt.Errorf("open %s version %s: not in %s: %w", key, versionID, ManifestFile, ErrNotExist)
	}
	e := &idx.entries[i]
	if e.DeleteMarker {
		return nil, nil, fmt.Errorf("open %s version %s: a delete marker has no bytes: %w", key, versionID, ErrNotExist)
	}
	f, err := s.openFile(e.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s version %s: %w", key, versionID, err)
	}
	return f, normalizeMetadata(e.Metadata), nil
}

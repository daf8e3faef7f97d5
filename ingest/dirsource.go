package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
)

// StateDir is the folder, at the top of a directory copy, where acquire
// keeps what a plain file copy of a bucket loses. Listings never show it.
const StateDir = ".trailcover"

// metaDir holds one sidecar per object that had user metadata:
// StateDir/meta/<key>.json.
const metaDir = StateDir + "/meta"

// sourceFile records which bucket and prefix a directory copy came from:
// StateDir/source.json.
const sourceFile = StateDir + "/source.json"

// Sidecar is the on-disk form of what S3 knew about one object beyond its
// bytes. acquire writes it to StateDir/meta/<key>.json for every object
// that has user metadata (digests: their signatures).
type Sidecar struct {
	Key          string   `json:"key"`
	ETag         string   `json:"etag,omitempty"`
	VersionID    string   `json:"version_id,omitempty"`
	LastModified string   `json:"last_modified,omitempty"`
	Metadata     Metadata `json:"metadata"`
}

// SourceInfo is StateDir/source.json: where a directory copy came from.
type SourceInfo struct {
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix"`
}

// maxSidecarSize bounds what is read of a sidecar; a real one is well under
// 2 KB (a 512-character signature and a few short fields).
const maxSidecarSize = 64 << 10

// DirSource is a bucket copied to a directory: one file per object at the
// object's key (what `aws s3 sync` makes), plus, when acquire made it, the
// StateDir folder with metadata sidecars and SourceInfo.
type DirSource struct {
	fsys   fs.FS
	name   string
	root   *os.Root
	bucket string

	indexOnce sync.Once
	idx       *copyIndex
	idxErr    error
}

var (
	_ Source        = (*DirSource)(nil)
	_ Bucketed      = (*DirSource)(nil)
	_ VersionOpener = (*DirSource)(nil)
)

// OpenDir opens the directory dir as a Source. Access is confined to dir
// (os.Root): symbolic links that lead out of it fail to open.
func OpenDir(dir string) (*DirSource, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open directory %s: %w", dir, err)
	}
	return NewFSSource(root.FS(), dir, root)
}

// NewFSSource makes a Source of any fs.FS, such as fstest.MapFS in tests.
// root, if not nil, is closed by Close.
func NewFSSource(fsys fs.FS, name string, root *os.Root) (*DirSource, error) {
	s := &DirSource{fsys: fsys, name: name, root: root}
	b, err := readLimited(fsys, sourceFile, maxSidecarSize)
	switch {
	case err == nil:
		var info SourceInfo
		if err := json.Unmarshal(b, &info); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, sourceFile, err)
		}
		s.bucket = info.Bucket
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// Close releases the directory handle.
func (s *DirSource) Close() error {
	if s.root != nil {
		return s.root.Close()
	}
	return nil
}

func (s *DirSource) String() string { return s.name }

// Bucket is the bucket named in StateDir/source.json, or "".
func (s *DirSource) Bucket() string { return s.bucket }

// List implements Source. Within a folder, the files come in name order,
// then what the copy's manifest adds (see ListOptions.Versions and
// OpenVersion): objects acquire stored off their keys, and with
// opts.Versions noncurrent versions and delete markers.
func (s *DirSource) List(ctx context.Context, opts ListOptions, fn func(Object) error) error {
	if opts.Delimiter != "" && opts.Delimiter != "/" {
		return fmt.Errorf("list %s: delimiter %q not supported", s.name, opts.Delimiter)
	}
	dirs := map[string]bool{}
	err := s.listFiles(ctx, opts, func(o Object) error {
		if o.IsPrefix {
			dirs[o.Key] = true
		}
		return fn(o)
	})
	if err != nil {
		return err
	}
	return s.listIndex(ctx, opts, dirs, fn)
}

// listFiles lists the files of the copy below opts.Prefix.
func (s *DirSource) listFiles(ctx context.Context, opts ListOptions, fn func(Object) error) error {
	dir, namePrefix := "", opts.Prefix
	if i := strings.LastIndexByte(opts.Prefix, '/'); i >= 0 {
		dir, namePrefix = opts.Prefix[:i], opts.Prefix[i+1:]
		// Every key is a valid fs path outside StateDir: none starts with
		// "/" or "./" or lies in the state folder.
		if !fs.ValidPath(dir) || dir == "." || dir == StateDir || strings.HasPrefix(dir, StateDir+"/") {
			return nil
		}
	}
	fsDir := dir
	if fsDir == "" {
		fsDir = "."
	}
	entries, err := fs.ReadDir(s.fsys, fsDir)
	if err != nil {
		if noSuchPath(err) {
			return nil
		}
		if info, serr := fs.Stat(s.fsys, fsDir); serr == nil && !info.IsDir() {
			return nil // the prefix's folder is an object: no key lies below it
		}
		return fmt.Errorf("list %s/%s: %w", s.name, fsDir, err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := e.Name()
		if !strings.HasPrefix(name, namePrefix) || (dir == "" && name == StateDir) {
			continue
		}
		key := name
		if dir != "" {
			key = dir + "/" + name
		}
		if e.IsDir() {
			if opts.Delimiter != "" {
				if err := fn(Object{Key: key + "/", IsPrefix: true}); err != nil {
					return err
				}
				continue
			}
			if err := s.walk(ctx, key, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(s.object(key, e)); err != nil {
			return err
		}
	}
	return nil
}

func (s *DirSource) walk(ctx context.Context, dir string, fn func(Object) error) error {
	return fs.WalkDir(s.fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("list %s/%s: %w", s.name, p, err)
		}
		if d.IsDir() {
			return ctx.Err()
		}
		return fn(s.object(p, d))
	})
}

func (s *DirSource) object(key string, d fs.DirEntry) Object {
	// A directory copy holds the latest versions only.
	o := Object{Key: key, IsLatest: true}
	if info, err := d.Info(); err == nil {
		o.Size = info.Size()
		o.LastModified = info.ModTime().UTC()
	}
	return o
}

// Open implements Source. Metadata comes from the object's sidecar, if
// acquire wrote one; a plain copy has none.
func (s *DirSource) Open(ctx context.Context, key string) (io.ReadCloser, Metadata, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	idx, err := s.index()
	if err != nil {
		return nil, nil, err
	}
	if i, ok := idx.offKey[key]; ok {
		// Stored off its key by acquire: a key that is not a usable
		// path, or one whose path a folder took.
		e := &idx.entries[i]
		f, err := s.openFile(e.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", key, err)
		}
		return f, normalizeMetadata(e.Metadata), nil
	}
	if !fs.ValidPath(key) || key == StateDir || strings.HasPrefix(key, StateDir+"/") {
		return nil, nil, fmt.Errorf("open %s: key is not a path in %s: %w", key, s.name, ErrNotExist)
	}
	f, err := s.openFile(key)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", key, err)
	}
	meta, err := s.metadata(key)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("open %s: %w", key, err)
	}
	return f, meta, nil
}

// openFile opens the regular file at name in the copy.
func (s *DirSource) openFile(name string) (fs.File, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		if noSuchPath(err) {
			err = fmt.Errorf("%w: %w", ErrNotExist, err)
		}
		return nil, err
	}
	if info, err := f.Stat(); err == nil && !info.Mode().IsRegular() {
		f.Close()
		if info.IsDir() {
			return nil, fmt.Errorf("a folder, not an object: %w", ErrNotExist)
		}
		return nil, errors.New("not a regular file")
	}
	return f, nil
}

func (s *DirSource) metadata(key string) (Metadata, error) {
	b, err := readLimited(s.fsys, path.Join(metaDir, key+".json"), maxSidecarSize)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("metadata sidecar: %w", err)
	}
	var sc Sidecar
	if err := json.Unmarshal(b, &sc); err != nil {
		return nil, fmt.Errorf("metadata sidecar: %w", err)
	}
	return normalizeMetadata(sc.Metadata), nil
}

func normalizeMetadata(m map[string]string) Metadata {
	if len(m) == 0 {
		return nil
	}
	out := make(Metadata, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// readLimited reads a small file, refusing one larger than limit.
func readLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", name, limit)
	}
	return b, nil
}

// noSuchPath reports whether err means a path names no file: it does not
// exist, is not a valid path, or goes through a file as if it were a folder.
func noSuchPath(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) || errors.Is(err, syscall.ENOTDIR)
}

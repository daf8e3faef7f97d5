package ingest

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
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
	fsys fs.FS
	name string
	// path is the directory on disk, for following symbolic links that
	// lead out of it (os.Root refuses them); "" for a plain fs.FS.
	path string
	// listed maps the real path of each folder listed to its key (see
	// firstListing).
	listedMu sync.Mutex
	listed   map[string]string
	// top is the copy's own real path.
	top    string
	root   *os.Root
	bucket string
	// folders, when fsys is root's, holds handles on the copy's folders
	// so that Open is one openat rather than one per path component.
	folders *folderCache

	indexOnce sync.Once
	idx       *copyIndex
	idxErr    error

	// special holds the keys the listing found to be neither regular
	// files nor folders (named pipes, devices, sockets), with their mode:
	// Open refuses them without opening them, since opening a pipe or a
	// device can block or have effects. Such entries are rare; the map
	// holds only them.
	specialMu sync.Mutex
	special   map[string]fs.FileMode
}

var (
	_ Source        = (*DirSource)(nil)
	_ Bucketed      = (*DirSource)(nil)
	_ VersionOpener = (*DirSource)(nil)
)

// OpenDir opens the directory dir as a Source. Symbolic links are
// followed for reading, as aws s3 sync and DuckDB's globs follow them, out
// of dir too: a link to a folder lists as that folder, and a walk enters
// each folder once (a link back to a folder above is a loop, skipped), so
// each object is read once.
func OpenDir(dir string) (*DirSource, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open directory %s: %w", dir, err)
	}
	s, err := NewFSSource(root.FS(), dir, root)
	if err != nil {
		return nil, err
	}
	s.path = dir
	return s, nil
}

// NewFSSource makes a Source of any fs.FS, such as fstest.MapFS in tests.
// root, if not nil, is closed by Close. If fsys is root.FS(), Open keeps
// handles on the folders it opens objects in (see folderCache).
func NewFSSource(fsys fs.FS, name string, root *os.Root) (*DirSource, error) {
	s := &DirSource{fsys: fsys, name: name, root: root}
	// On Windows, os.Root treats a backslash or a volume name in a file
	// name as a path; the full-path open rejects them, so the folder cache
	// could not promise the same answers there.
	if root != nil && fsys == root.FS() && runtime.GOOS != "windows" {
		s.folders = newFolderCache(root)
	}
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

// Close releases the directory handle and those of its folders.
func (s *DirSource) Close() error {
	if s.folders != nil {
		s.folders.close()
	}
	if s.root != nil {
		return s.root.Close()
	}
	return nil
}

func (s *DirSource) String() string { return s.name }

// Bucket is the bucket named in StateDir/source.json, or "".
func (s *DirSource) Bucket() string { return s.bucket }

// StoredPublicKeys implements KeyKeeper: StateDir/public-keys.json, as
// simulate and acquire write it; fs.ErrNotExist when the copy has none.
func (s *DirSource) StoredPublicKeys() ([]byte, error) {
	return readLimited(s.fsys, StateDir+"/public-keys.json", maxPublicKeysFile)
}

// maxPublicKeysFile bounds what is read of a copy's public keys: a year
// of keys of every region is a few hundred kilobytes.
const maxPublicKeysFile = 16 << 20

// KeepsMetadata implements MetadataKeeper: a copy acquire made keeps each
// object's metadata in sidecars (and names its bucket); a plain copy
// keeps none.
func (s *DirSource) KeepsMetadata() bool {
	if s.bucket != "" {
		return true
	}
	_, err := fs.Stat(s.fsys, metaDir)
	return err == nil
}

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
	if !s.firstListing(dir) {
		return nil
	}
	entries, err := s.readDir(fsDir)
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
		info, isDir := s.entryInfo(key, e)
		if isDir {
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
		if err := fn(s.object(key, info)); err != nil {
			return err
		}
	}
	return nil
}

// readDir reads a folder of the copy, following a symbolic link out of
// it where os.Root refuses to.
func (s *DirSource) readDir(dir string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(s.fsys, dir)
	if err != nil && s.path != "" && escapes(err) {
		return os.ReadDir(filepath.Join(s.path, filepath.FromSlash(dir)))
	}
	return entries, err
}

// escapes reports os.Root's refusal of a path that a symbolic link leads
// out of the root.
func escapes(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

// entryInfo is what a folder entry is, with a symbolic link followed: the
// target's size and time, and whether it is a folder. A dangling link is
// an object that will fail to open.
func (s *DirSource) entryInfo(key string, e fs.DirEntry) (fs.FileInfo, bool) {
	if e.Type()&fs.ModeSymlink == 0 || s.path == "" {
		info, _ := e.Info()
		return info, e.IsDir()
	}
	info, err := os.Stat(filepath.Join(s.path, filepath.FromSlash(key)))
	if err != nil {
		info, _ := e.Info()
		return info, false
	}
	return info, info.IsDir()
}

// walk lists every object below dir, following symbolic links; see
// firstListing for how each folder is listed once.
func (s *DirSource) walk(ctx context.Context, dir string, fn func(Object) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !s.firstListing(dir) {
		return nil
	}
	entries, err := s.readDir(dir)
	if err != nil {
		return fmt.Errorf("list %s/%s: %w", s.name, dir, err)
	}
	for _, e := range entries {
		key := dir + "/" + e.Name()
		info, isDir := s.entryInfo(key, e)
		if isDir {
			if err := s.walk(ctx, key, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(s.object(key, info)); err != nil {
			return err
		}
	}
	return nil
}

// firstListing reports whether dir (a folder of the copy, "" for its
// top) may be listed: it may unless symbolic links made it another name
// of a folder listed under another key. A link to a folder of the copy
// (a loop back up, a second name) lists nothing: the folder is listed
// under its own name. A folder out of the copy is listed under the first
// key that reaches it. So each object is read once; listing the same key
// again, as a second scan does, is allowed. Only folders reached through
// links out of the copy are remembered.
func (s *DirSource) firstListing(dir string) bool {
	if s.path == "" {
		return true
	}
	real, err := filepath.EvalSymlinks(filepath.Join(s.path, filepath.FromSlash(dir)))
	if err != nil {
		return true
	}
	s.listedMu.Lock()
	defer s.listedMu.Unlock()
	if s.listed == nil {
		s.listed = map[string]string{}
		s.top, _ = filepath.EvalSymlinks(s.path)
	}
	if s.top != "" {
		own := filepath.Join(s.top, filepath.FromSlash(dir))
		if real == own {
			// No link on the way: the folder under its own name, which
			// nothing else lists. Not remembered, so that memory does not
			// grow with the folders of a copy without links.
			return true
		}
		if rel, err := filepath.Rel(s.top, real); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			// A link to a folder of the copy (a loop back up, a second
			// name): that folder is listed under its own name.
			return false
		}
	}
	// A link out of the copy: the first key to reach a folder lists it.
	if first, ok := s.listed[real]; ok {
		return first == dir
	}
	s.listed[real] = dir
	return true
}

func (s *DirSource) object(key string, info fs.FileInfo) Object {
	// A directory copy holds the latest versions only.
	o := Object{Key: key, IsLatest: true}
	if info != nil {
		o.Size = info.Size()
		o.LastModified = info.ModTime().UTC()
		if m := info.Mode(); !m.IsRegular() && !m.IsDir() {
			s.specialMu.Lock()
			if s.special == nil {
				s.special = map[string]fs.FileMode{}
			}
			s.special[key] = m.Type()
			s.specialMu.Unlock()
		}
	}
	return o
}

// notRegular describes a key the listing found not to be a regular file.
func (s *DirSource) notRegular(key string) error {
	s.specialMu.Lock()
	m, ok := s.special[key]
	s.specialMu.Unlock()
	if !ok {
		return nil
	}
	what := "a special file"
	switch {
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a device"
	}
	return fmt.Errorf("open %s: %s, not a regular file: skipped without opening it", key, what)
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
	if err := s.notRegular(key); err != nil {
		return nil, nil, err
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
	var f fs.File
	if file, err := s.openInFolder(name); err == nil {
		f = file
	} else {
		// What its folder's handle could not open, the full path opens
		// or explains, in the words it always used.
		if s.folders != nil {
			f, err = s.root.OpenFile(name, os.O_RDONLY|openNonBlocking, 0)
		} else {
			f, err = s.fsys.Open(name)
		}
		if err != nil && s.path != "" && escapes(err) {
			// A symbolic link out of the copy: followed for reading.
			f, err = os.OpenFile(filepath.Join(s.path, filepath.FromSlash(name)), os.O_RDONLY|openNonBlocking, 0)
		}
		if err != nil {
			if noSuchPath(err) {
				err = fmt.Errorf("%w: %w", ErrNotExist, err)
			}
			return nil, err
		}
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
	// key is a valid path: path.Join would only copy it once more.
	b, err := s.readSidecar(metaDir + "/" + key + ".json")
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

// readSidecar reads the sidecar at name. Most objects have none, and
// most folders of objects have no sidecar folder, which the folder cache
// remembers: then no file is looked up at all.
func (s *DirSource) readSidecar(name string) ([]byte, error) {
	f, err := s.openInFolder(name)
	switch {
	case err == nil:
		return readAllLimited(f, name, maxSidecarSize)
	case errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	return readLimited(s.fsys, name, maxSidecarSize)
}

// readLimited reads a small file, refusing one larger than limit.
func readLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	return readAllLimited(f, name, limit)
}

// readAllLimited reads f, named name, whole and closes it, refusing a file
// larger than limit.
func readAllLimited(f io.ReadCloser, name string, limit int64) ([]byte, error) {
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
	// A name longer than the file system holds cannot be on disk: the
	// key of an object acquire stored off its key (an S3 folder name may
	// be 1,000 characters long), listed from the manifest.
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENAMETOOLONG)
}

// maxCachedFolders bounds the folders a DirSource keeps open. The
// pipeline opens objects in about the order they are listed, a few
// folders at a time (one per lister), so a small cache serves nearly
// every open.
const maxCachedFolders = 64

// errFullPath is what openInFolder returns when only the full-path open
// can say what a name is.
var errFullPath = errors.New("no folder handle: open the full path")

// openInFolder opens name, a path in the copy, with one openat in its
// folder's cached handle. An error that wraps fs.ErrNotExist means that
// the full-path open finds no file either; after any other error, only the
// full-path open (s.fsys) can say what name is.
//
// The answers are the full-path open's: a cached folder was reached
// without a symbolic link (see folderCache), so it is the folder the full
// path goes through, and os.Root confines the open to that folder; what it
// refuses there (a link to a sibling folder) the caller opens by its full
// path, which os.Root confines to the copy as before.
func (s *DirSource) openInFolder(name string) (*os.File, error) {
	if s.folders == nil || !fs.ValidPath(name) {
		return nil, errFullPath
	}
	dir, base := "", name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		dir, base = name[:i], name[i+1:]
	}
	folder := s.folders.acquire(dir)
	defer s.folders.release(folder)
	switch {
	case folder == nil || folder.state == folderFullPath:
		return nil, errFullPath
	case folder.state == folderMissing:
		// Bare: readSidecar gets it for nearly every object, and only
		// asks errors.Is.
		return nil, fs.ErrNotExist
	}
	return folder.handle.OpenFile(base, os.O_RDONLY|openNonBlocking, 0)
}

// folderCache keeps handles (os.Root.OpenRoot) on recently used folders
// of a directory copy, and remembers folders that do not exist, such as
// the sidecar folders of objects that have no sidecars. It is safe for
// concurrent use; Open calls it from every pipeline worker.
//
// A folder is opened from its parent's handle, one path component at a
// time, and only if that component is a folder, not a symbolic link: a
// folder at or below a link gets no handle (state folderFullPath), and
// what lies there is opened by its full path, so os.Root resolves the
// link exactly as before. That makes each handle the very folder the
// full-path open would walk through.
//
// At most maxCachedFolders folders are cached, the least recently used
// evicted first. A handle is closed when it has been evicted (or the cache
// closed) and no goroutine holds it any more.
type folderCache struct {
	// top is the copy itself: the DirSource's root, which the cache
	// never evicts or closes.
	top *cachedFolder

	mu      sync.Mutex
	folders map[string]*cachedFolder
	lru     list.List // of *cachedFolder, the most recently used first
	closed  bool
}

// folderState is what the cache knows of a folder.
type folderState int

const (
	// folderOpen: handle holds the folder.
	folderOpen folderState = iota
	// folderMissing: the folder does not exist, nor anything below it.
	folderMissing
	// folderFullPath: no handle; the folder is, or lies below, a
	// symbolic link, or could not be opened. Open its files by their
	// full paths.
	folderFullPath
)

// cachedFolder is one folder of the cache. state and handle are set once,
// by load, inside loadOnce.
type cachedFolder struct {
	name     string
	loadOnce sync.Once
	state    folderState
	handle   *os.Root

	// refs, evicted and elem are guarded by folderCache.mu. refs counts
	// the goroutines holding the folder (acquire without release yet).
	refs    int
	evicted bool
	elem    *list.Element
}

func newFolderCache(root *os.Root) *folderCache {
	return &folderCache{
		top:     &cachedFolder{state: folderOpen, handle: root},
		folders: map[string]*cachedFolder{},
	}
}

// acquire returns the folder dir, a valid fs path or "" for the top,
// loading it on first use; the caller must release it. Once the cache is
// closed, acquire returns nil.
func (c *folderCache) acquire(dir string) *cachedFolder {
	if dir == "" {
		return c.top
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	f, ok := c.folders[dir]
	if ok {
		c.lru.MoveToFront(f.elem)
	} else {
		f = &cachedFolder{name: dir}
		f.elem = c.lru.PushFront(f)
		c.folders[dir] = f
	}
	f.refs++
	for c.lru.Len() > maxCachedFolders {
		c.evictLocked(c.lru.Back().Value.(*cachedFolder))
	}
	c.mu.Unlock()
	// Goroutines that want the folder while another loads it wait here.
	f.loadOnce.Do(func() { c.load(f) })
	return f
}

// release gives back a folder that acquire returned.
func (c *folderCache) release(f *cachedFolder) {
	if f == nil || f == c.top {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f.refs--
	if f.evicted && f.refs == 0 && f.handle != nil {
		f.handle.Close()
	}
}

// evictLocked removes f from the cache, closing its handle unless a
// goroutine holds it; the last release closes it then.
func (c *folderCache) evictLocked(f *cachedFolder) {
	c.lru.Remove(f.elem)
	delete(c.folders, f.name)
	f.evicted = true
	if f.refs == 0 && f.handle != nil {
		f.handle.Close()
	}
}

// close evicts every folder. Later acquires return nil.
func (c *folderCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for c.lru.Len() > 0 {
		c.evictLocked(c.lru.Back().Value.(*cachedFolder))
	}
}

// load opens f from its parent's handle: the last component of its name,
// if that is a folder, in the parent folder, which the cache holds while f
// is opened.
func (c *folderCache) load(f *cachedFolder) {
	f.state = folderFullPath
	parentName, base := "", f.name
	if i := strings.LastIndexByte(f.name, '/'); i >= 0 {
		parentName, base = f.name[:i], f.name[i+1:]
	}
	parent := c.acquire(parentName)
	defer c.release(parent)
	switch {
	case parent == nil || parent.state == folderFullPath:
		return
	case parent.state == folderMissing:
		f.state = folderMissing
		return
	}
	info, err := parent.handle.Lstat(base)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// The full path stops at this component too: the parent is the
		// folder it walks through.
		f.state = folderMissing
	case err != nil || !info.IsDir():
		// A symbolic link, a file, or a component the full path must
		// report on (too long, no permission).
	default:
		if handle, err := parent.handle.OpenRoot(base); err == nil {
			f.state, f.handle = folderOpen, handle
		}
	}
}

package simulate

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"github.com/trailcover/trailcover/ingest"
)

// output is the directory being written.
type output struct {
	dir   string
	level int
	bytes atomic.Int64
	files atomic.Int64
}

// fileWriter writes objects for one goroutine, reusing its compressor and
// remembering the folders it has made.
type fileWriter struct {
	out  *output
	dirs map[string]bool
	zw   *gzip.Writer
	zbuf bytes.Buffer
}

// writer returns a fileWriter for one goroutine.
func (o *output) writer() *fileWriter {
	return &fileWriter{out: o, dirs: map[string]bool{}}
}

// gzip compresses body as CloudTrail's objects are: one gzip member, no
// file name, modification time zero, so that the bytes depend only on the
// content. The result is valid until the next call.
func (w *fileWriter) gzip(body []byte) ([]byte, error) {
	w.zbuf.Reset()
	if w.zw == nil {
		zw, err := gzip.NewWriterLevel(&w.zbuf, w.out.level)
		if err != nil {
			return nil, err
		}
		w.zw = zw
	} else {
		w.zw.Reset(&w.zbuf)
	}
	if _, err := w.zw.Write(body); err != nil {
		return nil, err
	}
	if err := w.zw.Close(); err != nil {
		return nil, err
	}
	return w.zbuf.Bytes(), nil
}

// write stores data at the path of key and sets its modification time to
// when S3 would have received it (DirSource reports it as LastModified).
func (w *fileWriter) write(key string, data []byte, mtime int64) error {
	p := filepath.Join(w.out.dir, filepath.FromSlash(key))
	if dir := path.Dir(key); !w.dirs[dir] {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", key, err)
		}
		w.dirs[dir] = true
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	t := time.Unix(mtime, 0)
	if err := os.Chtimes(p, t, t); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	w.out.bytes.Add(int64(len(data)))
	w.out.files.Add(1)
	return nil
}

// writeSidecar stores what acquire keeps of an object with user metadata,
// as acquire writes it: StateDir/meta/<key>.json, the ETag (a single-part
// upload's MD5) without quotes, LastModified in RFC 3339.
func (w *fileWriter) writeSidecar(key string, data []byte, mtime int64, meta ingest.Metadata) error {
	sum := md5.Sum(data)
	sc := ingest.Sidecar{
		Key:          key,
		ETag:         hex.EncodeToString(sum[:]),
		LastModified: time.Unix(mtime, 0).UTC().Format(time.RFC3339),
		Metadata:     meta,
	}
	b, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(w.out.dir, ingest.StateDir, "meta", filepath.FromSlash(key)+".json")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("sidecar %s: %w", key, err)
	}
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("sidecar %s: %w", key, err)
	}
	return nil
}

// parallel calls fn(worker, i) for i in [0, n) on workers goroutines, each
// taking the next index when done. Results must be stored by index, so
// that they never depend on which worker ran what. It returns the first
// error; the others stop taking work.
func parallel(ctx context.Context, workers, n int, fn func(ctx context.Context, worker, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for w := range min(workers, n) {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return nil
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := fn(ctx, w, i); err != nil {
					return err
				}
			}
		})
	}
	return g.Wait()
}

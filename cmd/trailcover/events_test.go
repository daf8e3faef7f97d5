package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/report"
)

// memFiles keeps the files an events sink writes, from any goroutine.
type memFiles struct {
	mu    sync.Mutex
	files map[string]*bytes.Buffer
	fail  string // a path whose writes fail
}

type memFile struct {
	m    *memFiles
	path string
}

func (f memFile) Write(p []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if f.path == f.m.fail {
		return 0, errors.New("disk full")
	}
	return f.m.files[f.path].Write(p)
}

func (f memFile) Close() error { return nil }

func (m *memFiles) open(p report.Partition) (io.WriteCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files[p.Path()] != nil {
		return nil, fmt.Errorf("%s opened twice", p.Path())
	}
	m.files[p.Path()] = &bytes.Buffer{}
	return memFile{m, p.Path()}, nil
}

func sinkObjects(n int) []*ingest.Result {
	var out []*ingest.Result
	for i := range n {
		key := fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/111122223333_CloudTrail_us-east-1_20240301T%02d%02dZ_%016d.json.gz", i/60%24, i%60, i)
		r := &ingest.Result{Object: ingest.Object{Key: key}, Location: ingest.ParseKey(key)}
		for j := range 3 {
			r.Records = append(r.Records, ingest.Record{EventID: fmt.Sprintf("e-%d-%d", i, j), EventName: "GetObject"})
		}
		out = append(out, r)
	}
	return out
}

// TestEventsSink writes objects through several writers: every row lands
// once, all of an object's rows in one file, files are named apart, and a
// table without rows is still one empty file.
func TestEventsSink(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one CPU: one writer")
	}
	m := &memFiles{files: map[string]*bytes.Buffer{}}
	s := newEventsSink(m.open, report.EventsOptions{})
	if len(s.writers) < 2 {
		t.Fatalf("%d writers with %d CPUs", len(s.writers), runtime.GOMAXPROCS(0))
	}
	objects := sinkObjects(200)
	for _, r := range objects {
		if err := s.Write(r, analyzer.VerdictValid); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Rows() != 600 {
		t.Errorf("%d rows written, want 600", s.Rows())
	}
	if len(m.files) != len(s.writers) {
		t.Errorf("%d files for %d writers: %v", len(m.files), len(s.writers), m.files)
	}
	fileOf := map[string]string{}
	ids := map[string]int{}
	for name, buf := range m.files {
		rows, err := parquet.Read[report.EventRow](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, row := range rows {
			ids[*row.EventID]++
			if f, ok := fileOf[row.ObjectKey]; ok && f != name {
				t.Errorf("rows of %s in %s and %s", row.ObjectKey, f, name)
			}
			fileOf[row.ObjectKey] = name
		}
	}
	if len(ids) != 600 {
		t.Errorf("%d distinct rows read back, want 600", len(ids))
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("event %s written %d times", id, n)
		}
	}

	empty := &memFiles{files: map[string]*bytes.Buffer{}}
	if err := newEventsSink(empty.open, report.EventsOptions{}).Close(); err != nil {
		t.Fatal(err)
	}
	if len(empty.files) != 1 || empty.files["part-00000.parquet"] == nil {
		t.Errorf("a table without rows gave files %v, want part-00000.parquet alone", empty.files)
	}
}

// TestEventsSinkError: a writer that fails makes later Writes and Close
// return its error, and never blocks them.
func TestEventsSinkError(t *testing.T) {
	m := &memFiles{files: map[string]*bytes.Buffer{}, fail: "part-00000.parquet"}
	s := newEventsSink(m.open, report.EventsOptions{RowsPerRowGroup: 1})
	var first error
	for _, r := range sinkObjects(300) {
		if err := s.Write(r, analyzer.VerdictValid); err != nil && first == nil {
			first = err
		}
	}
	err := s.Close()
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close = %v, want the writer's error", err)
	}
	if first == nil || !strings.Contains(first.Error(), "disk full") {
		t.Errorf("Write never returned the writer's error (first: %v)", first)
	}
}

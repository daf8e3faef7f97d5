package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

// refusingSource lists like its DirSource and answers every Open as a
// server gone away would, or, for the keys in denied, as a bucket policy
// that denies them does.
type refusingSource struct {
	*DirSource
	denied map[string]bool
	gone   bool
}

func (s *refusingSource) Open(ctx context.Context, key string) (io.ReadCloser, Metadata, error) {
	if s.denied[key] {
		return nil, nil, fmt.Errorf("open %s: access denied", key)
	}
	if s.gone {
		return nil, nil, fmt.Errorf("open %s: %w", key, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	}
	return s.DirSource.Open(ctx, key)
}

// TestScanSourceFailing: a source that can no longer be reached stops
// the scan with ErrSourceFailing; objects it refuses one by one are
// results with ReadFailed set, and the scan goes on.
func TestScanSourceFailing(t *testing.T) {
	files := fstest.MapFS{}
	loc := Location{Kind: KindLog, Account: "111111111111", Region: "us-east-1", Unique: "AAAAAAAAAAAAAAAA"}
	var keys []string
	for i := range 200 {
		loc.Time = time.Date(2024, 1, 1, i/60, i%60, 0, 0, time.UTC)
		loc.Unique = fmt.Sprintf("A%015d", i)
		files[loc.ObjectKey()] = &fstest.MapFile{Data: []byte(`{"Records":[]}`)}
		keys = append(keys, loc.ObjectKey())
	}
	dir, err := NewFSSource(files, "mapfs", nil)
	if err != nil {
		t.Fatal(err)
	}

	gone := &refusingSource{DirSource: dir, gone: true}
	_, err = Scan(t.Context(), gone, ScanOptions{Workers: 4}, func(*Result) error { return nil })
	if !errors.Is(err, ErrSourceFailing) {
		t.Fatalf("scan of a source gone away: %v, want ErrSourceFailing", err)
	}

	denied := &refusingSource{DirSource: dir, denied: map[string]bool{keys[3]: true, keys[100]: true}}
	failed := 0
	_, err = Scan(t.Context(), denied, ScanOptions{Workers: 4}, func(r *Result) error {
		if r.ReadFailed {
			failed++
			if !denied.denied[r.Object.Key] {
				t.Errorf("%s: ReadFailed, but it was served", r.Object.Key)
			}
		}
		return nil
	})
	if err != nil || failed != 2 {
		t.Errorf("scan with two objects denied: %v, %d read failures, want nil and 2", err, failed)
	}
}

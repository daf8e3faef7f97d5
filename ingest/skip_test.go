package ingest

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
)

// openCounter records which keys were opened.
type openCounter struct {
	Source
	mu     sync.Mutex
	opened map[string]int
}

func (o *openCounter) Open(ctx context.Context, key string) (io.ReadCloser, Metadata, error) {
	o.mu.Lock()
	o.opened[key]++
	o.mu.Unlock()
	return o.Source.Open(ctx, key)
}

// TestScanSkip: skipped objects are delivered, marked, and never opened;
// the others are read as usual.
func TestScanSkip(t *testing.T) {
	fsys, kinds := testArchive(t, 2)
	inner, err := NewFSSource(fsys, "mem", nil)
	if err != nil {
		t.Fatal(err)
	}
	src := &openCounter{Source: inner, opened: map[string]int{}}
	skip := func(o Object) bool { return strings.Contains(o.Key, "us-east-1") }
	got, _, err := collect(t, src, ScanOptions{Workers: 4, Skip: skip})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(kinds) {
		t.Errorf("delivered %d objects, want every one of the %d listed", len(got), len(kinds))
	}
	skipped := 0
	for key, r := range got {
		want := skip(r.Object)
		if r.Skipped != want {
			t.Errorf("%s: Skipped = %v, want %v", key, r.Skipped, want)
		}
		if !want {
			continue
		}
		skipped++
		if src.opened[key] > 0 {
			t.Errorf("%s was skipped but opened", key)
		}
		if r.Records != nil || r.Digest != nil || r.Err != nil || r.Location.Kind != kinds[key] {
			t.Errorf("%s: a skipped result carries more than its object and location: %+v", key, r)
		}
	}
	if skipped == 0 {
		t.Fatal("nothing was skipped")
	}
	for key, k := range kinds {
		if k != KindOther && !skip(Object{Key: key}) && src.opened[key] != 1 {
			t.Errorf("%s opened %d times, want once", key, src.opened[key])
		}
	}
}

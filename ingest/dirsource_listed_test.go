package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestFirstListingRemembersOnlyLinks: listing a copy without symbolic
// links remembers no folder (memory does not grow with the day folders of
// a sparse archive spanning years); a link to a folder of the copy lists
// nothing, a link out of it lists the folder once.
func TestFirstListingRemembersOnlyLinks(t *testing.T) {
	dir := t.TempDir()
	for d := range 50 {
		folder := filepath.Join(dir, "AWSLogs", "111111111111", "CloudTrail", "us-east-1", "2024", "01", fmt.Sprintf("%02d", d+1))
		if err := os.MkdirAll(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(folder, "f.json.gz"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	count := func(src *DirSource) int {
		n := 0
		if err := src.List(context.Background(), ListOptions{}, func(o Object) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	src, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(src); n != 50 {
		t.Fatalf("%d objects listed, want 50", n)
	}
	if len(src.listed) != 0 {
		t.Errorf("%d folders remembered in a copy without links", len(src.listed))
	}

	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "g.json.gz"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "AWSLogs"), filepath.Join(dir, "alias")); err != nil {
		t.Skipf("symlink: %v", err)
	}
	for _, name := range []string{"out1", "out2"} {
		if err := os.Symlink(outside, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	src, err = OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(src); n != 51 {
		t.Errorf("%d objects listed, want 50 and the outside file once", n)
	}
	if len(src.listed) != 1 {
		t.Errorf("%d folders remembered, want the one outside", len(src.listed))
	}
}

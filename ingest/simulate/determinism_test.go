package simulate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// treeHashes returns the SHA-256 of every file below dir, StateDir
// included, with the modification time of the bucket's objects (which
// DirSource reports as LastModified).
func treeHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		out[rel] = hashHex(b)
		if !strings.HasPrefix(rel, ingest.StateDir+"/") {
			out[rel] += " " + info.ModTime().UTC().Format(time.RFC3339)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// compareTrees fails on any file that differs between two directories.
func compareTrees(t *testing.T, got, want string) {
	t.Helper()
	g, w := treeHashes(t, got), treeHashes(t, want)
	for k, v := range w {
		if g[k] != v {
			t.Errorf("%s: got %q, want %q", k, g[k], v)
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			t.Errorf("%s: extra file", k)
		}
	}
	if len(g) != len(w) {
		t.Errorf("%d files, want %d", len(g), len(w))
	}
}

// TestDeterminism generates the all-scenarios archive again on one worker
// and wants every file byte for byte (and modification time) the same.
func TestDeterminism(t *testing.T) {
	a := loadArchive(t, "all-scenarios", allScenariosConfig())
	cfg := allScenariosConfig()
	cfg.Workers = 1
	dir := filepath.Join(t.TempDir(), "again")
	if _, err := Generate(context.Background(), cfg, dir); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, dir, a.dir)
}

// TestSeedMatters: another seed, another archive.
func TestSeedMatters(t *testing.T) {
	cfg := Config{Seed: 1, AccountCount: 1, Regions: []string{"eu-west-1"}, EnabledRegions: []string{"eu-west-1"}, EventsPerHour: 5, Keys: testKeys(1)}
	d1 := filepath.Join(t.TempDir(), "a")
	t1, err := Generate(context.Background(), cfg, d1)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed, cfg.Keys = 2, testKeys(2)
	t2, err := Generate(context.Background(), cfg, filepath.Join(t.TempDir(), "b"))
	if err != nil {
		t.Fatal(err)
	}
	if t1.Accounts[0].Account == t2.Accounts[0].Account || t1.PublicKeys[0].Fingerprint == t2.PublicKeys[0].Fingerprint {
		t.Errorf("seeds 1 and 2 gave the same account or key")
	}
	if _, err := Generate(context.Background(), cfg, d1); err == nil {
		t.Errorf("Generate into a non-empty directory succeeded")
	}
}

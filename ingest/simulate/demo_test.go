package simulate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// demoDir is the committed quick-start archive.
const demoDir = "../../testdata/demo"

// demoConfig is what the command in doc.go's "quick-start archive"
// section asks for. Keep the two in step: TestDemoUpToDate compares the
// result with testdata/demo, whose truth.json holds the CLI's config.
func demoConfig() Config {
	return Config{
		Seed:          1,
		AccountCount:  2,
		Regions:       []string{"us-east-1", "eu-west-1", "eu-central-1"},
		Days:          1,
		EventsPerHour: 20,
		Scenarios: []Scenario{
			{Name: ScenarioCryptoMining}, {Name: ScenarioSnapshotExfil}, {Name: ScenarioDeniedAttempts},
			{Name: ScenarioRegionNotLogged}, {Name: ScenarioLoggingStopped},
			{Name: ScenarioLogDeleted}, {Name: ScenarioDigestDeleted},
		},
		Keys: testKeys(1),
	}
}

// TestDemoUpToDate regenerates the quick-start archive and wants every
// file of testdata/demo byte for byte, so that it never goes stale.
// Modification times are not compared: git does not keep them.
func TestDemoUpToDate(t *testing.T) {
	if _, err := os.Stat(demoDir); err != nil {
		t.Fatalf("%v: regenerate it with the command in doc.go", err)
	}
	dir := filepath.Join(t.TempDir(), "demo")
	if _, err := Generate(context.Background(), demoConfig(), dir); err != nil {
		t.Fatal(err)
	}
	got, want := treeHashes(t, dir), treeHashes(t, demoDir)
	stale := 0
	for k, v := range want {
		if contentHash(got[k]) != contentHash(v) {
			stale++
			if stale <= 5 {
				t.Errorf("%s differs from a fresh run", k)
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			stale++
			if stale <= 5 {
				t.Errorf("%s missing from testdata/demo", k)
			}
		}
	}
	if stale > 0 {
		t.Errorf("testdata/demo is stale (%d files): regenerate it with the command in doc.go", stale)
	}
}

// contentHash drops the modification time from a treeHashes value.
func contentHash(v string) string {
	h, _, _ := strings.Cut(v, " ")
	return h
}

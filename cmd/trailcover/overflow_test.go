package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/report"
)

// TestManyRecordsInOneFile: a log file of more records than a scan holds
// of one object (ingest.DefaultMaxHeldRecords) is read again in batches:
// every record is counted once and reaches the events table, beside an
// ordinary file.
func TestManyRecordsInOneFile(t *testing.T) {
	n := ingest.DefaultMaxHeldRecords*2 + 123
	var b strings.Builder
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(ctRecord(fmt.Sprintf("many-%d", i), "us-east-1", "00:04", ""))
	}
	b.WriteString(`]}`)
	dir := t.TempDir()
	folder := filepath.Join(dir, "AWSLogs", "111111111111", "CloudTrail", "us-east-1", "2024", "01", "01")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(folder, "111111111111_CloudTrail_us-east-1_20240101T0005Z_ManyRecords00001.json.gz"), gzipped([]byte(b.String())))
	writeFile(t, filepath.Join(folder, "111111111111_CloudTrail_us-east-1_20240101T0010Z_OneRecord0000001.json.gz"), gzipped([]byte(records(ctRecord("one", "us-east-1", "00:09", "")))))
	out := filepath.Join(t.TempDir(), "out")
	res := analyzeGenuineTo(t, out, dir)
	if res.summary.Records.Total != n+1 || res.summary.Records.Duplicates != 0 || res.summary.Objects.Unreadable != 0 {
		t.Errorf("records %+v, objects %+v; want %d records, no duplicate\n%s", res.summary.Records, res.summary.Objects, n+1, res.stderr)
	}
	ids := map[string]bool{}
	eachEventRow(t, filepath.Join(out, eventsDir), func(_ string, row *report.EventRow) { ids[*row.EventID] = true })
	if len(ids) != n+1 {
		t.Errorf("%d distinct events in events/, want %d", len(ids), n+1)
	}
}

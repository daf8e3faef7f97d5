package main

import (
	"bytes"
	"errors"
	"github.com/trailcover/trailcover/analyzer"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/trailcover/trailcover/report"
)

// TestAnalyzeIntegrityOnly runs analyze on an archive with planted
// problems twice, reading records and with --integrity-only: the second
// reads every object and reaches the same integrity verdicts (chains,
// integrity and coverage findings), reads no record, writes an empty
// events table, and says which controls it did not evaluate.
func TestAnalyzeIntegrityOnly(t *testing.T) {
	dir, srv, bucket := e2eArchive(t)
	keys := filepath.Join(dir, ".trailcover", "public-keys.json")
	for _, source := range [][]string{{dir}, {"--endpoint-url", srv.Endpoint, "s3://" + bucket}} {
		full := analyzeSummary(t, append([]string{"--public-keys", keys}, source...)...)
		only := analyzeSummary(t, append([]string{"--public-keys", keys, "--integrity-only"}, source...)...)

		if a, b := canonical(t, only["integrity"]), canonical(t, full["integrity"]); a != b {
			t.Errorf("%v: integrity differs:\n%s", source, firstDiff(a, b))
		}
		// JSON is not parsed: a file whose gzip is sound and whose JSON
		// is not is unreadable only to a full run.
		oo, fo := only["objects"].(map[string]any), full["objects"].(map[string]any)
		if oo["unreadable"].(float64) > fo["unreadable"].(float64) {
			t.Errorf("%v: %v objects unreadable, more than the full run's %v", source, oo["unreadable"], fo["unreadable"])
		}
		delete(oo, "unreadable")
		delete(fo, "unreadable")
		if a, b := canonical(t, oo), canonical(t, fo); a != b {
			t.Errorf("%v: objects differ:\n%s", source, firstDiff(a, b))
		}
		if run := only["run"].(map[string]any); run["integrity_only"] != true {
			t.Errorf("%v: run.integrity_only = %v, want true", source, run["integrity_only"])
		}
		if run := full["run"].(map[string]any); run["integrity_only"] != false {
			t.Errorf("%v: run.integrity_only = %v in a full run, want false", source, run["integrity_only"])
		}
		if recs := only["records"].(map[string]any); recs["total"] != 0.0 {
			t.Errorf("%v: records.total = %v, want 0", source, recs["total"])
		}
		if recs := full["records"].(map[string]any); recs["total"] == 0.0 {
			t.Errorf("%v: the full run read no record", source)
		}
		// The findings that do not come from records (or from parsing
		// them: unreadable objects, decode errors in evidence) are the
		// same.
		byRecords := map[string]bool{analyzer.KindOutsideAllowlist: true, analyzer.KindLoggingChanged: true, analyzer.KindGlobalEventsOff: true, analyzer.KindUnreadableObject: true}
		pick := func(s map[string]any) []any {
			var out []any
			for _, f := range s["findings"].([]any) {
				f := f.(map[string]any)
				if !byRecords[f["kind"].(string)] {
					if ev, ok := f["evidence"].(map[string]any); ok {
						delete(ev, "error")
					}
					out = append(out, f)
				}
			}
			return out
		}
		ff, of := pick(full), pick(only)
		if len(of) == 0 {
			t.Fatalf("%v: no integrity or coverage finding in an archive with planted problems", source)
		}
		if a, b := canonical(t, of), canonical(t, ff); a != b {
			t.Errorf("%v: findings differ:\n%s", source, firstDiff(a, b))
		}
		status := map[string]string{}
		for _, c := range only["controls"].([]any) {
			c := c.(map[string]any)
			status[c["control"].(string)] = c["status"].(string)
		}
		for id, want := range map[string]string{"global-service-events": "not-evaluated", "region-allowlist": "not-evaluated", "logging-changes": "not-evaluated", "log-file-integrity": "fail"} {
			if status[id] != want {
				t.Errorf("%v: control %s is %q, want %q", source, id, status[id], want)
			}
		}
	}
	events := t.TempDir()
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"analyze", "--integrity-only", "--out", events, dir}, io.Discard, &stderr, func() time.Time { return fixedNow })
	var fe *findingsError
	if err != nil && !errors.As(err, &fe) {
		t.Fatalf("analyze: %v\n%s", err, stderr.String())
	}
	rows := 0
	eachEventRow(t, filepath.Join(events, "events"), func(string, *report.EventRow) { rows++ })
	if rows != 0 {
		t.Errorf("events/ holds %d rows, want none", rows)
	}
	for _, args := range [][]string{
		{"analyze", "--integrity-only", "--state", filepath.Join(t.TempDir(), "state"), dir},
		{"analyze", "--integrity-only", "--versions", dir},
	} {
		if err := run(t.Context(), args, io.Discard, io.Discard, func() time.Time { return fixedNow }); !errors.Is(err, errUsage) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}

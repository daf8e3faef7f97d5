package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/report"
)

// windowScalingNow is the clock of TestAnalyzeLastDayScalesWithWindow:
// noon of the archives' last day.
var windowScalingNow = time.Date(2025, 3, 15, 12, 0, 0, 0, time.UTC)

// writeDaysArchive writes a bucket copy of days of CloudTrail objects
// ending on windowScalingNow's day: one account, one region, two log
// files and two digests a day, each log file with one record. It returns
// the number of objects written.
func writeDaysArchive(t *testing.T, dir string, days int) int {
	t.Helper()
	last := windowScalingNow.Truncate(24 * time.Hour)
	n := 0
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	write := func(key string, body string) {
		buf.Reset()
		zw.Reset(&buf)
		io.WriteString(zw, body)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		n++
	}
	for d := range days {
		for h := 0; h < 24; h += 12 {
			ts := last.AddDate(0, 0, -d).Add(time.Duration(h) * time.Hour)
			log := ingest.Location{Kind: ingest.KindLog, Account: "111111111111", Region: "us-east-1", Time: ts.Add(5 * time.Minute), Unique: fmt.Sprintf("%016d", n)}
			write(log.ObjectKey(), fmt.Sprintf(`{"Records":[{"eventVersion":"1.09","eventID":"e-%d","eventTime":"%s","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"us-east-1","recipientAccountId":"111111111111"}]}`, n, ts.Format(time.RFC3339)))
			dg := ingest.Location{Kind: ingest.KindDigest, Account: "111111111111", Region: "us-east-1", Time: ts.Add(time.Hour + 17*time.Second), Trail: "main", HomeRegion: "us-east-1"}
			write(dg.ObjectKey(), fmt.Sprintf(`{"awsAccountId":"111111111111","digestStartTime":"%s","digestEndTime":"%s","digestS3Bucket":"bk","digestS3Object":%q,"digestPublicKeyFingerprint":"f","previousDigestSignature":null,"logFiles":[]}`,
				ts.Format(time.RFC3339), ts.Add(time.Hour).Format(time.RFC3339), dg.ObjectKey()))
		}
	}
	return n
}

// TestAnalyzeLastDayScalesWithWindow runs `analyze --last 1d` (and 7d),
// at a fixed clock, over a 30-day and a 365-day copy that end on the same
// day: the objects listed and the records read must be the same, those of
// the window's days and the day of margin before them, whatever the
// archive's length. ingest's TestScanWorkScalesWithWindow counts list
// requests too; this is the same promise as the program keeps it.
func TestAnalyzeLastDayScalesWithWindow(t *testing.T) {
	archives := map[int]string{}
	for _, days := range []int{30, 365} {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("%dd", days))
		if n := writeDaysArchive(t, dir, days); n != days*4 {
			t.Fatalf("wrote %d objects, want %d", n, days*4)
		}
		archives[days] = dir
	}
	for _, last := range []int{1, 7} {
		got := map[int]report.Summary{}
		for days, dir := range archives {
			out := filepath.Join(t.TempDir(), "out")
			var stderr bytes.Buffer
			args := []string{"analyze", "--last", fmt.Sprintf("%dd", last), "--out", out, dir}
			err := run(t.Context(), args, io.Discard, &stderr, func() time.Time { return windowScalingNow })
			if code := exitCode(err, false, io.Discard); code != exitOK && code != exitFindings {
				t.Fatalf("analyze --last %dd over %d days: exit %d (%v)\n%s", last, days, code, err, stderr.String())
			}
			data, err := os.ReadFile(filepath.Join(out, summaryFile))
			if err != nil {
				t.Fatal(err)
			}
			var s report.Summary
			if err := json.Unmarshal(data, &s); err != nil {
				t.Fatalf("summary.json: %v", err)
			}
			got[days] = s
		}
		short, long := got[30], got[365]
		t.Logf("--last %dd: 30 days: objects %+v, records %+v; 365 days: objects %+v, records %+v", last, short.Objects, short.Records, long.Objects, long.Records)
		if !reflect.DeepEqual(long.Objects, short.Objects) || long.Records != short.Records {
			t.Errorf("--last %dd: over 365 days %+v %+v, over 30 days %+v %+v: the work grows with the archive", last, long.Objects, long.Records, short.Objects, short.Records)
		}
		// The window's days and the day before them, 4 objects a day.
		if want := (last + 2) * 4; long.Objects.Listed != want || long.Records.Total != want/2 {
			t.Errorf("--last %dd: listed %d objects and read %d records, want %d and %d", last, long.Objects.Listed, long.Records.Total, want, want/2)
		}
	}
}

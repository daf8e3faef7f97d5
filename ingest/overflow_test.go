package ingest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestScanOverflow: an object with more records than a scan holds comes
// with none of them and Overflow set, its hash complete; StreamRecords
// then reads every record, in order, a batch at a time.
func TestScanOverflow(t *testing.T) {
	const n, held, batch = 2500, 1000, 300
	var b strings.Builder
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventID":"e-%d","eventTime":"2024-01-01T00:00:00Z"}`, i)
	}
	b.WriteString(`]}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(b.String()))
	zw.Close()
	loc := Location{Kind: KindLog, Account: "111111111111", Region: "us-east-1", Time: time.Date(2024, 1, 1, 0, 5, 0, 0, time.UTC), Unique: "ManyRecords00001"}
	src, err := NewFSSource(fstest.MapFS{loc.ObjectKey(): {Data: gz.Bytes()}}, "mapfs", nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := DecodeOptions{MaxHeldRecords: held}
	var got *Result
	if _, err := Scan(t.Context(), src, ScanOptions{Decode: opts}, func(r *Result) error { got = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if got == nil || !got.Overflow || len(got.Records) != 0 || got.Err != nil || got.Body.Size != int64(b.Len()) {
		t.Fatalf("scan: %+v, want Overflow, no records held, the whole body hashed", got)
	}
	i, batches := 0, 0
	body, err := StreamRecords(t.Context(), src, got.Object, opts, batch, func(recs []Record) error {
		batches++
		if len(recs) > batch {
			t.Errorf("a batch of %d records, more than %d", len(recs), batch)
		}
		for _, r := range recs {
			if r.EventID != fmt.Sprintf("e-%d", i) {
				t.Fatalf("record %d is %q", i, r.EventID)
			}
			i++
		}
		return nil
	})
	if err != nil || i != n || batches != (n+batch-1)/batch || body.SHA256 != got.Body.SHA256 {
		t.Errorf("StreamRecords: %v, %d records in %d batches, same hash %v", err, i, batches, body.SHA256 == got.Body.SHA256)
	}
}

package analyzer

import (
	"fmt"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// TestDuplicateSetBounded: the eventIDs held for duplicate detection never
// exceed maxSeen; the oldest days go first, so duplicates among recent
// days are still told apart, and the result says from which day on.
func TestDuplicateSetBounded(t *testing.T) {
	defer func(n int) { maxSeen = n }(maxSeen)
	maxSeen = 100
	a := New(Config{})
	day0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	result := func(day, n int) *ingest.Result {
		key := fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/%02d/111122223333_CloudTrail_us-east-1_202405%02dT1200Z_AbCdEfGh12345678.json.gz", day+1, day+1)
		r := &ingest.Result{Object: ingest.Object{Key: key, IsLatest: true}, Location: ingest.ParseKey(key)}
		for i := range n {
			r.Records = append(r.Records, ingest.Record{EventID: fmt.Sprintf("d%d-%d", day, i), Time: day0.AddDate(0, 0, day).Add(time.Duration(i) * time.Second)})
		}
		return r
	}
	for day := range 10 {
		a.Observe(result(day, 30))
		if len(a.seen) > maxSeen {
			t.Fatalf("day %d: %d eventIDs held, bound %d", day, len(a.seen), maxSeen)
		}
	}
	// The last two days are still held: their records again are
	// duplicates.
	a.Observe(result(9, 30))
	a.Observe(result(8, 30))
	res := a.Finish(nil)
	if res.Records.Total != 360 || res.Records.Duplicates != 60 {
		t.Errorf("records %+v, want 360 read and the 60 repeated ones duplicates", res.Records)
	}
	if from := res.Records.DedupeFrom; from.IsZero() || !from.After(day0) || from.After(day0.AddDate(0, 0, 8)) {
		t.Errorf("duplicates told apart from %v, want a day after %v, at most the ninth", from, day0)
	}

	// One day with more events than the bound: memory still bounded.
	b := New(Config{})
	b.Observe(result(0, 250))
	if len(b.seen) > maxSeen {
		t.Errorf("%d eventIDs held from one day, bound %d", len(b.seen), maxSeen)
	}

	// Within the bound nothing is forgotten.
	c := New(Config{})
	c.Observe(result(0, 50))
	c.Observe(result(0, 50))
	if res := c.Finish(nil); res.Records.Duplicates != 50 || !res.Records.DedupeFrom.IsZero() {
		t.Errorf("records %+v, want 50 duplicates and no horizon", res.Records)
	}
}

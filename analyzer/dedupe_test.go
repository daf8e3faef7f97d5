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
		if a.seen.len() > maxSeen {
			t.Fatalf("day %d: %d eventIDs held, bound %d", day, a.seen.len(), maxSeen)
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
	if b.seen.len() > maxSeen {
		t.Errorf("%d eventIDs held from one day, bound %d", b.seen.len(), maxSeen)
	}

	// Within the bound nothing is forgotten.
	c := New(Config{})
	c.Observe(result(0, 50))
	c.Observe(result(0, 50))
	if res := c.Finish(nil); res.Records.Duplicates != 50 || !res.Records.DedupeFrom.IsZero() {
		t.Errorf("records %+v, want 50 duplicates and no horizon", res.Records)
	}
}

// TestEventSet holds the set against a map through growth and forgetting.
func TestEventSet(t *testing.T) {
	var s eventSet
	ref := map[uint64]int32{}
	rng := uint64(7)
	for i := range 20000 {
		rng = rng*6364136223846793005 + 1442695040888963407
		h := rng >> (i % 50) // many repeats among the small ones
		if i%1000 == 0 {
			h = 0
		}
		day := int32(i / 1000)
		key := max(h, 1)
		_, had := ref[key]
		if added := s.add(h, day); added == had {
			t.Fatalf("add(%d): added %v, held before %v", h, added, had)
		}
		if !had {
			ref[key] = day
		}
		if i%5000 == 4999 {
			s.keepFrom(day - 2)
			for k, d := range ref {
				if d < day-2 {
					delete(ref, k)
				}
			}
			// Every hash kept is still found where a lookup probes.
			for k, d := range ref {
				if s.add(k, d) {
					t.Fatalf("step %d: hash %d lost by keepFrom", i, k)
				}
			}
		}
		if s.len() != len(ref) {
			t.Fatalf("step %d: %d held, want %d", i, s.len(), len(ref))
		}
	}
	got := map[uint64]int32{}
	s.each(func(h uint64, d int32) { got[h] = d })
	if len(got) != len(ref) {
		t.Fatalf("each gave %d, want %d", len(got), len(ref))
	}
	for k, d := range ref {
		if got[k] != d {
			t.Fatalf("hash %d: day %d, want %d", k, got[k], d)
		}
	}
}

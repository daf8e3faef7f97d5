package report

import (
	"fmt"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// Partition names one Parquet file of the events table. With Hive
// partitioning its path is account_id=…/region=…/date=…/part-NNNNN.parquet,
// the layout Athena, Trino, Spark and DuckDB read as columns; without, it is
// part-NNNNN.parquet (Account, Region and Date empty).
//
// Account and Region come from object keys and Date from eventTime: all of
// them attacker-writable. EventsWriter sanitizes them before it asks for a
// file, and Path sanitizes them again, so that a path never holds a
// separator, "..", a NUL or a byte outside [0-9a-z-] (or Hive's NULL).
type Partition struct {
	// Account is the 12-digit account ID of the folder the log file was
	// delivered to, or nullPartition.
	Account string
	// Region is the region folder the log file was delivered to, or
	// nullPartition.
	Region string
	// Date is the UTC date of eventTime, YYYY-MM-DD, or nullPartition
	// when eventTime is missing or malformed.
	Date string
	// Part numbers the files of one EventsWriter; a partition whose
	// writer was closed to bound memory continues in a new part.
	Part int
}

// flat reports whether p is the single file of an unpartitioned table:
// the zero Partition apart from Part. Sanitized values are never empty.
func (p Partition) flat() bool {
	return p.Account == "" && p.Region == "" && p.Date == ""
}

// nullPartition is the value of a partition whose data does not fit its
// shape: Hive's name for NULL, which Athena, Trino, Spark and DuckDB read
// as NULL, so that the column keeps its type.
const nullPartition = "__HIVE_DEFAULT_PARTITION__"

// Path is the file's slash-separated path relative to the events folder.
// It is always relative, never holds "..", and uses only [0-9a-zA-Z=._/-].
func (p Partition) Path() string {
	part := max(p.Part, 0)
	name := fmt.Sprintf("part-%05d.parquet", part)
	if p.flat() {
		return name
	}
	return "account_id=" + sanitizeAccount(p.Account) +
		"/region=" + sanitizeRegion(p.Region) +
		"/date=" + sanitizeDate(p.Date) +
		"/" + name
}

// sanitizeAccount keeps an account ID of 12 digits and replaces anything
// else.
func sanitizeAccount(s string) string {
	if ingest.IsAccountID(s) {
		return s
	}
	return nullPartition
}

// sanitizeRegion keeps a value shaped like a region name (lower-case
// letters, digits and hyphens, see ingest.IsRegion) and replaces anything
// else.
func sanitizeRegion(s string) string {
	if ingest.IsRegion(s) {
		return s
	}
	return nullPartition
}

// sanitizeDate keeps a valid YYYY-MM-DD date and replaces anything else.
func sanitizeDate(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return nullPartition
	}
	return s
}

// dateOf is the partition date of an event time.
func dateOf(t time.Time) string {
	if t.IsZero() {
		return nullPartition
	}
	return t.UTC().Format(time.DateOnly)
}

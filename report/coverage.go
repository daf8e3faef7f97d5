package report

import (
	"io"
	"time"

	"github.com/trailcover/trailcover/analyzer"
)

// CoverageRow is one row of coverage.parquet: one account × region × hour.
type CoverageRow struct {
	AccountID string  `parquet:"account_id,dict"`
	OrgID     *string `parquet:"org_id,optional,dict"`
	Region    string  `parquet:"region,dict"`
	// Hour is the start of the hour, UTC.
	Hour time.Time `parquet:"hour,timestamp(microsecond)"`
	// Status is delivered, quiet, absent or missing.
	Status string `parquet:"status,dict"`
	// Expected marks a region the account must log.
	Expected bool `parquet:"expected"`
	// LogFiles counts log files by the delivery slot in their names;
	// Records counts events by eventTime.
	LogFiles int32 `parquet:"log_files"`
	Records  int32 `parquet:"records"`
	Digests  int32 `parquet:"digests"`
	// ListedLogFiles counts the hour's log files that digests list.
	ListedLogFiles int32 `parquet:"listed_log_files"`
	// DigestEmptyProof: digests cover the whole hour and list no log file.
	DigestEmptyProof bool `parquet:"digest_empty_proof"`
}

// WriteCoverage writes coverage.parquet, one row per account × region ×
// hour in the order given (the analysis sorts them).
func WriteCoverage(w io.Writer, rows []analyzer.CoverageHour) error {
	return writeTable(w, "coverage", rows, func(r *analyzer.CoverageHour) (CoverageRow, error) {
		return CoverageRow{
			AccountID:        validUTF8(r.Account),
			OrgID:            optString(validUTF8(r.OrgID)),
			Region:           validUTF8(r.Region),
			Hour:             r.Hour.UTC(),
			Status:           r.Status,
			Expected:         r.Expected,
			LogFiles:         clamp32(r.LogFiles),
			Records:          clamp32(r.Records),
			Digests:          clamp32(r.Digests),
			ListedLogFiles:   clamp32(r.ListedLogFiles),
			DigestEmptyProof: r.DigestEmptyProof,
		}, nil
	})
}

func clamp32(n int) int32 {
	return int32(min(max(n, -1<<31), 1<<31-1))
}

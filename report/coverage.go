package report

import (
	"io"
	"time"

	"github.com/trailcover/trailcover/analyzer"
)

// CoverageRow is one row of coverage.parquet: a run of consecutive hours
// of one account × region with one status, so that the table grows with
// how often delivery changes, not with the hours spanned.
type CoverageRow struct {
	AccountID string  `parquet:"account_id,dict"`
	OrgID     *string `parquet:"org_id,optional,dict"`
	Region    string  `parquet:"region,dict"`
	// Start and End bound the run, [start, end), whole hours UTC; Hours
	// is their number.
	Start time.Time `parquet:"start,timestamp(microsecond)"`
	End   time.Time `parquet:"end,timestamp(microsecond)"`
	Hours int32     `parquet:"hours"`
	// Status is delivered, quiet, absent or missing.
	Status string `parquet:"status,dict"`
	// Expected marks a region the account must log.
	Expected bool `parquet:"expected"`
	// The counts are sums over the run's hours. LogFiles counts log files
	// by the delivery slot in their names; Records counts events by
	// eventTime; Digests, for each hour, the digests whose window overlaps
	// it.
	LogFiles int64 `parquet:"log_files"`
	Records  int64 `parquet:"records"`
	Digests  int64 `parquet:"digests"`
	// ListedLogFiles counts the run's log files that digests list.
	ListedLogFiles int64 `parquet:"listed_log_files"`
	// DigestEmptyProof: in every hour of the run, digests cover the whole
	// hour and list no log file.
	DigestEmptyProof bool `parquet:"digest_empty_proof"`
}

// WriteCoverage writes coverage.parquet, one row per run in the order
// given (the analysis sorts them by account, region and start).
func WriteCoverage(w io.Writer, table *analyzer.CoverageTable) error {
	return writeSeq(w, "coverage", table.Len(), table.All(), func(r *analyzer.CoverageRun) (CoverageRow, error) {
		return CoverageRow{
			AccountID:        validUTF8(r.Account),
			OrgID:            optString(validUTF8(r.OrgID)),
			Region:           validUTF8(r.Region),
			Start:            r.Start.UTC(),
			End:              r.End.UTC(),
			Hours:            clamp32(r.Hours),
			Status:           r.Status,
			Expected:         r.Expected,
			LogFiles:         int64(r.LogFiles),
			Records:          int64(r.Records),
			Digests:          int64(r.Digests),
			ListedLogFiles:   int64(r.ListedLogFiles),
			DigestEmptyProof: r.DigestEmptyProof,
		}, nil
	})
}

func clamp32(n int) int32 {
	return int32(min(max(n, -1<<31), 1<<31-1))
}

package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/trailcover/trailcover/analyzer"
)

// FindingRow is one row of findings.parquet.
type FindingRow struct {
	Kind     string `parquet:"kind,dict"`
	Severity string `parquet:"severity,dict"`
	// SeverityRank orders severities: 0 info … 4 critical.
	SeverityRank int32      `parquet:"severity_rank"`
	AccountID    *string    `parquet:"account_id,optional,dict"`
	Region       *string    `parquet:"region,optional,dict"`
	StartTime    *time.Time `parquet:"start_time,optional,timestamp(microsecond)"`
	EndTime      *time.Time `parquet:"end_time,optional,timestamp(microsecond)"`
	Title        string     `parquet:"title"`
	Detail       *string    `parquet:"detail,optional"`
	// Evidence is the finding's evidence as a JSON object, keys sorted.
	Evidence string `parquet:"evidence"`
	// Remediation is what to do about it, as a JSON object (type, risk,
	// steps, commands, verify).
	Remediation string `parquet:"remediation"`
}

// tableRowsPerRowGroup bounds the row groups of findings.parquet and
// coverage.parquet; both hold values the analysis already keeps in
// memory, so the bound matters for readers more than for the writer.
const tableRowsPerRowGroup = 65536

// WriteFindings writes findings.parquet, one row per finding of res in
// its order (the analysis sorts them), each with its remediation.
func WriteFindings(w io.Writer, run Run, res *analyzer.Result) error {
	remedies := remediations(run, res)
	indices := func(yield func(int) bool) {
		for i := range res.Findings {
			if !yield(i) {
				return
			}
		}
	}
	return writeSeq(w, "findings", len(res.Findings), indices, func(i *int) (FindingRow, error) {
		f := &res.Findings[*i]
		ev, err := evidenceJSON(f.Evidence)
		if err != nil {
			return FindingRow{}, fmt.Errorf("finding %s: %w", f.Kind, err)
		}
		rem, err := json.Marshal(remedies[*i])
		if err != nil {
			return FindingRow{}, fmt.Errorf("finding %s: remediation: %w", f.Kind, err)
		}
		return FindingRow{
			Kind:         f.Kind,
			Severity:     f.Severity.String(),
			SeverityRank: int32(f.Severity),
			AccountID:    optString(validUTF8(f.Account)),
			Region:       optString(validUTF8(f.Region)),
			StartTime:    optTime(f.Start),
			EndTime:      optTime(f.End),
			Title:        validUTF8(f.Title),
			Detail:       optString(validUTF8(f.Detail)),
			Evidence:     ev,
			Remediation:  validUTF8(string(rem)),
		}, nil
	})
}

// writeSeq writes one of the small tables (findings, coverage) from a
// sequence of n values: rows converted in batches, zstd, bounded row
// groups, the table's name in the file's metadata.
func writeSeq[In, Row any](w io.Writer, table string, n int, in iter.Seq[In], convert func(*In) (Row, error)) error {
	pw := parquet.NewGenericWriter[Row](w,
		// One encoder of bounded memory (zstd.go), not one per CPU.
		parquet.Compression(newZstdCodec()),
		parquet.MaxRowsPerRowGroup(tableRowsPerRowGroup),
		parquet.KeyValueMetadata("trailcover.table", table),
	)
	batch := make([]Row, 0, max(1, min(n, 4096)))
	flush := func() error {
		if _, err := pw.Write(batch); err != nil {
			return fmt.Errorf("write %s: %w", table, err)
		}
		batch = batch[:0]
		return nil
	}
	for v := range in {
		row, err := convert(&v)
		if err != nil {
			return err
		}
		if batch = append(batch, row); len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("write %s: %w", table, err)
	}
	return nil
}

// evidenceJSON is evidence as compact JSON with sorted keys, "{}" for none.
// HTML characters stay as they are: this is data for queries, not a page.
func evidenceJSON(ev map[string]any) (string, error) {
	if len(ev) == 0 {
		return "{}", nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return "", fmt.Errorf("evidence: %w", err)
	}
	return validUTF8(string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))), nil
}

// optTime is nil for the zero time and the time in UTC otherwise.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

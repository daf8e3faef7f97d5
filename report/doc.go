// Package report writes an analysis to io.Writers: summary.json for batch
// jobs, and later Parquet for investigators and HTML for auditors. It never
// sees flags, paths or the clock: the run's facts arrive as values.
//
// It imports analyzer and ingest and nothing else of trailcover.
package report

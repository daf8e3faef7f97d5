// Package report writes an analysis to io.Writers: summary.json for batch
// jobs, report.html for auditors, and Parquet (the events table,
// findings.parquet, coverage.parquet) for investigators. It never sees
// flags, paths or the clock: the run's facts arrive as a Run, and files
// are opened by the caller, which makes them atomic.
//
// Everything CloudTrail writes is attacker-controlled: userAgent,
// requestParameters, principal names, even region and account strings.
// report.html is built with html/template only, carries no script and a
// Content-Security-Policy that forbids every request; Hive partition
// values are sanitized before they become paths.
//
// Output is deterministic: equal Runs and Results give equal bytes,
// except for the events table, whose rows follow the scan's arrival
// order.
//
// It imports analyzer and ingest and nothing else of trailcover.
package report

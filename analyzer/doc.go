// Package analyzer turns the objects and records a scan delivers into
// counts, coverage and findings. It does no I/O and starts no goroutines:
// Observe is called by the scan's single consumer, Finish returns a plain,
// sorted value, so output never depends on worker timing.
//
// An analysis can go on across runs: Snapshot writes what it accumulated
// (observations, never findings) and a ledger of the objects it read;
// Restore reads it back, Unchanged tells the scan which objects to skip,
// and Finish reports on everything observed in every run, as one run
// over all of it would (snapshot.go, ledger.go).
//
// It imports ingest and nothing else of trailcover.
package analyzer

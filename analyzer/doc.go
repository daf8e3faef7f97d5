// Package analyzer turns the objects and records a scan delivers into
// counts, coverage and findings. It does no I/O and starts no goroutines:
// Observe is called by the scan's single consumer, Finish returns a plain,
// sorted value, so output never depends on worker timing.
//
// It imports ingest and nothing else of trailcover.
package analyzer

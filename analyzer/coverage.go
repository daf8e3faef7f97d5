package analyzer

import "github.com/trailcover/trailcover/ingest"

// CoverageHour is one account × region × hour of delivery.
type CoverageHour struct {
	Account, Region string
}

type coverage struct{}

func newCoverage(Config) *coverage                     { return &coverage{} }
func (*coverage) object(*ingest.Result, *Verdict)      {}
func (*coverage) event(*ingest.Record, *ingest.Result) {}
func (*coverage) finish(*Result)                       {}

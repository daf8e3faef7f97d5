package analyzer

// newChecks lists the analyses a run performs, in the order they see each
// object and finish. Integrity comes first; logging finishes before
// coverage, which links delivery gaps to the logging changes that explain
// them.
func newChecks(cfg Config) []check {
	regions := mustLoadRegions()
	logging := newLogging(cfg, regions)
	return []check{
		newIntegrity(cfg),
		logging,
		newCoverage(cfg, regions, logging),
		newAllowlist(cfg, regions),
	}
}

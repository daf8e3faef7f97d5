package analyzer

// newChecks lists the analyses a run performs, in the order they see each
// object.
func newChecks(cfg Config) []check {
	return []check{
		newIntegrity(cfg),
		newCoverage(cfg),
	}
}

package report

import (
	"testing"

	"github.com/trailcover/trailcover/analyzer"
)

// TestAccountVerdicts: each account is judged on the findings about it
// and those about no account in particular; a control that could not be
// judged is so for every account without findings; every control carries
// its references.
func TestAccountVerdicts(t *testing.T) {
	res := &analyzer.Result{
		Accounts: []analyzer.Account{{Account: "111111111111"}, {Account: "222222222222"}},
		Findings: []analyzer.Finding{
			{Kind: analyzer.KindRegionNotLogged, Severity: analyzer.High, Account: "111111111111"},
			{Kind: analyzer.KindLoggingChanged, Severity: analyzer.Medium, Account: "222222222222"},
			{Kind: analyzer.KindLogFileModified, Severity: analyzer.Critical, Account: ""},
		},
		Chains: []analyzer.Chain{{Account: "111111111111"}, {Account: "222222222222", DigestsUnverifiable: 1}},
	}
	res.Objects.LogFiles = 10
	res.Records.InWindow = 10
	want := map[string][2]Status{
		"multi-region-coverage": {StatusFail, StatusPass},
		"global-service-events": {StatusPass, StatusPass},
		"log-file-integrity":    {StatusFail, StatusFail},
		"region-allowlist":      {StatusNotEvaluated, StatusNotEvaluated},
		"logging-changes":       {StatusPass, StatusWarn},
	}
	for _, c := range Controls(Run{}, res) {
		w, ok := want[c.ID]
		if !ok {
			t.Errorf("unexpected control %s", c.ID)
			continue
		}
		if len(c.Accounts) != 2 || c.Accounts[0].Status != w[0] || c.Accounts[1].Status != w[1] {
			t.Errorf("%s: per account %+v, want %v", c.ID, c.Accounts, w)
		}
		if len(c.References) == 0 {
			t.Errorf("%s: no references", c.ID)
		}
	}
	// Without findings, unverifiable digests warn for their account only.
	res.Findings = nil
	for _, c := range Controls(Run{}, res) {
		if c.ID == "log-file-integrity" && (c.Accounts[0].Status != StatusPass || c.Accounts[1].Status != StatusWarn) {
			t.Errorf("log-file-integrity per account %+v, want pass and warn", c.Accounts)
		}
	}
}

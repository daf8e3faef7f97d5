package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trailcover/trailcover/analyzer"
)

// Status is the verdict on one control.
type Status string

// The statuses, worst first.
const (
	StatusFail         Status = "fail"
	StatusWarn         Status = "warn"
	StatusUnknown      Status = "unknown"
	StatusNotEvaluated Status = "not-evaluated"
	StatusPass         Status = "pass"
)

// Label is the status as the report shows it.
func (s Status) Label() string {
	if s == StatusNotEvaluated {
		return "NOT EVALUATED"
	}
	return strings.ToUpper(string(s))
}

// Control is one question an auditor asks of a trail, answered from the
// findings of the kinds that bear on it.
type Control struct {
	ID     string
	Name   string
	Status Status
	// Question says what the control checks.
	Question string
	// Note says why the status is what it is.
	Note string
	// Kinds are the finding kinds that bear on the control; Counts holds
	// how many findings of each were made, in the order of Kinds.
	Kinds  []string
	Counts []int
	// Findings is the number of findings of the control's kinds.
	Findings int
	// References are the benchmark recommendations, checks and framework
	// requirements the control gives evidence on (references.go).
	References []Reference
	// Accounts is the verdict for each account, in the analysis's order:
	// an auditor signs off accounts.
	Accounts []AccountVerdict
}

// AccountVerdict is a control's verdict for one account: from the
// findings of the control's kinds about it (and those about no account
// in particular), or, with none, the control's own verdict where that
// says the control could not be judged.
type AccountVerdict struct {
	Account  string `json:"account"`
	Status   Status `json:"status"`
	Findings int    `json:"findings"`
}

// statusOf turns the most severe finding of a control into its status.
func statusOf(worst analyzer.Severity) Status {
	switch {
	case worst >= analyzer.High:
		return StatusFail
	case worst >= analyzer.Low:
		return StatusWarn
	}
	return StatusPass
}

// controlDef is how one control is judged.
type controlDef struct {
	id, name, question string
	kinds              []string
	// judge adds what the findings cannot tell: a status (kept if worse
	// than the findings') and a note, or "" for nothing to add.
	judge func(run Run, res *analyzer.Result, found int) (Status, string)
	// pass is the note when nothing was found.
	pass string
}

// Controls judges the run's controls, in the order the report shows them.
func Controls(run Run, res *analyzer.Result) []Control {
	defs := []controlDef{
		{
			id:       "multi-region-coverage",
			name:     "Multi-region coverage",
			question: "Does every expected region of every account deliver log files and digests, hour after hour?",
			kinds:    []string{analyzer.KindRegionNotLogged, analyzer.KindDeliveryGap},
			judge: func(_ Run, res *analyzer.Result, found int) (Status, string) {
				if found == 0 && res.Objects.LogFiles+res.Objects.DigestFiles == 0 {
					return StatusUnknown, "No log file or digest was found in the window."
				}
				return "", ""
			},
			pass: "Every expected region delivered, with no hour missing.",
		},
		{
			id:       "global-service-events",
			name:     "Global service events",
			question: "Does each account log IAM, STS, sign-in and CloudFront events?",
			kinds:    []string{analyzer.KindGlobalEventsOff},
			judge: func(run Run, res *analyzer.Result, found int) (Status, string) {
				if run.IntegrityOnly {
					return StatusNotEvaluated, notReadNote
				}
				if found == 0 && res.Records.InWindow == 0 {
					return StatusUnknown, "No event in the window to judge by."
				}
				return "", ""
			},
			pass: "Every account logs global service events.",
		},
		{
			id:       "log-file-integrity",
			name:     "Log file integrity",
			question: "Do signed digests cover every log file, unbroken, with matching hashes?",
			kinds: []string{
				analyzer.KindDigestChainBreak, analyzer.KindDigestMissing, analyzer.KindDigestInvalid,
				analyzer.KindLogFileMissing, analyzer.KindLogFileModified, analyzer.KindLogFileUnlisted,
				analyzer.KindUnreadableObject, analyzer.KindObjectDeleted, analyzer.KindObjectOverwritten,
			},
			judge: func(_ Run, res *analyzer.Result, found int) (Status, string) {
				unverifiable := 0
				for _, c := range res.Chains {
					unverifiable += c.DigestsUnverifiable
				}
				switch {
				case found == 0 && emptyWindow(res):
					return StatusUnknown, "The window holds no log file and no digest: the archive's objects lie outside it, so nothing in it can be judged."
				case found == 0 && res.Objects.DigestFiles == 0 && len(res.Chains) == 0:
					return StatusUnknown, "No digest file was found: log file integrity validation appears to be off."
				case unverifiable > 0:
					return StatusWarn, fmt.Sprintf("%d digest signatures could not be verified (no matching public key was given).", unverifiable)
				}
				return "", ""
			},
			pass: "Every digest verified and every log file matched its digest.",
		},
		{
			id:       "region-allowlist",
			name:     "Region allowlist",
			question: "Is all activity confined to the allowed regions?",
			kinds:    []string{analyzer.KindOutsideAllowlist},
			judge: func(run Run, res *analyzer.Result, found int) (Status, string) {
				switch {
				case run.IntegrityOnly:
					return StatusNotEvaluated, notReadNote
				case len(run.AllowRegions) == 0:
					return StatusNotEvaluated, "No allowlist was given (--allow-regions)."
				case found == 0 && res.Records.InWindow == 0:
					return StatusUnknown, "No event in the window to judge by."
				}
				return "", ""
			},
		},
		{
			id:       "logging-changes",
			name:     "Logging changes",
			question: "Was logging stopped, deleted or reconfigured during the window?",
			kinds:    []string{analyzer.KindLoggingChanged},
			judge: func(run Run, res *analyzer.Result, found int) (Status, string) {
				if run.IntegrityOnly {
					return StatusNotEvaluated, notReadNote
				}
				if found == 0 && res.Records.InWindow == 0 {
					return StatusUnknown, "No event in the window to judge by."
				}
				return "", ""
			},
			pass: "No StopLogging, DeleteTrail, UpdateTrail, PutEventSelectors or similar call.",
		},
	}
	out := make([]Control, 0, len(defs))
	for _, d := range defs {
		c := Control{ID: d.id, Name: d.name, Question: d.question, Kinds: d.kinds, Counts: make([]int, len(d.kinds)), References: controlReferences[d.id]}
		worst := analyzer.Info
		for _, f := range res.Findings {
			if i := slices.Index(d.kinds, f.Kind); i >= 0 {
				c.Counts[i]++
				c.Findings++
				worst = max(worst, f.Severity)
			}
		}
		c.Status = statusOf(worst)
		if c.Findings > 0 {
			c.Note = countsNote(c, res.Findings)
		}
		if s, note := d.judge(run, res, c.Findings); s != "" {
			if worse(s, c.Status) {
				c.Status = s
			}
			c.Note = strings.TrimSpace(c.Note + " " + note)
		}
		if c.Note == "" {
			c.Note = d.pass
			if d.id == "region-allowlist" {
				c.Note = "No activity outside " + strings.Join(run.AllowRegions, ", ") + "."
			}
		}
		c.Accounts = accountVerdicts(c, res)
		out = append(out, c)
	}
	return out
}

// accountVerdicts judges control c for each account of the analysis.
func accountVerdicts(c Control, res *analyzer.Result) []AccountVerdict {
	out := make([]AccountVerdict, 0, len(res.Accounts))
	for _, a := range res.Accounts {
		v := AccountVerdict{Account: a.Account}
		worst := analyzer.Info
		for _, f := range res.Findings {
			if (f.Account == a.Account || f.Account == "") && slices.Contains(c.Kinds, f.Kind) {
				v.Findings++
				worst = max(worst, f.Severity)
			}
		}
		v.Status = statusOf(worst)
		switch {
		case c.Status == StatusNotEvaluated || (c.Status == StatusUnknown && v.Findings == 0):
			// The control could not be judged at all.
			v.Status = c.Status
		case c.ID == "log-file-integrity" && v.Status == StatusPass:
			for _, ch := range res.Chains {
				if ch.Account == a.Account && ch.DigestsUnverifiable > 0 {
					v.Status = StatusWarn
				}
			}
			if !hasChain(res, a.Account) {
				// No digest to judge the account's log files by.
				v.Status = StatusUnknown
			}
		}
		out = append(out, v)
	}
	return out
}

func hasChain(res *analyzer.Result, account string) bool {
	for _, ch := range res.Chains {
		if ch.Account == account {
			return true
		}
	}
	return false
}

// notReadNote explains the controls an integrity-only run leaves.
const notReadNote = "Records were not read (--integrity-only)."

// worse reports whether a is a worse status than b. Not evaluated and
// unknown replace a pass, a warning replaces both.
func worse(a, b Status) bool {
	rank := map[Status]int{StatusPass: 0, StatusNotEvaluated: 1, StatusUnknown: 2, StatusWarn: 3, StatusFail: 4}
	return rank[a] > rank[b]
}

// countsNote lists the findings of a control by kind, each with its
// most severe finding's severity.
func countsNote(c Control, findings []analyzer.Finding) string {
	var parts []string
	for i, k := range c.Kinds {
		if c.Counts[i] == 0 {
			continue
		}
		worst := analyzer.Info
		for _, f := range findings {
			if f.Kind == k {
				worst = max(worst, f.Severity)
			}
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s)", c.Counts[i], k, worst))
	}
	return strings.Join(parts, ", ") + "."
}

// emptyWindow reports an archive whose CloudTrail folders were found but
// none of whose accounts delivered a log file or digest in the window.
func emptyWindow(res *analyzer.Result) bool {
	if len(res.Scopes) == 0 {
		return false
	}
	for _, a := range res.Accounts {
		if len(a.RegionsDelivering) > 0 {
			return false
		}
	}
	return true
}

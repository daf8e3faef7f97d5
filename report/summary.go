package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/trailcover/trailcover/analyzer"
)

// Run is what report needs to know about the run that made an analysis:
// facts, not flags.
type Run struct {
	ToolName    string
	ToolVersion string
	Source      string
	// Start and End are the window asked for; zero means open.
	Start, End time.Time
}

// Summary is summary.json, as trailcover's contract fixes it.
type Summary struct {
	Tool     Tool             `json:"tool"`
	Source   string           `json:"source"`
	Window   Window           `json:"window"`
	Objects  Objects          `json:"objects"`
	Records  Records          `json:"records"`
	Accounts []Account        `json:"accounts"`
	Findings []SummaryFinding `json:"findings"`
}

// Tool names the program that wrote the summary.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Window is the analysed time range; an open side is empty.
type Window struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Objects counts listed objects by kind.
type Objects struct {
	Listed       int `json:"listed"`
	LogFiles     int `json:"log_files"`
	DigestFiles  int `json:"digest_files"`
	InsightFiles int `json:"insight_files"`
	Other        int `json:"other"`
	Unreadable   int `json:"unreadable"`
}

// Records counts records read.
type Records struct {
	Total      int `json:"total"`
	Duplicates int `json:"duplicates"`
}

// Account is one account's coverage.
type Account struct {
	Account           string   `json:"account"`
	OrgID             string   `json:"org_id"`
	Trails            []string `json:"trails"`
	RegionsExpected   []string `json:"regions_expected"`
	RegionsDelivering []string `json:"regions_delivering"`
	RegionsMissing    []string `json:"regions_missing"`
}

// SummaryFinding is one finding as summary.json writes it.
type SummaryFinding struct {
	Kind     string         `json:"kind"`
	Severity string         `json:"severity"`
	Account  string         `json:"account"`
	Region   string         `json:"region"`
	Start    string         `json:"start"`
	End      string         `json:"end"`
	Title    string         `json:"title"`
	Detail   string         `json:"detail"`
	Evidence map[string]any `json:"evidence"`
}

// formatTime writes times as RFC 3339 UTC, the zero time as "".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// NewSummary builds summary.json's content from an analysis.
func NewSummary(run Run, res *analyzer.Result) Summary {
	s := Summary{
		Tool:   Tool{Name: run.ToolName, Version: run.ToolVersion},
		Source: run.Source,
		Window: Window{Start: formatTime(run.Start), End: formatTime(run.End)},
		Objects: Objects{
			Listed:       res.Objects.Listed,
			LogFiles:     res.Objects.LogFiles,
			DigestFiles:  res.Objects.DigestFiles,
			InsightFiles: res.Objects.InsightFiles,
			Other:        res.Objects.Other,
			Unreadable:   res.Objects.Unreadable,
		},
		Records:  Records{Total: res.Records.Total, Duplicates: res.Records.Duplicates},
		Accounts: []Account{},
		Findings: []SummaryFinding{},
	}
	for _, a := range res.Accounts {
		s.Accounts = append(s.Accounts, Account{
			Account:           a.Account,
			OrgID:             a.OrgID,
			Trails:            nonNil(a.Trails),
			RegionsExpected:   nonNil(a.RegionsExpected),
			RegionsDelivering: nonNil(a.RegionsDelivering),
			RegionsMissing:    nonNil(a.RegionsMissing),
		})
	}
	for _, f := range res.Findings {
		ev := f.Evidence
		if ev == nil {
			ev = map[string]any{}
		}
		s.Findings = append(s.Findings, SummaryFinding{
			Kind:     f.Kind,
			Severity: f.Severity.String(),
			Account:  f.Account,
			Region:   f.Region,
			Start:    formatTime(f.Start),
			End:      formatTime(f.End),
			Title:    f.Title,
			Detail:   f.Detail,
			Evidence: ev,
		})
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteSummary writes summary.json: indented, keys in a fixed order (maps
// sort their keys), so equal analyses give equal bytes.
func WriteSummary(w io.Writer, s Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

package report

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/trailcover/trailcover/analyzer"
)

// Run is what report needs to know about the run that made an analysis:
// facts, not flags. Nothing here is read from the clock or the
// environment by report: equal Runs and Results give equal bytes.
type Run struct {
	ToolName    string
	ToolVersion string
	Source      string
	// Bucket is the archive's bucket where known (an s3:// source, or a
	// copy that records it): remediations name it.
	Bucket string
	// Start and End are the window asked for; zero means open.
	Start, End time.Time
	// GeneratedAt is when the run finished.
	GeneratedAt time.Time
	// CommandLine is the command as run, program name first.
	CommandLine []string
	// InputsHash is the hex SHA-256 of the run's input manifest.
	InputsHash string
	// PublicKeyFingerprints are the CloudTrail public keys digests were
	// verified with.
	PublicKeyFingerprints []string
	// PublicKeySources say where the keys came from: files given, the
	// archive's own, CloudTrail.
	PublicKeySources []string
	// Accounts, AllowRegions and ExpectRegions are the run's account
	// filter, region allowlist and expected regions (empty: none given).
	Accounts      []string
	AllowRegions  []string
	ExpectRegions []string
	// FailOn is the severity at or above which the run fails.
	FailOn string
	// IntegrityOnly: log files were hashed, their records never read
	// (analyze --integrity-only); the controls that judge records are not
	// evaluated.
	IntegrityOnly bool
}

// Summary is summary.json, as trailcover's contract fixes it.
// Fields beyond the contract's come after the contract's.
type Summary struct {
	Tool      Tool             `json:"tool"`
	Source    string           `json:"source"`
	Window    Window           `json:"window"`
	Objects   Objects          `json:"objects"`
	Records   Records          `json:"records"`
	Accounts  []Account        `json:"accounts"`
	Integrity Integrity        `json:"integrity"`
	Findings  []SummaryFinding `json:"findings"`

	Controls   []SummaryControl `json:"controls"`
	Exemptions []string         `json:"exemptions"`
	Run        SummaryRun       `json:"run"`
}

// Integrity is the verification of each digest chain.
type Integrity struct {
	Chains []SummaryChain `json:"chains"`
	// LogsWithoutDigests counts the log files of regions with no digest
	// chain, which no chain's counts hold.
	LogsWithoutDigests int `json:"logs_without_digests"`
}

// SummaryChain is one digest chain: account × source region × trail,
// standard or backfill.
type SummaryChain struct {
	Account             string `json:"account"`
	Region              string `json:"region"`
	Trail               string `json:"trail"`
	DigestsValid        int    `json:"digests_valid"`
	DigestsInvalid      int    `json:"digests_invalid"`
	DigestsMissing      int    `json:"digests_missing"`
	DigestsUnverifiable int    `json:"digests_unverifiable"`
	LogsValid           int    `json:"logs_valid"`
	LogsInvalid         int    `json:"logs_invalid"`
	LogsMissing         int    `json:"logs_missing"`
	LogsUnlisted        int    `json:"logs_unlisted"`
	// LogsUnverified are log files no trusted digest could judge: listed
	// only by digests that could not be proven, named after the newest
	// digest, or where a missing digest may have listed them. Every log
	// file of the chain's region in the window is in exactly one of the
	// five logs_ counts.
	LogsUnverified int    `json:"logs_unverified"`
	OrgID          string `json:"org_id"`
	Prefix         string `json:"prefix"`
	HomeRegion     string `json:"home_region"`
	Backfill       bool   `json:"backfill"`
	// First and Last bound the digest windows seen.
	First string `json:"first"`
	Last  string `json:"last"`
}

// SummaryControl is the verdict on one control, as report.html shows it.
type SummaryControl struct {
	Control  string `json:"control"`
	Name     string `json:"name"`
	Status   Status `json:"status"`
	Findings int    `json:"findings"`
	Note     string `json:"note"`
	// References are the benchmark recommendations, checks and framework
	// requirements the control gives evidence on; Accounts its verdict
	// for each account.
	References []Reference      `json:"references"`
	Accounts   []AccountVerdict `json:"accounts"`
}

// SummaryRun is how the run was made.
type SummaryRun struct {
	GeneratedAt           string   `json:"generated_at"`
	CommandLine           []string `json:"command_line"`
	InputsHash            string   `json:"inputs_hash"`
	PublicKeyFingerprints []string `json:"public_key_fingerprints"`
	PublicKeySources      []string `json:"public_key_sources"`
	Accounts              []string `json:"accounts"`
	AllowRegions          []string `json:"allow_regions"`
	ExpectRegions         []string `json:"expect_regions"`
	FailOn                string   `json:"fail_on"`
	IntegrityOnly         bool     `json:"integrity_only"`
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
	// NetworkActivityFiles and AggregatedFiles: CloudTrail-NetworkActivity
	// and CloudTrail-Aggregated files.
	NetworkActivityFiles int `json:"network_activity_files"`
	AggregatedFiles      int `json:"aggregated_files"`
	Other                int `json:"other"`
	Unreadable           int `json:"unreadable"`
	// NoncurrentVersions and DeleteMarkers count the bucket's version
	// history, read with --versions; they are not part of Listed.
	NoncurrentVersions int `json:"noncurrent_versions"`
	DeleteMarkers      int `json:"delete_markers"`
	// Layout lists CloudTrail objects kept other than where and how
	// CloudTrail writes them (re-laid out, decompressed), by note;
	// AccountMismatches the records filed under another account than
	// their recipientAccountId. Both are omitted when empty.
	Layout            []LayoutNote      `json:"layout,omitempty"`
	AccountMismatches []AccountMismatch `json:"account_mismatches,omitempty"`
}

// LayoutNote is one way objects depart from CloudTrail's layout.
type LayoutNote struct {
	Note    string `json:"note"`
	Objects int    `json:"objects"`
	Example string `json:"example"`
}

// AccountMismatch is records of one account found in another's files.
type AccountMismatch struct {
	FileAccount   string `json:"file_account"`
	RecordAccount string `json:"record_account"`
	Records       int    `json:"records"`
	Example       string `json:"example_object"`
}

// Records counts records read. InWindow counts those analysed: first of
// their eventID, inside the window.
type Records struct {
	Total      int `json:"total"`
	Duplicates int `json:"duplicates"`
	InWindow   int `json:"in_window"`
	// DuplicatesCheckedFrom is set when the archive held more events than
	// duplicate detection keeps in memory: duplicates were told apart
	// among events from this day on, and may be counted twice before it.
	DuplicatesCheckedFrom string `json:"duplicates_checked_from,omitempty"`
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
	// Remediation says what to do about it (remediation.go).
	Remediation Remediation `json:"remediation"`
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

			NetworkActivityFiles: res.Objects.NetworkActivityFiles,
			AggregatedFiles:      res.Objects.AggregatedFiles,
			Other:                res.Objects.Other,
			Unreadable:           res.Objects.Unreadable,

			NoncurrentVersions: res.Objects.NoncurrentVersions,
			DeleteMarkers:      res.Objects.DeleteMarkers,
			Layout:             layoutNotes(res.Objects.Layouts),
			AccountMismatches:  accountMismatches(res.Objects.AccountMismatches),
		},
		Records: Records{
			Total:      res.Records.Total,
			Duplicates: res.Records.Duplicates,
			InWindow:   res.Records.InWindow,

			DuplicatesCheckedFrom: formatTime(res.Records.DedupeFrom),
		},
		Accounts:   []Account{},
		Integrity:  Integrity{Chains: []SummaryChain{}},
		Findings:   []SummaryFinding{},
		Controls:   []SummaryControl{},
		Exemptions: nonNil(res.Exemptions),
		Run: SummaryRun{
			GeneratedAt:           formatTime(run.GeneratedAt),
			CommandLine:           nonNil(run.CommandLine),
			InputsHash:            run.InputsHash,
			PublicKeyFingerprints: nonNil(run.PublicKeyFingerprints),
			PublicKeySources:      nonNil(run.PublicKeySources),
			Accounts:              nonNil(run.Accounts),
			AllowRegions:          nonNil(run.AllowRegions),
			ExpectRegions:         nonNil(run.ExpectRegions),
			FailOn:                run.FailOn,
			IntegrityOnly:         run.IntegrityOnly,
		},
	}
	s.Integrity.LogsWithoutDigests = res.LogsWithoutDigests
	for _, c := range res.Chains {
		s.Integrity.Chains = append(s.Integrity.Chains, SummaryChain{
			Account:             c.Account,
			Region:              c.Region,
			Trail:               c.Trail,
			DigestsValid:        c.DigestsValid,
			DigestsInvalid:      c.DigestsInvalid,
			DigestsMissing:      c.DigestsMissing,
			DigestsUnverifiable: c.DigestsUnverifiable,
			LogsValid:           c.LogsValid,
			LogsInvalid:         c.LogsInvalid,
			LogsMissing:         c.LogsMissing,
			LogsUnlisted:        c.LogsUnlisted,
			LogsUnverified:      c.LogsUnverified,
			OrgID:               c.OrgID,
			Prefix:              c.Prefix,
			HomeRegion:          c.HomeRegion,
			Backfill:            c.Backfill,
			First:               formatTime(c.First),
			Last:                formatTime(c.Last),
		})
	}
	for _, c := range Controls(run, res) {
		s.Controls = append(s.Controls, SummaryControl{
			Control:    c.ID,
			Name:       c.Name,
			Status:     c.Status,
			Findings:   c.Findings,
			Note:       c.Note,
			References: nonNilSlice(c.References),
			Accounts:   nonNilSlice(c.Accounts),
		})
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
	remedies := remediations(run, res)
	for i, f := range res.Findings {
		ev := f.Evidence
		if ev == nil {
			ev = map[string]any{}
		}
		s.Findings = append(s.Findings, SummaryFinding{
			Remediation: remedies[i],
			Kind:        f.Kind,
			Severity:    f.Severity.String(),
			Account:     f.Account,
			Region:      f.Region,
			Start:       formatTime(f.Start),
			End:         formatTime(f.End),
			Title:       f.Title,
			Detail:      f.Detail,
			Evidence:    ev,
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

// ReadSummary reads what WriteSummary wrote: how the benchmark tool and
// tests check a run.
func ReadSummary(r io.Reader) (*Summary, error) {
	var s Summary
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("summary.json: %w", err)
	}
	return &s, nil
}

func layoutNotes(in []analyzer.LayoutCount) []LayoutNote {
	var out []LayoutNote
	for _, l := range in {
		out = append(out, LayoutNote{Note: l.Note, Objects: l.Count, Example: l.Example})
	}
	return out
}

func accountMismatches(in []analyzer.AccountMismatch) []AccountMismatch {
	var out []AccountMismatch
	for _, m := range in {
		out = append(out, AccountMismatch{FileAccount: m.FileAccount, RecordAccount: m.RecordAccount, Records: m.Records, Example: m.Example})
	}
	return out
}

// nonNilSlice is s, or an empty slice for nil: JSON [] rather than null.
func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

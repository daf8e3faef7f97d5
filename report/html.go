package report

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"iter"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/trailcover/trailcover/analyzer"
)

//go:embed templates/report.html.tmpl
var templates embed.FS

// Limits that keep report.html readable whatever the archive: the rest is
// in summary.json and findings.parquet.
const (
	maxFindingsPerSeverity = 200
	maxEvidenceItems       = 20
	maxEvidenceValue       = 2000
)

// WriteHTML writes report.html: one self-contained page for an auditor,
// with no script and a Content-Security-Policy that forbids every request.
// Every string from the archive goes through html/template's escaping.
func WriteHTML(w io.Writer, run Run, res *analyzer.Result) error {
	t, err := template.New("report.html.tmpl").Funcs(template.FuncMap{
		"lower": strings.ToLower,
	}).ParseFS(templates, "templates/report.html.tmpl")
	if err != nil {
		return fmt.Errorf("parse report template: %w", err)
	}
	var page bytes.Buffer
	if err := t.Execute(&page, newHTMLView(run, res)); err != nil {
		return fmt.Errorf("write report.html: %w", err)
	}
	// html/template escapes markup, not the invisible controls that turn
	// text around: a user agent or key name holding a right-to-left
	// override would reverse what a cell shows. The template holds none,
	// so every one is the archive's, shown as its code point.
	if _, err := bidiControls.WriteString(w, page.String()); err != nil {
		return fmt.Errorf("write report.html: %w", err)
	}
	return nil
}

// bidiControls shows Unicode's bidirectional controls as text.
var bidiControls = func() *strings.Replacer {
	var pairs []string
	for _, r := range []rune{0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069} {
		pairs = append(pairs, string(r), fmt.Sprintf("[U+%04X]", r))
	}
	return strings.NewReplacer(pairs...)
}()

// htmlView is everything the template shows, formatted.
type htmlView struct {
	Run         Run
	CommandLine string
	Window      string
	GeneratedAt string
	Headline    string
	Controls    []Control
	// AccountVerdicts is each account's verdict per control.
	AccountVerdicts []accountRow
	Objects         analyzer.ObjectCounts
	Records         analyzer.RecordCounts
	Accounts        []analyzer.Account
	Severities      []severityCount
	Heatmap         heatmap
	Chains          []chainView
	Findings        []findingGroup
	Exemptions      []string
	FailOn          string
	AtOrAbove       int
}

type severityCount struct {
	Name  string
	Count int
}

type chainView struct {
	analyzer.Chain
	First, Last string
	Status      Status
}

type findingGroup struct {
	Severity string
	Findings []findingView
	// Stories are the findings as the report tells them: one card each,
	// or, for several of one kind and account (one cause seen in many
	// regions or hours), one card with a compact table.
	Stories []findingStory
	// Total counts the group's findings; Omitted those not shown.
	Total, Omitted int
}

// findingStory is one card of the findings section: Single, or a
// cluster of Members of one kind and account.
type findingStory struct {
	Single   *findingView
	Severity string
	Kind     string
	Account  string
	Anchor   string
	Regions  string
	Example  string
	Members  []findingView
	Remedy   *Remediation
}

// shownRemedy is the first finding shown of a kind × account and its
// remediation.
type shownRemedy struct {
	anchor string
	remedy *Remediation
}

func remedyKey(kind, account string) string { return kind + "\x00" + account }

// minCluster is the number of findings of one kind and account from which
// the report tells them as one story.
const minCluster = 3

// stories groups a severity's findings into cards.
func stories(fs []findingView, remedies map[string]shownRemedy) []findingStory {
	type key struct{ kind, account string }
	count := map[key]int{}
	for _, f := range fs {
		count[key{f.Kind, f.Account}]++
	}
	var out []findingStory
	at := map[key]int{}
	for i := range fs {
		f := &fs[i]
		k := key{f.Kind, f.Account}
		if count[k] < minCluster {
			out = append(out, findingStory{Single: f})
			continue
		}
		j, ok := at[k]
		if !ok {
			j = len(out)
			at[k] = j
			out = append(out, findingStory{Severity: f.Severity, Kind: f.Kind, Account: f.Account, Anchor: f.Anchor + "-group",
				Example: f.Detail, Remedy: remedies[remedyKey(f.Kind, f.Account)].remedy})
		}
		out[j].Members = append(out[j].Members, *f)
	}
	for i := range out {
		st := &out[i]
		if st.Single != nil {
			continue
		}
		seen := map[string]bool{}
		var regions []string
		for _, m := range st.Members {
			if m.Region != "" && !seen[m.Region] {
				seen[m.Region] = true
				regions = append(regions, m.Region)
			}
		}
		switch {
		case len(regions) == 0:
		case len(regions) <= 6:
			st.Regions = strings.Join(regions, ", ")
		default:
			st.Regions = fmt.Sprintf("%d regions", len(regions))
		}
		if len(st.Members) > 1 {
			st.Example = "The first: " + st.Example
		}
	}
	return out
}

type findingView struct {
	Anchor   string
	Kind     string
	Severity string
	Title    string
	Account  string
	Region   string
	Period   string
	When     string
	Detail   string
	Evidence []evidenceItem
	// Remedy is what to do about it, shown with the first finding of its
	// kind and account; the others link to that one (SameRemedy).
	Remedy     *Remediation
	SameRemedy string
}

type evidenceItem struct {
	Key    string
	Value  string
	IsList bool
	List   []string
	Hidden int
}

// accountRow is one account's verdicts, one per control in the order of
// the controls.
type accountRow struct {
	Account string
	Cells   []AccountVerdict
}

func newHTMLView(run Run, res *analyzer.Result) htmlView {
	v := htmlView{
		Run:         run,
		CommandLine: shellQuote(run.CommandLine),
		Window:      windowText(run.Start, run.End),
		GeneratedAt: timeText(run.GeneratedAt),
		Controls:    Controls(run, res),
		Objects:     res.Objects,
		Records:     res.Records,
		Accounts:    res.Accounts,
		Exemptions:  res.Exemptions,
		FailOn:      run.FailOn,
		Heatmap:     newHeatmap(coverageCells(res), run.Start, run.End),
	}
	v.Headline = headline(v.Controls)
	remedies := remediations(run, res)
	// The first finding shown of each kind × account carries the
	// remediation; the others point to it, a cluster shows it once.
	firstRemedy := map[string]shownRemedy{}
	for i, a := range res.Accounts {
		row := accountRow{Account: a.Account}
		for _, c := range v.Controls {
			row.Cells = append(row.Cells, c.Accounts[i])
		}
		v.AccountVerdicts = append(v.AccountVerdicts, row)
	}
	failOn, failOnErr := analyzer.ParseSeverity(run.FailOn)
	counts := map[analyzer.Severity]int{}
	groups := map[analyzer.Severity]*findingGroup{}
	for i, f := range res.Findings {
		counts[f.Severity]++
		if failOnErr == nil && f.Severity >= failOn {
			v.AtOrAbove++
		}
		g := groups[f.Severity]
		if g == nil {
			g = &findingGroup{Severity: f.Severity.String()}
			groups[f.Severity] = g
		}
		g.Total++
		if len(g.Findings) >= maxFindingsPerSeverity {
			g.Omitted++
			continue
		}
		g.Findings = append(g.Findings, findingView{
			Anchor:   "f" + strconv.Itoa(i+1),
			Kind:     f.Kind,
			Severity: f.Severity.String(),
			Title:    f.Title,
			Account:  f.Account,
			Region:   f.Region,
			Period:   periodText(f.Start, f.End),
			When:     whenText(f.Start, f.End),
			Detail:   f.Detail,
			Evidence: evidenceItems(f.Evidence),
		})
		fv := &g.Findings[len(g.Findings)-1]
		rk := remedyKey(f.Kind, f.Account)
		if first, ok := firstRemedy[rk]; ok {
			fv.SameRemedy = first.anchor
		} else {
			firstRemedy[rk] = shownRemedy{fv.Anchor, &remedies[i]}
			fv.Remedy = &remedies[i]
		}
	}
	for s := analyzer.Critical; s >= analyzer.Info; s-- {
		v.Severities = append(v.Severities, severityCount{Name: s.String(), Count: counts[s]})
		if g := groups[s]; g != nil {
			g.Stories = stories(g.Findings, firstRemedy)
			v.Findings = append(v.Findings, *g)
		}
	}
	for _, c := range res.Chains {
		v.Chains = append(v.Chains, chainView{
			Chain:  c,
			First:  periodTime(c.First),
			Last:   periodTime(c.Last),
			Status: chainStatus(c),
		})
	}
	return v
}

// headline sums the verdicts up in one sentence.
func headline(controls []Control) string {
	n := map[Status]int{}
	for _, c := range controls {
		n[c.Status]++
	}
	var parts []string
	for _, s := range []Status{StatusFail, StatusWarn, StatusUnknown, StatusNotEvaluated, StatusPass} {
		if n[s] == 0 {
			continue
		}
		word := map[Status]string{
			StatusFail: "failed", StatusWarn: "with warnings", StatusUnknown: "undetermined",
			StatusNotEvaluated: "not evaluated", StatusPass: "passed",
		}[s]
		parts = append(parts, fmt.Sprintf("%d %s", n[s], word))
	}
	return fmt.Sprintf("%d controls: %s.", len(controls), strings.Join(parts, ", "))
}

// shellQuote writes a command line as a POSIX shell would read it back.
func shellQuote(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		safe := a != ""
		for _, r := range a {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@%+", r)) {
				safe = false
				break
			}
		}
		if safe {
			quoted[i] = a
		} else {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

// chainStatus judges one digest chain.
func chainStatus(c analyzer.Chain) Status {
	switch {
	case c.DigestsInvalid+c.DigestsMissing+c.LogsInvalid+c.LogsMissing > 0:
		return StatusFail
	case c.LogsUnlisted+c.DigestsUnverifiable > 0:
		return StatusWarn
	}
	return StatusPass
}

// periodTime is a time for tables: to the minute.
func periodTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func windowText(start, end time.Time) string {
	switch {
	case start.IsZero() && end.IsZero():
		return "the whole archive"
	case start.IsZero():
		return "everything before " + timeText(end)
	case end.IsZero():
		return timeText(start) + " onwards"
	}
	return timeText(start) + " to " + timeText(end)
}

func periodText(start, end time.Time) string {
	switch {
	case start.IsZero() && end.IsZero():
		return ""
	case end.IsZero() || end.Equal(start):
		return timeText(start)
	case start.IsZero():
		return "until " + timeText(end)
	}
	return timeText(start) + " – " + timeText(end)
}

// whenText is a finding's time for the overview: to the minute, the end
// without its date when it is the start's.
func whenText(start, end time.Time) string {
	switch {
	case start.IsZero() && end.IsZero():
		return ""
	case start.IsZero():
		return "until " + periodTime(end)
	case end.IsZero() || end.Equal(start):
		return periodTime(start)
	case start.UTC().Format(time.DateOnly) == end.UTC().Format(time.DateOnly):
		return periodTime(start) + "–" + end.UTC().Format("15:04")
	}
	return periodTime(start) + " – " + periodTime(end)
}

// evidenceItems lays evidence out as rows, keys sorted; long lists and
// values are cut, as the full evidence is in summary.json.
func evidenceItems(ev map[string]any) []evidenceItem {
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	items := make([]evidenceItem, 0, len(keys))
	for _, k := range keys {
		it := evidenceItem{Key: k}
		if list, hidden, ok := listOf(ev[k]); ok {
			it.IsList, it.List, it.Hidden = true, list, hidden
		} else {
			it.Value = cutText(scalarText(ev[k]))
		}
		items = append(items, it)
	}
	return items
}

// listOf writes the first maxEvidenceItems items of a slice value, one
// string each, and counts the rest.
func listOf(x any) (list []string, hidden int, ok bool) {
	v := reflect.ValueOf(x)
	if v.Kind() != reflect.Slice || v.Type().Elem().Kind() == reflect.Uint8 {
		return nil, 0, false
	}
	n := min(v.Len(), maxEvidenceItems)
	list = make([]string, n)
	for i := range n {
		list[i] = cutText(scalarText(v.Index(i).Interface()))
	}
	return list, v.Len() - n, true
}

func cutText(s string) string {
	if len(s) <= maxEvidenceValue {
		return s
	}
	cut := maxEvidenceValue
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// scalarText writes one evidence value: strings as they are, times in
// UTC, everything else as JSON.
func scalarText(x any) string {
	switch v := x.(type) {
	case nil:
		return ""
	case string:
		return validUTF8(v)
	case time.Time:
		return timeText(v)
	case fmt.Stringer:
		return validUTF8(v.String())
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return validUTF8(fmt.Sprint(x))
	}
	return validUTF8(strings.TrimSuffix(b.String(), "\n"))
}

// coverageCells turns the analysis's coverage runs into heatmap cells.
// An hour with nothing delivered is a gap where a delivery-gap finding
// says so, "region not logged" in a missing region, and merely silent
// elsewhere: without digests, a quiet hour and a lost one look alike.
func coverageCells(res *analyzer.Result) iter.Seq[hourCell] {
	type acctRegion struct{ account, region string }
	type span struct{ start, end time.Time }
	gaps := map[acctRegion][]span{}
	for _, f := range res.Findings {
		if f.Kind != analyzer.KindDeliveryGap || f.Start.IsZero() {
			continue
		}
		// A finding over several regions lists each region's own run.
		if runs, ok := f.Evidence["region_runs"].([]map[string]any); ok {
			for _, r := range runs {
				region, _ := r["region"].(string)
				start, err1 := time.Parse(time.RFC3339, fmt.Sprint(r["start"]))
				end, err2 := time.Parse(time.RFC3339, fmt.Sprint(r["end"]))
				if err1 == nil && err2 == nil {
					k := acctRegion{f.Account, region}
					gaps[k] = append(gaps[k], span{start, end})
				}
			}
			continue
		}
		end := f.End
		if !end.After(f.Start) {
			end = f.Start.Add(time.Hour)
		}
		regions := []string{f.Region}
		if f.Region == "" {
			regions, _ = f.Evidence["regions"].([]string)
		}
		for _, r := range regions {
			k := acctRegion{f.Account, r}
			gaps[k] = append(gaps[k], span{f.Start, end})
		}
	}
	missing := map[acctRegion]bool{}
	for _, a := range res.Accounts {
		for _, r := range a.RegionsMissing {
			missing[acctRegion{a.Account, r}] = true
		}
	}
	for _, spans := range gaps {
		slices.SortFunc(spans, func(a, b span) int { return a.start.Compare(b.start) })
	}
	return func(yield func(hourCell) bool) {
		for r := range res.Coverage.All() {
			k := acctRegion{r.Account, r.Region}
			c := hourCell{Account: r.Account, Region: r.Region, Start: r.Start.UTC(), Hours: r.Hours}
			switch r.Status {
			case analyzer.CoverageDelivered:
				c.Status = cellLogsOnly
				if r.Digests > 0 {
					c.Status = cellComplete
				}
			case analyzer.CoverageQuiet:
				c.Status = cellQuiet
			case analyzer.CoverageAbsent:
				c.Status = cellAbsent
			default:
				// A run with nothing delivered is a gap in the hours a
				// delivery-gap finding names, and otherwise not logged
				// or silent: it is cut at the findings' bounds.
				other := cellSilent
				if missing[k] {
					other = cellNotLogged
				}
				at, end := c.Start, r.End.UTC()
				piece := func(from, to time.Time, st cellStatus) bool {
					if !to.After(from) {
						return true
					}
					return yield(hourCell{Account: r.Account, Region: r.Region, Start: from, Hours: int(to.Sub(from) / time.Hour), Status: st})
				}
				for _, g := range gaps[k] {
					from, to := maxTime(g.start, at), minTime(g.end, end)
					if !to.After(from) {
						continue
					}
					if !piece(at, from, other) || !piece(from, to, cellGap) {
						return
					}
					at = to
				}
				if !piece(at, end, other) {
					return
				}
				continue
			}
			if !yield(c) {
				return
			}
		}
	}
}

package report

import (
	"cmp"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"
)

// cellStatus is the delivery of one account × region over one hour, or
// over one bucket of hours (the worst of them).
type cellStatus int

// The statuses, best first: a bucket takes its worst hour's.
const (
	cellNone      cellStatus = iota // no row: outside the data
	cellComplete                    // log files and a digest
	cellQuiet                       // a digest and no log file: nothing happened
	cellSilent                      // nothing delivered, no digests to tell why
	cellLogsOnly                    // log files without a digest
	cellAbsent                      // digests list log files the archive lacks
	cellGap                         // a delivery-gap finding
	cellNotLogged                   // a region-not-logged finding
)

// class is the status's CSS class.
func (s cellStatus) class() string {
	return [...]string{"c-none", "c-ok", "c-quiet", "c-silent", "c-logs", "c-absent", "c-gap", "c-missing"}[s]
}

// String is the status as the legend names it.
func (s cellStatus) String() string {
	return [...]string{"outside the data", "log files and digest", "digest only (quiet hour)",
		"nothing delivered (no digest to tell)", "log files without digest",
		"listed log files absent", "delivery gap", "region not logged"}[s]
}

// hourCell is a run of coverage hours with one status, as the heatmap
// needs it: Hours hours from Start.
type hourCell struct {
	Account, Region string
	Start           time.Time
	Hours           int
	Status          cellStatus
}

func (c hourCell) end() time.Time { return c.Start.Add(time.Duration(c.Hours) * time.Hour) }

// heatmap is an inline SVG: one row per account × region, one column per
// bucket of time; runs of equal buckets are drawn as one rectangle so the
// size stays bounded by the changes, not by the window.
type heatmap struct {
	Width, Height int
	LabelWidth    int
	Top           int
	CellHeight    int
	Bucket        string
	Rows          []heatRow
	Runs          []heatRun
	Ticks         []heatTick
	Legend        []heatLegend
	Empty         bool
	// OmittedRows counts the rows past maxHeatRows, left out.
	OmittedRows int
}

type heatRow struct {
	Y, TextY int
	// Account is set on an account's first row only. Labels are cut to
	// fit the label column; the full names are in Label.
	Account, Region string
	Label           string
	Rule            bool // draw a separator above: a new account starts
}

type heatRun struct {
	X, Y, W, H int
	Class      string
	Title      string
}

type heatTick struct {
	X, TextY int
	Label    string
}

type heatLegend struct {
	Class, Name string
}

// heatBucket is a column width of the heatmap.
type heatBucket struct {
	d    time.Duration
	name string
}

// heatBuckets are the column widths the heatmap may use, finest first;
// the first that keeps the columns under maxColumns is taken.
func heatBuckets() []heatBucket {
	return []heatBucket{
		{time.Hour, "hour"},
		{6 * time.Hour, "6 hours"},
		{24 * time.Hour, "day"},
		{7 * 24 * time.Hour, "week"},
		{28 * 24 * time.Hour, "4 weeks"},
		{364 * 24 * time.Hour, "52 weeks"},
	}
}

const (
	maxColumns     = 336
	maxHeatRows    = 600
	heatLabelWidth = 250
	heatPlotWidth  = 840
	heatCellHeight = 16
	heatTop        = 22
	tickLabelWidth = 66
)

// newHeatmap lays out cells over [start, end); a zero side is taken from
// the data.
func newHeatmap(cells iter.Seq[hourCell], start, end time.Time) heatmap {
	h := heatmap{LabelWidth: heatLabelWidth, Top: heatTop, CellHeight: heatCellHeight}
	for s := cellNone; s <= cellNotLogged; s++ {
		h.Legend = append(h.Legend, heatLegend{Class: s.class(), Name: s.String()})
	}
	var first, last time.Time
	any := false
	for c := range cells {
		if !any {
			first, last, any = c.Start, c.end(), true
		}
		first = minTime(first, c.Start)
		last = maxTime(last, c.end())
	}
	if !any {
		h.Empty = true
		return h
	}
	if start.IsZero() {
		start = first
	}
	if end.IsZero() {
		end = last
	}
	start = start.UTC().Truncate(time.Hour)
	if !end.After(start) {
		end = start.Add(time.Hour)
	}
	buckets := heatBuckets()
	bucket := buckets[len(buckets)-1]
	for _, b := range buckets {
		if end.Sub(start) <= b.d*maxColumns {
			bucket = b
			break
		}
	}
	// Columns start on a bucket boundary: days at midnight UTC, weeks
	// on Mondays.
	if bucket.d <= 24*time.Hour {
		start = start.Truncate(bucket.d)
	} else {
		start = start.Truncate(7 * 24 * time.Hour)
	}
	span := end.Sub(start)
	h.Bucket = bucket.name
	columns := int((span + bucket.d - 1) / bucket.d)
	colWidth := max(1, heatPlotWidth/columns)
	plotWidth := colWidth * columns

	type agg struct {
		status cellStatus
		// hours counts the bucket's hours by status.
		hours [cellNotLogged + 1]int32
	}
	grid := map[rowKey][]agg{}
	omitted := map[rowKey]bool{}
	for c := range cells {
		from, to := maxTime(c.Start, start), minTime(c.end(), end)
		if !to.After(from) {
			continue
		}
		k := rowKey{c.Account, c.Region}
		row := grid[k]
		if row == nil {
			if omitted[k] {
				continue
			}
			if len(grid) == maxHeatRows {
				// Only the first rows in order are drawn: the grid
				// holds no more than those, whatever the archive.
				var last rowKey
				for g := range grid {
					if last == (rowKey{}) || compareRowKeys(g, last) > 0 {
						last = g
					}
				}
				if compareRowKeys(k, last) > 0 {
					omitted[k] = true
					continue
				}
				delete(grid, last)
				omitted[last] = true
			}
			row = make([]agg, columns)
			grid[k] = row
		}
		// The run's hours, column by column.
		for at := from; at.Before(to); {
			j := int(at.Sub(start) / bucket.d)
			next := minTime(start.Add(time.Duration(j+1)*bucket.d), to)
			a := &row[j]
			a.status = max(a.status, c.Status)
			a.hours[c.Status] += int32(next.Sub(at).Round(time.Hour) / time.Hour)
			at = next
		}
	}
	keys := make([]rowKey, 0, len(grid))
	for k := range grid {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareRowKeys)
	if len(keys) == 0 {
		h.Empty = true
		return h
	}
	h.OmittedRows = len(omitted)
	x0 := heatLabelWidth
	for i, k := range keys {
		y := heatTop + i*heatCellHeight
		row := heatRow{Y: y, TextY: y + heatCellHeight - 4, Region: clip(k.region, 18), Label: k.account + " " + k.region}
		if i == 0 || keys[i-1].account != k.account {
			row.Account = clip(k.account, 14)
			row.Rule = i > 0
		}
		h.Rows = append(h.Rows, row)
		aggs := grid[k]
		for j := 0; j < columns; {
			n := 1
			for j+n < columns && aggs[j+n].status == aggs[j].status {
				n++
			}
			a := aggs[j]
			from := start.Add(time.Duration(j) * bucket.d)
			to := minTime(start.Add(time.Duration(j+n)*bucket.d), end)
			var hours [cellNotLogged + 1]int
			for _, x := range aggs[j : j+n] {
				for st, v := range x.hours {
					hours[st] += int(v)
				}
			}
			title := fmt.Sprintf("%s %s, %s – %s: %s", k.account, k.region,
				from.Format("2006-01-02 15:04"), to.Format("2006-01-02 15:04"), a.status)
			if a.status != cellNone {
				// What the hours were, worst first.
				var parts []string
				total := 0
				for st := cellNotLogged; st > cellNone; st-- {
					if hours[st] > 0 {
						parts = append(parts, fmt.Sprintf("%d h %s", hours[st], st))
						total += hours[st]
					}
				}
				if hours[a.status] == total {
					parts = []string{fmt.Sprintf("%d h", total)}
				}
				title += " (" + strings.Join(parts, ", ") + ")"
			}
			h.Runs = append(h.Runs, heatRun{
				X: x0 + j*colWidth, Y: y + 1, W: n * colWidth, H: heatCellHeight - 2,
				Class: a.status.class(), Title: title,
			})
			j += n
		}
	}
	h.Height = heatTop + len(keys)*heatCellHeight + 4
	h.Width = x0 + plotWidth + 8
	h.Ticks = heatTicks(start, end, bucket.d, columns, colWidth, x0)
	return h
}

// heatTicks labels the time axis at round times, at most about ten.
func heatTicks(start, end time.Time, bucket time.Duration, columns, colWidth, x0 int) []heatTick {
	span := end.Sub(start)
	day := 24 * time.Hour
	step := 364 * day
	for _, s := range []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
		day, 2 * day, 7 * day, 14 * day, 28 * day, 91 * day, 182 * day} {
		if s >= bucket && span/s <= 10 {
			step = s
			break
		}
	}
	layout := "2006-01-02"
	if step < day {
		layout = "01-02 15:04"
	}
	align := step
	if step > day {
		align = day
	}
	var ticks []heatTick
	plotEnd := start.Add(time.Duration(columns) * bucket)
	lastX := x0 + columns*colWidth - tickLabelWidth
	for t := start.Truncate(align); t.Before(plotEnd); t = t.Add(step) {
		if t.Before(start) {
			continue
		}
		x := x0 + int(float64(t.Sub(start))/float64(bucket)*float64(colWidth))
		if x > lastX {
			break // the label would run past the plot
		}
		ticks = append(ticks, heatTick{X: x, TextY: heatTop - 8, Label: t.Format(layout)})
	}
	return ticks
}

// clip cuts a label to n characters.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// rowKey is a heatmap row: an account × region.
type rowKey struct{ account, region string }

func compareRowKeys(a, b rowKey) int {
	return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.region, b.region))
}

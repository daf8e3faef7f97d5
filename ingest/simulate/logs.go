package simulate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strconv"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// Log delivery.
const (
	slotSeconds       = 300 // CloudTrail writes a log file about every 5 minutes
	slotsPerDay       = 86400 / slotSeconds
	maxRecordsPerFile = 5000 // larger batches are split over several files
	minDelay          = 20   // seconds from a file's name time to its delivery
	maxDelay          = 150
)

// logEntry is a log file as its digest sees it.
type logEntry struct {
	slot           int64 // file-name time
	unique         string
	delivered      int64
	hash           [32]byte
	newest, oldest int64
	listed         bool // a digest lists it (false: injected)
	scenario       int  // for an injected file, the scenario that made it
}

// dayResult is what one account × region × day wrote.
type dayResult struct {
	entries  []logEntry
	records  int64 // physical records in readable log files
	global   int64 // of which global-service events
	lost     int64 // records in files never delivered (delivery gaps)
	logFiles int   // objects at log keys on disk
	planted  []writtenEvent
	outcomes []outcome
}

// writtenEvent is a planted record that reached a readable log file.
type writtenEvent struct {
	scenario int
	eventID  string
	class    activityClass
	region   string
}

// Outcome kinds. The corrupt ones are CorruptObject.What in the Truth.
const (
	outcomeDeleted       = "deleted"
	outcomeModified      = "modified"
	outcomeTruncated     = "truncated-gzip"
	outcomeDuplicated    = "duplicated"
	outcomeInjected      = "injected"
	outcomeGarbage       = "garbage"
	outcomeEmpty         = "empty"
	outcomeNotApplied    = "not-applied"
	outcomeDigestDeleted = "digest-deleted"
	outcomeBadSignature  = "bad-signature"
	outcomeUnsigned      = "unsigned"
	outcomeForged        = "forged-digest"
)

// outcome is what a scenario's operation on objects did.
type outcome struct {
	scenario  int
	kind      string
	key       string
	listed    bool
	records   int // records the file held when CloudTrail wrote it
	decodable int // records DecodeLog still yields from a corrupt file
	eventIDs  []string
}

// span is one record's bytes within a file body.
type span struct {
	start, end int
	planted    int // index into chainPlan.planted, or -1
	global     bool
}

// dayWorker generates one account × region × day.
type dayWorker struct {
	fw    *fileWriter
	c     *chainPlan
	gen   *recordGen
	res   *dayResult
	ops   []fileOp // this day's operations, count = what is left to do
	body  []byte
	spans []span
}

// logDay writes the log files of chain c on day.
func (g *generator) logDay(ctx context.Context, fw *fileWriter, c *chainPlan, day int) (*dayResult, error) {
	p := g.plan
	dayStart := p.start + int64(day)*86400
	dayEnd := dayStart + 86400
	res := &dayResult{}
	var ops []fileOp
	for _, op := range c.fileOps {
		if op.day == day {
			ops = append(ops, op)
		}
	}
	firstPlanted := 0
	for firstPlanted < len(c.planted) && c.planted[firstPlanted].sec < dayStart {
		firstPlanted++
	}
	hasPlanted := firstPlanted < len(c.planted) && c.planted[firstPlanted].sec < dayEnd
	if !c.active && !c.global && !hasPlanted && len(ops) == 0 {
		return res, nil
	}
	r := newRand(g.cfg.Seed, "logs", c.acct.id, c.region, strconv.Itoa(day))
	w := newWorld(g.cfg.Seed, c.acct.id, c.region, g.cfg.Accounts)
	d := &dayWorker{fw: fw, c: c, gen: newRecordGen(r, w, p.regional, p.global), res: res, ops: ops}
	eph := float64(g.cfg.EventsPerHour)
	if g.cfg.EventsPerDay > 0 {
		eph = float64(g.cfg.EventsPerDay) / 24
	}
	next := firstPlanted
	for k := 1; k <= slotsPerDay; k++ {
		if k%48 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		slot := dayStart + int64(k)*slotSeconds
		from := slot - slotSeconds
		shape := p.diurnal[(from-dayStart)/3600] / 12
		nRegional, nGlobal := 0, 0
		if c.active {
			nRegional = d.count(eph * c.rate * shape)
		}
		if c.global {
			nGlobal = d.count(eph / 3 * c.acct.rate * shape)
		}
		first := next
		for next < len(c.planted) && c.planted[next].sec < slot {
			next++
		}
		if err := d.create(slot); err != nil {
			return nil, err
		}
		total := nRegional + nGlobal + next - first
		if total == 0 {
			continue
		}
		parts := (total + maxRecordsPerFile - 1) / maxRecordsPerFile
		if parts == 1 && total >= 2 && r.IntN(100) < 3 {
			parts = 2
		}
		// Records in order: planted ones first, global, regional; each part
		// takes its share.
		idx := 0
		for part := range parts {
			upto := (part + 1) * total / parts
			d.body = append(d.body[:0], `{"Records":[`...)
			d.spans = d.spans[:0]
			newest, oldest := int64(0), int64(1<<62)
			for ; idx < upto; idx++ {
				var sec int64
				sp := span{planted: -1}
				if pi := first + idx; pi < next {
					sec = c.planted[pi].sec
					sp.planted = pi
				} else {
					sec = from + r.Int64N(slotSeconds)
					sp.global = idx-(next-first) < nGlobal
				}
				if c.acct.stopped(sec) {
					continue
				}
				if len(d.spans) > 0 {
					d.body = append(d.body, ',')
				}
				sp.start = len(d.body)
				if sp.planted >= 0 {
					d.body = append(d.body, c.planted[sp.planted].body...)
				} else {
					d.body, _ = d.gen.appendRandom(d.body, sec, sp.global)
				}
				sp.end = len(d.body)
				d.spans = append(d.spans, sp)
				newest, oldest = max(newest, sec), min(oldest, sec)
			}
			if len(d.spans) == 0 {
				continue
			}
			d.body = append(d.body, "]}"...)
			if err := d.finish(slot, part, newest, oldest); err != nil {
				return nil, err
			}
		}
	}
	for _, op := range d.ops {
		if op.count > 0 {
			res.outcomes = append(res.outcomes, outcome{scenario: op.scenario, kind: outcomeNotApplied})
		}
	}
	return res, nil
}

// count draws a number of events with the given mean.
func (d *dayWorker) count(mean float64) int {
	r := d.gen.r
	return int(mean*(0.5+r.Float64()) + r.Float64())
}

// newUnique returns a log file name's 16-character unique string.
func (d *dayWorker) newUnique() string {
	return string(appendChars(make([]byte, 0, 16), d.gen.r, alnum, 16))
}

// key is the key of the chain's log file at slot.
func (d *dayWorker) key(slot int64, unique string) string {
	loc := d.c.base
	loc.Kind = ingest.KindLog
	loc.Time = time.Unix(slot, 0).UTC()
	loc.Unique = unique
	return loc.ObjectKey()
}

// takeOp returns the next pending operation on an existing file of n
// records at slot. A modification waits for a file with a record to spare.
func (d *dayWorker) takeOp(slot int64, n int) *fileOp {
	for i := range d.ops {
		op := &d.ops[i]
		if op.count == 0 || op.at > slot || op.kind > opDuplicate {
			continue
		}
		if op.kind == opModify && n < 2 {
			continue
		}
		return op
	}
	return nil
}

// finish delivers the file in d.body, applying a pending operation.
func (d *dayWorker) finish(slot int64, part int, newest, oldest int64) error {
	r := d.gen.r
	unique := d.newUnique()
	delivered := slot + minDelay + r.Int64N(maxDelay-minDelay) + int64(part)*7
	n := len(d.spans)
	if d.c.lost(delivered) {
		d.res.lost += int64(n)
		return nil
	}
	e := logEntry{slot: slot, unique: unique, delivered: delivered, hash: sha256.Sum256(d.body), newest: newest, oldest: oldest, listed: true}
	d.res.entries = append(d.res.entries, e)
	key := d.key(slot, unique)
	op := d.takeOp(slot, n)
	if op == nil {
		return d.store(key, d.body, delivered, d.spans)
	}
	o := outcome{scenario: op.scenario, key: key, listed: true, records: n}
	switch op.kind {
	case opDelete:
		o.kind = outcomeDeleted
		op.count--
	case opModify:
		o.kind = outcomeModified
		op.count--
		// Someone removed the last record: still valid gzip and JSON, but
		// its hash no longer matches the digest.
		last := d.spans[n-1]
		body := append(append([]byte(nil), d.body[:last.start-1]...), "]}"...)
		o.eventIDs = []string{eventIDOf(d.body[last.start:last.end])}
		if err := d.store(key, body, delivered+3600, d.spans[:n-1]); err != nil {
			return err
		}
	case opTruncate:
		o.kind = outcomeTruncated
		op.count--
		z, err := d.fw.gzip(d.body)
		if err != nil {
			return err
		}
		cut := append([]byte(nil), z[:len(z)/2]...)
		_, _ = ingest.DecodeLog(bytes.NewReader(cut), ingest.DecodeOptions{}, func(*ingest.Record) error {
			o.decodable++
			return nil
		})
		if err := d.fw.write(key, cut, delivered); err != nil {
			return err
		}
		d.res.logFiles++
	case opDuplicate:
		// Records of as many files as it takes are delivered twice.
		o.kind = outcomeDuplicated
		m := min(op.count, n)
		op.count -= m
		if err := d.store(key, d.body, delivered, d.spans); err != nil {
			return err
		}
		// CloudTrail delivers some records again, in a second file of the
		// same slot: the same bytes, the same eventIDs.
		dup := append([]byte(nil), `{"Records":[`...)
		var dupSpans []span
		dn, do := int64(0), int64(1<<62)
		for i, sp := range d.spans[:m] {
			if i > 0 {
				dup = append(dup, ',')
			}
			ns := sp
			ns.start = len(dup)
			dup = append(dup, d.body[sp.start:sp.end]...)
			ns.end = len(dup)
			dupSpans = append(dupSpans, ns)
			o.eventIDs = append(o.eventIDs, eventIDOf(d.body[sp.start:sp.end]))
			sec := recordTime(d.body[sp.start:sp.end])
			dn, do = max(dn, sec), min(do, sec)
		}
		dup = append(dup, "]}"...)
		u2 := d.newUnique()
		d2 := delivered + 30 + r.Int64N(60)
		k2 := d.key(slot, u2)
		d.res.entries = append(d.res.entries, logEntry{slot: slot, unique: u2, delivered: d2, hash: sha256.Sum256(dup), newest: dn, oldest: do, listed: true})
		if err := d.store(k2, dup, d2, dupSpans); err != nil {
			return err
		}
		o.key = k2
		o.records = m
	}
	d.res.outcomes = append(d.res.outcomes, o)
	return nil
}

// store writes a readable log file and counts its records.
func (d *dayWorker) store(key string, body []byte, mtime int64, spans []span) error {
	z, err := d.fw.gzip(body)
	if err != nil {
		return err
	}
	if err := d.fw.write(key, z, mtime); err != nil {
		return err
	}
	d.res.logFiles++
	d.res.records += int64(len(spans))
	for _, sp := range spans {
		if sp.global {
			d.res.global++
		}
		if sp.planted >= 0 {
			pe := d.c.planted[sp.planted]
			d.res.planted = append(d.res.planted, writtenEvent{scenario: pe.scenario, eventID: pe.eventID, class: pe.class, region: d.c.region})
		}
	}
	return nil
}

// create carries out the operations that add objects, at the first slot
// at or after their time, whether or not CloudTrail delivered anything.
func (d *dayWorker) create(slot int64) error {
	for i := range d.ops {
		op := &d.ops[i]
		if op.count == 0 || op.at > slot || op.kind < opInject {
			continue
		}
		r := d.gen.r
		for range op.count {
			unique := d.newUnique()
			key := d.key(slot, unique)
			delivered := slot + minDelay + r.Int64N(maxDelay-minDelay)
			o := outcome{scenario: op.scenario, key: key}
			switch op.kind {
			case opInject:
				// Well-formed records nobody's digest vouches for.
				o.kind = outcomeInjected
				n := 3 + r.IntN(6)
				body := append([]byte(nil), `{"Records":[`...)
				var spans []span
				newest, oldest := int64(0), int64(1<<62)
				for j := range n {
					if j > 0 {
						body = append(body, ',')
					}
					sec := slot - slotSeconds + r.Int64N(slotSeconds)
					start := len(body)
					var at int
					body, at = d.gen.appendRandom(body, sec, false)
					spans = append(spans, span{start: start, end: len(body), planted: -1})
					o.eventIDs = append(o.eventIDs, string(body[at:at+36]))
					newest, oldest = max(newest, sec), min(oldest, sec)
				}
				body = append(body, "]}"...)
				o.records = n
				d.res.entries = append(d.res.entries, logEntry{slot: slot, unique: unique, delivered: delivered, hash: sha256.Sum256(body), newest: newest, oldest: oldest, scenario: op.scenario})
				if err := d.store(key, body, delivered, spans); err != nil {
					return err
				}
			case opGarbage:
				o.kind = outcomeGarbage
				junk := appendChars([]byte("X"), r, alnum+"{}[],:\"\x00\x01\xff", 512+r.IntN(3584))
				if err := d.fw.write(key, junk, delivered); err != nil {
					return err
				}
				d.res.logFiles++
			case opEmpty:
				o.kind = outcomeEmpty
				if err := d.fw.write(key, nil, delivered); err != nil {
					return err
				}
				d.res.logFiles++
			}
			d.res.outcomes = append(d.res.outcomes, o)
		}
		op.count = 0
	}
	return nil
}

// eventIDOf finds the eventID of one rendered record.
func eventIDOf(rec []byte) string {
	i := bytes.Index(rec, []byte(`"eventID":"`))
	if i < 0 || i+11+36 > len(rec) {
		return ""
	}
	return string(rec[i+11 : i+11+36])
}

// recordTime finds the eventTime of one rendered record.
func recordTime(rec []byte) int64 {
	i := bytes.Index(rec, []byte(`"eventTime":"`))
	if i < 0 {
		return 0
	}
	t, err := time.Parse(timeLayout, string(rec[i+13:i+13+len(timeLayout)]))
	if err != nil {
		return 0
	}
	return t.Unix()
}

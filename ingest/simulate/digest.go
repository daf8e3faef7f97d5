package simulate

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// Digest constants as CloudTrail writes them.
const (
	signatureAlgorithm = "SHA256withRSA"
	hashAlgorithm      = "SHA-256"
)

// digestDoc is the content of one digest file. Empty strings are written
// as null.
type digestDoc struct {
	account, start, end, bucket, object, fingerprint string
	newest, oldest                                   string
	prevBucket, prevObject, prevHash, prevSignature  string
	files                                            []digestFileDoc
}

// digestFileDoc is one entry of logFiles.
type digestFileDoc struct {
	bucket, object, hash, newest, oldest string
}

// appendDigest renders d exactly as CloudTrail does: compact JSON, members
// in CloudTrail's order, '/' escaped as "\/". The raw bytes are what the
// signature and the next digest's previousDigestHashValue cover, so they
// must not go through a re-encoding.
func appendDigest(b []byte, d *digestDoc) []byte {
	str := func(name, v string, first bool) {
		if !first {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		if v == "" {
			b = append(b, "null"...)
			return
		}
		b = appendString(b, v, true)
	}
	b = append(b, '{')
	str("awsAccountId", d.account, true)
	str("digestStartTime", d.start, false)
	str("digestEndTime", d.end, false)
	str("digestS3Bucket", d.bucket, false)
	str("digestS3Object", d.object, false)
	str("digestPublicKeyFingerprint", d.fingerprint, false)
	str("digestSignatureAlgorithm", signatureAlgorithm, false)
	str("newestEventTime", d.newest, false)
	str("oldestEventTime", d.oldest, false)
	str("previousDigestS3Bucket", d.prevBucket, false)
	str("previousDigestS3Object", d.prevObject, false)
	str("previousDigestHashValue", d.prevHash, false)
	algo := ""
	if d.prevHash != "" {
		algo = hashAlgorithm
	}
	str("previousDigestHashAlgorithm", algo, false)
	str("previousDigestSignature", d.prevSignature, false)
	b = append(b, `,"logFiles":[`...)
	for i, f := range d.files {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		str("s3Bucket", f.bucket, true)
		str("s3Object", f.object, false)
		str("hashValue", f.hash, false)
		str("hashAlgorithm", hashAlgorithm, false)
		str("newestEventTime", f.newest, false)
		str("oldestEventTime", f.oldest, false)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// signingString is what CloudTrail signs for a digest (the AWS CLI's
// _create_string_to_sign): the end time as written, bucket/key, the hex
// SHA-256 of the raw decompressed digest, and the previous signature or
// the literal null, joined by single newlines with none at the end.
func signingString(endTime, bucket, key string, raw []byte, prevSignature string) string {
	sum := sha256.Sum256(raw)
	if prevSignature == "" {
		prevSignature = "null"
	}
	return endTime + "\n" + bucket + "/" + key + "\n" + hex.EncodeToString(sum[:]) + "\n" + prevSignature
}

// window is one digest's delivery-time window [start, end).
type window struct {
	start, end int64
	first      bool // a starting digest: every previous* member null
}

// windows lays out the chain's digests. Logging runs in segments between
// stops; each segment starts a new chain. Windows are an hour long and
// end at a fixed second of the hour (for the first segment, the chain's
// offset; after a restart, the restart's). The last window of a segment
// is the first that ends 10 minutes past its last event, so that it lists
// every file delivered. A delivery gap removes the windows ending in it;
// the next window then starts where the last delivered one ended (a gap
// at the end of the archive still ends with a digest after it).
func (g *generator) windows(c *chainPlan) []window { return g.plan.windows(c) }

// windows lays out the chain's digests (see generator.windows). A chain
// with a cut tail ends with the last window that ends by the cut.
func (p *plan) windows(c *chainPlan) []window {
	type segment struct{ from, to int64 }
	var segs []segment
	from := p.start
	for _, s := range c.acct.stops {
		segs = append(segs, segment{from, s.stop})
		if s.restart == 0 {
			from = -1
			break
		}
		from = s.restart
	}
	if from >= 0 {
		segs = append(segs, segment{from, p.end})
	}
	var out []window
	for i, s := range segs {
		end := s.from + 3600
		if i == 0 {
			end = s.from + c.offset
		}
		start := end - 3600
		first := true
		for {
			if c.cut != 0 && end > c.cut {
				break
			}
			kept := !c.inGap(end)
			if kept {
				out = append(out, window{start: start, end: end, first: first})
				start, first = end, false
			}
			if kept && end >= s.to+600 {
				break
			}
			end += 3600
		}
	}
	return out
}

// chainResult is what a chain's digests came to.
type chainResult struct {
	written, empty, deleted, bad, unsigned     int
	starts, deletedKeys, badKeys, unsignedKeys []string
	forgedKeys                                 []string
	firstKey, lastKey                          string
	listed, listedInDeleted                    int
	unassigned                                 int
	outcomes                                   []outcome
	// onDiskListed marks the log files that a digest on disk lists;
	// deletedListed those a deleted digest lists.
	onDiskListed, deletedListed map[string]bool
}

// digestChain writes the digests of chain c over its log entries.
func (g *generator) digestChain(ctx context.Context, fw *fileWriter, c *chainPlan, entries []logEntry) (*chainResult, error) {
	rk, err := g.keys.get(c.region)
	if err != nil {
		return nil, err
	}
	var listed []logEntry
	for _, e := range entries {
		if e.listed {
			listed = append(listed, e)
		}
	}
	slices.SortFunc(listed, func(a, b logEntry) int {
		if a.delivered != b.delivered {
			return int(a.delivered - b.delivered)
		}
		return strings.Compare(a.unique, b.unique)
	})
	wins := g.windows(c)
	action, short := digestActions(c, wins)
	r := newRand(g.cfg.Seed, "digests", c.acct.id, c.region)
	res := &chainResult{onDiskListed: map[string]bool{}, deletedListed: map[string]bool{}}
	for _, sc := range short {
		res.outcomes = append(res.outcomes, outcome{scenario: sc, kind: outcomeNotApplied})
	}
	logLoc := c.base
	logLoc.Kind = ingest.KindLog
	loc := c.base
	loc.Kind = ingest.KindDigest
	loc.Trail, loc.HomeRegion = c.acct.trail, c.acct.home
	var prevKey, prevHash, prevSig string
	next := 0
	for next < len(listed) && listed[next].delivered < wins[0].start {
		next++
		res.unassigned++
	}
	var raw []byte
	for wi, win := range wins {
		if wi%24 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		loc.Time = time.Unix(win.end, 0).UTC()
		key := loc.ObjectKey()
		d := digestDoc{
			account:     c.acct.id,
			start:       formatTime(time.Unix(win.start, 0)),
			end:         formatTime(loc.Time),
			bucket:      g.cfg.Bucket,
			object:      key,
			fingerprint: rk.fp,
		}
		if !win.first {
			d.prevBucket, d.prevObject, d.prevHash, d.prevSignature = g.cfg.Bucket, prevKey, prevHash, prevSig
		}
		newest, oldest := int64(0), int64(1<<62)
		var keys []string
		for next < len(listed) && listed[next].delivered < win.end {
			e := listed[next]
			next++
			logLoc.Time = time.Unix(e.slot, 0).UTC()
			logLoc.Unique = e.unique
			lk := logLoc.ObjectKey()
			keys = append(keys, lk)
			d.files = append(d.files, digestFileDoc{
				bucket: g.cfg.Bucket, object: lk, hash: hex.EncodeToString(e.hash[:]),
				newest: formatTime(time.Unix(e.newest, 0)), oldest: formatTime(time.Unix(e.oldest, 0)),
			})
			newest, oldest = max(newest, e.newest), min(oldest, e.oldest)
		}
		if len(d.files) > 0 {
			d.newest, d.oldest = formatTime(time.Unix(newest, 0)), formatTime(time.Unix(oldest, 0))
		}
		raw = appendDigest(raw[:0], &d)
		sts := signingString(d.end, d.bucket, key, raw, d.prevSignature)
		hashed := sha256.Sum256([]byte(sts))
		sig, err := rsa.SignPKCS1v15(nil, rk.key, crypto.SHA256, hashed[:])
		if err != nil {
			return nil, fmt.Errorf("sign %s: %w", key, err)
		}
		sigHex := hex.EncodeToString(sig)
		rawSum := sha256.Sum256(raw)
		prevKey, prevHash, prevSig = key, hex.EncodeToString(rawSum[:]), sigHex

		if win.first {
			res.starts = append(res.starts, key)
		}
		if res.firstKey == "" {
			res.firstKey = key
		}
		res.lastKey = key
		res.listed += len(keys)
		act := action[wi]
		if act.deleted {
			res.deleted++
			res.deletedKeys = append(res.deletedKeys, key)
			res.listedInDeleted += len(keys)
			for _, k := range keys {
				res.deletedListed[k] = true
			}
			res.outcomes = append(res.outcomes, outcome{scenario: act.scenario, kind: outcomeDigestDeleted, key: key})
			continue
		}
		for _, k := range keys {
			res.onDiskListed[k] = true
		}
		z, err := fw.gzip(raw)
		if err != nil {
			return nil, err
		}
		mtime := win.end + 30 + r.Int64N(270)
		if err := fw.write(key, z, mtime); err != nil {
			return nil, err
		}
		metaSig := sigHex
		if act.bad {
			// The bytes are CloudTrail's; the signature beside them is not
			// the one CloudTrail made (the next digest still holds that).
			b := append([]byte(nil), sig...)
			b[len(b)/2] ^= 0x5a
			metaSig = hex.EncodeToString(b)
			res.bad++
			res.badKeys = append(res.badKeys, key)
			res.outcomes = append(res.outcomes, outcome{scenario: act.scenario, kind: outcomeBadSignature, key: key})
		}
		if act.unsigned {
			// Rewritten without its metadata: the bytes are CloudTrail's,
			// the signature S3 kept beside them is gone.
			res.unsigned++
			res.unsignedKeys = append(res.unsignedKeys, key)
			res.outcomes = append(res.outcomes, outcome{scenario: act.scenario, kind: outcomeUnsigned, key: key})
		} else if err := fw.writeSidecar(key, z, mtime, ingest.Metadata{"signature": metaSig, "signature-algorithm": signatureAlgorithm}); err != nil {
			return nil, err
		}
		res.written++
		if len(keys) == 0 {
			res.empty++
		}
	}
	res.unassigned += len(listed) - next
	if err := g.forgeDigests(fw, c, entries, res); err != nil {
		return nil, err
	}
	return res, nil
}

// forgeDigests writes, for each digest-forged scenario on the chain, a
// backfill digest without a signature that lists the log files the
// scenario injected, as an adversary laundering them would: well-formed,
// under the trail's real fingerprint, with nothing to verify it by.
func (g *generator) forgeDigests(fw *fileWriter, c *chainPlan, entries []logEntry, res *chainResult) error {
	rk, err := g.keys.get(c.region)
	if err != nil {
		return err
	}
	for _, op := range c.digestOps {
		if op.kind != digestForged {
			continue
		}
		logLoc := c.base
		logLoc.Kind = ingest.KindLog
		d := digestDoc{account: c.acct.id, bucket: g.cfg.Bucket, fingerprint: rk.fp}
		newest, oldest, last := int64(0), int64(1<<62), int64(0)
		for _, e := range entries {
			if e.listed || e.scenario != op.scenario {
				continue
			}
			logLoc.Time = time.Unix(e.slot, 0).UTC()
			logLoc.Unique = e.unique
			d.files = append(d.files, digestFileDoc{
				bucket: g.cfg.Bucket, object: logLoc.ObjectKey(), hash: hex.EncodeToString(e.hash[:]),
				newest: formatTime(time.Unix(e.newest, 0)), oldest: formatTime(time.Unix(e.oldest, 0)),
			})
			newest, oldest, last = max(newest, e.newest), min(oldest, e.oldest), max(last, e.delivered)
		}
		if len(d.files) == 0 {
			res.outcomes = append(res.outcomes, outcome{scenario: op.scenario, kind: outcomeNotApplied})
			continue
		}
		loc := c.base
		loc.Kind = ingest.KindDigest
		loc.Trail, loc.HomeRegion, loc.Backfill = c.acct.trail, c.acct.home, true
		end := time.Unix(last, 0).UTC().Truncate(time.Hour).Add(time.Hour)
		loc.Time = end
		key := loc.ObjectKey()
		d.start, d.end, d.object = formatTime(end.Add(-time.Hour)), formatTime(end), key
		d.newest, d.oldest = formatTime(time.Unix(newest, 0)), formatTime(time.Unix(oldest, 0))
		z, err := fw.gzip(appendDigest(nil, &d))
		if err != nil {
			return err
		}
		if err := fw.write(key, z, end.Unix()+120); err != nil {
			return err
		}
		res.forgedKeys = append(res.forgedKeys, key)
		res.outcomes = append(res.outcomes, outcome{scenario: op.scenario, kind: outcomeForged, key: key})
	}
	return nil
}

// digestAction is what a scenario does to one digest.
type digestAction struct {
	deleted, bad, unsigned bool
	scenario               int
}

// digestActions assigns the chain's digest operations to windows: each
// takes count windows from the first ending at or after its time, skipping
// windows another operation already took. It also returns the scenarios
// that found fewer windows than they asked for.
func digestActions(c *chainPlan, wins []window) ([]digestAction, []int) {
	out := make([]digestAction, len(wins))
	var short []int
	for _, op := range c.digestOps {
		if op.kind == digestForged {
			continue
		}
		left := op.count
		for i := range wins {
			if left == 0 {
				break
			}
			if wins[i].end < op.at || out[i].deleted || out[i].bad || out[i].unsigned {
				continue
			}
			out[i] = digestAction{deleted: op.kind == digestDelete, bad: op.kind == digestBadSig, unsigned: op.kind == digestUnsigned, scenario: op.scenario}
			left--
		}
		if left > 0 {
			short = append(short, op.scenario)
		}
	}
	return out, short
}

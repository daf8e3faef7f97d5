package analyzer

import (
	"cmp"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// Chain is one digest chain (account × source region × trail, standard or
// backfill) and what verifying it found. Digests count when their
// digestEndTime falls in [window start, window end + 1h], as `aws
// cloudtrail validate-logs` counts them; log files count with the digest
// that lists them, unlisted ones by their file-name time.
type Chain struct {
	Account    string
	OrgID      string
	Region     string // the source region: where the digests were delivered from
	Trail      string
	HomeRegion string
	Backfill   bool
	// Prefix is the trail's S3 key prefix ("" or ending in "/").
	Prefix string
	// First and Last bound the digest windows counted.
	First, Last time.Time

	// DigestsValid are digests whose content is proven: their own
	// signature verifies, or a newer proven digest of the chain commits to
	// their exact bytes (previousDigestHashValue, previousDigestSignature).
	DigestsValid int
	// DigestsInvalid failed a check: malformed, moved, signed with an
	// unknown key, a signature that does not verify, or bytes other than
	// those the next digest recorded.
	DigestsInvalid int
	// DigestsMissing counts absent digests that a newer digest points to,
	// and the hourly digests inferred missing between two survivors.
	DigestsMissing int
	// DigestsUnverifiable passed every check that could be made but could
	// not be proven: no public keys given, or the signature was lost with
	// the object metadata and no newer proven digest vouches for it.
	DigestsUnverifiable int
	LogsValid           int
	// LogsInvalid are listed log files whose decompressed bytes hash to
	// another value, that carry data after their gzip member, or that
	// cannot be read at all.
	LogsInvalid  int
	LogsMissing  int
	LogsUnlisted int
	// LogsUnverified are log files that only unverifiable digests list,
	// or delivered after the chain's newest digest (not yet covered).
	LogsUnverified int
}

// The integrity check's parameters.
const (
	// signatureAlgorithm is the only algorithm CloudTrail signs with.
	signatureAlgorithm = "SHA256withRSA"
	// hashAlgorithm is the only hash CloudTrail lists log files with.
	hashAlgorithm = "SHA-256"
	// digestSpillover: validate-logs counts digests ending up to an hour
	// after the window, which list the files delivered at its end.
	digestSpillover = time.Hour
	// digestPeriod is CloudTrail's digest cadence.
	digestPeriod = time.Hour
	// stopAfter is how long a chain may go without a digest before the
	// window ends (or the archive's newest object) before it is reported
	// as stopped: an hour plus delivery slack.
	stopAfter = time.Hour + 15*time.Minute
	// pendingMargin: a log file named this close to (or after) the newest
	// digest of its region may have been delivered after that digest
	// closed; it is not yet covered, rather than unlisted. File-name times
	// precede delivery by a few minutes.
	pendingMargin = 15 * time.Minute
	// deliveryLag is how long after the time in its name a log file may be
	// delivered, and so listed by a digest whose window starts later: a
	// genuine file named 18:35 was listed by the digest of 18:36:49 to
	// 19:36:49. A file no digest lists is judged injected only when
	// verified digests cover every moment from its name's time to this
	// much after it.
	deliveryLag = 15 * time.Minute
	// finalDigestBelow: a digest whose window is shorter than this is the
	// final digest CloudTrail delivers when logging stops.
	finalDigestBelow = 55 * time.Minute
	// maxInferredMissing bounds how many hourly digests are inferred
	// missing in one hole (a month); longer holes are reported as one.
	maxInferredMissing = 31 * 24
	// maxEvidenceKeys bounds the key lists of aggregated findings.
	maxEvidenceKeys = 20
)

// chainKey identifies a digest chain.
type chainKey struct {
	prefix, org, account, region, trail, home string
	backfill                                  bool
}

// scopeKey is one account's region folder: where log files of a chain
// live. Several chains (trails, backfill) may share one.
type scopeKey struct {
	prefix, org, account, region string
}

// integrity verifies every digest chain and judges each log file against
// the digests that list it. Digests arrive first (the scan's first phase);
// the chains are verified once, when the first log or Insights file
// arrives, so that every log verdict is final. It keeps per digest a few
// fields and per listed log file its expected hash: memory in proportion
// to the number of files, never to records.
//
// What it decides, and why:
//
//   - A digest is proven when its own signature (S3 metadata "signature")
//     verifies, when the next digest's previousDigestSignature verifies
//     over its signing string (only CloudTrail's key makes such a
//     signature, whatever carries it: so every digest but the newest of a
//     plain copy without metadata is proven), or when a proven next digest
//     records its exact hash (previousDigestHashValue). A proven digest
//     that is where it claims to be is trusted: its log files are judged
//     against it, even if the signature stored beside it was replaced.
//   - Counts follow validate-logs where it looks: DigestsInvalid holds
//     bad or replaced signatures, moved, malformed and unknown-key
//     digests; DigestsMissing every absent digest, each of several
//     consecutive ones (inferred from the hourly cadence between the two
//     survivors), where the CLI reports one; DigestsUnverifiable those
//     that could not be proven but failed nothing (no keys, the newest
//     digest of a copy without metadata).
//   - previousDigestHashValue or previousDigestSignature that disagree
//     with the previous digest: that digest is invalid when the next one
//     is proven and it is not ("does not match the next digest",
//     critical); the next one is invalid when it is unproven and the
//     previous one proven ("does not match the previous digest",
//     critical); when both are proven it is a critical
//     digest-chain-break (two genuine digests that disagree); when
//     neither is, the previous one is invalid (high): one of the two was
//     altered.
//   - Log files: valid (a trusted digest lists the hash of its
//     decompressed bytes, nothing follows the gzip member); modified
//     (another hash, bytes after the gzip member, or unreadable with a
//     hash that does not match: CloudTrail delivers well-formed gzip);
//     unlisted (no digest lists it though the region has digests);
//     unverified (no digests in the region, only untrusted ones list it,
//     or it was named after the region's newest digest closed: not yet
//     covered). Insights files are judged only when a digest lists them.
//   - Severities: bad signatures, forged or replaced digests and modified
//     log files (against a trusted digest) are critical; missing digests,
//     missing log files, malformed, moved and unknown-key digests, and
//     files unlisted inside verified coverage are high; chain restarts,
//     digests outside the chain, chains that stop early, unlisted files
//     outside verified coverage and files missing against an unverified
//     digest are medium (modified against one: high); an orderly stop
//     (final digest) is low; digests left unverifiable are one info
//     finding per chain.
//   - Only the window is judged: digests ending in [start, end + 1h],
//     unlisted files named in [start, end), listed files with their
//     digest. A digest pointed to but absent is missing only when the
//     window has a start or an older digest of the chain survives: with
//     neither, the archive begins there.
type integrity struct {
	cfg      Config
	digests  map[string]*digestState
	chains   map[chainKey]*chainState
	scopes   map[scopeKey]*scopeState
	listings map[string][]*listing
	// logFindings are the log files' findings, made as they arrive; the
	// digest findings are the scopes'.
	logFindings []Finding
	// withoutDigests counts the record files in the window of regions
	// with no digest chain, which no chain counts.
	withoutDigests int
	// latest is the newest time anything in the archive speaks of: the
	// end of the window when none is given.
	latest time.Time
	// ledger, in an incremental analysis, holds the log and Insights
	// files earlier runs read. finish judges them again, against every
	// digest known by then, as a full run would have judged them; their
	// findings are never stored.
	ledger *ledger
}

// chainState is one chain being verified.
type chainState struct {
	key     chainKey
	scope   *scopeState
	digests []*digestState
	// head is the newest digest, kept when endScope lets digests go.
	head   *digestState
	counts Chain
	// missing holds the keys counted missing in this verify run.
	missing map[string]bool
}

// scopeState is what is known of one account × region.
type scopeState struct {
	key    scopeKey
	chains []*chainState
	// latestDigest is the newest digest end time seen; logs named later
	// (less pendingMargin) are not yet covered.
	latestDigest time.Time
	// covered are the windows of proven digests, sorted by start; holes
	// are the windows of digests known to be missing (deleted, or absent
	// from the hourly cadence).
	covered, holes []coveredWindow
	// usable tells whether any digest of the scope is not proven bad:
	// files no digest lists are then unlisted rather than unverified.
	usable bool
	// logsAfter counts log files named after latestDigest; lastLog is the
	// newest log file time.
	logsAfter int
	lastLog   time.Time
	// verified: the scope's chains were verified (when its first log or
	// Insights file arrived); stale: a digest arrived since.
	verified, stale bool
	// findings are the digest and chain findings of the last verification
	// and of stoppedChains.
	findings []Finding
	// listed are the log files, in this scope's folders, that digests list;
	// listsKind the kinds of file they list.
	listed    []string
	listsKind map[ingest.Kind]bool
	// closed: endScope judged the scope and let its digests and listings
	// go; nothing of it is expected any more.
	closed bool
}

type coveredWindow struct{ start, end time.Time }

// digestStatus is a digest's verdict.
type digestStatus uint8

const (
	digestUnverifiable digestStatus = iota
	digestValid
	digestInvalid
)

// digestState is what is kept of one digest: its parsed fields, the hash
// of its raw decompressed bytes, its signature, and what verify found.
type digestState struct {
	key     string
	loc     ingest.Location
	chain   *chainState
	readErr string
	// readFailed: its bytes could not be fetched (ingest.Result.ReadFailed).
	readFailed bool
	parsed     bool

	startText, endText string
	start, end         time.Time
	bucket, object     string
	fingerprint        string
	algorithm          string
	prevBucket         *string
	prevObject         *string
	prevHash           *string
	prevSig            *string
	sum                [32]byte
	trailing           int64
	logFiles           int

	metaSig, metaAlgorithm, backfillTime string
	hasMetaSig                           bool

	// raw and meta are the digest as read, kept for snapshots
	// (Config.KeepState).
	raw  *ingest.Digest
	meta ingest.Metadata

	result digestResult
}

// digestResult is what verify concluded about one digest.
type digestResult struct {
	status digestStatus
	// ownVerified: its signature (from metadata) verifies.
	ownVerified bool
	// provenBy is the newer digest that proves it: the signature it
	// recorded verifies, or, proven itself, it records the same hash.
	provenBy *digestState
	// trusted: its content is proven and it is where it claims to be, so
	// the log files it lists are judged against it.
	trusted bool
	moved   bool
	// keyUnknown: signed with a key not among the public keys given.
	keyUnknown bool
	// problems are why it is invalid; the first is the headline.
	problems []digestProblem
	// unverifiable says why a digest could not be proven.
	unverifiable string
}

// digestProblem is one failed check of a digest.
type digestProblem struct {
	severity Severity
	reason   string
	detail   string
	evidence map[string]any
}

// listing is one digest's entry for a log file.
type listing struct {
	digest    *digestState
	bucket    string
	hash      string
	algorithm string
	seen      bool
}

func newIntegrity(cfg Config) *integrity {
	return &integrity{
		cfg:      cfg,
		digests:  map[string]*digestState{},
		chains:   map[chainKey]*chainState{},
		scopes:   map[scopeKey]*scopeState{},
		listings: map[string][]*listing{},
	}
}

func (in *integrity) scope(loc ingest.Location) *scopeState {
	k := scopeKey{loc.Prefix, loc.OrgID, loc.Account, loc.Region}
	s := in.scopes[k]
	if s == nil {
		s = &scopeState{key: k, listsKind: map[ingest.Kind]bool{}}
		in.scopes[k] = s
	}
	return s
}

func (in *integrity) object(r *ingest.Result, v *Verdict) {
	switch r.Location.Kind {
	case ingest.KindDigest:
		in.addDigest(r)
	case ingest.KindLog, ingest.KindInsight, ingest.KindNetworkActivity, ingest.KindAggregated:
		if s := in.scope(r.Location); !s.verified {
			in.verify(s)
		}
		*v = in.judgeLog(r)
	}
}

func (*integrity) event(*ingest.Record, *ingest.Result) {}

// addDigest keeps what verification needs of a digest.
func (in *integrity) addDigest(r *ingest.Result) {
	loc := r.Location
	if s := in.scope(loc); s.verified {
		s.stale = true
	}
	d := &digestState{
		key:      r.Object.Key,
		loc:      loc,
		sum:      r.Body.SHA256,
		trailing: r.Body.Trailing,
		end:      loc.Time,
	}
	if in.cfg.KeepState {
		d.raw, d.meta = verifiedPart(r.Digest), r.Metadata
	}
	if sig, ok := r.Metadata["signature"]; ok {
		d.metaSig, d.hasMetaSig = sig, true
	}
	d.metaAlgorithm = r.Metadata["signature-algorithm"]
	d.backfillTime = r.Metadata["backfill-generation-timestamp"]
	if r.Err != nil || r.Digest == nil {
		d.readErr, d.readFailed = "unreadable", r.ReadFailed
		if r.Err != nil {
			d.readErr = r.Err.Error()
		}
	} else {
		dg := r.Digest
		d.parsed = true
		d.startText, d.endText = dg.DigestStartTime, dg.DigestEndTime
		d.start, _ = time.Parse(time.RFC3339, dg.DigestStartTime)
		if t, err := time.Parse(time.RFC3339, dg.DigestEndTime); err == nil {
			d.end = t
		}
		d.bucket, d.object = dg.DigestS3Bucket, dg.DigestS3Object
		d.fingerprint, d.algorithm = dg.DigestPublicKeyFingerprint, dg.DigestSignatureAlgorithm
		d.prevBucket, d.prevObject = dg.PreviousDigestS3Bucket, dg.PreviousDigestS3Object
		d.prevHash, d.prevSig = dg.PreviousDigestHashValue, dg.PreviousDigestSignature
		d.logFiles = len(dg.LogFiles)
		for _, f := range dg.LogFiles {
			if _, known := in.listings[f.S3Object]; !known {
				// The scope of the folder the file belongs in, which
				// judges it missing when it is done.
				if fl := ingest.ParseKey(f.S3Object); fl.Kind.HoldsRecords() {
					ls := in.scope(fl)
					ls.listed = append(ls.listed, f.S3Object)
					ls.listsKind[fl.Kind] = true
				}
			}
			in.listings[f.S3Object] = append(in.listings[f.S3Object], &listing{
				digest:    d,
				bucket:    f.S3Bucket,
				hash:      strings.ToLower(f.HashValue),
				algorithm: f.HashAlgorithm,
			})
		}
	}
	if d.start.IsZero() {
		d.start = d.end.Add(-digestPeriod)
	}
	if old := in.digests[d.key]; old != nil {
		// The same key twice (a source that lists it twice, or a digest
		// changed since an earlier run read it): keep the newer.
		old.chain.digests = slices.DeleteFunc(old.chain.digests, func(x *digestState) bool { return x == old })
		if old.raw != nil {
			for _, f := range old.raw.LogFiles {
				ls := slices.DeleteFunc(in.listings[f.S3Object], func(l *listing) bool { return l.digest == old })
				if len(ls) == 0 {
					delete(in.listings, f.S3Object)
				} else {
					in.listings[f.S3Object] = ls
				}
			}
		}
	}
	in.digests[d.key] = d
	ck := chainKey{loc.Prefix, loc.OrgID, loc.Account, loc.Region, loc.Trail, loc.HomeRegion, loc.Backfill}
	c := in.chains[ck]
	if c == nil {
		s := in.scope(loc)
		c = &chainState{key: ck, scope: s}
		in.chains[ck] = c
		s.chains = append(s.chains, c)
	}
	d.chain = c
	c.digests = append(c.digests, d)
	s := in.scope(loc)
	if d.end.After(s.latestDigest) {
		s.latestDigest = d.end
	}
	if d.end.After(in.latest) {
		in.latest = d.end
	}
}

// verifiedPart returns a copy of a digest without the event times, which
// nothing checks: a snapshot keeps the rest.
func verifiedPart(d *ingest.Digest) *ingest.Digest {
	if d == nil {
		return nil
	}
	c := *d
	c.NewestEventTime, c.OldestEventTime = nil, nil
	c.LogFiles = make([]ingest.DigestFile, len(d.LogFiles))
	for i, f := range d.LogFiles {
		f.NewestEventTime, f.OldestEventTime = nil, nil
		c.LogFiles[i] = f
	}
	return &c
}

// judged reports whether a digest ending at t counts in the window: its end
// in [start, end + 1h], as validate-logs counts.
func (in *integrity) judged(t time.Time) bool {
	w := in.cfg.Window
	return (w.Start.IsZero() || !t.Before(w.Start)) && (w.End.IsZero() || !t.After(w.End.Add(digestSpillover)))
}

// expectedBucket is the bucket a digest and the files it lists should be
// in: the archive's, when known, else the digest's own claim (a directory
// copy without StateDir/source.json does not know its bucket; the
// signing string always uses the digest's own digestS3Bucket, and the
// findings say when it could not be checked).
func expectedBucket(cfg Config, d *digestState) string {
	if cfg.Bucket != "" {
		return cfg.Bucket
	}
	return d.bucket
}

// SigningString returns the exact bytes CloudTrail signs for a digest:
// digestEndTime, bucket/key, the hex SHA-256 of the raw decompressed digest
// and the previous digest's signature ("null" for a starting digest),
// joined by single line feeds, with no trailing newline. The values are
// the JSON-decoded ones: CloudTrail writes "\/", the signing string has
// "/".
func SigningString(d *ingest.Digest, rawSHA256 [32]byte) []byte {
	return signingString(d.DigestEndTime, d.DigestS3Bucket, d.DigestS3Object, rawSHA256, d.PreviousDigestSignature)
}

func signingString(endTime, bucket, object string, sum [32]byte, prevSig *string) []byte {
	prev := "null"
	if prevSig != nil {
		prev = *prevSig
	}
	var b strings.Builder
	b.Grow(len(endTime) + len(bucket) + len(object) + len(prev) + 70)
	b.WriteString(endTime)
	b.WriteByte('\n')
	b.WriteString(bucket)
	b.WriteByte('/')
	b.WriteString(object)
	b.WriteByte('\n')
	b.WriteString(hex.EncodeToString(sum[:]))
	b.WriteByte('\n')
	b.WriteString(prev)
	return []byte(b.String())
}

// decodeSignature reads a hex signature as CloudTrail writes it (lower
// case in practice; upper case accepted).
func decodeSignature(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty signature")
	}
	sig, err := hex.DecodeString(strings.ToLower(s))
	if err != nil {
		return nil, fmt.Errorf("signature is not hex: %w", err)
	}
	return sig, nil
}

// VerifyDigest checks a digest's signature (hex, as S3 metadata or the
// next digest's previousDigestSignature holds it) with pub: RSASSA-PKCS1
// v1.5 over the SHA-256 of the signing string.
func VerifyDigest(pub *rsa.PublicKey, d *ingest.Digest, rawSHA256 [32]byte, signature string) error {
	return verifySignature(pub, SigningString(d, rawSHA256), signature)
}

func verifySignature(pub *rsa.PublicKey, msg []byte, signature string) error {
	sig, err := decodeSignature(signature)
	if err != nil {
		return err
	}
	h := sha256.Sum256(msg)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
		return fmt.Errorf("signature does not verify: %w", err)
	}
	return nil
}

func (d *digestState) signingString() []byte {
	return signingString(d.endText, d.bucket, d.object, d.sum, d.prevSig)
}

func (d *digestState) isStart() bool {
	return d.parsed && d.prevObject == nil && d.prevBucket == nil
}

// isFinal reports whether d is the short final digest CloudTrail delivers
// when logging stops or the trail is deleted.
func (d *digestState) isFinal() bool {
	return d.parsed && !d.start.IsZero() && d.end.Sub(d.start) < finalDigestBelow
}

func (d *digestState) sumHex() string { return hex.EncodeToString(d.sum[:]) }

func (d *digestState) fail(sev Severity, reason, detail string, evidence map[string]any) {
	d.result.problems = append(d.result.problems, digestProblem{severity: sev, reason: reason, detail: detail, evidence: evidence})
}

func (d *digestState) proven() bool { return d.result.ownVerified || d.result.provenBy != nil }

// verify checks every chain: each digest on its own (format, location,
// signature), then the links from newest to oldest, so that a digest whose
// signature was lost with its metadata is proven by the newer digest that
// commits to its bytes. It can run again (a digest that arrived late); each
// run starts afresh.
func (in *integrity) verify(s *scopeState) {
	s.verified, s.stale = true, false
	s.findings = nil
	var all []*digestState
	for _, c := range s.chains {
		c.counts = Chain{}
		c.missing = map[string]bool{}
		slices.SortFunc(c.digests, compareDigests)
		all = append(all, c.digests...)
	}
	s.covered, s.holes = s.covered[:0], s.holes[:0]
	s.usable = false
	for _, d := range all {
		d.result = digestResult{}
		in.checkOwn(d)
	}
	// Newest first: when a digest's links are followed, every digest that
	// could prove it has been settled.
	slices.SortFunc(all, func(a, b *digestState) int { return compareDigests(b, a) })
	for _, d := range all {
		in.checkLinks(d)
	}
	for _, d := range all {
		in.settle(d)
	}
	for _, c := range s.chains {
		in.checkOrder(c)
	}
	slices.SortFunc(s.covered, func(a, b coveredWindow) int { return a.start.Compare(b.start) })
}

// sortedScopes are the scopes in key order.
func (in *integrity) sortedScopes() []*scopeState {
	out := make([]*scopeState, 0, len(in.scopes))
	for _, s := range in.scopes {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *scopeState) int {
		return cmp.Or(cmp.Compare(a.key.prefix, b.key.prefix), cmp.Compare(a.key.org, b.key.org),
			cmp.Compare(a.key.account, b.key.account), cmp.Compare(a.key.region, b.key.region))
	})
	return out
}

// verifyAll verifies every open scope never verified, or (stale) with
// digests that arrived since.
func (in *integrity) verifyAll(stale bool) {
	for _, s := range in.sortedScopes() {
		if !s.closed && (!s.verified || (stale && s.stale)) {
			in.verify(s)
		}
	}
}

// endScope judges a scope whose objects have all been observed (its
// missing log files) and lets go of what only its own objects needed:
// digests, listings, covered windows. Counts, findings and each chain's
// newest digest stay for finish. A run that keeps state, or reads
// version history afterwards, needs them all and lets nothing go.
func (in *integrity) endScope(k scopeKey) {
	s := in.scopes[k]
	if s == nil || s.closed || in.cfg.KeepState {
		return
	}
	if !s.verified || s.stale {
		in.verify(s)
	}
	slices.Sort(s.listed)
	s.listed = slices.Compact(s.listed)
	in.missingLogs(s.listed)
	for _, c := range s.chains {
		c.head = c.last()
		for _, d := range c.digests {
			if in.digests[d.key] == d {
				delete(in.digests, d.key)
			}
		}
		c.digests, c.missing = nil, nil
	}
	for _, key := range s.listed {
		delete(in.listings, key)
	}
	s.listed, s.covered, s.holes = nil, nil, nil
	s.closed = true
}

// last is the chain's newest digest: the head endScope kept, or the last
// of the digests sorted by verify.
func (c *chainState) last() *digestState {
	if len(c.digests) > 0 {
		return c.digests[len(c.digests)-1]
	}
	return c.head
}

func compareDigests(a, b *digestState) int {
	return cmp.Or(a.loc.Time.Compare(b.loc.Time), strings.Compare(a.key, b.key))
}

// checkOwn runs the checks a digest allows on its own.
func (in *integrity) checkOwn(d *digestState) {
	res := &d.result
	if !d.parsed {
		if d.readFailed {
			// Nothing is known of its content: it cannot be verified,
			// which is no verdict on it.
			d.fail(Medium, "could not be fetched", "the digest's bytes could not be fetched ("+d.readErr+"): it cannot be verified, and neither can what it lists", map[string]any{"error": d.readErr})
			return
		}
		d.fail(High, "invalid format", "the digest cannot be read: "+d.readErr, map[string]any{"error": d.readErr})
		return
	}
	if d.trailing > 0 {
		d.fail(High, "data after the gzip member",
			fmt.Sprintf("%d bytes follow the digest's gzip member; CloudTrail writes one member, so they were appended later", d.trailing),
			map[string]any{"trailing_bytes": d.trailing})
	}
	if d.object != d.key || (in.cfg.Bucket != "" && d.bucket != in.cfg.Bucket) {
		res.moved = true
		claimed := d.bucket + "/" + d.object
		actual := in.cfg.Bucket + "/" + d.key
		if in.cfg.Bucket == "" {
			actual = "(bucket unknown)/" + d.key
		}
		d.fail(High, "moved", "the digest names "+claimed+" as its location but was found at "+actual+": it has been moved from its original location",
			map[string]any{"claimed_location": claimed, "actual_location": actual})
	}
	if d.algorithm != "" && d.algorithm != signatureAlgorithm {
		d.fail(High, "unsupported signature algorithm", "digestSignatureAlgorithm is "+d.algorithm+", not "+signatureAlgorithm,
			map[string]any{"algorithm": d.algorithm})
	}
	if d.loc.Backfill && d.hasMetaSig && d.backfillTime == "" {
		d.fail(High, "invalid format", "a backfill digest without backfill-generation-timestamp metadata",
			map[string]any{"metadata": "backfill-generation-timestamp missing"})
	}
	if !d.hasMetaSig && in.cfg.SignaturesKept {
		d.fail(High, "signature missing",
			"the digest has no signature, although CloudTrail stores one with every digest it writes and this source keeps object metadata "+
				"(other digests have theirs): the signature was removed, or CloudTrail did not write this digest",
			map[string]any{"signature": "missing"})
	}
	if in.cfg.PublicKeys.Len() == 0 {
		res.unverifiable = "no public keys given (--public-keys)"
		return
	}
	pub, ok := in.cfg.PublicKeys.Lookup(d.fingerprint)
	if !ok {
		res.keyUnknown = true
		res.unverifiable = "public key " + d.fingerprint + " not among the keys given"
		return
	}
	if !d.hasMetaSig {
		res.unverifiable = "no signature: this copy did not keep the objects' metadata, where CloudTrail stores each digest's signature (a plain aws s3 sync copy); " +
			"every digest a newer one links to is still proven by the signature that one records, so only the newest digest of each chain is left unproven. " +
			"Read the archive from S3, or from a copy made by trailcover acquire, to verify it"
		return
	}
	if err := verifySignature(pub, d.signingString(), d.metaSig); err != nil {
		d.fail(Critical, "signature verification failed",
			"the signature stored with the digest does not verify with public key "+d.fingerprint+": the digest or its signature was altered",
			map[string]any{"fingerprint": d.fingerprint, "error": err.Error(), "signature": d.metaSig, "signature_algorithm": d.metaAlgorithm})
		return
	}
	res.ownVerified = true
}

// checkLinks follows d's previous-digest pointer: the digest pointed to
// must exist, hash to previousDigestHashValue and verify with
// previousDigestSignature; a starting digest after older ones is a chain
// restart.
func (in *integrity) checkLinks(d *digestState) {
	if !d.parsed {
		return
	}
	c := d.chain
	judged := in.judged(d.loc.Time)
	if d.isStart() {
		older := c.before(d)
		if older != nil && judged {
			from, to := older.end, d.start
			title := fmt.Sprintf("Digest chain restarts: no digests between %s and %s", stamp(from), stamp(to))
			if to.Before(from) {
				// The old chain's last window overlaps the new one.
				from = to
				title = fmt.Sprintf("Digest chain restarts at %s (the previous chain ran until %s)", stamp(d.start), stamp(older.end))
			}
			in.addChainFinding(c, Finding{
				Kind:     KindDigestChainBreak,
				Severity: Medium,
				Start:    from,
				End:      to,
				Title:    title,
				Detail: "The digest " + d.key + " starts a new chain (its previousDigest fields are null) although an older digest exists. " +
					"Logging or log file validation was stopped and started again, or the trail was re-created; nothing delivered in between is covered. " +
					"Look for StopLogging, StartLogging, UpdateTrail and DeleteTrail events.",
				Evidence: map[string]any{
					"digest_key":     d.key,
					"previous_key":   older.key,
					"previous_end":   stamp(older.end),
					"previous_final": older.isFinal(),
					"restart_start":  stamp(d.start),
					"gap_hours":      roundHours(to.Sub(from)),
				},
			})
		}
		return
	}
	if d.prevObject == nil {
		return
	}
	prevKey := *d.prevObject
	if d.prevBucket != nil && *d.prevBucket != expectedBucket(in.cfg, d) {
		// The chain continues in another bucket: out of this archive.
		return
	}
	p := in.digests[prevKey]
	if p == nil {
		in.missingLink(d, prevKey)
		return
	}
	var mismatch []string
	ev := map[string]any{"digest_key": p.key, "next_digest_key": d.key}
	if d.prevHash != nil {
		ev["expected_sha256"] = strings.ToLower(*d.prevHash)
		ev["actual_sha256"] = p.sumHex()
		if !strings.EqualFold(*d.prevHash, p.sumHex()) {
			mismatch = append(mismatch, "its SHA-256 is not the previousDigestHashValue the next digest recorded")
		}
	}
	sigOK := false
	if d.prevSig != nil && p.parsed {
		if pub, ok := in.cfg.PublicKeys.Lookup(p.fingerprint); ok {
			ev["previous_signature_checked"] = true
			sigOK = verifySignature(pub, p.signingString(), *d.prevSig) == nil
			if !sigOK {
				mismatch = append(mismatch, "the previousDigestSignature the next digest recorded does not verify it")
			}
		}
		if p.hasMetaSig && !strings.EqualFold(strings.TrimSpace(p.metaSig), strings.TrimSpace(*d.prevSig)) {
			ev["metadata_signature_differs"] = true
		}
	}
	// A previousDigestSignature that verifies over p's signing string
	// proves p whatever carries it: only CloudTrail's private key makes
	// such a signature. This is how every digest but the newest of a plain
	// copy (no metadata) is verified. previousDigestHashValue proves p
	// only when d itself is proven.
	switch {
	case sigOK:
		p.result.provenBy = d
	case d.proven() && len(mismatch) == 0 && d.prevHash != nil:
		p.result.provenBy = d
	}
	if len(mismatch) == 0 {
		return
	}
	pProven := p.result.ownVerified || sigOK
	switch {
	case d.proven() && pProven:
		// Both digests are CloudTrail's and still disagree.
		if in.judged(p.loc.Time) || judged {
			in.addChainFinding(c, Finding{
				Kind:     KindDigestChainBreak,
				Severity: Critical,
				Start:    p.start,
				End:      d.end,
				Title:    "Digest link broken between two verified digests: " + p.key,
				Detail:   "Both digests verify, yet " + strings.Join(mismatch, ", and ") + ". A digest was replaced by another signed one.",
				Evidence: ev,
			})
		}
	case d.proven():
		p.fail(Critical, "does not match the next digest",
			"The verified next digest "+d.key+" commits to other bytes: "+strings.Join(mismatch, ", and ")+". The digest was altered or replaced.", ev)
	case pProven:
		// p is CloudTrail's; d, unproven, contradicts it: d is not.
		ev["digest_key"], ev["previous_digest_key"] = d.key, p.key
		delete(ev, "next_digest_key")
		d.fail(Critical, "does not match the previous digest",
			"The verified previous digest "+p.key+" is not what this digest records: "+strings.Join(mismatch, ", and ")+". This digest was altered or forged.", ev)
	default:
		p.fail(High, "does not match the next digest",
			"The next digest "+d.key+" (itself unverified) disagrees: "+strings.Join(mismatch, ", and ")+". One of the two digests was altered.", ev)
	}
}

// missingLink reports the absent digest d points to and, when an older
// digest of the chain survives, every hourly digest inferred missing in
// between: deleting several consecutive digests leaves only the newest
// pointer, so the others are found from CloudTrail's hourly cadence.
func (in *integrity) missingLink(d *digestState, prevKey string) {
	c := d.chain
	ploc := ingest.ParseKey(prevKey)
	if ploc.Kind != ingest.KindDigest {
		if in.judged(d.loc.Time) {
			d.fail(High, "invalid format", "previousDigestS3Object "+prevKey+" is not a digest key", map[string]any{"previous_key": prevKey})
		}
		return
	}
	older := c.beforeTime(ploc.Time)
	if older == nil && in.cfg.Window.Start.IsZero() {
		// The archive begins here: with no window start, digests before
		// the oldest one seen were never part of it.
		return
	}
	ev := map[string]any{
		"missing_key":    prevKey,
		"pointed_to_by":  d.key,
		"inferred":       false,
		"expected_start": stamp(ploc.Time.Add(-digestPeriod)),
		"expected_end":   stamp(ploc.Time),
	}
	if d.prevHash != nil {
		// What the missing digest hashed to: a surviving copy (a
		// noncurrent version) is the original if it matches.
		ev["expected_sha256"] = strings.ToLower(*d.prevHash)
	}
	in.addMissing(c, prevKey, ploc.Time, ev)
	if older == nil {
		return
	}
	hole := ploc.Time.Sub(older.loc.Time)
	hours := hole.Round(digestPeriod) / digestPeriod
	offBeat := (hole - hours*digestPeriod).Abs() > 2*time.Second
	if hours <= 1 || c.key.backfill {
		// Backfill digests come when needed, not hourly: nothing to infer.
		return
	}
	if offBeat || older.isFinal() || hours-1 > maxInferredMissing {
		// Not on the same hourly beat (a restart in between, or a final
		// digest): how many digests are gone cannot be told.
		if in.judged(ploc.Time) {
			in.addChainFinding(c, Finding{
				Kind:     KindDigestMissing,
				Severity: High,
				Start:    older.end,
				End:      ploc.Time.Add(-digestPeriod),
				Title:    fmt.Sprintf("Digests missing between %s and %s", stamp(older.end), stamp(ploc.Time.Add(-digestPeriod))),
				Detail:   "Besides " + prevKey + ", an unknown number of digests is absent between the surviving " + older.key + " and it.",
				Evidence: map[string]any{"older_digest": older.key, "missing_key": prevKey, "pointed_to_by": d.key},
			})
		}
		return
	}
	for k := time.Duration(1); k < hours; k++ {
		t := older.loc.Time.Add(k * digestPeriod)
		loc := ploc
		loc.Time = t
		key := loc.ObjectKey()
		if in.digests[key] != nil {
			continue
		}
		in.addMissing(c, key, t, map[string]any{
			"missing_key":    key,
			"inferred":       true,
			"older_digest":   older.key,
			"pointed_to_by":  d.key,
			"newest_missing": prevKey,
			"expected_start": stamp(t.Add(-digestPeriod)),
			"expected_end":   stamp(t),
		})
	}
}

func (in *integrity) addMissing(c *chainState, key string, end time.Time, ev map[string]any) {
	if c.missing[key] {
		return
	}
	c.scope.holes = append(c.scope.holes, coveredWindow{end.Add(-digestPeriod), end})
	if !in.judged(end) {
		c.missing[key] = true
		return
	}
	c.missing[key] = true
	c.counts.DigestsMissing++
	in.addChainFinding(c, Finding{
		Kind:     KindDigestMissing,
		Severity: High,
		Start:    end.Add(-digestPeriod),
		End:      end,
		Title:    "Digest missing: " + key,
		Detail: "The digest for " + stamp(end.Add(-digestPeriod)) + " to " + stamp(end) + " is absent. " +
			"Its hour cannot be verified: log files delivered in it cannot be verified, and deleted ones leave no trace.",
		Evidence: ev,
	})
}

// before returns the newest digest of c older than d.
func (c *chainState) before(d *digestState) *digestState {
	i, _ := slices.BinarySearchFunc(c.digests, d, compareDigests)
	if i > 0 {
		return c.digests[i-1]
	}
	return nil
}

// beforeTime returns the newest digest of c ending before t.
func (c *chainState) beforeTime(t time.Time) *digestState {
	i, _ := slices.BinarySearchFunc(c.digests, t, func(d *digestState, t time.Time) int { return d.loc.Time.Compare(t) })
	if i > 0 {
		return c.digests[i-1]
	}
	return nil
}

// settle decides a digest's status and counts it.
func (in *integrity) settle(d *digestState) {
	res := &d.result
	proven := d.proven()
	res.trusted = proven && d.parsed && !res.moved
	switch {
	case len(res.problems) > 0:
		res.status = digestInvalid
	case res.keyUnknown && !proven && d.hasMetaSig:
		res.status = digestInvalid
	case proven:
		res.status = digestValid
	default:
		res.status = digestUnverifiable
	}
	s := in.scope(d.loc)
	if res.status != digestInvalid || res.trusted {
		s.usable = true
	}
	if res.trusted {
		s.covered = append(s.covered, coveredWindow{d.start, d.end})
	}
	if !in.judged(d.loc.Time) {
		return
	}
	c := &d.chain.counts
	if c.First.IsZero() || d.start.Before(c.First) {
		c.First = d.start
	}
	if d.end.After(c.Last) {
		c.Last = d.end
	}
	switch res.status {
	case digestValid:
		c.DigestsValid++
	case digestInvalid:
		c.DigestsInvalid++
		if len(res.problems) > 0 {
			in.invalidFinding(d)
		}
	default:
		c.DigestsUnverifiable++
	}
}

// invalidFinding reports a digest that failed a check.
func (in *integrity) invalidFinding(d *digestState) {
	p := d.result.problems[0]
	sev := p.severity
	var reasons []string
	for _, q := range d.result.problems {
		sev = max(sev, q.severity)
		reasons = append(reasons, q.reason)
	}
	ev := map[string]any{
		"digest_key":  d.key,
		"reasons":     reasons,
		"fingerprint": d.fingerprint,
		"sha256":      d.sumHex(),
		"log_files":   d.logFiles,
	}
	for _, q := range d.result.problems {
		for k, v := range q.evidence {
			if _, dup := ev[k]; !dup {
				ev[k] = v
			}
		}
	}
	if in.cfg.Bucket == "" {
		ev["signing_bucket"] = d.bucket + " (the digest's own; the archive's bucket is unknown)"
	}
	detail := p.detail
	if d.result.trusted {
		detail += " Its content is nevertheless proven by the next digest " + d.result.provenBy.key + ", so the log files it lists are still checked against it."
	} else if d.logFiles > 0 {
		detail += fmt.Sprintf(" The %d log files it lists cannot be verified.", d.logFiles)
	}
	in.addChainFinding(d.chain, Finding{
		Kind:     KindDigestInvalid,
		Severity: sev,
		Start:    d.start,
		End:      d.end,
		Title:    "Digest invalid (" + p.reason + "): " + d.key,
		Detail:   detail,
		Evidence: ev,
	})
}

// checkOrder reports digests that a newer digest skips over (not linked
// while the next digest points further back), and digests signed with
// unknown keys or left unverifiable, one finding per chain.
func (in *integrity) checkOrder(c *chainState) {
	var unknownKeys, unverifiable []string
	fingerprints := map[string]bool{}
	var why string
	for i, d := range c.digests {
		if !in.judged(d.loc.Time) {
			continue
		}
		switch {
		case d.result.status == digestInvalid && d.result.keyUnknown && len(d.result.problems) == 0:
			unknownKeys = append(unknownKeys, d.key)
			fingerprints[d.fingerprint] = true
		case d.result.status == digestUnverifiable:
			unverifiable = append(unverifiable, d.key)
			why = d.result.unverifiable
		}
		if i+1 >= len(c.digests) {
			continue
		}
		next := c.digests[i+1]
		if !next.parsed || next.isStart() || next.prevObject == nil || *next.prevObject == d.key {
			continue
		}
		if t := ingest.ParseKey(*next.prevObject).Time; !t.IsZero() && t.Before(d.loc.Time) {
			in.addChainFinding(c, Finding{
				Kind:     KindDigestChainBreak,
				Severity: Medium,
				Start:    d.start,
				End:      d.end,
				Title:    "Digest outside the chain: " + d.key,
				Detail:   "The next digest " + next.key + " points to the older " + *next.prevObject + ", skipping this one: it was not delivered as part of the chain.",
				Evidence: map[string]any{"digest_key": d.key, "next_digest_key": next.key, "next_points_to": *next.prevObject},
			})
		}
	}
	if len(unknownKeys) > 0 {
		in.addChainFinding(c, Finding{
			Kind:     KindDigestInvalid,
			Severity: High,
			Start:    c.digestTime(unknownKeys[0], true),
			End:      c.digestTime(unknownKeys[len(unknownKeys)-1], false),
			Title:    fmt.Sprintf("%d digests signed with a public key not given", len(unknownKeys)),
			Detail: "The digests name a signing key that is not among the public keys given (--public-keys). " +
				"Fetch the keys of this region with `aws cloudtrail list-public-keys --region " + c.key.region + "` for the window; a digest signed with a key CloudTrail never published is forged.",
			Evidence: map[string]any{"fingerprints": sortedKeys(fingerprints), "count": len(unknownKeys), "digest_keys": capKeys(unknownKeys), "keys_given": in.cfg.PublicKeys.Fingerprints()},
		})
	}
	if len(unverifiable) > 0 {
		in.addChainFinding(c, Finding{
			Kind:     KindDigestInvalid,
			Severity: Info,
			Start:    c.digestTime(unverifiable[0], true),
			End:      c.digestTime(unverifiable[len(unverifiable)-1], false),
			Title:    fmt.Sprintf("%d digests cannot be verified", len(unverifiable)),
			Detail:   "Their signatures could not be checked: " + why + ". Everything else about them (format, location, links, log file hashes) was checked.",
			Evidence: map[string]any{"status": "unverifiable", "reason": why, "count": len(unverifiable), "digest_keys": capKeys(unverifiable)},
		})
	}
}

func (c *chainState) digestTime(key string, start bool) time.Time {
	for _, d := range c.digests {
		if d.key == key {
			if start {
				return d.start
			}
			return d.end
		}
	}
	return time.Time{}
}

func capKeys(keys []string) []string {
	if len(keys) > maxEvidenceKeys {
		return append(slices.Clone(keys[:maxEvidenceKeys-1]), fmt.Sprintf("… and %d more", len(keys)-maxEvidenceKeys+1))
	}
	return keys
}

func (in *integrity) addChainFinding(c *chainState, f Finding) {
	f.Account, f.Region = c.key.account, c.key.region
	if f.Evidence == nil {
		f.Evidence = map[string]any{}
	}
	f.Evidence["trail"] = c.key.trail
	f.Evidence["home_region"] = c.key.home
	if c.key.backfill {
		f.Evidence["backfill"] = true
	}
	c.scope.findings = append(c.scope.findings, f)
}

// judgeLog gives a log or Insights file its verdict against the digests
// that list it, and counts it in the chain of the digest used.
//
// An unreadable file that a digest lists is modified: CloudTrail delivers
// well-formed gzip, so bytes that cannot be read are not what it hashed,
// unless the hash still matches (then only a record failed to parse, and
// the file is valid).
func (in *integrity) judgeLog(r *ingest.Result) Verdict {
	loc := r.Location
	s := in.scope(loc)
	if loc.Time.After(s.lastLog) {
		s.lastLog = loc.Time
	}
	if loc.Time.After(in.latest) {
		in.latest = loc.Time
	}
	// Digests list the key CloudTrail wrote; a decompressed or re-laid
	// copy of the file is looked up under it.
	listedAs := r.Object.Key
	if loc.Layout != "" {
		listedAs = loc.ObjectKey()
	}
	var best, rejected *listing
	for _, l := range in.listings[listedAs] {
		l.seen = true
		if !in.usable(l) {
			if l.bucket == expectedBucket(in.cfg, l.digest) && (rejected == nil || l.digest.key < rejected.digest.key) {
				rejected = l
			}
			continue
		}
		if better(l, best) {
			best = l
		}
	}
	if r.ReadFailed {
		// Its bytes could not be fetched (access denied, the transfer
		// failed): nothing is known of its content, and it is reported
		// unreadable, not modified.
		switch {
		case best != nil:
			return in.unverified(r, best.digest.chain, in.judged(best.digest.loc.Time))
		case rejected != nil:
			return in.unverified(r, rejected.digest.chain, in.judged(rejected.digest.loc.Time))
		}
		if len(s.chains) == 0 {
			return in.withoutChain(r)
		}
		return in.unverified(r, s.chainForLogs(), in.cfg.Window.Contains(loc.Time))
	}
	if best == nil && rejected != nil {
		// Only a digest that failed its checks lists the file. Where
		// verified digests cover every moment it could have been
		// delivered in and do not list it, CloudTrail did not deliver it,
		// whatever the rejected digest says (a forged digest launders
		// nothing); elsewhere nothing trustworthy can judge it.
		if in.verifiedAround(r, s) {
			return in.unlisted(r, s, rejected)
		}
		return in.unverified(r, rejected.digest.chain, in.judged(rejected.digest.loc.Time))
	}
	if best == nil {
		return in.unlisted(r, s, nil)
	}
	d := best.digest
	actual := ""
	if r.Body.SHA256 != ([32]byte{}) {
		actual = hex.EncodeToString(r.Body.SHA256[:])
	}
	var problem string
	switch {
	case actual != best.hash && r.Err != nil:
		problem = "it cannot be read (" + r.Err.Error() + "), so it is not the file CloudTrail hashed"
	case actual != best.hash:
		problem = "its decompressed bytes hash to " + actual + ", the digest lists " + best.hash
	case r.Body.Trailing > 0:
		problem = fmt.Sprintf("%d bytes follow its gzip member; they are not covered by the digest's hash and were appended later", r.Body.Trailing)
	}
	counted := in.judged(d.loc.Time)
	counts := &d.chain.counts
	if problem == "" {
		if !d.result.trusted {
			if counted {
				counts.LogsUnverified++
			}
			return VerdictUnverified
		}
		if counted {
			counts.LogsValid++
		}
		return VerdictValid
	}
	if counted {
		counts.LogsInvalid++
		sev := Critical
		trust := "a verified digest"
		if !d.result.trusted {
			sev, trust = High, "an unverified digest"
		}
		ev := map[string]any{
			"object_key":      r.Object.Key,
			"digest_key":      d.key,
			"expected_sha256": best.hash,
			"actual_sha256":   actual,
			"trailing_bytes":  r.Body.Trailing,
			"digest_verified": d.result.trusted,
		}
		if r.Err != nil {
			ev["error"] = r.Err.Error()
		}
		in.logFindings = append(in.logFindings, in.logFinding(d.chain, Finding{
			Kind:     KindLogFileModified,
			Severity: sev,
			Start:    loc.Time,
			End:      loc.Time,
			Title:    "Log file modified: " + r.Object.Key,
			Detail:   "The log file is listed in " + trust + " (" + d.key + "), but " + problem + ".",
			Evidence: ev,
		}))
	}
	return VerdictModified
}

// judgeVersion gives a noncurrent version of a log file its verdict
// against the digests that list its key, as judgeLog would, without
// counting it in a chain or reporting it: the current object (or its
// absence) is what the chain counts, and the version annotates that.
func (in *integrity) judgeVersion(r *ingest.Result) Verdict {
	in.verifyAll(false)
	var best *listing
	for _, l := range in.listings[r.Object.Key] {
		if in.usable(l) && better(l, best) {
			best = l
		}
	}
	if best == nil {
		loc := r.Location
		s := in.scopes[scopeKey{loc.Prefix, loc.OrgID, loc.Account, loc.Region}]
		if loc.Kind == ingest.KindLog && s != nil && len(s.chains) > 0 && s.usable && loc.Time.Before(s.latestDigest.Add(-pendingMargin)) {
			return VerdictUnlisted
		}
		return VerdictUnverified
	}
	if hex.EncodeToString(r.Body.SHA256[:]) != best.hash || r.Body.Trailing > 0 {
		return VerdictModified
	}
	if !best.digest.result.trusted {
		return VerdictUnverified
	}
	return VerdictValid
}

// better reports whether listing l judges a file better than best: a
// trusted digest before an untrusted one, then the digest with the
// smallest key, so that the choice never depends on the order digests
// arrived in.
func better(l, best *listing) bool {
	if best == nil {
		return true
	}
	if lt, bt := l.digest.result.trusted, best.digest.result.trusted; lt != bt {
		return lt
	}
	return l.digest.key < best.digest.key
}

// usable reports whether a listing can judge a file: its digest is not
// proven bad, and it lists the file in this archive with SHA-256.
func (in *integrity) usable(l *listing) bool {
	d := l.digest
	if d.result.status == digestInvalid && !d.result.trusted {
		return false
	}
	if l.algorithm != "" && l.algorithm != hashAlgorithm {
		return false
	}
	return l.bucket == expectedBucket(in.cfg, d)
}

// appended reports a file no usable digest lists whose gzip member is
// followed by more bytes. CloudTrail writes a log file as one gzip member,
// so the rest was added after delivery, whether or not a digest could
// tell: a second member holds records that readers decoding every member
// (gunzip, most gzip libraries) see, and trailcover, as digests, does
// not.
func (in *integrity) appended(r *ingest.Result) Verdict {
	loc := r.Location
	if !in.cfg.Window.Contains(loc.Time) {
		return VerdictModified
	}
	f := Finding{
		Kind:     KindLogFileModified,
		Severity: High,
		Account:  loc.Account,
		Region:   loc.Region,
		Start:    loc.Time,
		End:      loc.Time,
		Title:    "Log file modified: " + r.Object.Key,
		Detail: fmt.Sprintf("No trusted digest lists this file, but %d bytes follow its gzip member. CloudTrail writes a log file as one gzip member: "+
			"the bytes were appended after delivery. Readers that decode every gzip member see what they hold; trailcover reads the first member only.", r.Body.Trailing),
		Evidence: map[string]any{
			"object_key":     r.Object.Key,
			"actual_sha256":  hex.EncodeToString(r.Body.SHA256[:]),
			"trailing_bytes": r.Body.Trailing,
			"size":           r.Object.Size,
		},
	}
	if r.Err != nil {
		f.Evidence["error"] = r.Err.Error()
	}
	in.logFindings = append(in.logFindings, f)
	return VerdictModified
}

// unverified gives the verdict of a file no trusted digest can judge,
// counted in chain c when counted (c nil: a region without digests,
// counted in none): unverified, unless its shape alone shows it changed.
func (in *integrity) unverified(r *ingest.Result, c *chainState, counted bool) Verdict {
	if r.Body.Trailing > 0 {
		if c != nil && counted {
			c.counts.LogsInvalid++
		}
		return in.appended(r)
	}
	if c != nil && counted {
		c.counts.LogsUnverified++
	}
	return VerdictUnverified
}

// withoutChain judges a file of a region that has no digest chain, counted
// in LogsWithoutDigests when it is a log file of the window.
func (in *integrity) withoutChain(r *ingest.Result) Verdict {
	if r.Location.Kind == ingest.KindLog && in.cfg.Window.Contains(r.Location.Time) {
		in.withoutDigests++
	}
	return in.unverified(r, nil, false)
}

// verifiedAround reports whether verified digests of r's region cover
// every moment the log file could have been delivered in, so that their
// not listing it is a verdict.
func (in *integrity) verifiedAround(r *ingest.Result, s *scopeState) bool {
	loc := r.Location
	return len(s.chains) > 0 && loc.Kind == ingest.KindLog && !strings.HasPrefix(loc.Layout, ingest.LayoutRelaid) &&
		!loc.Time.After(s.latestDigest.Add(-pendingMargin)) && s.usable &&
		in.cfg.Window.Contains(loc.Time) && s.covers(loc.Time, loc.Time.Add(deliveryLag))
}

// unlisted judges a file no usable digest lists; rejected, when not nil,
// is a digest that failed its checks and lists it.
func (in *integrity) unlisted(r *ingest.Result, s *scopeState, rejected *listing) Verdict {
	loc := r.Location
	if len(s.chains) == 0 {
		// A region without digests has nothing to check against.
		return in.withoutChain(r)
	}
	if loc.Kind != ingest.KindLog && !s.listsKind[loc.Kind] {
		// Insights files are outside digest coverage; whether digests
		// cover network activity and aggregated files is read from the
		// digests: only where they list files of that kind is one they
		// leave out unlisted.
		return in.unverified(r, nil, false)
	}
	c := s.chainForLogs()
	inWindow := in.cfg.Window.Contains(loc.Time)
	if strings.HasPrefix(loc.Layout, ingest.LayoutRelaid) {
		// Found by its name outside CloudTrail's folders, with the
		// trail's prefix unknown: no digest listing can be matched to it
		// with certainty.
		return in.unverified(r, c, inWindow)
	}
	if loc.Time.After(s.latestDigest.Add(-pendingMargin)) {
		// Delivered after the newest digest closed, or so close to it
		// that the next one would list it: not yet covered.
		if loc.Time.After(s.latestDigest) {
			s.logsAfter++
		}
		return in.unverified(r, c, inWindow)
	}
	if !s.usable {
		return in.unverified(r, c, inWindow)
	}
	if !inWindow {
		return VerdictUnlisted
	}
	switch {
	case s.covers(loc.Time, loc.Time.Add(deliveryLag)):
	case s.inHole(loc.Time, loc.Time.Add(deliveryLag)):
		// A missing digest may have listed it: whether CloudTrail
		// delivered it cannot be told either way.
		return in.unverified(r, c, true)
	}
	c.counts.LogsUnlisted++
	sev, where := Medium, "in a period no verified digest covers (validation off, or no public keys): whether CloudTrail delivered it cannot be verified"
	if s.covers(loc.Time, loc.Time.Add(deliveryLag)) {
		sev, where = High, fmt.Sprintf("although verified digests cover every moment it could have been delivered in (%s to %s) and list every other file: CloudTrail did not deliver it", stamp(loc.Time), stamp(loc.Time.Add(deliveryLag)))
	}
	ev := map[string]any{"object_key": r.Object.Key, "sha256": hex.EncodeToString(r.Body.SHA256[:]), "size": r.Object.Size}
	if r.Err != nil {
		ev["error"] = r.Err.Error()
	}
	if r.Body.Trailing > 0 {
		ev["trailing_bytes"] = r.Body.Trailing
		where += fmt.Sprintf("; and %d bytes follow its gzip member, which CloudTrail never writes", r.Body.Trailing)
	}
	title := "Log file not listed in any digest: " + r.Object.Key
	detail := "No digest of " + loc.Account + " " + loc.Region + " lists this file, named for " + stamp(loc.Time) + ", " + where + "."
	if rejected != nil {
		ev["listed_by_rejected_digest"] = rejected.digest.key
		title = "Log file not listed in any valid digest: " + r.Object.Key
		detail = "Only " + rejected.digest.key + ", a digest that failed its checks, lists this file, named for " + stamp(loc.Time) +
			"; no valid digest of " + loc.Account + " " + loc.Region + " does, " + where + "."
	}
	in.logFindings = append(in.logFindings, in.logFinding(c, Finding{
		Kind:     KindLogFileUnlisted,
		Severity: sev,
		Start:    loc.Time,
		End:      loc.Time,
		Title:    title,
		Detail:   detail,
		Evidence: ev,
	}))
	return VerdictUnlisted
}

func (in *integrity) logFinding(c *chainState, f Finding) Finding {
	f.Account, f.Region = c.key.account, c.key.region
	f.Evidence["trail"] = c.key.trail
	return f
}

// chainForLogs picks the chain unlisted files of the scope are counted in:
// the first standard chain by trail name.
func (s *scopeState) chainForLogs() *chainState {
	best := s.chains[0]
	for _, c := range s.chains[1:] {
		if (best.key.backfill && !c.key.backfill) || (best.key.backfill == c.key.backfill && c.key.trail < best.key.trail) {
			best = c
		}
	}
	return best
}

// covers reports whether the windows of verified digests cover every
// moment of [from, to].
func (s *scopeState) covers(from, to time.Time) bool {
	// Windows are sorted by start and barely overlap: start a few before
	// the first one starting after from, and extend the covered stretch
	// for as long as the next window starts inside it.
	i, _ := slices.BinarySearchFunc(s.covered, from, func(w coveredWindow, t time.Time) int {
		if w.start.After(t) {
			return 1
		}
		return -1
	})
	reach := from
	for _, w := range s.covered[max(0, i-3):] {
		if w.start.After(reach) {
			return false
		}
		if w.end.After(reach) {
			reach = w.end
		}
		if !reach.Before(to) {
			return true
		}
	}
	return false
}

// inHole reports whether [from, to] meets the window of a digest known to
// be missing.
func (s *scopeState) inHole(from, to time.Time) bool {
	for _, w := range s.holes {
		if w.start.Before(to) && from.Before(w.end) {
			return true
		}
	}
	return false
}

func (in *integrity) finish(res *Result) {
	// Judging the logs earlier runs read (incremental analyses) counts
	// too: the count is taken last.
	defer func() { res.LogsWithoutDigests = in.withoutDigests }()
	in.verifyAll(true)
	if in.ledger != nil {
		for _, key := range sortedKeys(in.ledger.restored) {
			e := in.ledger.restored[key]
			if in.ledger.added[key] == nil && e.kind.HoldsRecords() {
				in.judgeLog(e.result())
			}
		}
	}
	in.missingLogs(slices.Collect(maps.Keys(in.listings)))
	in.stoppedChains()
	keys := make([]chainKey, 0, len(in.chains))
	for k := range in.chains {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b chainKey) int {
		return cmp.Or(
			cmp.Compare(a.account, b.account),
			cmp.Compare(a.region, b.region),
			cmp.Compare(a.trail, b.trail),
			cmpBool(a.backfill, b.backfill),
			cmp.Compare(a.prefix, b.prefix),
			cmp.Compare(a.org, b.org),
			cmp.Compare(a.home, b.home),
		)
	})
	for _, k := range keys {
		c := in.chains[k]
		out := c.counts
		out.Account, out.OrgID, out.Region, out.Trail, out.HomeRegion, out.Backfill, out.Prefix =
			k.account, k.org, k.region, k.trail, k.home, k.backfill, k.prefix
		if out == (Chain{Account: out.Account, OrgID: out.OrgID, Region: out.Region, Trail: out.Trail,
			HomeRegion: out.HomeRegion, Backfill: out.Backfill, Prefix: out.Prefix}) {
			// Nothing of the chain falls in the window.
			continue
		}
		res.Chains = append(res.Chains, out)
	}
	for _, s := range in.sortedScopes() {
		res.Findings = append(res.Findings, s.findings...)
	}
	res.Findings = append(res.Findings, in.logFindings...)
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// missingLogs reports every file among listed that a counted digest lists
// and the archive does not hold, once per file.
func (in *integrity) missingLogs(listed []string) {
	keys := make([]string, 0)
	for _, key := range listed {
		ls := in.listings[key]
		seen := false
		for _, l := range ls {
			seen = seen || l.seen
		}
		if len(ls) > 0 && !seen {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		var best *listing
		for _, l := range in.listings[key] {
			if in.usable(l) && better(l, best) {
				best = l
			}
		}
		if best == nil || !in.judged(best.digest.loc.Time) {
			continue
		}
		d := best.digest
		d.chain.counts.LogsMissing++
		sev, trust := High, "a verified digest"
		if !d.result.trusted {
			sev, trust = Medium, "an unverified digest"
		}
		t := ingest.ParseKey(key).Time
		if t.IsZero() {
			t = d.end
		}
		in.logFindings = append(in.logFindings, in.logFinding(d.chain, Finding{
			Kind:     KindLogFileMissing,
			Severity: sev,
			Start:    t,
			End:      t,
			Title:    "Log file missing: " + key,
			Detail:   "The log file is listed in " + trust + " (" + d.key + ") but absent from the archive: it was deleted, or the copy is incomplete.",
			Evidence: map[string]any{"object_key": key, "digest_key": d.key, "expected_sha256": best.hash, "digest_verified": d.result.trusted},
		}))
	}
}

// stoppedChains reports chains whose digests stop well before the window
// ends (or the archive's newest object, without a window end), most
// suspicious when log files keep arriving after the last digest. These
// hours are not counted in DigestsMissing: how many digests are gone, or
// were never written because logging stopped, cannot be told.
func (in *integrity) stoppedChains() {
	// The window given is judged to its end: a chain whose newest
	// digests were deleted in every region stops before it.
	end := in.latest
	if e, ok := judgedEnd(in.cfg); ok {
		end = e
	}
	for _, s := range in.scopes {
		for _, c := range s.chains {
			head := c.last()
			if c.key.backfill || head == nil {
				continue
			}
			if !head.end.Add(stopAfter).Before(end) {
				continue
			}
			if w := in.cfg.Window.Start; !w.IsZero() && head.end.Add(stopAfter).Before(w) {
				continue
			}
			// CloudTrail ends a chain that logging stopped on with a final
			// digest (a window shorter than an hour); one that just
			// stops lost its newest digests.
			sev := High
			why := "no digest follows, and it is not the final digest CloudTrail writes when logging stops or a trail is deleted: the newest digests were deleted"
			switch {
			case s.logsAfter > 0 && head.end.Equal(s.latestDigest):
				// Either is possible, and they cannot be told apart.
				sev = Medium
				why = fmt.Sprintf("%d log files were delivered after it: log file validation was turned off, or the newest digests were deleted", s.logsAfter)
			case head.isFinal():
				sev = Low
				why = "it is a final digest (a window shorter than an hour): logging was stopped or the trail deleted"
			}
			in.addChainFinding(c, Finding{
				Kind:     KindDigestMissing,
				Severity: sev,
				Start:    head.end,
				End:      end,
				Title:    fmt.Sprintf("Digest chain stops at %s", stamp(head.end)),
				Detail:   "The newest digest " + head.key + " ends " + roundHours(end.Sub(head.end)) + " hours before the end of the period analysed; " + why + ".",
				Evidence: map[string]any{"last_digest": head.key, "last_digest_end": stamp(head.end), "final_digest": head.isFinal(), "logs_after": s.logsAfter, "period_end": stamp(end)},
			})
		}
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func roundHours(d time.Duration) string {
	return fmt.Sprintf("%.1f", d.Hours())
}

package analyzer

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// testSigningKeyFile parses one of the fixed test keys in testdata/integrity:
// generating RSA keys at run time is slow under the race detector.
func testSigningKeyFile(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(readIntegrityTestdata(t, name))
	if block == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k.(*rsa.PrivateKey)
}

func testSigningKey(t testing.TB) *rsa.PrivateKey { return testSigningKeyFile(t, "test-key-1.pem") }

// keySetOf returns a KeySet holding the public halves of keys.
func keySetOf(t testing.TB, keys ...*rsa.PrivateKey) *KeySet {
	t.Helper()
	var ders [][]byte
	for _, k := range keys {
		ders = append(ders, x509.MarshalPKCS1PublicKey(&k.PublicKey))
	}
	ks, err := ParsePublicKeys(publicKeyListJSON(t, ders...))
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

const testBucket = "trail-bucket"

// digestEpoch returns the end of the first digest of every test chain: digests end
// at a fixed minute and second past each hour, as CloudTrail's do.
func digestEpoch() time.Time { return time.Date(2024, 3, 10, 0, 17, 28, 0, time.UTC) }

// chainSpec describes a chain of hourly digests to build.
type chainSpec struct {
	account, region, trail, home string
	org, prefix                  string
	backfill                     bool
	first                        time.Time // end of the first digest
	hours                        int
	logsPerHour                  int
	// restartAt, if > 0, makes digest restartAt a starting digest after a
	// gap of restartGap.
	restartAt  int
	restartGap time.Duration
	// mutate changes digest i after its links are set, before it is
	// signed.
	mutate func(i int, d *ingest.Digest)
}

// builtChain is a chain made by buildChain: its digests and log files as the scan
// would deliver them.
type builtChain struct {
	digests []*ingest.Result
	logs    []*ingest.Result
	// listed maps each digest key to the log keys it lists.
	listed map[string][]string
}

func (s chainSpec) withDefaults() chainSpec {
	if s.account == "" {
		s.account = "111122223333"
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.trail == "" {
		s.trail = "my_trail.v2"
	}
	if s.home == "" {
		s.home = "us-east-1"
	}
	if s.first.IsZero() {
		s.first = digestEpoch()
	}
	return s
}

// buildChain makes a signed chain as CloudTrail would deliver it: hourly
// digests, each listing the log files named in its window, linked to the
// previous one by key, hash and signature; compact JSON with "\/" escapes,
// gzip-compressed, decoded by ingest.DecodeDigest.
func buildChain(t testing.TB, key *rsa.PrivateKey, s chainSpec) builtChain {
	t.Helper()
	s = s.withDefaults()
	fp := Fingerprint(x509.MarshalPKCS1PublicKey(&key.PublicKey))
	out := builtChain{listed: map[string][]string{}}
	var prev *ingest.Result
	end := s.first
	for i := range s.hours {
		if i > 0 {
			end = end.Add(time.Hour)
		}
		start := end.Add(-time.Hour)
		if i == s.restartAt && i > 0 {
			end = end.Add(s.restartGap)
			start = end.Add(-time.Hour)
			prev = nil
		}
		loc := ingest.Location{
			Kind: ingest.KindDigest, Prefix: s.prefix, OrgID: s.org, Account: s.account,
			Region: s.region, Time: end, Trail: s.trail, HomeRegion: s.home, Backfill: s.backfill,
		}
		dkey := loc.ObjectKey()
		d := &ingest.Digest{
			AWSAccountID:               s.account,
			DigestStartTime:            start.Format(time.RFC3339),
			DigestEndTime:              end.Format(time.RFC3339),
			DigestS3Bucket:             testBucket,
			DigestS3Object:             dkey,
			DigestPublicKeyFingerprint: fp,
			DigestSignatureAlgorithm:   "SHA256withRSA",
			LogFiles:                   []ingest.DigestFile{},
		}
		for j := range s.logsPerHour {
			lt := start.Add(time.Duration(j+1) * 10 * time.Minute).Truncate(time.Minute)
			l := logResult(chainLogKey(s, lt, fmt.Sprintf("L%02dH%03dX%08d", j, i, len(out.logs))), "")
			body := []byte(fmt.Sprintf(`{"Records":[{"eventID":"%s"}]}`, l.Object.Key))
			l.Body = ingest.Body{SHA256: sha256.Sum256(body), Size: int64(len(body)), Gzip: true}
			out.logs = append(out.logs, l)
			d.LogFiles = append(d.LogFiles, ingest.DigestFile{
				S3Bucket: testBucket, S3Object: l.Object.Key, HashAlgorithm: "SHA-256",
				HashValue: hex.EncodeToString(l.Body.SHA256[:]),
			})
			out.listed[dkey] = append(out.listed[dkey], l.Object.Key)
		}
		if prev != nil {
			pb, po := testBucket, prev.Object.Key
			ph, alg := hex.EncodeToString(prev.Body.SHA256[:]), "SHA-256"
			ps := prev.Metadata["signature"]
			d.PreviousDigestS3Bucket, d.PreviousDigestS3Object = &pb, &po
			d.PreviousDigestHashValue, d.PreviousDigestHashAlgorithm, d.PreviousDigestSignature = &ph, &alg, &ps
		}
		if s.mutate != nil {
			s.mutate(i, d)
		}
		r := encodeTestDigest(t, dkey, d, nil)
		r.Metadata = ingest.Metadata{
			"signature":           signDigest(t, key, SigningString(r.Digest, r.Body.SHA256)),
			"signature-algorithm": "SHA256withRSA",
		}
		if s.backfill {
			r.Metadata["backfill-generation-timestamp"] = end.Add(3 * time.Hour).Format(time.RFC3339)
		}
		out.digests = append(out.digests, r)
		prev = r
	}
	return out
}

func chainLogKey(s chainSpec, t time.Time, unique string) string {
	return ingest.Location{Kind: ingest.KindLog, Prefix: s.prefix, OrgID: s.org, Account: s.account,
		Region: s.region, Time: t, Unique: unique[:16]}.ObjectKey()
}

// encodeTestDigest serializes d as CloudTrail does (compact, schema order, "/"
// escaped as "\/"), gzips it, and decodes it back as the scan would. meta
// is kept as the object's metadata.
func encodeTestDigest(t testing.TB, key string, d *ingest.Digest, meta ingest.Metadata) *ingest.Result {
	t.Helper()
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("/"), []byte(`\/`))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	dg, body, err := ingest.DecodeDigest(&gz)
	if err != nil {
		t.Fatalf("decode %s: %v", key, err)
	}
	if body.SHA256 != sha256.Sum256(raw) {
		t.Fatal("DecodeDigest hashed other bytes than the raw digest")
	}
	return &ingest.Result{
		Object:   ingest.Object{Key: key},
		Location: ingest.ParseKey(key),
		Metadata: meta,
		Body:     body,
		Digest:   dg,
	}
}

// rewriteDigest returns r with its content changed after signing: what a forger
// without the private key can do. The signature metadata stays.
func rewriteDigest(t testing.TB, r *ingest.Result, change func(*ingest.Digest)) *ingest.Result {
	t.Helper()
	d := *r.Digest
	d.LogFiles = slices.Clone(d.LogFiles)
	change(&d)
	return encodeTestDigest(t, r.Object.Key, &d, r.Metadata)
}

func signDigest(t testing.TB, key *rsa.PrivateKey, msg []byte) string {
	t.Helper()
	h := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sig)
}

// integrityOutcome is what a run of the integrity check produced.
type integrityOutcome struct {
	res      *Result
	verdicts map[string]Verdict
}

// runIntegrity feeds digests (in the given order) then logs to a fresh
// integrity check, as the two-phase scan does.
func runIntegrity(cfg Config, digests, logs []*ingest.Result) integrityOutcome {
	in := newIntegrity(cfg)
	out := integrityOutcome{res: &Result{}, verdicts: map[string]Verdict{}}
	for _, r := range digests {
		v := VerdictUnverified
		in.object(r, &v)
	}
	for _, r := range logs {
		v := VerdictUnverified
		in.object(r, &v)
		out.verdicts[r.Object.Key] = v
	}
	in.finish(out.res)
	return out
}

// chainCounts are a Chain's counts, for comparing.
type chainCounts struct {
	Valid, Invalid, Missing, Unverifiable                          int
	LogsValid, LogsInvalid, LogsMissing, LogsUnlisted, LogsUnverif int
}

func chainCountsOf(c Chain) chainCounts {
	return chainCounts{c.DigestsValid, c.DigestsInvalid, c.DigestsMissing, c.DigestsUnverifiable,
		c.LogsValid, c.LogsInvalid, c.LogsMissing, c.LogsUnlisted, c.LogsUnverified}
}

// integrityFindingCounts tallies findings as "kind/severity".
func integrityFindingCounts(fs []Finding) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[f.Kind+"/"+f.Severity.String()]++
	}
	return m
}

func findingsOfKind(fs []Finding, kind string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

func integrityVerdictCounts(v map[string]Verdict) map[Verdict]int {
	m := map[Verdict]int{}
	for _, x := range v {
		m[x]++
	}
	return m
}

func dropResults(rs []*ingest.Result, idx ...int) []*ingest.Result {
	var out []*ingest.Result
	for i, r := range rs {
		if !slices.Contains(idx, i) {
			out = append(out, r)
		}
	}
	return out
}

func resultKeys(rs []*ingest.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Object.Key)
	}
	return out
}

// TestSigningStringVector checks the signing string, the raw-byte hash and
// verification against the synthetic vector, with its "\/" escapes and a
// trail name holding '_' and '.'.
func TestSigningStringVector(t *testing.T) {
	v := loadSyntheticVector(t)
	raw := []byte(v.Raw)
	d, err := ingest.ParseDigest(raw)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != v.RawSHA256 {
		t.Fatalf("sha256(raw) = %s, want %s", got, v.RawSHA256)
	}
	if got := string(SigningString(d, sum)); got != v.StringToSign {
		t.Errorf("SigningString =\n%q\nwant\n%q", got, v.StringToSign)
	}
	der, _ := base64.StdEncoding.DecodeString(v.PublicKey)
	pub, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyDigest(pub, d, sum, v.Signature); err != nil {
		t.Errorf("VerifyDigest: %v", err)
	}
	if err := VerifyDigest(pub, d, sum, strings.ToUpper(v.Signature)); err != nil {
		t.Errorf("VerifyDigest with an upper-case signature: %v", err)
	}
	// The trap: a re-serialized digest hashes differently.
	var again bytes.Buffer
	enc := json.NewEncoder(&again)
	enc.SetEscapeHTML(false)
	enc.Encode(d)
	if err := VerifyDigest(pub, d, sha256.Sum256(bytes.TrimSpace(again.Bytes())), v.Signature); err == nil {
		t.Error("VerifyDigest accepted the hash of a re-serialized digest")
	}
	bad := strings.Repeat("0", len(v.Signature))
	if err := VerifyDigest(pub, d, sum, bad); err == nil {
		t.Error("VerifyDigest accepted a zero signature")
	}
	if err := VerifyDigest(pub, d, sum, "not hex"); err == nil {
		t.Error("VerifyDigest accepted a signature that is not hex")
	}
}

// TestSyntheticVectorChain runs the vector's digest through the check, as
// an object with its signature in metadata.
func TestSyntheticVectorChain(t *testing.T) {
	v := loadSyntheticVector(t)
	der, _ := base64.StdEncoding.DecodeString(v.PublicKey)
	keys, err := ParsePublicKeys(publicKeyListJSON(t, der))
	if err != nil {
		t.Fatal(err)
	}
	d, err := ingest.ParseDigest([]byte(v.Raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		bucket string
		meta   ingest.Metadata
		keys   *KeySet
		want   chainCounts
		reason string
	}{
		{"verified", "example-trail-bucket", ingest.Metadata{"signature": v.Signature, "signature-algorithm": v.Algorithm}, keys, chainCounts{Valid: 1}, ""},
		{"bucket unknown", "", ingest.Metadata{"signature": v.Signature, "signature-algorithm": v.Algorithm}, keys, chainCounts{Valid: 1}, ""},
		{"other bucket", "another-bucket", ingest.Metadata{"signature": v.Signature, "signature-algorithm": v.Algorithm}, keys, chainCounts{Invalid: 1}, "moved"},
		{"no metadata", "example-trail-bucket", nil, keys, chainCounts{Unverifiable: 1}, ""},
		{"no keys", "example-trail-bucket", ingest.Metadata{"signature": v.Signature}, nil, chainCounts{Unverifiable: 1}, ""},
		{"unknown key", "example-trail-bucket", ingest.Metadata{"signature": v.Signature}, keySetOf(t, testSigningKey(t)), chainCounts{Invalid: 1}, ""},
		{"bad signature", "example-trail-bucket", ingest.Metadata{"signature": v.Signature[2:] + "00"}, keys, chainCounts{Invalid: 1}, "signature verification failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &ingest.Result{
				Object:   ingest.Object{Key: d.DigestS3Object},
				Location: ingest.ParseKey(d.DigestS3Object),
				Metadata: c.meta,
				Body:     ingest.Body{SHA256: sha256.Sum256([]byte(v.Raw))},
				Digest:   d,
			}
			if r.Location.Kind != ingest.KindDigest {
				t.Fatalf("ParseKey(%s) = %v", d.DigestS3Object, r.Location.Kind)
			}
			out := runIntegrity(Config{Bucket: c.bucket, PublicKeys: c.keys}, []*ingest.Result{r}, nil)
			if len(out.res.Chains) != 1 {
				t.Fatalf("Chains = %+v, want one", out.res.Chains)
			}
			ch := out.res.Chains[0]
			if got := chainCountsOf(ch); got != c.want {
				t.Errorf("counts = %+v, want %+v", got, c.want)
			}
			if ch.Trail != "my_trail.v2" || ch.Account != "111122223333" || ch.Region != "us-east-1" {
				t.Errorf("chain = %+v", ch)
			}
			if c.reason != "" {
				inv := findingsOfKind(out.res.Findings, KindDigestInvalid)
				if len(inv) != 1 || !slices.Contains(inv[0].Evidence["reasons"].([]string), c.reason) {
					t.Errorf("digest-invalid findings = %+v, want one for %q", inv, c.reason)
				}
			}
		})
	}
}

func TestIntegrityValidChain(t *testing.T) {
	key := testSigningKey(t)
	b := buildChain(t, key, chainSpec{hours: 6, logsPerHour: 3})
	// Workers race: digests arrive in any order.
	digests := slices.Clone(b.digests)
	mrand.New(mrand.NewPCG(1, 2)).Shuffle(len(digests), func(i, j int) { digests[i], digests[j] = digests[j], digests[i] })
	out := runIntegrity(Config{Bucket: testBucket, PublicKeys: keySetOf(t, key)}, digests, b.logs)
	if len(out.res.Chains) != 1 {
		t.Fatalf("Chains = %+v", out.res.Chains)
	}
	ch := out.res.Chains[0]
	if got, want := chainCountsOf(ch), (chainCounts{Valid: 6, LogsValid: 18}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	if !ch.First.Equal(digestEpoch().Add(-time.Hour)) || !ch.Last.Equal(digestEpoch().Add(5*time.Hour)) {
		t.Errorf("First, Last = %v, %v; want %v, %v", ch.First, ch.Last, digestEpoch().Add(-time.Hour), digestEpoch().Add(5*time.Hour))
	}
	if len(out.res.Findings) != 0 {
		t.Errorf("findings = %+v, want none", out.res.Findings)
	}
	if got := integrityVerdictCounts(out.verdicts); got[VerdictValid] != 18 {
		t.Errorf("verdicts = %v, want 18 valid", got)
	}
}

// TestIntegrityDigests covers what can go wrong with digests and links.
func TestIntegrityDigests(t *testing.T) {
	key := testSigningKey(t)
	keys := keySetOf(t, key)
	base := buildChain(t, key, chainSpec{hours: 7, logsPerHour: 2})
	type scenario struct {
		digests, logs []*ingest.Result
		cfg           Config
	}
	for _, c := range []struct {
		name     string
		make     func(t *testing.T) scenario
		want     chainCounts
		findings map[string]int
		verdicts map[Verdict]int
		check    func(t *testing.T, out integrityOutcome, s scenario)
	}{
		{
			name: "bad signature in metadata",
			make: func(t *testing.T) scenario {
				ds := slices.Clone(base.digests)
				r := *ds[3]
				r.Metadata = ingest.Metadata{"signature": signDigest(t, key, []byte("something else")), "signature-algorithm": "SHA256withRSA"}
				ds[3] = &r
				return scenario{digests: ds, logs: base.logs}
			},
			// The content is still proven by the next digest: its log
			// files are judged.
			want:     chainCounts{Valid: 6, Invalid: 1, LogsValid: 14},
			findings: map[string]int{"digest-invalid/critical": 1},
			verdicts: map[Verdict]int{VerdictValid: 14},
		},
		{
			name: "forged digest",
			make: func(t *testing.T) scenario {
				ds := slices.Clone(base.digests)
				ds[3] = rewriteDigest(t, ds[3], func(d *ingest.Digest) { d.LogFiles = d.LogFiles[:1] })
				return scenario{digests: ds, logs: base.logs}
			},
			// Its own signature fails and the next digest commits to other
			// bytes; the log it dropped is unlisted, the one it kept
			// unverified.
			want:     chainCounts{Valid: 6, Invalid: 1, LogsValid: 12, LogsUnlisted: 1, LogsUnverif: 1},
			findings: map[string]int{"digest-invalid/critical": 1, "log-file-unlisted/medium": 1},
			verdicts: map[Verdict]int{VerdictValid: 12, VerdictUnverified: 1, VerdictUnlisted: 1},
			check: func(t *testing.T, out integrityOutcome, s scenario) {
				f := findingsOfKind(out.res.Findings, KindDigestInvalid)[0]
				reasons := f.Evidence["reasons"].([]string)
				if !slices.Equal(reasons, []string{"signature verification failed", "does not match the next digest"}) {
					t.Errorf("reasons = %v", reasons)
				}
			},
		},
		{
			name: "moved digest",
			make: func(t *testing.T) scenario {
				ds := slices.Clone(base.digests)
				r := *ds[6]
				loc := r.Location
				loc.Time = loc.Time.Add(time.Minute)
				r.Object.Key = loc.ObjectKey()
				r.Location = ingest.ParseKey(r.Object.Key)
				ds[6] = &r
				return scenario{digests: ds, logs: base.logs}
			},
			// The head is elsewhere than it says: its files are not
			// trusted; the digest before it has its own signature.
			want:     chainCounts{Valid: 6, Invalid: 1, LogsValid: 12, LogsUnverif: 2},
			findings: map[string]int{"digest-invalid/high": 1},
			verdicts: map[Verdict]int{VerdictValid: 12, VerdictUnverified: 2},
		},
		{
			name: "one digest missing",
			make: func(t *testing.T) scenario {
				return scenario{digests: dropResults(base.digests, 3), logs: base.logs}
			},
			// The files the missing digest listed cannot be verified:
			// nothing left says whether CloudTrail delivered them.
			want:     chainCounts{Valid: 6, Missing: 1, LogsValid: 12, LogsUnverif: 2},
			findings: map[string]int{"digest-missing/high": 1},
			check: func(t *testing.T, out integrityOutcome, s scenario) {
				f := findingsOfKind(out.res.Findings, KindDigestMissing)[0]
				if f.Evidence["missing_key"] != base.digests[3].Object.Key || f.Evidence["pointed_to_by"] != base.digests[4].Object.Key {
					t.Errorf("evidence = %v, want missing %s pointed to by %s", f.Evidence, base.digests[3].Object.Key, base.digests[4].Object.Key)
				}
			},
		},
		{
			name: "three digests missing in a row",
			make: func(t *testing.T) scenario {
				return scenario{digests: dropResults(base.digests, 2, 3, 4), logs: base.logs}
			},
			want:     chainCounts{Valid: 4, Missing: 3, LogsValid: 8, LogsUnverif: 6},
			findings: map[string]int{"digest-missing/high": 3},
			check: func(t *testing.T, out integrityOutcome, s scenario) {
				var got []string
				for _, f := range findingsOfKind(out.res.Findings, KindDigestMissing) {
					got = append(got, f.Evidence["missing_key"].(string))
				}
				slices.Sort(got)
				if want := resultKeys(base.digests[2:5]); !slices.Equal(got, want) {
					t.Errorf("missing keys = %v, want %v", got, want)
				}
			},
		},
		{
			name: "chain restart",
			make: func(t *testing.T) scenario {
				b := buildChain(t, key, chainSpec{hours: 7, logsPerHour: 2, restartAt: 4, restartGap: 2*time.Hour + 13*time.Minute})
				return scenario{digests: b.digests, logs: b.logs}
			},
			want:     chainCounts{Valid: 7, LogsValid: 14},
			findings: map[string]int{"digest-chain-break/medium": 1},
			check: func(t *testing.T, out integrityOutcome, s scenario) {
				f := findingsOfKind(out.res.Findings, KindDigestChainBreak)[0]
				wantStart := s.digests[3].Digest.DigestEndTime
				wantEnd := s.digests[4].Digest.DigestStartTime
				if stamp(f.Start) != wantStart || stamp(f.End) != wantEnd {
					t.Errorf("chain break %s to %s, want %s to %s", stamp(f.Start), stamp(f.End), wantStart, wantEnd)
				}
			},
		},
		{
			name: "previousDigestHashValue mismatch, both signed",
			make: func(t *testing.T) scenario {
				b := buildChain(t, key, chainSpec{hours: 4, logsPerHour: 1, mutate: func(i int, d *ingest.Digest) {
					if i == 2 {
						h := strings.Repeat("ab", 32)
						d.PreviousDigestHashValue = &h
					}
				}})
				return scenario{digests: b.digests, logs: b.logs}
			},
			want:     chainCounts{Valid: 4, LogsValid: 4},
			findings: map[string]int{"digest-chain-break/critical": 1},
		},
		{
			name: "altered digest, metadata lost",
			make: func(t *testing.T) scenario {
				ds := make([]*ingest.Result, len(base.digests))
				for i, r := range base.digests {
					c := *r
					if i < len(ds)-1 {
						c.Metadata = nil
					}
					ds[i] = &c
				}
				ds[3] = rewriteDigest(t, ds[3], func(d *ingest.Digest) { d.LogFiles = d.LogFiles[:1] })
				return scenario{digests: ds, logs: base.logs}
			},
			// The verified digest 4 commits to other bytes; digest 2 is
			// still proven by the signature digest 3 recorded.
			want:     chainCounts{Valid: 6, Invalid: 1, LogsValid: 12, LogsUnlisted: 1, LogsUnverif: 1},
			findings: map[string]int{"digest-invalid/critical": 1, "log-file-unlisted/medium": 1},
		},
		{
			name: "forged newest digest without metadata",
			make: func(t *testing.T) scenario {
				b := buildChain(t, key, chainSpec{hours: 7, logsPerHour: 2, mutate: func(i int, d *ingest.Digest) {
					if i == 6 {
						h := strings.Repeat("cd", 32)
						d.PreviousDigestHashValue = &h
					}
				}})
				b.digests[6].Metadata = nil
				return scenario{digests: b.digests, logs: b.logs}
			},
			// Its signature is gone and it contradicts the verified
			// digest before it.
			want:     chainCounts{Valid: 6, Invalid: 1, LogsValid: 12, LogsUnverif: 2},
			findings: map[string]int{"digest-invalid/critical": 1},
			check: func(t *testing.T, out integrityOutcome, s scenario) {
				f := findingsOfKind(out.res.Findings, KindDigestInvalid)[0]
				if f.Evidence["digest_key"] != s.digests[6].Object.Key {
					t.Errorf("digest-invalid for %v, want the newest digest %s", f.Evidence["digest_key"], s.digests[6].Object.Key)
				}
			},
		},
		{
			name: "metadata lost except on the head",
			make: func(t *testing.T) scenario {
				ds := make([]*ingest.Result, len(base.digests))
				for i, r := range base.digests {
					c := *r
					if i < len(ds)-1 {
						c.Metadata = nil
					}
					ds[i] = &c
				}
				return scenario{digests: ds, logs: base.logs}
			},
			want: chainCounts{Valid: 7, LogsValid: 14},
		},
		{
			name: "metadata lost everywhere",
			make: func(t *testing.T) scenario {
				ds := make([]*ingest.Result, len(base.digests))
				for i, r := range base.digests {
					c := *r
					c.Metadata = nil
					ds[i] = &c
				}
				return scenario{digests: ds, logs: base.logs}
			},
			// A plain copy: every digest but the newest is proven by the
			// signature its successor recorded.
			want:     chainCounts{Valid: 6, Unverifiable: 1, LogsValid: 12, LogsUnverif: 2},
			findings: map[string]int{"digest-invalid/info": 1},
			verdicts: map[Verdict]int{VerdictValid: 12, VerdictUnverified: 2},
		},
		{
			name: "no public keys",
			make: func(t *testing.T) scenario {
				logs := slices.Clone(base.logs)
				mod := *logs[5]
				mod.Body.SHA256[0] ^= 1
				logs[5] = &mod
				return scenario{digests: base.digests, logs: logs, cfg: Config{Bucket: testBucket}}
			},
			want:     chainCounts{Unverifiable: 7, LogsInvalid: 1, LogsUnverif: 13},
			findings: map[string]int{"digest-invalid/info": 1, "log-file-modified/high": 1},
			verdicts: map[Verdict]int{VerdictUnverified: 13, VerdictModified: 1},
		},
		{
			name: "unknown fingerprint",
			make: func(t *testing.T) scenario {
				return scenario{digests: base.digests, logs: base.logs, cfg: Config{Bucket: testBucket, PublicKeys: keySetOf(t, testSigningKeyFile(t, "test-key-2.pem"))}}
			},
			want:     chainCounts{Invalid: 7, LogsUnverif: 14},
			findings: map[string]int{"digest-invalid/high": 1},
			verdicts: map[Verdict]int{VerdictUnverified: 14},
		},
		{
			name: "orphan digest",
			make: func(t *testing.T) scenario {
				// A digest that the chain skips: signed, but digest 4
				// points to digest 2.
				b := buildChain(t, key, chainSpec{hours: 6, logsPerHour: 1, mutate: func(i int, d *ingest.Digest) {
					if i == 4 {
						loc := ingest.ParseKey(*d.PreviousDigestS3Object)
						loc.Time = loc.Time.Add(-time.Hour)
						k := loc.ObjectKey()
						d.PreviousDigestS3Object = &k
						d.PreviousDigestHashValue = nil
						d.PreviousDigestSignature = nil
					}
				}})
				return scenario{digests: b.digests, logs: b.logs}
			},
			want:     chainCounts{Valid: 6, LogsValid: 6},
			findings: map[string]int{"digest-chain-break/medium": 1},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.make(t)
			if s.cfg.Bucket == "" && s.cfg.PublicKeys == nil {
				s.cfg = Config{Bucket: testBucket, PublicKeys: keys}
			}
			if c.name == "no public keys" {
				s.cfg = Config{Bucket: testBucket}
			}
			out := runIntegrity(s.cfg, s.digests, s.logs)
			if len(out.res.Chains) != 1 {
				t.Fatalf("Chains = %+v, want one", out.res.Chains)
			}
			if got := chainCountsOf(out.res.Chains[0]); got != c.want {
				t.Errorf("counts = %+v\nwant     %+v", got, c.want)
			}
			want := c.findings
			if want == nil {
				want = map[string]int{}
			}
			if got := integrityFindingCounts(out.res.Findings); !countsEqual(got, want) {
				t.Errorf("findings = %v, want %v", got, want)
				for _, f := range out.res.Findings {
					t.Logf("  %s %s: %s — %s", f.Severity, f.Kind, f.Title, f.Detail)
				}
			}
			if c.verdicts != nil {
				if got := integrityVerdictCounts(out.verdicts); !countsEqual(got, c.verdicts) {
					t.Errorf("verdicts = %v, want %v", got, c.verdicts)
				}
			}
			if c.check != nil {
				c.check(t, out, s)
			}
		})
	}
}

func countsEqual[K comparable](a, b map[K]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// TestIntegrityLogs covers every log file verdict.
func TestIntegrityLogs(t *testing.T) {
	key := testSigningKey(t)
	b := buildChain(t, key, chainSpec{hours: 4, logsPerHour: 3})
	logs := slices.Clone(b.logs)
	// 0 valid; 1 modified; 2 missing; 3 trailing bytes; 4 unreadable;
	// an injected file in a verified hour; the rest valid.
	modified := *logs[1]
	modified.Body.SHA256[31] ^= 0xff
	logs[1] = &modified
	missing := logs[2].Object.Key
	trailing := *logs[3]
	trailing.Body.Trailing = 20
	logs[3] = &trailing
	unreadable := *logs[4]
	unreadable.Body = ingest.Body{}
	unreadable.Err = &ingest.DecodeError{Key: unreadable.Object.Key, Err: fmt.Errorf("truncated: unexpected EOF")}
	logs[4] = &unreadable
	// Unreadable records but intact bytes: the file is what CloudTrail
	// delivered.
	badRecord := *logs[5]
	badRecord.Err = &ingest.DecodeError{Key: badRecord.Object.Key, Err: fmt.Errorf("1 of 1 records unreadable")}
	logs[5] = &badRecord
	spec := chainSpec{}.withDefaults()
	injected := logResult(chainLogKey(spec, digestEpoch().Add(90*time.Minute), "INJECTEDINJECTED"), "")
	injected.Body.SHA256 = sha256.Sum256([]byte("{}"))
	// A file of a region without digests, and an Insights file.
	otherSpec := chainSpec{region: "eu-west-1"}.withDefaults()
	noDigests := logResult(chainLogKey(otherSpec, digestEpoch(), "NODIGESTSNODIGES"), "")
	insight := logResult(strings.Replace(strings.Replace(chainLogKey(spec, digestEpoch(), "INSIGHTINSIGHTIN"), "/CloudTrail/", "/CloudTrail-Insight/", 1), "_CloudTrail_", "_CloudTrail-Insight_", 1), "")
	if insight.Location.Kind != ingest.KindInsight {
		t.Fatalf("insight key %s parsed as %v", insight.Object.Key, insight.Location.Kind)
	}
	logs = append(dropResults(logs, 2), injected, noDigests, insight)

	out := runIntegrity(Config{Bucket: testBucket, PublicKeys: keySetOf(t, key)}, b.digests, logs)
	wantVerdicts := map[string]Verdict{
		logs[0].Object.Key:    VerdictValid,
		modified.Object.Key:   VerdictModified,
		trailing.Object.Key:   VerdictModified,
		unreadable.Object.Key: VerdictModified,
		badRecord.Object.Key:  VerdictValid,
		injected.Object.Key:   VerdictUnlisted,
		noDigests.Object.Key:  VerdictUnverified,
		insight.Object.Key:    VerdictUnverified,
		b.logs[11].Object.Key: VerdictValid,
	}
	for k, want := range wantVerdicts {
		if got := out.verdicts[k]; got != want {
			t.Errorf("verdict of %s = %q, want %q", k, got, want)
		}
	}
	if len(out.res.Chains) != 1 {
		t.Fatalf("Chains = %+v", out.res.Chains)
	}
	if got, want := chainCountsOf(out.res.Chains[0]), (chainCounts{Valid: 4, LogsValid: 8, LogsInvalid: 3, LogsMissing: 1, LogsUnlisted: 1}); got != want {
		t.Errorf("counts = %+v\nwant     %+v", got, want)
	}
	wantFindings := map[string]int{"log-file-modified/critical": 3, "log-file-missing/high": 1, "log-file-unlisted/high": 1}
	if got := integrityFindingCounts(out.res.Findings); !countsEqual(got, wantFindings) {
		t.Errorf("findings = %v, want %v", got, wantFindings)
	}
	for _, f := range out.res.Findings {
		switch f.Kind {
		case KindLogFileMissing:
			if f.Evidence["object_key"] != missing || f.Evidence["digest_key"] != b.digests[0].Object.Key {
				t.Errorf("missing evidence = %v, want %s listed by %s", f.Evidence, missing, b.digests[0].Object.Key)
			}
		case KindLogFileModified:
			if f.Evidence["object_key"] == modified.Object.Key {
				want := hex.EncodeToString(b.logs[1].Body.SHA256[:])
				if f.Evidence["expected_sha256"] != want || f.Evidence["actual_sha256"] != hex.EncodeToString(modified.Body.SHA256[:]) {
					t.Errorf("modified evidence = %v, want expected %s", f.Evidence, want)
				}
			}
		}
	}
}

// TestIntegrityWindow checks that only digests ending in [start, end+1h]
// count, and that nothing is reported missing at the window's edges.
func TestIntegrityWindow(t *testing.T) {
	key := testSigningKey(t)
	b := buildChain(t, key, chainSpec{hours: 12, logsPerHour: 1})
	// Digests end at 00:17:28, 01:17:28, … 11:17:28. The window
	// [03:00, 07:00) counts those ending 03:17:28 … 07:17:28 (end + 1h
	// reaches 08:00): five.
	w := ingest.Window{Start: digestEpoch().Truncate(time.Hour).Add(3 * time.Hour), End: digestEpoch().Truncate(time.Hour).Add(7 * time.Hour)}
	for _, c := range []struct {
		name    string
		digests []*ingest.Result
		want    chainCounts
		missing int
	}{
		{"all there", b.digests, chainCounts{Valid: 5, LogsValid: 5}, 0},
		// Digest 1 (01:17:28) is before the window: its absence is not
		// judged, though digest 2 points to it.
		{"missing before the window", dropResults(b.digests, 1), chainCounts{Valid: 5, LogsValid: 5}, 0},
		{"missing at the window start", dropResults(b.digests, 3), chainCounts{Valid: 4, Missing: 1, LogsValid: 4}, 1},
		{"missing after the window", dropResults(b.digests, 9), chainCounts{Valid: 5, LogsValid: 5}, 0},
		// Only digests from the window on were kept (a copy of part of
		// the archive): digest 3's predecessor is before the window.
		{"archive begins in the window", b.digests[3:], chainCounts{Valid: 5, LogsValid: 5}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The scan delivers logs by folder date (a day each side), so
			// all of them arrive.
			out := runIntegrity(Config{Window: w, Bucket: testBucket, PublicKeys: keySetOf(t, key)}, c.digests, b.logs)
			if len(out.res.Chains) != 1 {
				t.Fatalf("Chains = %+v", out.res.Chains)
			}
			if got := chainCountsOf(out.res.Chains[0]); got != c.want {
				t.Errorf("counts = %+v\nwant     %+v", got, c.want)
			}
			if got := len(findingsOfKind(out.res.Findings, KindDigestMissing)); got != c.missing {
				t.Errorf("%d digest-missing findings, want %d: %+v", got, c.missing, out.res.Findings)
			}
		})
	}
	// Without a window start, the oldest digest's predecessor is where
	// the archive begins.
	out := runIntegrity(Config{Bucket: testBucket, PublicKeys: keySetOf(t, key)}, b.digests[3:], b.logs[3:])
	if got := chainCountsOf(out.res.Chains[0]); got != (chainCounts{Valid: 9, LogsValid: 9}) || len(out.res.Findings) != 0 {
		t.Errorf("open window, archive from digest 3: counts %+v, findings %+v", got, out.res.Findings)
	}
}

// TestIntegrityChainStops checks the report of a chain whose digests stop
// while log files keep arriving, and of an orderly stop.
func TestIntegrityChainStops(t *testing.T) {
	key := testSigningKey(t)
	b := buildChain(t, key, chainSpec{hours: 8, logsPerHour: 2})
	// The last three digests are gone; their log files remain.
	out := runIntegrity(Config{Bucket: testBucket, PublicKeys: keySetOf(t, key)}, b.digests[:5], b.logs)
	fs := findingsOfKind(out.res.Findings, KindDigestMissing)
	if len(fs) != 1 || fs[0].Severity != Medium || fs[0].Evidence["last_digest"] != b.digests[4].Object.Key || fs[0].Evidence["logs_after"] != 6 {
		t.Errorf("digest-missing findings = %+v, want one medium for the chain stopping at %s with 6 log files after it", fs, b.digests[4].Object.Key)
	}
	// Files after the last digest are not yet covered, not unlisted.
	if got := chainCountsOf(out.res.Chains[0]); got.LogsUnlisted != 0 || got.LogsUnverif != 6 {
		t.Errorf("counts = %+v, want 0 unlisted and 6 unverified", got)
	}

	// The tail cut off: the last three digests and their log files gone.
	// Without a window end nothing shows it; the window given is judged
	// to its end, and the chain lost its tail (high).
	tail := ingest.Window{End: digestEpoch().Add(8 * time.Hour)}
	out = runIntegrity(Config{Window: tail, Bucket: testBucket, PublicKeys: keySetOf(t, key)}, b.digests[:5], b.logs[:10])
	if fs := findingsOfKind(out.res.Findings, KindDigestMissing); len(fs) != 1 || fs[0].Severity != High {
		t.Errorf("tail cut, window to the end: digest-missing findings = %+v, want one high", fs)
	}

	// A final digest, and a window end long after it.
	final := buildChain(t, key, chainSpec{hours: 3, logsPerHour: 1, mutate: func(i int, d *ingest.Digest) {
		if i == 2 {
			end, _ := time.Parse(time.RFC3339, d.DigestEndTime)
			d.DigestStartTime = end.Add(-20 * time.Minute).Format(time.RFC3339)
		}
	}})
	w := ingest.Window{Start: digestEpoch().Add(-2 * time.Hour), End: digestEpoch().Add(10 * time.Hour)}
	out = runIntegrity(Config{Window: w, Bucket: testBucket, PublicKeys: keySetOf(t, key)}, final.digests, final.logs)
	// The window given is judged to its end, though the archive holds
	// nothing after the final digest: logging stopped in it (low).
	if fs := findingsOfKind(out.res.Findings, KindDigestMissing); len(fs) != 1 || fs[0].Severity != Low {
		t.Errorf("findings = %+v, want one low: the final digest ends 8 hours before the window", fs)
	}
	// Without a window end, the period ends with the archive's newest
	// delivery: nothing to report.
	out = runIntegrity(Config{Bucket: testBucket, PublicKeys: keySetOf(t, key)}, final.digests, final.logs)
	if fs := findingsOfKind(out.res.Findings, KindDigestMissing); len(fs) != 0 {
		t.Errorf("findings = %+v, want none: nothing in the archive is newer than the final digest", fs)
	}
	// Another region delivering to the window's end.
	other := buildChain(t, key, chainSpec{region: "eu-west-1", hours: 11})
	out = runIntegrity(Config{Window: w, Bucket: testBucket, PublicKeys: keySetOf(t, key)}, append(slices.Clone(final.digests), other.digests...), final.logs)
	fs = findingsOfKind(out.res.Findings, KindDigestMissing)
	if len(fs) != 1 || fs[0].Severity != Low || fs[0].Region != "us-east-1" {
		t.Errorf("findings = %+v, want one low digest-missing for us-east-1 (final digest)", fs)
	}
}

// TestIntegrityLateDigest: a digest that arrives after log files (a scan
// not split in two phases) is still verified, in Finish.
func TestIntegrityLateDigest(t *testing.T) {
	key := testSigningKey(t)
	b := buildChain(t, key, chainSpec{hours: 3, logsPerHour: 1})
	in := newIntegrity(Config{Bucket: testBucket, PublicKeys: keySetOf(t, key)})
	for _, r := range append(slices.Clone(b.digests[:2]), b.logs[0], b.digests[2]) {
		v := VerdictUnverified
		in.object(r, &v)
	}
	res := &Result{}
	in.finish(res)
	if got := chainCountsOf(res.Chains[0]); got.Valid != 3 {
		t.Errorf("late digest: counts %+v, want 3 valid digests", got)
	}
}

// TestIntegrityChainsSorted checks one chain per account × region × trail
// × kind, sorted, backfill after standard.
func TestIntegrityChainsSorted(t *testing.T) {
	key := testSigningKey(t)
	var digests, logs []*ingest.Result
	for _, s := range []chainSpec{
		{account: "222222222222", region: "us-west-2"},
		{account: "111111111111", region: "us-west-2", org: "o-abcdefghij"},
		{account: "111111111111", region: "eu-west-1", backfill: true},
		{account: "111111111111", region: "eu-west-1"},
		{account: "111111111111", region: "eu-west-1", trail: "another"},
	} {
		s.hours, s.logsPerHour = 2, 1
		b := buildChain(t, key, s)
		digests, logs = append(digests, b.digests...), append(logs, b.logs...)
	}
	out := runIntegrity(Config{Bucket: testBucket, PublicKeys: keySetOf(t, key)}, digests, logs)
	var got []string
	for _, c := range out.res.Chains {
		got = append(got, fmt.Sprintf("%s/%s/%s/%v", c.Account, c.Region, c.Trail, c.Backfill))
		if c.DigestsValid != 2 {
			t.Errorf("chain %+v: want 2 valid digests", c)
		}
	}
	want := []string{
		"111111111111/eu-west-1/another/false",
		"111111111111/eu-west-1/my_trail.v2/false",
		"111111111111/eu-west-1/my_trail.v2/true",
		"111111111111/us-west-2/my_trail.v2/false",
		"222222222222/us-west-2/my_trail.v2/false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("chains = %v\nwant %v", got, want)
	}
	if len(out.res.Findings) != 0 {
		t.Errorf("findings = %+v", out.res.Findings)
	}
}

// TestObserveVerdict checks the wiring: Observe returns the integrity
// verdict of a log file.
func TestObserveVerdict(t *testing.T) {
	key := testSigningKey(t)
	b := buildChain(t, key, chainSpec{hours: 2, logsPerHour: 1})
	a := New(Config{Bucket: testBucket, PublicKeys: keySetOf(t, key)})
	for _, r := range b.digests {
		a.Observe(r)
	}
	if got := a.Observe(b.logs[0]); got != VerdictValid {
		t.Errorf("Observe(listed log) = %q, want %q", got, VerdictValid)
	}
	res := a.Finish(nil)
	if len(res.Chains) != 1 || res.Chains[0].LogsMissing != 1 {
		t.Errorf("Chains = %+v, want one with one missing log", res.Chains)
	}
}

// BenchmarkVerify measures chain verification: two RSA verifications per
// digest (its own signature and the next digest's link).
func BenchmarkVerify(b *testing.B) {
	key := testSigningKey(b)
	keys := keySetOf(b, key)
	bt := buildChain(b, key, chainSpec{hours: 48, logsPerHour: 4})
	b.ReportAllocs()
	for b.Loop() {
		in := newIntegrity(Config{Bucket: testBucket, PublicKeys: keys})
		for _, r := range bt.digests {
			v := VerdictUnverified
			in.object(r, &v)
		}
		in.verifyAll(true)
	}
}

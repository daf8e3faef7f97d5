package simulate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// archiveConfigs are the archives every structural test runs over.
func archiveConfigs() map[string]func() Config {
	return map[string]func() Config{
		"all-scenarios": allScenariosConfig,
		"org":           orgConfig,
	}
}

func forEachArchive(t *testing.T, fn func(t *testing.T, a *archive)) {
	for _, name := range []string{"all-scenarios", "org"} {
		t.Run(name, func(t *testing.T) {
			fn(t, loadArchive(t, name, archiveConfigs()[name]()))
		})
	}
}

// TestArchiveKeys: every object's key parses to the kind the truth says,
// and the counts add up.
func TestArchiveKeys(t *testing.T) {
	forEachArchive(t, func(t *testing.T, a *archive) {
		tr := a.truth
		counts := map[ingest.Kind]int{}
		noise := map[string]bool{}
		for _, o := range tr.NoiseObjects {
			noise[o.Key] = o.OnDisk
		}
		var bytes int64
		for _, key := range sortedKeys(a.files) {
			loc := ingest.ParseKey(key)
			counts[loc.Kind]++
			bytes += int64(len(a.files[key]))
			if onDisk, ok := noise[key]; ok {
				if !onDisk || loc.Kind != ingest.KindOther {
					t.Errorf("noise object %s: on disk %v, kind %v", key, onDisk, loc.Kind)
				}
				continue
			}
			if loc.Kind != ingest.KindLog && loc.Kind != ingest.KindDigest {
				t.Errorf("%s: kind %v (%s), want log or digest", key, loc.Kind, loc.Anomaly)
				continue
			}
			if loc.ObjectKey() != key {
				t.Errorf("ObjectKey() = %s, want %s", loc.ObjectKey(), key)
			}
			if loc.Prefix != tr.Prefix {
				t.Errorf("%s: prefix %q, want %q", key, loc.Prefix, tr.Prefix)
			}
			acct := tr.Account(loc.Account)
			if acct == nil {
				t.Errorf("%s: account %s not in truth", key, loc.Account)
				continue
			}
			if loc.OrgID != acct.OrgID {
				t.Errorf("%s: org %q, want %q", key, loc.OrgID, acct.OrgID)
			}
			switch loc.Kind {
			case ingest.KindLog:
				if loc.Time.Minute()%5 != 0 {
					t.Errorf("%s: file-name minute not a multiple of 5", key)
				}
			case ingest.KindDigest:
				if loc.Trail != acct.Trail || loc.HomeRegion != acct.HomeRegion {
					t.Errorf("%s: trail %s/%s, want %s/%s", key, loc.Trail, loc.HomeRegion, acct.Trail, acct.HomeRegion)
				}
				if _, ok := a.sidecars[key]; !ok && !slices.Contains(tr.Chain(loc.Account, loc.Region).UnsignedDigests, key) && !slices.Contains(tr.Chain(loc.Account, loc.Region).ForgedDigests, key) {
					t.Errorf("%s: no metadata sidecar", key)
				}
			}
		}
		for key := range a.sidecars {
			if ingest.ParseKey(key).Kind != ingest.KindDigest {
				t.Errorf("sidecar for %s, which is not a digest", key)
			}
		}
		o := tr.Objects
		if counts[ingest.KindLog] != o.LogFiles || counts[ingest.KindDigest] != o.DigestFiles || counts[ingest.KindOther] != o.Other {
			t.Errorf("objects by kind: logs %d digests %d other %d; truth says %d %d %d",
				counts[ingest.KindLog], counts[ingest.KindDigest], counts[ingest.KindOther], o.LogFiles, o.DigestFiles, o.Other)
		}
		if len(a.files) != o.OnDisk || bytes != o.Bytes {
			t.Errorf("on disk: %d objects, %d bytes; truth says %d, %d", len(a.files), bytes, o.OnDisk, o.Bytes)
		}
		for _, k := range tr.KeysNotOnDisk() {
			if !strings.HasSuffix(k, "/") {
				t.Errorf("key not on disk %q does not end in /", k)
			}
		}
	})
}

// TestArchiveLogs decodes every log file and compares what it finds with
// the truth: record counts, duplicates, global events, field types.
func TestArchiveLogs(t *testing.T) {
	forEachArchive(t, func(t *testing.T, a *archive) {
		tr := a.truth
		corrupt := map[string]CorruptObject{}
		for _, c := range tr.CorruptObjects {
			corrupt[c.Key] = c
		}
		var total, global int64
		byAccount := map[string]int64{}
		byChain := map[[2]string]int64{}
		seen := map[string]bool{}
		var dups int64
		for _, key := range sortedKeys(a.logs) {
			l := a.logs[key]
			if c, ok := corrupt[key]; ok {
				if l.err == nil {
					t.Errorf("%s (%s) decodes without error", key, c.What)
				}
				if len(l.records) != c.RecordsDecodable {
					t.Errorf("%s: %d records decodable, truth says %d", key, len(l.records), c.RecordsDecodable)
				}
				continue
			}
			if l.err != nil {
				t.Errorf("%s: %v", key, l.err)
				continue
			}
			if len(l.records) == 0 {
				t.Errorf("%s: no records (CloudTrail writes no empty log files)", key)
			}
			if !l.body.Gzip || l.body.Trailing != 0 {
				t.Errorf("%s: gzip %v, trailing %d", key, l.body.Gzip, l.body.Trailing)
			}
			for _, r := range l.records {
				total++
				byAccount[l.loc.Account]++
				byChain[[2]string{l.loc.Account, l.loc.Region}]++
				if seen[r.EventID] {
					dups++
				}
				seen[r.EventID] = true
				if isGlobalSource(r.EventSource) {
					global++
					if l.loc.Region != "us-east-1" {
						t.Errorf("%s: global event %s outside us-east-1", key, r.EventName)
					}
				}
				if r.EventVersion != "1.11" || r.AWSRegion != l.loc.Region || r.RecipientAccountID != l.loc.Account {
					t.Errorf("%s: eventVersion %s, region %s, recipient %s", key, r.EventVersion, r.AWSRegion, r.RecipientAccountID)
				}
				if !r.ReadOnly.Set || !r.ManagementEvent.Set || r.EventCategory != "Management" || r.Time.IsZero() || r.UserIdentity.Raw == nil {
					t.Errorf("%s: record %s lacks readOnly, managementEvent, eventCategory, eventTime or userIdentity", key, r.EventID)
				}
				if len(r.RequestParameters) == 0 || len(r.ResponseElements) == 0 {
					t.Errorf("%s: record %s lacks requestParameters or responseElements", key, r.EventID)
				}
				slot := l.loc.Time
				if r.Time.After(slot) || r.Time.Before(slot.Add(-5*time.Minute)) {
					// Duplicated records keep their time; all others belong
					// to the file's slot.
					if !slices.Contains(tr.Duplicates.EventIDs, r.EventID) {
						t.Errorf("%s: event at %s outside its slot", key, r.Time)
					}
				}
			}
		}
		if total != tr.Records.Total || dups != tr.Records.Duplicates || global != tr.Records.GlobalService {
			t.Errorf("decoded %d records, %d duplicates, %d global; truth says %d, %d, %d",
				total, dups, global, tr.Records.Total, tr.Records.Duplicates, tr.Records.GlobalService)
		}
		for _, acct := range tr.Accounts {
			if byAccount[acct.Account] != acct.Records {
				t.Errorf("account %s: %d records, truth says %d", acct.Account, byAccount[acct.Account], acct.Records)
			}
		}
		for _, c := range tr.Chains {
			if n := byChain[[2]string{c.Account, c.Region}]; n != c.Records {
				t.Errorf("chain %s %s: %d records, truth says %d", c.Account, c.Region, n, c.Records)
			}
		}
	})
}

// TestArchiveDigests verifies every digest as an offline validator would:
// signature, location, chain links, windows, and the log files it lists.
func TestArchiveDigests(t *testing.T) {
	forEachArchive(t, func(t *testing.T, a *archive) {
		tr := a.truth
		bad, starts, deletedLogs, modifiedLogs := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
		deletedDigests, unsigned, forged := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, c := range tr.Chains {
			for _, k := range c.UnsignedDigests {
				unsigned[k] = true
			}
			for _, k := range c.ForgedDigests {
				forged[k] = true
			}
			for _, k := range c.BadSignatureDigests {
				bad[k] = true
			}
			for _, k := range c.StartDigests {
				starts[k] = true
			}
			for _, k := range c.DeletedLogs {
				deletedLogs[k] = true
			}
			for _, k := range c.ModifiedLogs {
				modifiedLogs[k] = true
			}
			for _, k := range c.DeletedDigests {
				deletedDigests[k] = true
			}
		}
		for _, c := range tr.CorruptObjects {
			if c.Listed {
				modifiedLogs[c.Key] = true
			}
		}
		listedOnDisk := map[string]bool{}
		for _, key := range sortedKeys(a.digests) {
			d := a.digests[key]
			if d.err != nil {
				t.Errorf("%s: %v", key, d.err)
				continue
			}
			dg := d.digest
			if forged[key] {
				// Not CloudTrail's (checkDigestForged): no signature, no
				// chain, what it lists counts as listed by no digest.
				if _, ok := a.sidecars[key]; ok {
					t.Errorf("%s: a forged digest with a metadata sidecar", key)
				}
				continue
			}
			if dg.DigestS3Object != key || dg.DigestS3Bucket != tr.Bucket || dg.AWSAccountID != d.loc.Account {
				t.Errorf("%s: digest says it is %s/%s of %s", key, dg.DigestS3Bucket, dg.DigestS3Object, dg.AWSAccountID)
			}
			if dg.DigestEndTime != d.loc.Time.Format(timeLayout) {
				t.Errorf("%s: digestEndTime %s", key, dg.DigestEndTime)
			}
			if !strings.Contains(string(d.raw), `"digestS3Object":"`+strings.ReplaceAll(key, "/", `\/`)+`"`) {
				t.Errorf("%s: '/' not escaped as \\/ in the raw digest", key)
			}
			if h := sha256.Sum256(d.raw); h != d.body.SHA256 {
				t.Errorf("%s: body hash differs from the raw bytes' hash", key)
			}
			sc, hasSidecar := a.sidecars[key]
			if unsigned[key] {
				if hasSidecar && sc.Metadata["signature"] != "" {
					t.Errorf("%s: truth says unsigned, the sidecar has a signature", key)
				}
			} else if sc.Metadata["signature-algorithm"] != "SHA256withRSA" {
				t.Errorf("%s: signature-algorithm %q", key, sc.Metadata["signature-algorithm"])
			}
			err := a.verify(d, sc.Metadata["signature"])
			if bad[key] && err == nil {
				t.Errorf("%s: bad signature verifies", key)
			}
			if !bad[key] && !unsigned[key] && err != nil {
				t.Errorf("%s: signature: %v", key, err)
			}
			if dg.IsStart() != starts[key] {
				t.Errorf("%s: starting digest %v, truth says %v", key, dg.IsStart(), starts[key])
			}
			if dg.IsStart() {
				if dg.PreviousDigestHashValue != nil || dg.PreviousDigestHashAlgorithm != nil || dg.PreviousDigestSignature != nil {
					t.Errorf("%s: starting digest with previous* fields", key)
				}
			} else {
				prevKey := *dg.PreviousDigestS3Object
				prev := a.digests[prevKey]
				switch {
				case prev == nil && !deletedDigests[prevKey]:
					t.Errorf("%s: previous digest %s missing, truth does not say deleted", key, prevKey)
				case prev != nil:
					if hex.EncodeToString(prev.body.SHA256[:]) != *dg.PreviousDigestHashValue {
						t.Errorf("%s: previousDigestHashValue does not match %s", key, prevKey)
					}
					if prev.digest.DigestEndTime != dg.DigestStartTime {
						t.Errorf("%s: starts at %s, previous ended at %s", key, dg.DigestStartTime, prev.digest.DigestEndTime)
					}
					// The previous digest's signature, carried forward,
					// verifies it even where its own metadata is bad.
					if err := a.verify(prev, *dg.PreviousDigestSignature); err != nil {
						t.Errorf("%s: previousDigestSignature does not verify %s: %v", key, prevKey, err)
					}
				}
			}
			if len(dg.LogFiles) == 0 && (dg.NewestEventTime != nil || dg.OldestEventTime != nil) {
				t.Errorf("%s: empty digest with event times", key)
			}
			for _, f := range dg.LogFiles {
				listedOnDisk[f.S3Object] = true
				loc := ingest.ParseKey(f.S3Object)
				if loc.Kind != ingest.KindLog || loc.Region != d.loc.Region || loc.Account != d.loc.Account {
					t.Errorf("%s lists %s, not a log file of its account and region", key, f.S3Object)
				}
				l := a.logs[f.S3Object]
				switch {
				case l == nil:
					if !deletedLogs[f.S3Object] {
						t.Errorf("%s lists %s: missing, truth does not say deleted", key, f.S3Object)
					}
				case hex.EncodeToString(l.body.SHA256[:]) != f.HashValue:
					if !modifiedLogs[f.S3Object] {
						t.Errorf("%s lists %s: hash differs, truth does not say modified", key, f.S3Object)
					}
				default:
					if modifiedLogs[f.S3Object] {
						t.Errorf("%s: truth says modified but the hash matches", f.S3Object)
					}
				}
			}
		}
		unlisted := 0
		for key := range a.logs {
			if !listedOnDisk[key] {
				unlisted++
			}
		}
		want := 0
		for _, c := range tr.Chains {
			want += c.LogsUnlisted + c.LogsOnlyInDeletedDigests
		}
		if unlisted != want {
			t.Errorf("%d log files listed by no digest on disk, truth says %d", unlisted, want)
		}
	})
}

// TestDirSourceReadsArchive opens the archive as the analyzer does:
// ingest.DirSource sees every object, hides StateDir, knows the bucket and
// returns each digest's signature from its sidecar.
func TestDirSourceReadsArchive(t *testing.T) {
	forEachArchive(t, func(t *testing.T, a *archive) {
		src, err := ingest.OpenDir(a.dir)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if src.Bucket() != a.truth.Bucket {
			t.Errorf("Bucket() = %q, want %q", src.Bucket(), a.truth.Bucket)
		}
		ctx := context.Background()
		n := 0
		err = src.List(ctx, ingest.ListOptions{}, func(o ingest.Object) error {
			n++
			if _, ok := a.files[o.Key]; !ok {
				t.Errorf("listed %s, which is not an object", o.Key)
			}
			if o.LastModified.IsZero() {
				t.Errorf("%s: no LastModified", o.Key)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != len(a.files) {
			t.Errorf("listed %d objects, want %d", n, len(a.files))
		}
		for _, key := range sortedKeys(a.digests)[:3] {
			rc, meta, err := src.Open(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			rc.Close()
			if meta["signature"] != a.sidecars[key].Metadata["signature"] || meta["signature-algorithm"] != "SHA256withRSA" {
				t.Errorf("%s: metadata %v", key, meta)
			}
		}
	})
}

// TestTrailsConfig: two trails in one bucket, one of them single-region.
func TestTrailsConfig(t *testing.T) {
	cfg := Config{
		Seed:           1,
		Accounts:       []string{"111111111111", "222222222222"},
		Regions:        []string{"eu-west-1"},
		EnabledRegions: []string{"eu-west-1", "us-east-1"},
		EventsPerHour:  2,
		Trails: []Trail{
			{Name: "corp.audit_trail", HomeRegion: "us-east-1", MultiRegion: true, Accounts: []string{"111111111111"}},
			{Name: "eu-only", HomeRegion: "eu-west-1", Accounts: []string{"222222222222"}},
		},
		Keys: testKeys(1),
	}
	a := loadArchive(t, "trails", cfg)
	multi, single := a.truth.Account("111111111111"), a.truth.Account("222222222222")
	if !multi.MultiRegion || !multi.GlobalEvents || len(multi.RegionsLogged) != 2 {
		t.Errorf("multi-region account: %+v", multi)
	}
	if single.MultiRegion || single.GlobalEvents || !slices.Equal(single.RegionsNotLogged, []string{"us-east-1"}) {
		t.Errorf("single-region account: %+v", single)
	}
	trails := map[string]string{}
	for key := range a.digests {
		loc := ingest.ParseKey(key)
		trails[loc.Account] = loc.Trail + "/" + loc.HomeRegion
	}
	if trails["111111111111"] != "corp.audit_trail/us-east-1" || trails["222222222222"] != "eu-only/eu-west-1" {
		t.Errorf("digest trails %v", trails)
	}
}

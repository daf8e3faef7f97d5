package simulate

import (
	"bytes"
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// Test archives are generated once per test binary and shared; keys are
// generated once per seed, and the archives share seed 1 to share keys.
var (
	testMu       sync.Mutex
	testRings    = map[uint64]*KeyRing{}
	testArchives = map[string]*archive{}
	testRoot     string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "simulate-test-")
	if err != nil {
		panic(err)
	}
	testRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testKeys returns the shared key ring of seed.
func testKeys(seed uint64) *KeyRing {
	testMu.Lock()
	defer testMu.Unlock()
	if testRings[seed] == nil {
		testRings[seed] = NewKeyRing(seed)
	}
	return testRings[seed]
}

// allScenariosConfig is the archive most tests read: every scenario, a
// key prefix, few regions.
func allScenariosConfig() Config {
	return Config{
		Seed:           1,
		Prefix:         "trails/main",
		AccountCount:   3,
		Regions:        []string{"us-east-1", "eu-west-1"},
		EnabledRegions: []string{"us-east-1", "us-west-2", "eu-west-1"},
		EventsPerHour:  8,
		Scenarios:      []Scenario{{Name: ScenarioAll}},
		Keys:           testKeys(1),
	}
}

// orgConfig is an organization trail over two days, with an account that
// left it for a single-region trail of its own.
func orgConfig() Config {
	return Config{
		Seed:           1,
		OrgID:          "auto",
		AccountCount:   2,
		Regions:        []string{"us-east-1", "ap-southeast-2"},
		EnabledRegions: []string{"us-east-1", "ap-southeast-2"},
		Days:           2,
		EventsPerHour:  5,
		Scenarios: []Scenario{
			{Name: ScenarioRegionNotLogged},
			{Name: ScenarioLogDeleted},
			{Name: ScenarioDuplicateEvents, Count: 3},
			// Across midnight, in an organization trail.
			{Name: ScenarioLoggingStopped, At: time.Date(2025, 1, 6, 21, 30, 0, 0, time.UTC), Hours: 5},
			{Name: ScenarioDeliveryGap, Region: "ap-southeast-2", At: time.Date(2025, 1, 7, 23, 0, 0, 0, time.UTC), Hours: 2},
		},
		Keys: testKeys(1),
	}
}

// archive is a generated archive, read back with ingest.
type archive struct {
	dir      string
	truth    *Truth
	files    map[string][]byte // every object on disk, by key
	mtimes   map[string]time.Time
	sidecars map[string]ingest.Sidecar
	pubKeys  map[string]*rsa.PublicKey // by fingerprint
	logs     map[string]*readLog
	digests  map[string]*readDigest
}

// readLog is a log file as ingest.DecodeLog reads it.
type readLog struct {
	loc     ingest.Location
	records []ingest.Record
	body    ingest.Body
	err     error
}

// readDigest is a digest as ingest.DecodeDigest reads it.
type readDigest struct {
	loc    ingest.Location
	digest *ingest.Digest
	raw    []byte
	body   ingest.Body
	err    error
}

// loadArchive generates cfg into a shared directory named name (once per
// test binary) and reads every object back.
func loadArchive(t *testing.T, name string, cfg Config) *archive {
	t.Helper()
	testMu.Lock()
	a := testArchives[name]
	testMu.Unlock()
	if a != nil {
		return a
	}
	dir := filepath.Join(testRoot, name)
	truth, err := Generate(context.Background(), cfg, dir)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	a = readArchive(t, dir)
	if a.truth.Generator == "" {
		t.Fatal("truth.json is empty")
	}
	if a.truth.Records != truth.Records {
		t.Fatalf("truth.json records %+v, Generate returned %+v", a.truth.Records, truth.Records)
	}
	testMu.Lock()
	testArchives[name] = a
	testMu.Unlock()
	return a
}

// readArchive reads a directory copy, its sidecars and its state files.
func readArchive(t *testing.T, dir string) *archive {
	t.Helper()
	a := &archive{dir: dir, files: map[string][]byte{}, mtimes: map[string]time.Time{}, sidecars: map[string]ingest.Sidecar{},
		pubKeys: map[string]*rsa.PublicKey{}, logs: map[string]*readLog{}, digests: map[string]*readDigest{}}
	state := filepath.Join(dir, ingest.StateDir)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if meta, ok := strings.CutPrefix(rel, ingest.StateDir+"/meta/"); ok {
			var sc ingest.Sidecar
			if err := json.Unmarshal(b, &sc); err != nil {
				return err
			}
			a.sidecars[strings.TrimSuffix(meta, ".json")] = sc
			return nil
		}
		if strings.HasPrefix(p, state) {
			return nil
		}
		a.files[rel] = b
		info, err := d.Info()
		if err != nil {
			return err
		}
		a.mtimes[rel] = info.ModTime().UTC()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := os.ReadFile(filepath.Join(state, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	a.truth = new(Truth)
	if err := json.Unmarshal(tb, a.truth); err != nil {
		t.Fatalf("truth.json: %v", err)
	}
	kb, err := os.ReadFile(filepath.Join(state, "public-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list PublicKeyList
	if err := json.Unmarshal(kb, &list); err != nil {
		t.Fatalf("public-keys.json: %v", err)
	}
	for _, k := range list.PublicKeyList {
		der, err := base64.StdEncoding.DecodeString(k.Value)
		if err != nil {
			t.Fatalf("public key %s: %v", k.Fingerprint, err)
		}
		pub, err := x509.ParsePKCS1PublicKey(der)
		if err != nil {
			t.Fatalf("public key %s is not PKCS#1: %v", k.Fingerprint, err)
		}
		if sum := md5.Sum(der); hex.EncodeToString(sum[:]) != k.Fingerprint {
			t.Errorf("fingerprint %s is not the MD5 of the DER (%x)", k.Fingerprint, sum)
		}
		a.pubKeys[k.Fingerprint] = pub
	}
	for key, b := range a.files {
		loc := ingest.ParseKey(key)
		switch loc.Kind {
		case ingest.KindLog:
			l := &readLog{loc: loc}
			l.body, l.err = ingest.DecodeLog(bytes.NewReader(b), ingest.DecodeOptions{}, func(r *ingest.Record) error {
				l.records = append(l.records, *r)
				return nil
			})
			a.logs[key] = l
		case ingest.KindDigest:
			d := &readDigest{loc: loc}
			raw, _, err := ingest.ReadBody(bytes.NewReader(b), ingest.MaxDigestSize)
			if err == nil {
				d.raw = raw
			}
			d.digest, d.body, d.err = ingest.DecodeDigest(bytes.NewReader(b))
			a.digests[key] = d
		}
	}
	return a
}

// verify checks a digest's signature as the AWS CLI does.
func (a *archive) verify(d *readDigest, sigHex string) error {
	pub := a.pubKeys[d.digest.DigestPublicKeyFingerprint]
	if pub == nil {
		return errors.New("public key not found")
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return err
	}
	prev := ""
	if d.digest.PreviousDigestSignature != nil {
		prev = *d.digest.PreviousDigestSignature
	}
	sts := signingString(d.digest.DigestEndTime, d.digest.DigestS3Bucket, d.digest.DigestS3Object, d.raw, prev)
	h := sha256.Sum256([]byte(sts))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

package analyzer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// syntheticVector is testdata/integrity/synthetic-vector.json: a signed
// starting digest and everything needed to check it.
type syntheticVector struct {
	PublicKey     string `json:"public_key_pkcs1_der_b64"`
	Fingerprint   string `json:"fingerprint_md5_of_der"`
	Raw           string `json:"digest_uncompressed_raw"`
	RawSHA256     string `json:"sha256_of_raw_digest_hex"`
	StringToSign  string `json:"string_to_sign"`
	SigningSHA256 string `json:"sha256_of_string_to_sign_hex"`
	Signature     string `json:"signature_hex_(x-amz-meta-signature)"`
	Algorithm     string `json:"signature_algorithm_(x-amz-meta-signature-algorithm)"`
}

func readIntegrityTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "integrity", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadSyntheticVector(t testing.TB) syntheticVector {
	t.Helper()
	var v syntheticVector
	if err := json.Unmarshal(readIntegrityTestdata(t, "synthetic-vector.json"), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// publicKeyListJSON renders keys as list-public-keys prints them.
func publicKeyListJSON(t testing.TB, ders ...[]byte) []byte {
	t.Helper()
	type entry struct {
		Value             string
		ValidityStartTime any
		ValidityEndTime   any
		Fingerprint       string
	}
	var list struct{ PublicKeyList []entry }
	for _, der := range ders {
		list.PublicKeyList = append(list.PublicKeyList, entry{
			Value:             base64.StdEncoding.EncodeToString(der),
			ValidityStartTime: 1704067200,
			ValidityEndTime:   "2024-01-31T00:00:00+00:00",
			Fingerprint:       Fingerprint(der),
		})
	}
	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParsePublicKeysUserGuideSample(t *testing.T) {
	ks, err := ParsePublicKeys(readIntegrityTestdata(t, "awsdocs-publickeys.json"))
	if err != nil {
		t.Fatalf("ParsePublicKeys: %v", err)
	}
	want := []string{"31e8b5433410dfb61a9dc45cc65b22ff", "8933b39ddc64d26d8e14ffbf6566fee4", "8eba5db5bea9b640d1c96a77256fe7f2"}
	if got := ks.Fingerprints(); !slices.Equal(got, want) {
		t.Errorf("Fingerprints() = %v, want %v", got, want)
	}
	for _, fp := range want {
		pub, ok := ks.Lookup(fp)
		if !ok || pub.N.BitLen() != 2048 || pub.E != 65537 {
			t.Errorf("Lookup(%s) = %v, %v; want a 2048-bit key with e=65537", fp, pub, ok)
		}
	}
	// "1436317441.0" as AWS CLI v1 prints it.
	from, until := ks.Validity("8eba5db5bea9b640d1c96a77256fe7f2")
	if wantFrom := time.Unix(1436317441, 0).UTC(); !from.Equal(wantFrom) || until.Sub(from) != 30*24*time.Hour {
		t.Errorf("Validity = %v, %v; want %v and 30 days later", from, until, wantFrom)
	}
	if _, ok := ks.Lookup("8EBA5DB5BEA9B640D1C96A77256FE7F2"); !ok {
		t.Error("Lookup with an upper-case fingerprint failed")
	}
	if _, ok := ks.Lookup("00000000000000000000000000000000"); ok {
		t.Error("Lookup of an unknown fingerprint succeeded")
	}
}

// TestRealSignatures verifies genuine CloudTrail signatures (from the user
// guide's sample digests) with the SPKI key they were made with: key
// parsing and the PKCS#1 v1.5 / SHA-256 primitive against AWS's output.
func TestRealSignatures(t *testing.T) {
	var vec struct {
		PublicKey struct {
			Fingerprint string
			Value       string
		} `json:"publicKey"`
		Vectors []struct {
			Signature string `json:"signature_hex"`
			Hash      string `json:"recovered_sha256_of_string_to_sign"`
			Flipped   string `json:"negative_flipped_hash_bit0"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(readIntegrityTestdata(t, "awsdocs-signature-vector.json"), &vec); err != nil {
		t.Fatal(err)
	}
	list, err := json.Marshal(map[string]any{"PublicKeyList": []any{map[string]string{
		"Value": vec.PublicKey.Value, "Fingerprint": vec.PublicKey.Fingerprint,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := ParsePublicKeys(list)
	if err != nil {
		t.Fatalf("ParsePublicKeys: %v", err)
	}
	pub, ok := ks.Lookup(vec.PublicKey.Fingerprint)
	if !ok {
		t.Fatalf("Lookup(%s) failed; have %v", vec.PublicKey.Fingerprint, ks.Fingerprints())
	}
	if len(vec.Vectors) != 2 {
		t.Fatalf("%d vectors, want 2", len(vec.Vectors))
	}
	for _, v := range vec.Vectors {
		sig, err := decodeSignature(v.Signature)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			hash string
			ok   bool
		}{{v.Hash, true}, {v.Flipped, false}} {
			h, _ := hex.DecodeString(c.hash)
			err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h, sig)
			if (err == nil) != c.ok {
				t.Errorf("verify %s… over %s: error %v, want ok=%v", v.Signature[:16], c.hash[:16], err, c.ok)
			}
		}
	}
}

func TestParsePublicKeysSyntheticVector(t *testing.T) {
	v := loadSyntheticVector(t)
	der, err := base64.StdEncoding.DecodeString(v.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := ParsePublicKeys(publicKeyListJSON(t, der))
	if err != nil {
		t.Fatalf("ParsePublicKeys: %v", err)
	}
	if got := ks.Fingerprints(); !slices.Equal(got, []string{v.Fingerprint}) {
		t.Fatalf("Fingerprints() = %v, want [%s]", got, v.Fingerprint)
	}
	pub, _ := ks.Lookup(v.Fingerprint)
	sig, err := decodeSignature(v.Signature)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(v.StringToSign))
	if got := hex.EncodeToString(h[:]); got != v.SigningSHA256 {
		t.Fatalf("sha256(string to signDigest) = %s, want %s", got, v.SigningSHA256)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
		t.Errorf("the vector's signature does not verify: %v", err)
	}
}

func TestParsePublicKeysErrors(t *testing.T) {
	key := testSigningKey(t)
	pkcs1 := x509.MarshalPKCS1PublicKey(&key.PublicKey)
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	for _, c := range []struct {
		name, json string
		want       string // substring of the error; "" means success
		keys       int
	}{
		{"pkcs1", `{"PublicKeyList":[{"Value":"` + b64(pkcs1) + `","Fingerprint":"` + Fingerprint(pkcs1) + `"}]}`, "", 1},
		{"spki", `{"PublicKeyList":[{"Value":"` + b64(spki) + `","Fingerprint":"` + Fingerprint(spki) + `"}]}`, "", 1},
		{"no stated fingerprint", `{"PublicKeyList":[{"Value":"` + b64(pkcs1) + `"}]}`, "", 1},
		{"same key twice", `{"PublicKeyList":[{"Value":"` + b64(pkcs1) + `"},{"Value":"` + b64(pkcs1) + `"}]}`, "", 1},
		{"cli v2 times", `{"PublicKeyList":[{"Value":"` + b64(pkcs1) + `","ValidityStartTime":"2024-01-01T00:00:00+00:00","ValidityEndTime":1706745600.5}]}`, "", 1},
		{"wrong fingerprint", `{"PublicKeyList":[{"Value":"` + b64(pkcs1) + `","Fingerprint":"` + Fingerprint(spki) + `"}]}`, "is not the MD5 of its DER", 0},
		{"not json", `PublicKeyList`, "public keys:", 0},
		{"no list", `{"Keys":[]}`, "no PublicKeyList", 0},
		{"empty list", `{"PublicKeyList":[]}`, "empty", 0},
		{"no value", `{"PublicKeyList":[{"Fingerprint":"abc"}]}`, "no Value", 0},
		{"bad base64", `{"PublicKeyList":[{"Value":"!!!"}]}`, "not base64", 0},
		{"not a key", `{"PublicKeyList":[{"Value":"YQo="}]}`, "neither a PKCS#1 nor an SPKI", 0},
		{"ec key", `{"PublicKeyList":[{"Value":"` + b64(ecDER) + `"}]}`, "not an RSA public key", 0},
		{"bad time", `{"PublicKeyList":[{"Value":"` + b64(pkcs1) + `","ValidityStartTime":"yesterday"}]}`, "ValidityStartTime", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			ks, err := ParsePublicKeys([]byte(c.json))
			if c.want == "" {
				if err != nil {
					t.Fatalf("ParsePublicKeys: %v, want success", err)
				}
				if ks.Len() != c.keys {
					t.Errorf("Len() = %d, want %d", ks.Len(), c.keys)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ParsePublicKeys error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestKeySetMerge(t *testing.T) {
	a, err := ParsePublicKeys(readIntegrityTestdata(t, "awsdocs-publickeys.json"))
	if err != nil {
		t.Fatal(err)
	}
	v := loadSyntheticVector(t)
	der, _ := base64.StdEncoding.DecodeString(v.PublicKey)
	b, err := ParsePublicKeys(publicKeyListJSON(t, der))
	if err != nil {
		t.Fatal(err)
	}
	var merged KeySet
	merged.Merge(a)
	merged.Merge(b)
	merged.Merge(a)
	merged.Merge(nil)
	want := append(a.Fingerprints(), v.Fingerprint)
	slices.Sort(want)
	if got := merged.Fingerprints(); !slices.Equal(got, want) {
		t.Errorf("merged Fingerprints() = %v, want %v", got, want)
	}
	var none *KeySet
	if _, ok := none.Lookup(v.Fingerprint); ok || none.Len() != 0 || none.Fingerprints() != nil {
		t.Error("a nil KeySet is not empty")
	}
}

// FuzzParsePublicKeys checks that no input panics and that every key
// accepted is an RSA key found under the MD5 of its DER.
func FuzzParsePublicKeys(f *testing.F) {
	f.Add(readIntegrityTestdata(f, "awsdocs-publickeys.json"))
	v := loadSyntheticVector(f)
	der, _ := base64.StdEncoding.DecodeString(v.PublicKey)
	f.Add(publicKeyListJSON(f, der))
	f.Add([]byte(`{"PublicKeyList":[{"Value":"YQo=","Fingerprint":"abc"}]}`))
	f.Add([]byte(`{"PublicKeyList":[{"Value":"` + v.PublicKey + `","ValidityStartTime":"1e300"}]}`))
	f.Add([]byte(`{"PublicKeyList":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := ParsePublicKeys(data)
		if err != nil {
			if ks != nil {
				t.Fatalf("ParsePublicKeys returned keys and error %v", err)
			}
			return
		}
		if ks.Len() == 0 {
			t.Fatal("ParsePublicKeys succeeded with no keys")
		}
		for _, fp := range ks.Fingerprints() {
			pub, ok := ks.Lookup(fp)
			if !ok || pub == nil || pub.N.BitLen() < minKeyBits {
				t.Fatalf("Lookup(%s) = %v, %v", fp, pub, ok)
			}
			if got := Fingerprint(ks.keys[fp].der); got != fp {
				t.Fatalf("key filed under %s has fingerprint %s", fp, got)
			}
		}
	})
}

package analyzer

import (
	"bytes"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// KeySet holds CloudTrail public keys by fingerprint: the lower-case hex
// MD5 of the key's DER bytes, which is what a digest names in
// digestPublicKeyFingerprint. Keys are chosen by fingerprint, never by
// time: validity windows overlap, and a digest says which key signed it.
// The zero value is an empty set; a nil *KeySet holds no keys.
type KeySet struct {
	keys map[string]publicKey
}

// publicKey is one CloudTrail public key and the validity window
// ListPublicKeys gave for it (zero when not stated).
type publicKey struct {
	key        *rsa.PublicKey
	der        []byte
	validFrom  time.Time
	validUntil time.Time
}

// maxPublicKeysSize bounds what ParsePublicKeys reads: a real
// list-public-keys answer holds a few keys of about 400 bytes each.
const maxPublicKeysSize = 16 << 20

// ParsePublicKeys reads what `aws cloudtrail list-public-keys` prints:
// {"PublicKeyList":[{"Value":…,"ValidityStartTime":…,"ValidityEndTime":…,
// "Fingerprint":…}]}. Value is the base64 DER of an RSA public key, PKCS#1
// as CloudTrail documents it or SubjectPublicKeyInfo as one of its own
// samples has it. The fingerprint stated with a key must be the MD5 of its
// DER: a file whose fingerprints do not match its keys was edited or
// corrupted, and verifying with it would prove nothing, so it is refused.
// The times may be epoch seconds (a JSON number, or a string as AWS CLI v1
// prints them) or RFC 3339 (AWS CLI v2); they are informational.
func ParsePublicKeys(data []byte) (*KeySet, error) {
	if len(data) > maxPublicKeysSize {
		return nil, fmt.Errorf("public keys: %d bytes, more than a key list holds (%d)", len(data), maxPublicKeysSize)
	}
	var doc struct {
		// encoding/json matches member names case-insensitively, so the
		// "publicKeyList" of the CloudTrail user guide's sample is read
		// too.
		PublicKeyList *[]struct {
			Value             *string         `json:"Value"`
			ValidityStartTime json.RawMessage `json:"ValidityStartTime"`
			ValidityEndTime   json.RawMessage `json:"ValidityEndTime"`
			Fingerprint       string          `json:"Fingerprint"`
		} `json:"PublicKeyList"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("public keys: %w", err)
	}
	if doc.PublicKeyList == nil {
		return nil, errors.New("public keys: no PublicKeyList member (want the JSON that aws cloudtrail list-public-keys prints)")
	}
	if len(*doc.PublicKeyList) == 0 {
		return nil, errors.New("public keys: PublicKeyList is empty")
	}
	ks := &KeySet{keys: map[string]publicKey{}}
	for i, entry := range *doc.PublicKeyList {
		if entry.Value == nil {
			return nil, fmt.Errorf("public keys: key %d: no Value", i)
		}
		der, err := base64.StdEncoding.DecodeString(stripSpace(*entry.Value))
		if err != nil {
			return nil, fmt.Errorf("public keys: key %d: Value is not base64: %w", i, err)
		}
		pub, err := parseRSAPublicKey(der)
		if err != nil {
			return nil, fmt.Errorf("public keys: key %d: %w", i, err)
		}
		fp := Fingerprint(der)
		if stated := strings.ToLower(strings.TrimSpace(entry.Fingerprint)); stated != "" && stated != fp {
			return nil, fmt.Errorf("public keys: key %d: stated fingerprint %s is not the MD5 of its DER, %s: the file was altered", i, stated, fp)
		}
		k := publicKey{key: pub, der: der}
		if k.validFrom, err = parseKeyTime(entry.ValidityStartTime); err != nil {
			return nil, fmt.Errorf("public keys: key %s: ValidityStartTime: %w", fp, err)
		}
		if k.validUntil, err = parseKeyTime(entry.ValidityEndTime); err != nil {
			return nil, fmt.Errorf("public keys: key %s: ValidityEndTime: %w", fp, err)
		}
		ks.add(fp, k)
	}
	return ks, nil
}

// Fingerprint returns CloudTrail's fingerprint of a public key: the
// lower-case hex MD5 of its DER bytes, exactly as ListPublicKeys returns
// them (for an SPKI key, of the SPKI bytes, not the inner PKCS#1 key).
func Fingerprint(der []byte) string {
	sum := md5.Sum(der)
	return hex.EncodeToString(sum[:])
}

// parseRSAPublicKey reads PKCS#1 RSAPublicKey DER, falling back to
// SubjectPublicKeyInfo, and refuses keys that are not RSA or too small to
// mean anything.
func parseRSAPublicKey(der []byte) (*rsa.PublicKey, error) {
	if pub, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return checkRSA(pub)
	}
	parsed, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("value is neither a PKCS#1 nor an SPKI DER public key: %w", err)
	}
	pub, ok := parsed.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("value is a %T, not an RSA public key", parsed)
	}
	return checkRSA(pub)
}

// minKeyBits is the smallest modulus accepted. CloudTrail signs with
// RSA-2048; the AWS CLI's own tests use 512-bit keys, which Go refuses to
// verify with anyway.
const minKeyBits = 1024

func checkRSA(pub *rsa.PublicKey) (*rsa.PublicKey, error) {
	if n := pub.N.BitLen(); n < minKeyBits {
		return nil, fmt.Errorf("RSA key of %d bits: at least %d wanted", n, minKeyBits)
	}
	return pub, nil
}

// parseKeyTime reads a ListPublicKeys timestamp: absent or null, epoch
// seconds as a number or a string ("1436317441.0", AWS CLI v1), or RFC
// 3339 (AWS CLI v2 and the JSON the CLI's --query prints).
func parseKeyTime(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	var text string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return time.Time{}, err
		}
	} else {
		text = string(raw)
	}
	text = strings.TrimSpace(text)
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
			return time.Time{}, fmt.Errorf("%q is not a plausible epoch time", text)
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05-0700", "2006-01-02 15:04:05-07:00"} {
		if t, err := time.Parse(layout, text); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither epoch seconds nor RFC 3339", text)
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, s)
}

func (k *KeySet) add(fp string, pk publicKey) {
	if k.keys == nil {
		k.keys = map[string]publicKey{}
	}
	old, ok := k.keys[fp]
	if !ok {
		k.keys[fp] = pk
		return
	}
	// The same key listed twice (one file per query window): keep the
	// widest validity window known.
	if !pk.validFrom.IsZero() && (old.validFrom.IsZero() || pk.validFrom.Before(old.validFrom)) {
		old.validFrom = pk.validFrom
	}
	if pk.validUntil.After(old.validUntil) {
		old.validUntil = pk.validUntil
	}
	k.keys[fp] = old
}

// Merge adds other's keys to k: --public-keys is repeatable, one file per
// region or per query window. Keys are identified by fingerprint, the MD5
// of their DER, so the same key from two files is kept once.
func (k *KeySet) Merge(other *KeySet) {
	if other == nil {
		return
	}
	for fp, pk := range other.keys {
		k.add(fp, pk)
	}
}

// Lookup returns the key whose fingerprint is fp (lower-case hex MD5 of
// its DER; upper case is accepted).
func (k *KeySet) Lookup(fp string) (*rsa.PublicKey, bool) {
	if k == nil {
		return nil, false
	}
	pk, ok := k.keys[strings.ToLower(fp)]
	return pk.key, ok
}

// Fingerprints returns the fingerprints of the keys held, sorted.
func (k *KeySet) Fingerprints() []string {
	if k == nil {
		return nil
	}
	fps := make([]string, 0, len(k.keys))
	for fp := range k.keys {
		fps = append(fps, fp)
	}
	slices.Sort(fps)
	return fps
}

// Len returns the number of keys held.
func (k *KeySet) Len() int {
	if k == nil {
		return 0
	}
	return len(k.keys)
}

// Validity returns the validity window ListPublicKeys stated for the key
// fp; zero times when it stated none or the key is unknown.
func (k *KeySet) Validity(fp string) (from, until time.Time) {
	if k == nil {
		return time.Time{}, time.Time{}
	}
	pk := k.keys[strings.ToLower(fp)]
	return pk.validFrom, pk.validUntil
}

package simulate

import (
	"bytes"
	"crypto/md5"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"
)

func TestKeyRingDeterministic(t *testing.T) {
	shared := testKeys(1)
	fresh := NewKeyRing(1)
	a, err := shared.get("us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := fresh.get("us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if a.fp != b.fp || a.key.D.Cmp(b.key.D) != 0 {
		t.Errorf("two rings of seed 1 made different us-east-1 keys: %s, %s", a.fp, b.fp)
	}
	c, err := shared.get("eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if c.fp == a.fp {
		t.Errorf("us-east-1 and eu-west-1 share a key")
	}
	if a.key.N.BitLen() != 2048 || a.key.E != 65537 {
		t.Errorf("key: %d bits, e=%d; want 2048, 65537", a.key.N.BitLen(), a.key.E)
	}
	if err := a.key.Validate(); err != nil {
		t.Error(err)
	}
	if sum := md5.Sum(x509.MarshalPKCS1PublicKey(&a.key.PublicKey)); hex.EncodeToString(sum[:]) != a.fp {
		t.Errorf("fingerprint %s is not the MD5 of the PKCS#1 DER", a.fp)
	}
}

// TestPublicKeysJSON wants exactly what `aws cloudtrail list-public-keys`
// prints: the members in its order, PKCS#1 DER in base64, ISO 8601 times.
func TestPublicKeysJSON(t *testing.T) {
	k := testKeys(1)
	from := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	b, err := k.publicKeysJSON([]string{"eu-west-1", "us-east-1"}, from, from.AddDate(0, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	// The members in the CLI's order, the list first.
	last := -1
	for _, m := range []string{`"PublicKeyList"`, `"Value"`, `"ValidityStartTime"`, `"ValidityEndTime"`, `"Fingerprint"`} {
		i := bytes.Index(b, []byte(m))
		if i <= last {
			t.Fatalf("member %s out of order in\n%s", m, b)
		}
		last = i
	}
	var list PublicKeyList
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.PublicKeyList) != 2 {
		t.Fatalf("%d keys, want 2", len(list.PublicKeyList))
	}
	for _, pk := range list.PublicKeyList {
		der, err := base64.StdEncoding.DecodeString(pk.Value)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := x509.ParsePKCS1PublicKey(der); err != nil {
			t.Errorf("Value is not PKCS#1: %v", err)
		}
		start, err1 := time.Parse(time.RFC3339, pk.ValidityStartTime)
		end, err2 := time.Parse(time.RFC3339, pk.ValidityEndTime)
		if err1 != nil || err2 != nil || !start.Before(from) || !end.After(from.AddDate(0, 0, 2)) {
			t.Errorf("validity %s to %s does not cover the archive", pk.ValidityStartTime, pk.ValidityEndTime)
		}
	}
}

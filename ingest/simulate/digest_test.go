package simulate

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// syntheticVector is cloudtrail-synthetic-vector.json, the end-to-end
// digest vector of the format reference.
type syntheticVector struct {
	PublicKey    string `json:"public_key_pkcs1_der_b64"`
	Fingerprint  string `json:"fingerprint_md5_of_der"`
	Raw          string `json:"digest_uncompressed_raw"`
	RawSHA256    string `json:"sha256_of_raw_digest_hex"`
	StringToSign string `json:"string_to_sign"`
	SignedSHA256 string `json:"sha256_of_string_to_sign_hex"`
	Signature    string `json:"signature_hex_(x-amz-meta-signature)"`
}

func loadVector(t *testing.T) syntheticVector {
	t.Helper()
	b, err := os.ReadFile("testdata/cloudtrail-synthetic-vector.json")
	if err != nil {
		t.Fatal(err)
	}
	var v syntheticVector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSigningString(t *testing.T) {
	v := loadVector(t)
	const key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/02/111122223333_CloudTrail-Digest_us-east-1_my_trail.v2_us-east-1_20240102T030405Z.json.gz"
	tests := []struct {
		name                   string
		end, bucket, key, prev string
		raw                    []byte
		want                   string
	}{
		{"vector", "2024-01-02T03:04:05Z", "example-trail-bucket", key, "", []byte(v.Raw), v.StringToSign},
		// The AWS CLI's unit test test_properly_signs_when_no_previous_signature.
		{"aws-cli", "a", "b", "c", "", []byte("abc"), "a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nnull"},
		{"previous", "a", "b", "c", "00ff", []byte("abc"), "a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n00ff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := signingString(tt.end, tt.bucket, tt.key, tt.raw, tt.prev)
			if got != tt.want {
				t.Errorf("signingString:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
	sum := sha256.Sum256([]byte(v.StringToSign))
	if got := hex.EncodeToString(sum[:]); got != v.SignedSHA256 {
		t.Errorf("sha256(string to sign) = %s, want %s", got, v.SignedSHA256)
	}
	der, _ := base64.StdEncoding.DecodeString(v.PublicKey)
	pub, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := hex.DecodeString(v.Signature)
	sts := signingString("2024-01-02T03:04:05Z", "example-trail-bucket", key, []byte(v.Raw), "")
	h := sha256.Sum256([]byte(sts))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
		t.Errorf("the vector's signature does not verify over our signing string: %v", err)
	}
}

// TestAppendDigestMatchesVector renders the vector's digest and wants its
// exact bytes: member order, null handling and "\/" escapes.
func TestAppendDigestMatchesVector(t *testing.T) {
	v := loadVector(t)
	d := digestDoc{
		account:     "111122223333",
		start:       "2024-01-02T02:04:05Z",
		end:         "2024-01-02T03:04:05Z",
		bucket:      "example-trail-bucket",
		object:      "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/02/111122223333_CloudTrail-Digest_us-east-1_my_trail.v2_us-east-1_20240102T030405Z.json.gz",
		fingerprint: v.Fingerprint,
	}
	got := appendDigest(nil, &d)
	if string(got) != v.Raw {
		t.Fatalf("appendDigest:\ngot  %s\nwant %s", got, v.Raw)
	}
	sum := sha256.Sum256(got)
	if hex.EncodeToString(sum[:]) != v.RawSHA256 {
		t.Errorf("sha256 = %x, want %s", sum, v.RawSHA256)
	}
}

func TestAppendDigestWithFiles(t *testing.T) {
	d := digestDoc{
		account: "111122223333", start: "s", end: "e", bucket: "b", object: "a/b", fingerprint: "f",
		newest: "n", oldest: "o", prevBucket: "b", prevObject: "p/q", prevHash: "h", prevSignature: "sig",
		files: []digestFileDoc{{bucket: "b", object: "x/y", hash: "1", newest: "n1", oldest: "o1"}, {bucket: "b", object: "z", hash: "2", newest: "n2", oldest: "o2"}},
	}
	const want = `{"awsAccountId":"111122223333","digestStartTime":"s","digestEndTime":"e","digestS3Bucket":"b","digestS3Object":"a\/b",` +
		`"digestPublicKeyFingerprint":"f","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":"n","oldestEventTime":"o",` +
		`"previousDigestS3Bucket":"b","previousDigestS3Object":"p\/q","previousDigestHashValue":"h","previousDigestHashAlgorithm":"SHA-256",` +
		`"previousDigestSignature":"sig","logFiles":[{"s3Bucket":"b","s3Object":"x\/y","hashValue":"1","hashAlgorithm":"SHA-256",` +
		`"newestEventTime":"n1","oldestEventTime":"o1"},{"s3Bucket":"b","s3Object":"z","hashValue":"2","hashAlgorithm":"SHA-256",` +
		`"newestEventTime":"n2","oldestEventTime":"o2"}]}`
	if got := string(appendDigest(nil, &d)); got != want {
		t.Errorf("appendDigest:\ngot  %s\nwant %s", got, want)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(want), &v); err != nil {
		t.Errorf("not JSON: %v", err)
	}
}

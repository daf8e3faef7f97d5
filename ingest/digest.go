package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxDigestSize caps a digest's decompressed size. A digest lists one hour
// of one region's log files, a few hundred entries at most.
const MaxDigestSize = 32 << 20

// Digest is a CloudTrail digest file. Nullable fields are pointers; a
// starting digest has every previousDigest* field null.
type Digest struct {
	AWSAccountID                string       `json:"awsAccountId"`
	DigestStartTime             string       `json:"digestStartTime"`
	DigestEndTime               string       `json:"digestEndTime"`
	DigestS3Bucket              string       `json:"digestS3Bucket"`
	DigestS3Object              string       `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string       `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string       `json:"digestSignatureAlgorithm"`
	NewestEventTime             *string      `json:"newestEventTime"`
	OldestEventTime             *string      `json:"oldestEventTime"`
	PreviousDigestS3Bucket      *string      `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string      `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string      `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string      `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string      `json:"previousDigestSignature"`
	LogFiles                    []DigestFile `json:"logFiles"`
}

// DigestFile is one entry of a digest's logFiles.
type DigestFile struct {
	S3Bucket        string  `json:"s3Bucket"`
	S3Object        string  `json:"s3Object"`
	HashValue       string  `json:"hashValue"`
	HashAlgorithm   string  `json:"hashAlgorithm"`
	NewestEventTime *string `json:"newestEventTime"`
	OldestEventTime *string `json:"oldestEventTime"`
}

// digestRequired are the members the AWS CLI insists on; a digest without
// them is "invalid format". previousDigestSignature must be present even
// when null.
var digestRequired = []string{
	"digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object",
	"previousDigestSignature", "digestEndTime", "digestStartTime",
}

// IsStart reports whether d starts a chain: no previous digest named.
func (d *Digest) IsStart() bool {
	return d.PreviousDigestS3Object == nil && d.PreviousDigestS3Bucket == nil
}

// DecodeDigest reads a digest object whole (gzip or not), returning the
// parsed digest and the Body, whose SHA256 is the hash of the raw
// decompressed bytes: the value the signing string and the next digest's
// previousDigestHashValue use. It never re-serializes: CloudTrail escapes
// '/' as "\/", and a re-encoded digest hashes differently.
func DecodeDigest(r io.Reader) (*Digest, Body, error) {
	data, body, err := ReadBody(r, MaxDigestSize)
	if err != nil {
		return nil, body, err
	}
	d, err := ParseDigest(data)
	if err != nil {
		return nil, body, &DecodeError{Err: err}
	}
	return d, body, nil
}

// ParseDigest parses decompressed digest bytes and checks that the members
// CloudTrail always writes are there.
func ParseDigest(data []byte) (*Digest, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	var missing []string
	for _, name := range digestRequired {
		if _, ok := members[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("digest: missing %v", missing)
	}
	var d Digest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	if d.DigestEndTime == "" || d.DigestS3Object == "" {
		return nil, errors.New("digest: empty digestEndTime or digestS3Object")
	}
	return &d, nil
}

package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Object is one entry of a listing: an object, or, when Options.Delimiter
// was given, a common prefix (a "folder") with IsPrefix set and only Key
// filled in.
type Object struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
	IsPrefix     bool

	// VersionID, IsLatest and DeleteMarker are set by listings with
	// ListOptions.Versions. A delete marker has no bytes: it records that
	// the key was deleted, while older versions may survive.
	VersionID    string
	IsLatest     bool
	DeleteMarker bool
}

// ListOptions narrows a listing.
type ListOptions struct {
	// Prefix limits the listing to keys that start with it.
	Prefix string
	// Delimiter, when "/", groups the keys below the next slash after
	// Prefix into one prefix entry, as S3's ListObjectsV2 does.
	Delimiter string
	// Versions lists every version of every object, delete markers
	// included, from sources that implement VersionOpener; other sources
	// list their objects as the latest versions.
	Versions bool
}

// VersionOpener is implemented by sources that keep object versions.
type VersionOpener interface {
	OpenVersion(ctx context.Context, key, versionID string) (io.ReadCloser, Metadata, error)
}

// Metadata is an object's user metadata: the x-amz-meta-* headers with the
// prefix removed and the names in lower case. CloudTrail stores a digest's
// signature there ("signature", "signature-algorithm",
// "backfill-generation-timestamp").
type Metadata map[string]string

// A Source is a read-only CloudTrail bucket: in S3 or a local copy.
//
// List calls fn once per entry, from the calling goroutine, until the
// listing is complete, fn returns an error (which List returns), or ctx
// is done. Entries come in no promised order; callers that need one sort.
// Open returns the object's raw bytes, exactly as stored (no transparent
// decompression), and its user metadata. A key that does not exist gives
// an error that errors.Is(err, ErrNotExist) recognizes.
type Source interface {
	List(ctx context.Context, opts ListOptions, fn func(Object) error) error
	Open(ctx context.Context, key string) (io.ReadCloser, Metadata, error)
	// String names the source for messages and summary.json, e.g.
	// "s3://bucket/prefix" or the directory path.
	String() string
}

// ErrNotExist is the error Open and List wrap when an object or the bucket
// does not exist.
var ErrNotExist = errors.New("does not exist")

// Bucketed is implemented by sources that know the S3 bucket their keys
// belong to. Digests name their own location as bucket/key, so verifying
// them needs it; a plain directory copy may not know it.
type Bucketed interface {
	Bucket() string
}

// KeyKeeper is implemented by sources that may carry the CloudTrail
// public keys their digests were signed with (a copy made by acquire or
// simulate), in the form aws cloudtrail list-public-keys prints.
type KeyKeeper interface {
	StoredPublicKeys() ([]byte, error)
}

// MetadataKeeper is implemented by sources that can tell whether they
// keep S3 user metadata, where CloudTrail stores every digest's
// signature: S3 itself, and a copy acquire made. A plain copy (aws s3
// sync) loses it, and then a digest without a signature is no sign of
// tampering.
type MetadataKeeper interface {
	KeepsMetadata() bool
}

// ParseS3URL splits s3://BUCKET[/PREFIX] into the bucket and the key
// prefix. The prefix is returned as given; "" means the whole bucket.
func ParseS3URL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URL", u)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if !validBucketName(bucket) {
		return "", "", fmt.Errorf("%q: %q is not a valid S3 bucket name", u, bucket)
	}
	return bucket, prefix, nil
}

// validBucketName applies S3's naming rules loosely: 3 to 63 characters of
// lower-case letters, digits, '.', '-' (and '_' for legacy buckets).
func validBucketName(b string) bool {
	if len(b) < 3 || len(b) > 255 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !isDigit(c) && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

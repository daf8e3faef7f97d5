// Package ingest owns everything between a CloudTrail bucket and typed
// records: storage (S3 or a local copy), key parsing, decoding and the
// only goroutines of trailcover. It imports no other trailcover package.
//
// # Sources
//
// A Source lists and opens objects. S3Source reads s3://BUCKET[/PREFIX]
// with the standard AWS credential chain; DirSource reads a directory that
// holds a copy of the bucket, one file per object at the object's key.
//
// # The on-disk form of a bucket copy
//
// A plain `aws s3 sync` mirror is a valid DirSource, but it has lost what
// S3 kept beside the bytes, chiefly the digest signatures, which CloudTrail
// stores only as object metadata (x-amz-meta-signature). `trailcover
// acquire` keeps it in a folder StateDir (".trailcover") at the top of the
// copy, which listings never show:
//
//	.trailcover/source.json         {"bucket": "...", "prefix": "..."}
//	.trailcover/meta/<key>.json     a Sidecar: key, etag, version_id,
//	                                last_modified and metadata, for every
//	                                object that had user metadata
//
// DirSource.Open returns the sidecar's metadata with the object, as
// S3Source.Open returns the x-amz-meta-* headers.
//
// # Keys
//
// ParseKey turns every key into a Location: a log, digest or Insights file
// with its account, organization, region, trail and timestamps, or
// KindOther, which is never parsed as CloudTrail data.
//
// # Decoding
//
// DecodeLog streams gzip (first member only; what follows is counted, never
// read as records) into a JSON scanner that finds the Records array and
// hashes the decompressed bytes as they pass, with caps on the decompressed
// size and on each record. Each record is decoded where it lies in the read
// buffer by a reflection-free decoder that accepts and rejects exactly what
// encoding/json does (FuzzRecordDecoder holds it to that). DecodeDigest
// reads a digest whole and keeps the hash of its raw bytes: CloudTrail
// escapes '/' as "\/", so a re-encoded digest hashes differently.
//
// # The pipeline
//
// Scan lists (discovery of accounts and regions, date folders narrowed to
// the window), fetches and decodes with N workers, and hands each object's
// Result to the caller's goroutine. An object whose bytes could not be read
// in full (a reset or truncated response) is fetched again; one that still
// fails, or whose bytes are bad, arrives with Err set. Walk is the same
// pipeline with another per-object job (Acquire copies instead of
// decoding).
package ingest

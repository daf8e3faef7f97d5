// Package s3test starts S3 servers for tests: an in-process fake (gofakes3)
// and a real S3 server process (versitygw) on a free loopback port, and
// uploads a directory copy of a bucket to them, metadata included.
package s3test

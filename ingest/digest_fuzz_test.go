package ingest

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// addDigestsFromTestdata seeds f with up to max digests of the committed
// demo archive, decompressed, and the genuine digest in the shared real
// data when it is there.
func addDigestsFromTestdata(f *testing.F, max int) {
	n := 0
	filepath.WalkDir(filepath.Join("..", "testdata", "demo", "AWSLogs"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || n >= max || !strings.Contains(p, folderDigest+string(filepath.Separator)) {
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil
		}
		if data, err := io.ReadAll(zr); err == nil {
			f.Add(data)
			n++
		}
		return nil
	})
	real := filepath.Join("..", "..", "shared", "data", "real", "llm-guard-digest")
	matches, _ := filepath.Glob(filepath.Join(real, "*.json"))
	for _, p := range matches {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
}

// FuzzParseDigest holds the digest parser to its contract on any bytes:
// no panic; an accepted digest has the members CloudTrail always writes;
// DecodeDigest agrees with ParseDigest whether the bytes come plain or
// gzip-compressed, hashes exactly the decompressed bytes, and fails only
// with a *DecodeError.
func FuzzParseDigest(f *testing.F) {
	addDigestsFromTestdata(f, 20)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"digestPublicKeyFingerprint":"a","digestS3Bucket":"b","digestS3Object":"c","previousDigestSignature":null,"digestEndTime":"2024-01-01T01:00:00Z","digestStartTime":"2024-01-01T00:00:00Z","logFiles":[{"s3Object":"x","hashValue":"00"}]}`))
	f.Add([]byte(`{"digestPublicKeyFingerprint":1,"digestS3Bucket":"b","digestS3Object":"c","previousDigestSignature":null,"digestEndTime":"e","digestStartTime":"s"}`))
	f.Add([]byte(`{"digestS3Object":"c","DIGESTS3OBJECT":"d","digestPublicKeyFingerprint":"a","digestS3Bucket":"b","previousDigestSignature":null,"digestEndTime":"e","digestStartTime":"s"} trailing`))
	f.Add([]byte(`{"Records":[]}`))
	f.Add([]byte(strings.Repeat("[", 20000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDigest(data)
		if err != nil {
			if d != nil {
				t.Fatal("a digest and an error")
			}
			if !strings.HasPrefix(err.Error(), "digest: ") {
				t.Fatalf("error %q does not say it is about a digest", err)
			}
		} else if d == nil || d.DigestEndTime == "" || d.DigestS3Object == "" {
			t.Fatalf("accepted %+v", d)
		}
		if again, err2 := ParseDigest(data); (err == nil) != (err2 == nil) || !reflect.DeepEqual(d, again) {
			t.Fatal("two parses of the same bytes differ")
		}

		plain := len(data) > 0 && !bytes.HasPrefix(data, []byte{0x1f, 0x8b})
		// Stored, not compressed: the compressor's own paths would count
		// as new coverage and drown the parser's.
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.NoCompression)
		zw.Write(data)
		zw.Close()
		for _, in := range []struct {
			name  string
			bytes []byte
			same  bool // DecodeDigest must agree with ParseDigest(data)
		}{
			{"plain", data, plain},
			{"gzip", gz.Bytes(), true},
		} {
			dd, body, derr := DecodeDigest(bytes.NewReader(in.bytes))
			if derr != nil {
				var de *DecodeError
				if !errors.As(derr, &de) {
					t.Fatalf("%s: error %T %v is not a *DecodeError", in.name, derr, derr)
				}
				if dd != nil {
					t.Fatalf("%s: a digest and an error", in.name)
				}
			}
			if !in.same {
				continue
			}
			if (derr == nil) != (err == nil) || !reflect.DeepEqual(dd, d) {
				t.Fatalf("%s: DecodeDigest = %v, %v; ParseDigest = %v, %v", in.name, dd, derr, d, err)
			}
			if body.Size != int64(len(data)) || body.SHA256 != sha256.Sum256(data) || body.Trailing != 0 {
				t.Fatalf("%s: body %+v does not describe the %d decompressed bytes", in.name, body, len(data))
			}
		}
	})
}

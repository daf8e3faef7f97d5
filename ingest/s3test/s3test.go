package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"golang.org/x/sync/errgroup"

	"github.com/trailcover/trailcover/ingest"
)

// Server is a running S3 server: where it listens and the credentials it
// accepts. Its process or listener stops when the test that started it
// ends.
type Server struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Region    string
	// name is what messages call the server: "gofakes3" or "versitygw".
	name string
}

// RequireEnv is the environment variable that, set to 1, turns a missing
// versitygw binary from a skipped test into a failed one. CI sets it, so
// the end-to-end tests cannot silently stop running there.
const RequireEnv = "TRAILCOVER_REQUIRE_S3"

// StartFake starts an in-process S3 fake (gofakes3 with its in-memory
// backend) on a loopback httptest server.
func StartFake(t testing.TB) *Server {
	t.Helper()
	fake := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	ts := httptest.NewServer(fake.Server())
	t.Cleanup(ts.Close)
	return &Server{
		Endpoint:  ts.URL,
		AccessKey: "fake-access-key",
		SecretKey: "fake-secret-key",
		Region:    "us-east-1",
		name:      "gofakes3",
	}
}

// StartVersity starts a versitygw process that serves a fresh temporary
// directory as S3 on a free loopback port, and stops it when the test
// ends. Without the versitygw binary (on PATH or in $GOPATH/bin) the test
// is skipped, or fails if RequireEnv is set.
//
// versitygw's posix backend keeps object metadata (ETag, Content-Encoding,
// x-amz-meta-*) in user extended attributes and refuses to start on a file
// system without them (tmpfs before Linux 6.6, some overlay mounts). There
// StartVersity starts it again with --sidecar, which keeps the metadata in
// files of a second directory, a little more slowly.
func StartVersity(t testing.TB) *Server {
	t.Helper()
	bin, err := findVersity()
	if err != nil {
		msg := fmt.Sprintf("versitygw not installed (%v); install it with `go install github.com/versity/versitygw/cmd/versitygw@v1.8.0`", err)
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s; %s=1 requires it", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	s, err := startVersity(t, bin, false)
	if errors.Is(err, errNoXattr) {
		t.Logf("versitygw: %v; using --sidecar", err)
		s, err = startVersity(t, bin, true)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// errNoXattr is startVersity's error when versitygw would not start
// because the file system lacks user extended attributes.
var errNoXattr = errors.New("no extended attributes on the file system")

// startVersity starts bin and waits until it is healthy. The process is
// stopped when the test ends, even if it never became healthy; if the test
// failed, the output of a server that was healthy is logged then.
func startVersity(t testing.TB, bin string, sidecar bool) (*Server, error) {
	root := t.TempDir()
	// Versioning is available (buckets still need it switched on, see
	// EnableVersioning); it lives outside root for the same reason.
	args := []string{"--port", "", "--health", "/health", "--quiet", "posix", "--versioning-dir", t.TempDir()}
	if sidecar {
		// Not below root, where it would be taken for a bucket.
		args = append(args, "--sidecar", t.TempDir())
	}
	args = append(args, root)
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, fmt.Errorf("versitygw: find a free port: %w", err)
	}
	args[1] = addr
	s := &Server{
		Endpoint:  "http://" + addr,
		AccessKey: "trailcover-" + rand.Text()[:8],
		SecretKey: rand.Text(),
		Region:    "us-east-1",
		name:      "versitygw",
	}

	cmd := exec.Command(bin, args...)
	cmd.Env = append(environWithout("VGW_", "ROOT_ACCESS_KEY=", "ROOT_SECRET_KEY="),
		"ROOT_ACCESS_KEY="+s.AccessKey,
		"ROOT_SECRET_KEY="+s.SecretKey,
	)
	out := new(LockedBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	healthy := false
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if healthy && t.Failed() {
			t.Logf("versitygw output:\n%s", out.String())
		}
	})

	if err := waitHealthy(s.Endpoint+"/health", exited, 20*time.Second); err != nil {
		select {
		case <-exited:
			if strings.Contains(out.String(), "xattr check failed") {
				return nil, fmt.Errorf("%w: %s", errNoXattr, strings.TrimSpace(out.String()))
			}
			err = fmt.Errorf("%w (%v)", err, waitErr)
		default:
		}
		return nil, fmt.Errorf("versitygw on %s: %w\noutput:\n%s", addr, err, out.String())
	}
	healthy = true
	return s, nil
}

// findVersity looks for the versitygw binary on PATH, then where `go
// install` puts it.
func findVersity() (string, error) {
	bin, err := exec.LookPath("versitygw")
	if err == nil {
		return bin, nil
	}
	gobin := filepath.Join(build.Default.GOPATH, "bin", "versitygw")
	if _, serr := os.Stat(gobin); serr == nil {
		return gobin, nil
	}
	return "", fmt.Errorf("not on PATH nor at %s", gobin)
}

// freeLoopbackAddr returns an address on 127.0.0.1 that was free a moment
// ago. Another process could take it before versitygw binds it; on a test
// machine that race is rare enough to accept.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// waitHealthy polls url until it answers 200, the process exits or the
// deadline passes.
func waitHealthy(url string, exited <-chan struct{}, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy after %v: %w", timeout, err)
		}
		select {
		case <-exited:
			return errors.New("process exited before it was healthy")
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// environWithout is the environment minus variables with the given
// prefixes, so a developer's VGW_* settings cannot change the server the
// tests talk to.
func environWithout(prefixes ...string) []string {
	var env []string
outer:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue outer
			}
		}
		env = append(env, kv)
	}
	return env
}

// LockedBuffer collects a process's output; exec copies stdout and stderr
// from their own goroutines while the test may read it.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Client returns an S3 client for the server: static credentials, the
// server's endpoint addressed path-style, and checksums only where the API
// requires them (gofakes3 fails the SDK's default response validation on
// ranged reads and does not understand its default request checksums).
func (s *Server) Client(t testing.TB) *s3.Client {
	t.Helper()
	return s3.New(s3.Options{
		Region:                     s.Region,
		Credentials:                credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		BaseEndpoint:               aws.String(s.Endpoint),
		UsePathStyle:               true,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		// Without this the SDK logs a line for every response it did not
		// validate.
		DisableLogOutputChecksumValidationSkipped: true,
	})
}

// CreateBucket creates bucket on the server.
func (s *Server) CreateBucket(t testing.TB, bucket string) {
	t.Helper()
	_, err := s.Client(t).CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("%s: create bucket %s: %v", s.name, bucket, err)
	}
}

// EnableVersioning switches versioning on for bucket.
func (s *Server) EnableVersioning(t testing.TB, bucket string) {
	t.Helper()
	_, err := s.Client(t).PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		t.Fatalf("%s: enable versioning on %s: %v", s.name, bucket, err)
	}
}

// Source opens url (s3://BUCKET[/PREFIX]) on the server with
// ingest.NewS3Source.
func (s *Server) Source(t testing.TB, url string) *ingest.S3Source {
	t.Helper()
	return s.SourceWith(t, url, ingest.S3Options{})
}

// SourceWith is Source with options, such as a small LargeObject. The
// server's endpoint, region and credentials fill the fields left empty.
func (s *Server) SourceWith(t testing.TB, url string, opts ingest.S3Options) *ingest.S3Source {
	t.Helper()
	src, err := ingest.NewS3Source(t.Context(), url, s.Options(opts))
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	return src
}

// Options returns opts with the fields that reach the server (endpoint,
// region, credentials) filled in where empty, for tests that call
// ingest.NewS3Source themselves, such as to see it fail.
func (s *Server) Options(opts ingest.S3Options) ingest.S3Options {
	if opts.EndpointURL == "" {
		opts.EndpointURL = s.Endpoint
	}
	if opts.Region == "" {
		opts.Region = s.Region
	}
	if opts.Credentials == nil {
		opts.Credentials = credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")
	}
	return opts
}

// uploadLimit bounds the uploads UploadDir has in flight.
const uploadLimit = 8

// UploadDir uploads a directory copy of a bucket (the form DirSource
// reads) to bucket: every regular file below dir becomes the object at its
// slash-separated relative path, except the ingest.StateDir folder at the
// top. An object's user metadata comes from its sidecar,
// dir/.trailcover/meta/<key>.json, when there is one.
//
// Keys ending in ".gz" are stored with Content-Encoding gzip, as CloudTrail
// delivers its log and digest files, so readers are tested against the
// header that tempts HTTP clients into decompressing.
func UploadDir(ctx context.Context, c *s3.Client, bucket, dir string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(uploadLimit)
	walkErr := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := gctx.Err(); err != nil {
			// An upload failed (or ctx is done): stop walking.
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if key == ingest.StateDir {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		g.Go(func() error { return uploadFile(gctx, c, bucket, dir, key) })
		return nil
	})
	// The first upload error explains a walk stopped by it.
	if err := g.Wait(); err != nil {
		return err
	}
	if walkErr != nil {
		return fmt.Errorf("upload %s: %w", dir, walkErr)
	}
	return nil
}

func uploadFile(ctx context.Context, c *s3.Client, bucket, dir, key string) error {
	meta, err := readSidecar(dir, key)
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(key)))
	if err != nil {
		return fmt.Errorf("upload %s: %w", key, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("upload %s: %w", key, err)
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          f,
		ContentLength: aws.Int64(info.Size()),
		Metadata:      meta,
	}
	if strings.HasSuffix(key, ".gz") {
		in.ContentType = aws.String("application/json")
		in.ContentEncoding = aws.String("gzip")
	}
	if _, err := c.PutObject(ctx, in); err != nil {
		return fmt.Errorf("upload s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// readSidecar returns the user metadata recorded for key in dir, or nil.
// The folder name repeats ingest's unexported metaDir.
func readSidecar(dir, key string) (map[string]string, error) {
	name := filepath.Join(dir, ingest.StateDir, "meta", filepath.FromSlash(key)+".json")
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("upload %s: metadata sidecar: %w", key, err)
	}
	var sc ingest.Sidecar
	if err := json.Unmarshal(b, &sc); err != nil {
		return nil, fmt.Errorf("upload %s: metadata sidecar %s: %w", key, name, err)
	}
	return sc.Metadata, nil
}

package ingest

// This is the only file of trailcover that imports the AWS SDK.

//lint:file-ignore SA1019 feature/s3/manager (the Downloader for large objects) is deprecated in favour of feature/s3/transfermanager, which is not 1.0 yet; the owner chose manager.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Options configures an S3Source.
type S3Options struct {
	// EndpointURL is an S3-compatible endpoint, addressed path-style. Empty
	// means AWS, with the bucket's region found by asking S3.
	EndpointURL string
	// Region overrides the region of the standard AWS configuration chain.
	Region string
	// MaxAttempts bounds the attempts per request, retries included
	// (default 5; AWS_MAX_ATTEMPTS or max_attempts in the shared config
	// file, which the SDK applies over it, win). Throttling, 5xx answers
	// and dropped connections are retried with jittered exponential
	// backoff up to MaxBackoff (default 5 s), so that an endpoint that is
	// gone fails a request within about half a minute.
	MaxAttempts int
	MaxBackoff  time.Duration
	// Retried, if set, is told of each request the SDK retries, with the
	// error, the attempt that failed and the endpoint: for a log line
	// per wave of retries (see RetryLog), so a stalled or failing
	// endpoint is never silence.
	Retried func(err error, attempt int)
	// LargeObject is the size from which objects are fetched with parallel
	// ranged requests into a temporary file (default 64 MiB).
	LargeObject int64
	// HTTPClient, if not nil, replaces the SDK's HTTP client.
	HTTPClient *http.Client
	// ResponseTimeout bounds the wait for a response's headers (default
	// 30 s); a request that times out is retried.
	ResponseTimeout time.Duration
	// ReadIdleTimeout fails a body read that receives nothing for this
	// long (default 60 s), so that a stalled connection cannot hang a run.
	ReadIdleTimeout time.Duration
	// Credentials, if not nil, replaces the standard credential chain (for
	// tests against a local server).
	Credentials aws.CredentialsProvider
}

// maxIdleConns is how many idle connections to S3 are kept for reuse:
// more than any sensible --workers.
const maxIdleConns = 256

// S3Source reads a bucket through the S3 API with the standard AWS
// credential chain (environment, shared profile, SSO, IMDS).
type S3Source struct {
	client *s3.Client
	// cfg is the AWS configuration the client was made from, for the
	// CloudTrail requests of PublicKeys.
	cfg    aws.Config
	bucket string
	prefix string
	large  int64
	custom bool
	idle   time.Duration
}

var (
	_ Source        = (*S3Source)(nil)
	_ Bucketed      = (*S3Source)(nil)
	_ VersionOpener = (*S3Source)(nil)
)

// NewS3Source opens s3://bucket/prefix. It checks that the bucket exists
// and is readable, so a wrong name or missing permission fails here with a
// clear error rather than as an empty archive.
func NewS3Source(ctx context.Context, url string, opts S3Options) (*S3Source, error) {
	bucket, prefix, err := ParseS3URL(url)
	if err != nil {
		return nil, err
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.LargeObject <= 0 {
		opts.LargeObject = 64 << 20
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	var loadOpts []func(*config.LoadOptions) error
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	if opts.Credentials != nil {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(opts.Credentials))
	}
	if opts.ResponseTimeout <= 0 {
		opts.ResponseTimeout = 30 * time.Second
	}
	if opts.ReadIdleTimeout <= 0 {
		opts.ReadIdleTimeout = time.Minute
	}
	if opts.HTTPClient != nil {
		loadOpts = append(loadOpts, config.WithHTTPClient(opts.HTTPClient))
	} else {
		loadOpts = append(loadOpts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.ResponseHeaderTimeout = opts.ResponseTimeout
			// The SDK keeps 10 idle connections per host; with more
			// workers than that, connections would be closed and
			// opened again (TCP and TLS handshakes) all run long.
			tr.MaxIdleConns = max(tr.MaxIdleConns, maxIdleConns)
			tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, maxIdleConns)
		})))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("%s: load AWS configuration: %w", url, err)
	}
	// AWS_MAX_ATTEMPTS, or max_attempts in the shared config file, wins.
	attempts := cmp.Or(cfg.RetryMaxAttempts, opts.MaxAttempts)
	mode := cfg.RetryMode // AWS_RETRY_MODE or retry_mode in the shared config file
	cfg.Retryer = func() aws.Retryer {
		standard := func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = opts.MaxBackoff
			// The default token bucket gives up on retries after a burst
			// of failures; an unattended batch job would rather wait.
			o.RateLimiter = ratelimit.None
		}
		var r aws.RetryerV2 = retry.NewStandard(standard)
		if mode == aws.RetryModeAdaptive {
			r = retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, standard)
			})
		}
		if opts.Retried != nil {
			r = &reportingRetryer{RetryerV2: r, retried: opts.Retried}
		}
		return r
	}
	custom := opts.EndpointURL != ""
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	clientOpts := func(o *s3.Options) {
		if custom {
			o.BaseEndpoint = aws.String(opts.EndpointURL)
			o.UsePathStyle = true
			// S3-compatible servers differ in which checksums they return;
			// validate only where the API requires it. Log and digest
			// hashes are checked by trailcover itself.
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.DisableLogOutputChecksumValidationSkipped = true
		}
	}
	client := s3.NewFromConfig(cfg, clientOpts)
	if !custom {
		region, err := manager.GetBucketRegion(ctx, client, bucket)
		if err != nil {
			var nf manager.BucketNotFound
			if errors.As(err, &nf) {
				return nil, fmt.Errorf("bucket %s: %w", bucket, ErrNotExist)
			}
			return nil, fmt.Errorf("bucket %s: find its region: %w", bucket, err)
		}
		if region != cfg.Region {
			cfg.Region = region
			client = s3.NewFromConfig(cfg, clientOpts)
		}
	}
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", bucket, s3Error(err))
	}
	return &S3Source{client: client, cfg: cfg, bucket: bucket, prefix: prefix, large: opts.LargeObject, custom: custom, idle: opts.ReadIdleTimeout}, nil
}

// PublicKeys asks CloudTrail (ListPublicKeys, through every page) for the
// public keys its digests were signed with between start and end, in each
// region, with the source's credentials and the SDK's endpoint settings
// (AWS_ENDPOINT_URL_CLOUDTRAIL, AWS_ENDPOINT_URL, the shared config
// file's services section; --endpoint-url is S3's alone). It returns the
// keys as aws cloudtrail list-public-keys prints them, one list for every
// region, each key once, and why regions failed, by region.
func (s *S3Source) PublicKeys(ctx context.Context, regions []string, start, end time.Time) ([]byte, map[string]error) {
	type entry struct {
		Value             []byte    `json:"Value"`
		ValidityStartTime time.Time `json:"ValidityStartTime"`
		ValidityEndTime   time.Time `json:"ValidityEndTime"`
		Fingerprint       string    `json:"Fingerprint"`
	}
	// Keys are a help, not the job: a CloudTrail endpoint that does not
	// answer must not hold the run up for long.
	ctx, cancel := context.WithTimeout(ctx, keysTimeout)
	defer cancel()
	var mu sync.Mutex
	byFingerprint := map[string]entry{}
	failed := map[string]error{}
	var wg sync.WaitGroup
	for _, region := range regions {
		wg.Go(func() {
			cfg := s.cfg.Copy()
			cfg.Region = region
			client := cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) {
				o.Retryer = retry.NewStandard(func(r *retry.StandardOptions) {
					r.MaxAttempts, r.MaxBackoff = 3, 500*time.Millisecond
				})
			})
			pages := cloudtrail.NewListPublicKeysPaginator(client, &cloudtrail.ListPublicKeysInput{StartTime: aws.Time(start), EndTime: aws.Time(end)})
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					mu.Lock()
					failed[region] = err
					mu.Unlock()
					return
				}
				mu.Lock()
				for _, k := range page.PublicKeyList {
					fp := aws.ToString(k.Fingerprint)
					byFingerprint[fp] = entry{Value: k.Value, ValidityStartTime: aws.ToTime(k.ValidityStartTime).UTC(),
						ValidityEndTime: aws.ToTime(k.ValidityEndTime).UTC(), Fingerprint: fp}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	list := make([]entry, 0, len(byFingerprint))
	for _, fp := range slices.Sorted(maps.Keys(byFingerprint)) {
		list = append(list, byFingerprint[fp])
	}
	if len(list) == 0 {
		return nil, failed
	}
	data, _ := json.MarshalIndent(map[string]any{"PublicKeyList": list}, "", "  ")
	return append(data, '\n'), failed
}

// keysTimeout bounds PublicKeys.
const keysTimeout = 30 * time.Second

// Region is the region the source's requests go to: the bucket's.
func (s *S3Source) Region() string { return s.cfg.Region }

func (s *S3Source) String() string {
	if s.prefix == "" {
		return "s3://" + s.bucket
	}
	return "s3://" + s.bucket + "/" + s.prefix
}

// Bucket implements Bucketed.
func (s *S3Source) Bucket() string { return s.bucket }

// KeepsMetadata implements MetadataKeeper: S3 returns every object's
// user metadata.
func (s *S3Source) KeepsMetadata() bool { return true }

// Prefix is the key prefix given in the URL.
func (s *S3Source) Prefix() string { return s.prefix }

// List implements Source with ListObjectsV2, following continuation tokens
// past S3's 1,000 keys per page.
func (s *S3Source) List(ctx context.Context, opts ListOptions, fn func(Object) error) error {
	if opts.Versions {
		return s.listVersions(ctx, opts, fn)
	}
	// Keys come URL-encoded: XML cannot carry some characters a key may
	// hold (control characters), and one such key would fail every page.
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(opts.Prefix), EncodingType: types.EncodingTypeUrl}
	if opts.Delimiter != "" {
		in.Delimiter = aws.String(opts.Delimiter)
	}
	pages := s3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", s.bucket, opts.Prefix, s3Error(err))
		}
		keyOf := listedKey(page.EncodingType)
		for _, p := range page.CommonPrefixes {
			if err := fn(Object{Key: keyOf(p.Prefix), IsPrefix: true}); err != nil {
				return err
			}
		}
		for _, o := range page.Contents {
			obj := Object{
				Key:          keyOf(o.Key),
				Size:         aws.ToInt64(o.Size),
				ETag:         strings.Trim(aws.ToString(o.ETag), `"`),
				LastModified: aws.ToTime(o.LastModified).UTC(),
			}
			if err := fn(obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// listedKey decodes the keys of a listing page: URL-encoded when the
// server says so (S3 encodes as asked; servers that ignore the request
// send keys as they are, and decoding those would change them).
func listedKey(enc types.EncodingType) func(*string) string {
	if enc != types.EncodingTypeUrl {
		return aws.ToString
	}
	return func(k *string) string {
		key, err := url.QueryUnescape(aws.ToString(k))
		if err != nil {
			return aws.ToString(k)
		}
		return key
	}
}

// listVersions lists with ListObjectVersions: every version and delete
// marker, newest first within a key.
func (s *S3Source) listVersions(ctx context.Context, opts ListOptions, fn func(Object) error) error {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(opts.Prefix), EncodingType: types.EncodingTypeUrl}
	if opts.Delimiter != "" {
		in.Delimiter = aws.String(opts.Delimiter)
	}
	pages := s3.NewListObjectVersionsPaginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list versions s3://%s/%s: %w", s.bucket, opts.Prefix, s3Error(err))
		}
		keyOf := listedKey(page.EncodingType)
		for _, p := range page.CommonPrefixes {
			if err := fn(Object{Key: keyOf(p.Prefix), IsPrefix: true}); err != nil {
				return err
			}
		}
		for _, v := range page.Versions {
			obj := Object{
				Key:          keyOf(v.Key),
				Size:         aws.ToInt64(v.Size),
				ETag:         strings.Trim(aws.ToString(v.ETag), `"`),
				LastModified: aws.ToTime(v.LastModified).UTC(),
				VersionID:    aws.ToString(v.VersionId),
				IsLatest:     aws.ToBool(v.IsLatest),
			}
			if err := fn(obj); err != nil {
				return err
			}
		}
		for _, m := range page.DeleteMarkers {
			obj := Object{
				Key:          keyOf(m.Key),
				LastModified: aws.ToTime(m.LastModified).UTC(),
				VersionID:    aws.ToString(m.VersionId),
				IsLatest:     aws.ToBool(m.IsLatest),
				DeleteMarker: true,
			}
			if err := fn(obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// OpenVersion implements VersionOpener.
func (s *S3Source) OpenVersion(ctx context.Context, key, versionID string) (io.ReadCloser, Metadata, error) {
	return s.open(ctx, key, versionID)
}

// Open implements Source. Objects from S3Options.LargeObject up are
// downloaded with the transfer manager's parallel ranged requests into a
// temporary file that is removed on Close.
func (s *S3Source) Open(ctx context.Context, key string) (io.ReadCloser, Metadata, error) {
	return s.open(ctx, key, "")
}

func (s *S3Source) open(ctx context.Context, key, versionID string) (io.ReadCloser, Metadata, error) {
	if key == "" {
		return nil, nil, fmt.Errorf("open s3://%s/: empty key: %w", s.bucket, ErrNotExist)
	}
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	// The request lives as long as its body is read; a read that stalls
	// for s.idle cancels it.
	rctx, cancel := context.WithCancel(ctx)
	out, err := s.client.GetObject(rctx, in)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("open s3://%s/%s: %w", s.bucket, key, s3Error(err))
	}
	meta := normalizeMetadata(out.Metadata)
	if aws.ToInt64(out.ContentLength) < s.large {
		return newIdleReader(out.Body, s.idle, cancel), meta, nil
	}
	defer cancel()
	out.Body.Close()
	f, err := s.download(ctx, key, versionID, aws.ToString(out.ETag))
	if err != nil {
		return nil, nil, fmt.Errorf("open s3://%s/%s: %w", s.bucket, key, err)
	}
	return f, meta, nil
}

func (s *S3Source) download(ctx context.Context, key, versionID, etag string) (io.ReadCloser, error) {
	f, err := os.CreateTemp("", "trailcover-object-*")
	if err != nil {
		return nil, err
	}
	// The file is unlinked at once: it vanishes when closed, whatever
	// happens to the process.
	os.Remove(f.Name())
	d := manager.NewDownloader(s.client, func(d *manager.Downloader) {
		d.PartSize = 8 << 20
		d.Concurrency = 4
	})
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	if etag != "" {
		// The object must not change between the parts.
		in.IfMatch = aws.String(etag)
	}
	if _, err := d.Download(ctx, f, in); err != nil {
		f.Close()
		return nil, s3Error(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// idleReader cancels a request whose body stops flowing: each Read must
// return within the idle time.
type idleReader struct {
	body   io.ReadCloser
	timer  *time.Timer
	idle   time.Duration
	cancel context.CancelFunc
}

func newIdleReader(body io.ReadCloser, idle time.Duration, cancel context.CancelFunc) *idleReader {
	r := &idleReader{body: body, idle: idle, cancel: cancel, timer: time.AfterFunc(idle, cancel)}
	r.timer.Stop()
	return r
}

func (r *idleReader) Read(p []byte) (int, error) {
	// Only time spent waiting inside Read counts, not time the caller
	// spends between reads.
	r.timer.Reset(r.idle)
	n, err := r.body.Read(p)
	r.timer.Stop()
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("read body: %w", err)
	}
	return n, err
}

func (r *idleReader) Close() error {
	r.timer.Stop()
	err := r.body.Close()
	r.cancel()
	return err
}

// s3Error turns S3's not-found answers into ErrNotExist and keeps the
// service's error code and message readable.
func s3Error(err error) error {
	if msg := err.Error(); strings.Contains(msg, "failed to retrieve credentials") || strings.Contains(msg, "failed to refresh cached credentials") {
		return fmt.Errorf("no AWS credentials: the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE), "+
			"the shared files (~/.aws/credentials, ~/.aws/config: profiles, SSO after aws sso login) and the instance or task role "+
			"gave none; give one of them: %w", err)
	}
	var nsk *types.NoSuchKey
	var nsb *types.NoSuchBucket
	var nf *types.NotFound
	switch {
	case errors.As(err, &nsk):
		return fmt.Errorf("no such key: %w", ErrNotExist)
	case errors.As(err, &nsb):
		return fmt.Errorf("no such bucket: %w", ErrNotExist)
	case errors.As(err, &nf):
		return fmt.Errorf("not found: %w", ErrNotExist)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchBucket", "NotFound", "NoSuchKey":
			return fmt.Errorf("%s: %w", ae.ErrorCode(), ErrNotExist)
		}
		// A HEAD request's 403 has no body, so its code is the bare
		// "Forbidden": say plainly what it means.
		var re *awshttp.ResponseError
		if ae.ErrorCode() == "AccessDenied" || (errors.As(err, &re) && re.HTTPStatusCode() == http.StatusForbidden) {
			return fmt.Errorf("access denied (%s): the credentials in use may not read it: %w", ae.ErrorCode(), err)
		}
		return fmt.Errorf("%s: %s: %w", ae.ErrorCode(), ae.ErrorMessage(), err)
	}
	return err
}

// reportingRetryer tells S3Options.Retried of each retry it allows.
type reportingRetryer struct {
	aws.RetryerV2
	retried func(err error, attempt int)
}

func (r *reportingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	d, derr := r.RetryerV2.RetryDelay(attempt, err)
	if derr == nil {
		r.retried(err, attempt)
	}
	return d, derr
}

// RetryLog reports retries as one line per wave: the first retry, then at
// most one line every interval, with how many requests were retried
// since the last line and the last error. It is safe for concurrent use.
type RetryLog struct {
	mu       sync.Mutex
	interval time.Duration
	last     time.Time
	since    int
	log      func(retried int, attempt int, err error)
}

// NewRetryLog returns a RetryLog calling log at most once per interval.
func NewRetryLog(interval time.Duration, log func(retried int, attempt int, err error)) *RetryLog {
	return &RetryLog{interval: interval, log: log}
}

// Retried is an S3Options.Retried.
func (l *RetryLog) Retried(err error, attempt int) {
	l.mu.Lock()
	l.since++
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < l.interval {
		l.mu.Unlock()
		return
	}
	n := l.since
	l.since, l.last = 0, now
	l.mu.Unlock()
	l.log(n, attempt, err)
}

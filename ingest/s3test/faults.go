package s3test

import (
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Faults says what a FaultProxy does to the requests it forwards. Rates
// are per request, between 0 and 1; which requests fail is decided by a
// hash of the request and its attempt number, so a run is repeatable and
// a retried request can succeed.
type Faults struct {
	// Latency is added before every request is forwarded.
	Latency time.Duration
	// InternalError answers 500 InternalError.
	InternalError float64
	// SlowDown answers 503 SlowDown, S3's throttling.
	SlowDown float64
	// Reset closes the connection without an answer.
	Reset float64
	// Truncate sends half of a GetObject body, then closes the connection.
	Truncate float64
	// SlowBody sends a GetObject body in small pieces with pauses.
	SlowBody float64
	// Hang holds the request until the client gives up.
	Hang float64
	// OnlyGet limits faults to object reads (GET of a key, not listings),
	// so that tests can aim them.
	OnlyGet bool
	// FailKeys always fail, every attempt, with 500: objects that stay
	// unreadable after retries.
	FailKeys []string
	// Forbidden answers every request 403 AccessDenied, as S3 answers
	// credentials that may not read the bucket.
	Forbidden bool
	// ForbiddenKeys answer GET 403 AccessDenied, as a bucket policy that
	// denies reading some objects does.
	ForbiddenKeys []string
	// DownAfter, when not zero, drops the connection of every request
	// after that many: a server that dies in the middle of a run.
	DownAfter int64
}

// FaultProxy is an HTTP proxy on 127.0.0.1 in front of an S3 server that
// injects faults.
type FaultProxy struct {
	Endpoint string
	faults   Faults
	target   *url.URL
	proxy    *httputil.ReverseProxy
	attempts sync.Map // request identity → *atomic.Int64

	// Requests counts requests received; Injected counts faults injected.
	Requests, Injected atomic.Int64
}

// StartFaultProxy starts a proxy to target (an S3 endpoint URL) that
// injects faults; it stops when the test ends.
func StartFaultProxy(t testing.TB, target string, faults Faults) *FaultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{faults: faults, target: u, proxy: httputil.NewSingleHostReverseProxy(u)}
	p.proxy.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewUnstartedServer(p)
	srv.Listener.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	p.Endpoint = srv.URL
	return p
}

// roll decides, repeatably, whether this attempt of a request gets a fault
// of the given kind.
func (p *FaultProxy) roll(id string, attempt int64, kind string, rate float64) bool {
	if rate <= 0 {
		return false
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%d|%s", id, attempt, kind)
	return float64(h.Sum64()%1_000_000)/1_000_000 < rate
}

func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n := p.Requests.Add(1); p.faults.DownAfter > 0 && n > p.faults.DownAfter {
		p.Injected.Add(1)
		hijackClose(w)
		return
	}
	id := r.Method + " " + r.URL.Path + "?" + r.URL.RawQuery + " " + r.Header.Get("Range")
	n, _ := p.attempts.LoadOrStore(id, new(atomic.Int64))
	attempt := n.(*atomic.Int64).Add(1)

	if p.faults.Latency > 0 {
		select {
		case <-time.After(p.faults.Latency):
		case <-r.Context().Done():
			return
		}
	}
	if p.faults.Forbidden {
		p.Injected.Add(1)
		s3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	isGet := r.Method == http.MethodGet && !strings.Contains(r.URL.RawQuery, "list-type") &&
		!strings.Contains(r.URL.RawQuery, "versions") && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
	for _, k := range p.faults.ForbiddenKeys {
		if isGet && strings.HasSuffix(r.URL.Path, "/"+k) {
			p.Injected.Add(1)
			s3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied")
			return
		}
	}
	for _, k := range p.faults.FailKeys {
		if isGet && strings.HasSuffix(r.URL.Path, "/"+k) {
			p.Injected.Add(1)
			s3Error(w, http.StatusInternalServerError, "InternalError", "injected: this key always fails")
			return
		}
	}
	if p.faults.OnlyGet && !isGet {
		p.proxy.ServeHTTP(w, r)
		return
	}
	switch {
	case p.roll(id, attempt, "500", p.faults.InternalError):
		p.Injected.Add(1)
		s3Error(w, http.StatusInternalServerError, "InternalError", "injected internal error")
	case p.roll(id, attempt, "503", p.faults.SlowDown):
		p.Injected.Add(1)
		s3Error(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	case p.roll(id, attempt, "reset", p.faults.Reset):
		p.Injected.Add(1)
		hijackClose(w)
	case p.roll(id, attempt, "hang", p.faults.Hang):
		p.Injected.Add(1)
		<-r.Context().Done()
	case isGet && p.roll(id, attempt, "truncate", p.faults.Truncate):
		p.Injected.Add(1)
		// The proxy aborts the connection when the body cannot be
		// written in full: the client sees fewer bytes than promised.
		p.proxy.ServeHTTP(&truncatingWriter{ResponseWriter: w}, r)
	case isGet && p.roll(id, attempt, "slow", p.faults.SlowBody):
		p.Injected.Add(1)
		p.proxy.ServeHTTP(&slowWriter{ResponseWriter: w}, r)
	default:
		p.proxy.ServeHTTP(w, r)
	}
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>injected</RequestId></Error>`, code, msg)
}

// hijackClose drops the connection under an unfinished response.
func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// truncatingWriter passes on the headers (Content-Length included) and
// the first half of the body, then nothing.
type truncatingWriter struct {
	http.ResponseWriter
	limit, written int
	started        bool
}

func (t *truncatingWriter) WriteHeader(code int) {
	if n, err := fmt.Sscan(t.Header().Get("Content-Length"), &t.limit); n != 1 || err != nil {
		t.limit = 0
	}
	t.limit /= 2
	t.started = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *truncatingWriter) Write(b []byte) (int, error) {
	if !t.started {
		t.WriteHeader(http.StatusOK)
	}
	room := t.limit - t.written
	if room <= 0 {
		return 0, io.ErrShortWrite
	}
	if len(b) > room {
		b = b[:room]
	}
	n, err := t.ResponseWriter.Write(b)
	t.written += n
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if t.written >= t.limit {
		if f, ok := t.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		return n, io.ErrShortWrite
	}
	return n, err
}

// slowWriter sends the body 512 bytes at a time with pauses.
type slowWriter struct{ http.ResponseWriter }

func (s *slowWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		n := min(len(b), 512)
		m, err := s.ResponseWriter.Write(b[:n])
		written += m
		if err != nil {
			return written, err
		}
		if f, ok := s.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		time.Sleep(2 * time.Millisecond)
		b = b[n:]
	}
	return written, nil
}

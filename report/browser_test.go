package report

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// chromium finds the browser, or skips the test unless
// TRAILCOVER_REQUIRE_BROWSER=1 makes its absence a failure.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("TRAILCOVER_REQUIRE_BROWSER") == "1" {
			t.Fatalf("chromium not found: %v", err)
		}
		t.Skip("chromium not found (apt-get install chromium; TRAILCOVER_REQUIRE_BROWSER=1 makes this a failure)")
	}
	return path
}

// requestLog is a web server on 127.0.0.1 that serves one page and
// records every request it gets.
type requestLog struct {
	mu    sync.Mutex
	paths []string
	page  []byte
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.paths = append(l.paths, r.URL.Path)
	page := l.page
	l.mu.Unlock()
	if r.URL.Path != "/report.html" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page)
}

func (l *requestLog) setPage(page []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.page = page
}

func (l *requestLog) seen() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.paths)
}

// dumpDOM loads url in headless Chromium, lets its timers run, and returns
// the DOM as serialized after load.
func dumpDOM(t *testing.T, browser, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=3000", "--dump-dom", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return stdout.String()
}

// TestHTMLInBrowser opens report.html in headless Chromium, served from a
// loopback server that records requests. The page must render its
// verdicts, show every planted payload as text, and make no request but
// its own: with its Content-Security-Policy, and without it, so that the
// escaping is shown to hold on its own.
func TestHTMLInBrowser(t *testing.T) {
	browser := chromium(t)
	for _, variant := range []string{"with CSP", "without CSP"} {
		t.Run(variant, func(t *testing.T) {
			log := &requestLog{}
			srv := httptest.NewServer(log)
			defer srv.Close()
			p := newPayloads(srv.URL)
			run, res := fixtureRun(p), fixtureResult(p)
			page := render(t, func(w io.Writer) error { return WriteHTML(w, run, res) })
			if variant == "without CSP" {
				start := bytes.Index(page, []byte(`<meta http-equiv="Content-Security-Policy"`))
				end := start + bytes.IndexByte(page[start:], '>') + 1
				page = append(page[:start:start], page[end:]...)
				if bytes.Contains(page, []byte("Content-Security-Policy")) {
					t.Fatal("CSP still in the page")
				}
			}
			log.setPage(page)

			dom := dumpDOM(t, browser, srv.URL+"/report.html")
			if !strings.Contains(dom, "</html>") {
				t.Fatalf("no DOM dumped: %.500s", dom)
			}

			for _, c := range Controls(run, res) {
				_, row, found := strings.Cut(dom, `id="control-`+c.ID+`"`)
				row, _, _ = strings.Cut(row, "</tr>")
				if !found {
					t.Errorf("control %s: no row", c.ID)
				} else if !strings.Contains(row, c.Name) || !strings.Contains(row, ">"+c.Status.Label()+"<") {
					t.Errorf("control %s: the row does not show %q and %s:\n%s", c.ID, c.Name, c.Status.Label(), row)
				}
			}
			if n := strings.Count(dom, "<rect "); n < 10 {
				t.Errorf("heatmap has %d rectangles", n)
			}

			// The serializer escapes &, < and > in text nodes: a payload
			// shown as text appears so; one parsed as markup does not.
			// Bidirectional controls are shown as their code points.
			asText := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\u00a0", "&nbsp;", "\u202e", "[U+202E]")
			for _, s := range p.all() {
				if !strings.Contains(dom, asText.Replace(s)) {
					t.Errorf("payload not shown as text: %s", s)
				}
			}
			for _, tag := range []string{"<img", "<script", "<iframe", "<object", `<link rel="stylesheet"`, "<link rel=stylesheet", "<base", "<a ",
				`<meta http-equiv="refresh"`, "<svg onload", "<style>body"} {
				if strings.Contains(dom, tag) {
					i := strings.Index(dom, tag)
					t.Errorf("the DOM holds a %s element: %s", tag, dom[max(0, i-200):min(len(dom), i+200)])
				}
			}
			if got := log.seen(); !slices.Equal(got, []string{"/report.html"}) {
				t.Errorf("requests %q, want only the page", got)
			}
		})
	}
}

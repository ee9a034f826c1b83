package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	analytics "github.com/shopstream/shopstream/functions/analytics/api"
	"github.com/shopstream/shopstream/shared/browsertest"
	"github.com/shopstream/shopstream/shared/dashboard"
	"github.com/shopstream/shopstream/shared/devstack"
	"github.com/shopstream/shopstream/shared/generator"
)

// lockedBuffer is a bytes.Buffer safe for one writer and many readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// panelsReady is true once every panel of the page drew data.
const panelsReady = `
const ps = [...document.querySelectorAll('section.panel')];
return ps.length > 0 && ps.every(p => p.dataset.state === 'ok' && Number(p.dataset.points) > 0);`

// panelsState describes every panel, for a failure message.
const panelsState = `
return [...document.querySelectorAll('section.panel')].map(p =>
  p.dataset.feed + ': ' + p.dataset.state + ' ' + (p.dataset.points || 0) + ' ' + (p.querySelector('.message')?.textContent || '')).join('; ');`

// TestDashboardInBrowser runs `shopstream dev` on a small run with every
// function, opens its dashboard in headless Chromium, waits until every
// panel has drawn live data (charts as canvases with points, bars, lists),
// and saves a screenshot (dashboard.png) in the test's artifact directory
// (under .shopstream/artifacts with make test). The feeds' figures are
// checked against the generator too: events/s totals equal what it
// produced.
func TestDashboardInBrowser(t *testing.T) {
	if !dashboard.Built() {
		t.Fatal("the dashboard's script is not bundled: run `make assets` (npm, esbuild) before go test")
	}
	browser := browsertest.Start(t, browsertest.Options{Width: 1400, Height: 2300})
	// Support cases come from feedback on shipped orders, an hour or so of
	// event time after the orders: 100,000 events (33 minutes of event
	// time at the generator's density) give a few.
	const events = 100_000
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--events", fmt.Sprint(events), "--seed", "3", "--functions", strings.Join(productFunctions(), ","),
			"--http", "127.0.0.1:0", "--data-dir", t.TempDir()}, &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev: %v", err)
		}
	})

	urlRE := regexp.MustCompile(`dashboard on (http://127\.0\.0\.1:\d+)/`)
	var base string
	for deadline := time.Now().Add(2 * time.Minute); base == ""; {
		if m := urlRE.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("dev ended: %v\n%s", err, stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dashboard address from dev:\n%s", stderr.String())
		}
	}
	if err := browser.Open(base + "/"); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer wcancel()
	if err := browser.WaitFor(wctx, panelsReady, panelsState); err != nil {
		t.Fatalf("the panels did not all draw data: %v\nconsole:\n%s\ndev:\n%s", err, browser.Logs(), stderr.String())
	}

	// Every panel of the page's feeds is there, in the page's order, and
	// each chart is a canvas uPlot drew.
	var panels []string
	if err := browser.Eval(&panels, `return [...document.querySelectorAll('section.panel')].map(p => p.dataset.feed);`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(panels, ",") != strings.Join(feedOrder, ",") {
		t.Fatalf("panels %v, want %v", panels, feedOrder)
	}
	var canvases map[string]int
	if err := browser.Eval(&canvases, `const out = {};
for (const p of document.querySelectorAll('section.panel')) {
  for (const c of p.querySelectorAll('canvas')) if (c.width > 0 && c.height > 0) out[p.dataset.feed] = (out[p.dataset.feed] || 0) + 1;
}
return out;`); err != nil {
		t.Fatal(err)
	}
	for _, feed := range []string{dashboard.FeedThroughput, dashboard.FeedLag, dashboard.FeedRevenue, dashboard.FeedSessions} {
		if canvases[feed] == 0 {
			t.Errorf("panel %s has no chart canvas (%v)", feed, canvases)
		}
	}

	// The events/s panel's totals reach what the generator produced.
	for deadline := time.Now().Add(2 * time.Minute); ; {
		var s dashboard.Series
		getFeed(t, base, dashboard.FeedThroughput, &s)
		var total int64
		for _, topic := range generator.InputTopics {
			total += s.Totals[topic]
		}
		if total == events {
			break
		}
		if total > events || time.Now().After(deadline) {
			t.Fatalf("input topics hold %d records, want %d", total, events)
		}
		time.Sleep(time.Second)
	}
	// Let one more refresh draw the final figures, then take the picture.
	var refreshes int
	_ = browser.Eval(&refreshes, `return Number(document.body.dataset.refreshes);`)
	_ = browser.WaitFor(wctx, fmt.Sprintf(`return Number(document.body.dataset.refreshes) > %d;`, refreshes+1), panelsState)
	shot, err := browser.Screenshot()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 1000 {
		t.Fatalf("screenshot is %v", b)
	}
	path := filepath.Join(t.ArtifactDir(), "dashboard.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	var state string
	_ = browser.Eval(&state, panelsState)
	t.Logf("screenshot %s (%d bytes); panels: %s", path, len(shot), state)
}

func getFeed(t *testing.T, base, name string, out any) {
	t.Helper()
	resp, err := http.Get(base + "/api/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var env struct {
		Data  json.RawMessage
		Error string
	}
	if err := json.Unmarshal(body, &env); err != nil || resp.StatusCode != 200 {
		t.Fatalf("feed %s: %d %s", name, resp.StatusCode, body)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		t.Fatalf("feed %s: %v", name, err)
	}
}

// productFunctions are the pipeline's functions without the one the tests
// wire in.
func productFunctions() []string {
	var names []string
	for _, n := range functionNames() {
		if n != "checkfn" {
			names = append(names, n)
		}
	}
	return names
}

// TestDashboardFeedsDocumented: the README's table of the dashboard lists
// every feed the page shows, and each feed's Go doc names its JSON type.
func TestDashboardFeedsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range feedOrder {
		if !strings.Contains(string(readme), "`GET /api/"+name+"`") {
			t.Errorf("README does not document GET /api/%s", name)
		}
	}
	documented := regexp.MustCompile("`GET /api/([a-z_]+)`").FindAllStringSubmatch(string(readme), -1)
	for _, m := range documented {
		if !slices.Contains(feedOrder, m[1]) {
			t.Errorf("README documents GET /api/%s, which no panel serves", m[1])
		}
	}
}

// TestDashboardCommand: `shopstream dashboard` against a database serves the
// analytics panels only, answers their feeds from the views, refuses to
// start without a source or on a public address, and stops on Ctrl-C.
func TestDashboardCommand(t *testing.T) {
	for _, args := range [][]string{
		{"dashboard"},
		{"dashboard", "--database-url", "postgres://x", "--http", "0.0.0.0:8766"},
		{"dashboard", "--database-url", "postgres://x", "--refresh", "10ms"},
	} {
		t.Setenv("DATABASE_URL", "")
		if _, stderr, code := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, code, stderr)
		}
	}

	// A cluster of its own, stopped when the test ends: the dev tests of
	// this package check that no process outlives a run.
	ctx, cancel := context.WithCancel(context.Background())
	pg, err := devstack.StartPostgres(ctx, devstack.PostgresConfig{Dir: t.TempDir(), BinDir: os.Getenv(devstack.PostgresBinDirEnv)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	url := pg.URL
	pool, err := analytics.NewPool(ctx, analytics.Conn{URL: url, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := analytics.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dashboard", "--database-url", url, "--http", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	re := regexp.MustCompile(`dashboard on (http://127\.0\.0\.1:\d+)/`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; time.Sleep(50 * time.Millisecond) {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no address: %s %s", stdout.String(), stderr.String())
		}
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	feeds := regexp.MustCompile(`data-feed="([a-z_]+)"`).FindAllStringSubmatch(string(page), -1)
	var names []string
	for _, f := range feeds {
		names = append(names, f[1])
	}
	if strings.Join(names, ",") != "revenue,funnel,top_products,sessions" {
		t.Fatalf("panels %v", names)
	}
	var f dashboard.Funnel
	getFeed(t, base, dashboard.FeedFunnel, &f)
	if len(f.Steps) != 4 || f.Day != "" {
		t.Fatalf("funnel of an empty database: %+v", f)
	}
	if resp, err := http.Get(base + "/api/fraud_alerts"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a feed without a source: %v %v", resp, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("dashboard: %v", err)
	}
}

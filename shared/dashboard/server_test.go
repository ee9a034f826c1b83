package dashboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/dashboard"
)

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// TestServer: the page has a panel per feed in order, each feed answers
// its JSON in an envelope, a failing feed says why with 503, a feed is read
// at most once per half refresh however often it is asked, and the page
// keeps to its own origin.
func TestServer(t *testing.T) {
	var reads atomic.Int64
	srv, err := dashboard.New([]dashboard.Feed{
		{Name: "numbers", Title: "Numbers <b>", Doc: "a count", Read: func(context.Context) (any, error) {
			return map[string]int64{"n": reads.Add(1)}, nil
		}},
		{Name: "broken", Title: "Broken", Doc: "always fails", Read: func(context.Context) (any, error) {
			return nil, errors.New("the source is down")
		}},
	}, dashboard.Options{Refresh: time.Hour, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	code, h, page := get(t, ts.URL+"/")
	if code != 200 || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("page: %d %v", code, h)
	}
	if i, j := strings.Index(page, `data-feed="numbers"`), strings.Index(page, `data-feed="broken"`); i < 0 || j < i {
		t.Fatalf("panels missing or out of order:\n%s", page)
	}
	if !strings.Contains(page, "Numbers &lt;b&gt;") {
		t.Fatalf("title not escaped:\n%s", page)
	}
	if strings.Contains(page, "https://") || strings.Contains(page, "http://") {
		t.Fatalf("the page refers to another origin:\n%s", page)
	}
	if got := strings.Contains(page, "/assets/dist/app.js"); got != dashboard.Built() {
		t.Fatalf("script tag %v, built %v", got, dashboard.Built())
	}
	if code, _, css := get(t, ts.URL+"/assets/style.css"); code != 200 || !strings.Contains(css, ".panel") {
		t.Fatalf("style: %d", code)
	}

	for range 3 {
		code, _, body := get(t, ts.URL+"/api/numbers")
		var env struct {
			Feed string
			At   time.Time
			Data struct{ N int64 }
		}
		if err := json.Unmarshal([]byte(body), &env); code != 200 || err != nil || env.Feed != "numbers" || env.Data.N != 1 || env.At.IsZero() {
			t.Fatalf("feed: %d %s", code, body)
		}
	}
	if reads.Load() != 1 {
		t.Fatalf("read %d times within one refresh", reads.Load())
	}
	code, _, body := get(t, ts.URL+"/api/broken")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "the source is down") {
		t.Fatalf("failing feed: %d %s", code, body)
	}
	if code, _, body := get(t, ts.URL+"/api/nothing"); code != 404 || !strings.Contains(body, "GET /api") {
		t.Fatalf("unknown feed: %d %s", code, body)
	}
	code, _, body = get(t, ts.URL+"/api")
	var index struct {
		Feeds []dashboard.FeedInfo
	}
	if err := json.Unmarshal([]byte(body), &index); code != 200 || err != nil || len(index.Feeds) != 2 || index.Feeds[0].Path != "/api/numbers" || index.Feeds[1].Doc != "always fails" {
		t.Fatalf("index: %d %s", code, body)
	}
}

func TestNewRefusesBadFeeds(t *testing.T) {
	read := func(context.Context) (any, error) { return 1, nil }
	for name, feeds := range map[string][]dashboard.Feed{
		"bad name":  {{Name: "Bad-Name", Read: read}},
		"no read":   {{Name: "x"}},
		"duplicate": {{Name: "x", Read: read}, {Name: "x", Read: read}},
	} {
		if _, err := dashboard.New(feeds, dashboard.Options{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

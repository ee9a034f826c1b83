package dashboard

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"regexp"
	"sync"
	"time"
)

// Feed is one JSON endpoint of the dashboard, GET /api/{Name}, and the
// panel of the page that shows it.
type Feed struct {
	// Name is the feed's path segment and the page's key for its panel:
	// lower case letters and underscores.
	Name string
	// Title heads the feed's panel.
	Title string
	// Doc says in one sentence what the feed's JSON holds; GET /api lists
	// it.
	Doc string
	// Read returns the feed's current value, encoded as JSON. It must be
	// safe for concurrent use; the server calls it at most once per
	// refresh interval however many pages are open.
	Read func(ctx context.Context) (any, error)
}

// Options are the server's settings.
type Options struct {
	// Title is the page's title; default "shopstream".
	Title string
	// Source names where the figures come from ("local stack", a
	// database host), shown under the title.
	Source string
	// Refresh is how often the page reads its feeds again; default 3s.
	// A feed is read from its source at most once per Refresh.
	Refresh time.Duration
	// ReadTimeout bounds one read of a feed; default 10s.
	ReadTimeout time.Duration
}

// Server serves the page, its assets and the feeds. It is an
// http.Handler; Routes gives the same handlers by ServeMux pattern for
// servers that mount other routes beside them.
type Server struct {
	opts   Options
	feeds  []*feedState
	byName map[string]*feedState
	page   []byte
	assets fs.FS
	mux    *http.ServeMux
}

// feedState is a feed and its last value.
type feedState struct {
	Feed
	mu   sync.Mutex
	at   time.Time
	body []byte
	code int
}

//go:embed assets templates
var embedded embed.FS

// bundle is the script esbuild writes; without it the page says how to
// build it.
const bundle = "dist/app.js"

var feedName = regexp.MustCompile(`^[a-z][a-z_]*$`)

// New returns a server of feeds, shown on the page in the order given.
func New(feeds []Feed, o Options) (*Server, error) {
	if o.Title == "" {
		o.Title = "shopstream"
	}
	if o.Refresh <= 0 {
		o.Refresh = 3 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 10 * time.Second
	}
	assets, err := fs.Sub(embedded, "assets")
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, byName: map[string]*feedState{}, assets: assets}
	for _, f := range feeds {
		if !feedName.MatchString(f.Name) {
			return nil, fmt.Errorf("feed name %q: want lower case letters and underscores", f.Name)
		}
		if f.Read == nil {
			return nil, fmt.Errorf("feed %s has no Read", f.Name)
		}
		if s.byName[f.Name] != nil {
			return nil, fmt.Errorf("feed %s is given twice", f.Name)
		}
		st := &feedState{Feed: f}
		s.feeds = append(s.feeds, st)
		s.byName[f.Name] = st
	}
	if s.page, err = s.render(); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	for pattern, h := range s.Routes() {
		s.mux.Handle(pattern, h)
	}
	return s, nil
}

// Routes returns the server's handlers by ServeMux pattern: the page at
// GET /, its assets under GET /assets/, the list of feeds at GET /api and
// each feed at GET /api/{name}.
func (s *Server) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /{$}":        http.HandlerFunc(s.servePage),
		"GET /assets/":    http.StripPrefix("/assets/", http.HandlerFunc(s.serveAsset)),
		"GET /api":        http.HandlerFunc(s.serveIndex),
		"GET /api/{name}": http.HandlerFunc(s.serveFeed),
	}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Built reports whether the page's script was bundled into the binary.
func Built() bool {
	_, err := fs.Stat(embedded, "assets/"+bundle)
	return err == nil
}

var pageTemplate = template.Must(template.ParseFS(embedded, "templates/index.html"))

func (s *Server) render() ([]byte, error) {
	type panel struct{ Name, Title, Doc string }
	data := struct {
		Title, Source string
		RefreshMillis int64
		Built         bool
		Panels        []panel
	}{Title: s.opts.Title, Source: s.opts.Source, RefreshMillis: s.opts.Refresh.Milliseconds(), Built: Built()}
	for _, f := range s.feeds {
		data.Panels = append(data.Panels, panel{f.Name, f.Title, f.Doc})
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render page: %w", err)
	}
	return b.Bytes(), nil
}

// securityHeaders keeps the page to its own origin: no script, style or
// connection elsewhere.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

func (s *Server) servePage(w http.ResponseWriter, _ *http.Request) {
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(s.page)
}

func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	w.Header().Set("Cache-Control", "no-cache")
	http.FileServerFS(s.assets).ServeHTTP(w, r)
}

// FeedInfo is an entry of GET /api.
type FeedInfo struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Doc   string `json:"doc"`
	Path  string `json:"path"`
}

func (s *Server) serveIndex(w http.ResponseWriter, _ *http.Request) {
	out := struct {
		RefreshSeconds float64    `json:"refresh_seconds"`
		Feeds          []FeedInfo `json:"feeds"`
	}{RefreshSeconds: s.opts.Refresh.Seconds()}
	for _, f := range s.feeds {
		out.Feeds = append(out.Feeds, FeedInfo{Name: f.Name, Title: f.Title, Doc: f.Doc, Path: "/api/" + f.Name})
	}
	writeJSON(w, http.StatusOK, out)
}

// Envelope is the body of GET /api/{name}: the feed's value and when it
// was read, or why it could not be.
type Envelope struct {
	Feed  string    `json:"feed"`
	At    time.Time `json:"at"`
	Data  any       `json:"data,omitempty"`
	Error string    `json:"error,omitempty"`
}

func (s *Server) serveFeed(w http.ResponseWriter, r *http.Request) {
	f := s.byName[r.PathValue("name")]
	if f == nil {
		writeJSON(w, http.StatusNotFound, Envelope{Feed: r.PathValue("name"), At: time.Now().UTC(), Error: "no such feed: GET /api lists them"})
		return
	}
	code, body := s.read(r.Context(), f)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// read returns the feed's value, read from its source when the last read
// is older than half the refresh interval.
func (s *Server) read(ctx context.Context, f *feedState) (int, []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if f.body != nil && now.Sub(f.at) < s.opts.Refresh/2 {
		return f.code, f.body
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ReadTimeout)
	defer cancel()
	env := Envelope{Feed: f.Name, At: now.UTC()}
	code := http.StatusOK
	data, err := f.Read(ctx)
	switch {
	case err != nil:
		env.Error, code = err.Error(), http.StatusServiceUnavailable
		if errors.Is(err, context.DeadlineExceeded) {
			env.Error = fmt.Sprintf("reading %s took longer than %s: %v", f.Name, s.opts.ReadTimeout, err)
		}
	default:
		env.Data = data
	}
	body, err := json.Marshal(env)
	if err != nil {
		code = http.StatusInternalServerError
		body, _ = json.Marshal(Envelope{Feed: f.Name, At: env.At, Error: "encode: " + err.Error()})
	}
	f.at, f.body, f.code = now, body, code
	return code, body
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

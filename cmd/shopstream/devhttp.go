package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shopstream/shopstream/shared/dashboard"
)

// devHTTPDefault is where `shopstream dev` serves its HTTP routes unless
// told otherwise.
const devHTTPDefault = "127.0.0.1:8765"

// devHTTPOptions are the flags of the HTTP server of `shopstream dev`.
type devHTTPOptions struct {
	addr   string
	public bool
	// explicit is whether --http was given: a busy default port falls back
	// to a free one, a busy explicit port is an error.
	explicit bool
}

func addHTTPFlags(fs *flag.FlagSet, o *devHTTPOptions) {
	fs.StringVar(&o.addr, "http", devHTTPDefault, "serve the live dashboard (GET /, JSON feeds under /api) and the functions' HTTP routes (GET /recommendations/{product_id}, ...) on `host:port`; \"off\" for none")
	fs.BoolVar(&o.public, "http-public", false, "allow --http on an address other than loopback (the routes have no authentication)")
}

// check validates the flags after fs parsed them.
func (o *devHTTPOptions) check(fs *flag.FlagSet) error {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "http" {
			o.explicit = true
		}
	})
	if o.addr == "off" {
		return nil
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); !o.public && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address: give --http-public to serve on it", host)
	}
	return nil
}

// devHTTP is the one HTTP server of `shopstream dev`: the dashboard at
// GET / with its feeds under /api, every function's routes on the same
// ServeMux, and an index of the functions' routes at GET /routes (and at
// GET / when there is no dashboard).
type devHTTP struct {
	srv    *http.Server
	url    string
	routes []string
	done   chan struct{}
	// dashboard is whether GET / is the dashboard.
	dashboard bool
}

// startDevHTTP builds every function's routes and serves them beside the
// dashboard, if any. With --http off it returns a server that serves
// nothing.
func startDevHTTP(ctx context.Context, o devHTTPOptions, fns []pipelineFunction, env *devEnv, board *dashboard.Server) (*devHTTP, error) {
	d := &devHTTP{}
	if o.addr == "off" {
		return d, nil
	}
	mux := http.NewServeMux()
	for _, f := range fns {
		if f.Routes == nil {
			continue
		}
		routes, err := f.Routes(ctx, env)
		if err != nil {
			return nil, fmt.Errorf("function %s: routes: %w", f.Name, err)
		}
		for _, pattern := range slices.Sorted(maps.Keys(routes)) {
			if err := handle(mux, pattern, routes[pattern]); err != nil {
				return nil, fmt.Errorf("function %s: %w", f.Name, err)
			}
			d.routes = append(d.routes, pattern)
		}
	}
	routes := slices.Clone(d.routes)
	index := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"routes": routes})
	})
	mux.Handle("GET /routes", index)
	if board != nil {
		for pattern, h := range board.Routes() {
			if err := handle(mux, pattern, h); err != nil {
				return nil, fmt.Errorf("dashboard: %w", err)
			}
		}
		d.dashboard = true
	} else {
		mux.Handle("GET /{$}", index)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil && !o.explicit {
		// The default port is taken (another run): any free loopback port.
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	d.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	d.url = "http://" + ln.Addr().String()
	d.done = make(chan struct{})
	go func() {
		defer close(d.done)
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			env.Logger.Error("http server stopped", "err", err)
		}
	}()
	return d, nil
}

// handle registers h at pattern, turning the ServeMux's panic on a bad or
// conflicting pattern into an error.
func handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("route %q: %v", pattern, r)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// URL returns the server's base URL, "" when it serves nothing.
func (d *devHTTP) URL() string { return d.url }

func (d *devHTTP) String() string {
	if d.srv == nil {
		return "HTTP off"
	}
	s := "HTTP on " + d.url
	if d.dashboard {
		s = "dashboard on " + d.url + "/ (JSON feeds at /api)"
	}
	if len(d.routes) == 0 {
		return s
	}
	return s + "; routes " + strings.Join(d.routes, ", ")
}

// Close stops the server, letting requests in flight finish for a moment.
func (d *devHTTP) Close() error {
	if d.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := d.srv.Shutdown(ctx)
	<-d.done
	return err
}

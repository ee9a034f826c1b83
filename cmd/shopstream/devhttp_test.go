package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestDevHTTP: every function's routes are served on one server, with an
// index of them at GET /; a function without routes adds none; a
// conflicting route is an error naming it; --http off serves nothing.
func TestDevHTTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := &devEnv{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	hello := func(body string) func(context.Context, *devEnv) (map[string]http.Handler, error) {
		return func(context.Context, *devEnv) (map[string]http.Handler, error) {
			return map[string]http.Handler{"GET /hello/{name}": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, body+" "+r.PathValue("name"))
			})}, nil
		}
	}
	fns := []pipelineFunction{{Name: "a", Routes: hello("hi")}, {Name: "b"}}
	web, err := startDevHTTP(ctx, devHTTPOptions{addr: "127.0.0.1:0", explicit: true}, fns, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	if !strings.Contains(web.String(), "GET /hello/{name}") || !strings.HasPrefix(web.URL(), "http://127.0.0.1:") {
		t.Fatalf("startup line %q", web)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(web.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/hello/ann"); code != 200 || body != "hi ann" {
		t.Fatalf("route: %d %q", code, body)
	}
	code, body := get("/")
	var index struct{ Routes []string }
	if err := json.Unmarshal([]byte(body), &index); code != 200 || err != nil || len(index.Routes) != 1 {
		t.Fatalf("index: %d %s", code, body)
	}
	if code, _ := get("/nothing"); code != http.StatusNotFound {
		t.Fatalf("unknown path: %d", code)
	}
	fns = append(fns, pipelineFunction{Name: "c", Routes: hello("again")})
	if _, err := startDevHTTP(ctx, devHTTPOptions{addr: "127.0.0.1:0", explicit: true}, fns, env, nil); err == nil || !strings.Contains(err.Error(), "function c") {
		t.Fatalf("conflicting routes: %v", err)
	}
	off, err := startDevHTTP(ctx, devHTTPOptions{addr: "off"}, fns, env, nil)
	if err != nil || off.URL() != "" || off.Close() != nil {
		t.Fatalf("off: %v %q", err, off.URL())
	}
}

// TestDevHTTPAddress: the server listens on loopback unless --http-public
// says otherwise; a taken default port falls back to a free one, a taken
// port given explicitly is an error.
func TestDevHTTPAddress(t *testing.T) {
	t.Parallel()
	check := func(args ...string) (devHTTPOptions, error) {
		var o devHTTPOptions
		fs := flag.NewFlagSet("dev", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		addHTTPFlags(fs, &o)
		if err := fs.Parse(args); err != nil {
			return o, err
		}
		return o, o.check(fs)
	}
	for _, c := range []struct {
		args []string
		ok   bool
	}{
		{nil, true}, {[]string{"--http", "localhost:9000"}, true}, {[]string{"--http", "[::1]:0"}, true},
		{[]string{"--http", "off"}, true}, {[]string{"--http", "0.0.0.0:8765"}, false},
		{[]string{"--http", "192.0.2.1:80"}, false}, {[]string{"--http", "0.0.0.0:8765", "--http-public"}, true},
		{[]string{"--http", "nonsense"}, false},
	} {
		if _, err := check(c.args...); (err == nil) != c.ok {
			t.Errorf("%v: %v", c.args, err)
		}
	}
	if o, _ := check(); o.explicit || o.addr != devHTTPDefault {
		t.Errorf("default options %+v", o)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	env := &devEnv{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	web, err := startDevHTTP(context.Background(), devHTTPOptions{addr: taken.Addr().String()}, nil, env, nil)
	if err != nil || web.URL() == "http://"+taken.Addr().String() {
		t.Fatalf("a taken default port: %v %v", err, web)
	}
	web.Close()
	if _, err := startDevHTTP(context.Background(), devHTTPOptions{addr: taken.Addr().String(), explicit: true}, nil, env, nil); err == nil {
		t.Fatal("a taken explicit port did not fail")
	}
}

// Package browsertest drives a real headless Chromium through its WebDriver
// (chromedriver), for tests of web pages: open a URL, run a script, wait
// for a condition, take a screenshot.
//
// Start fails the test, with the command that installs them, when
// Chromium or chromedriver is missing (Debian: apt-get install chromium
// chromium-driver; `make browser` does it).
package browsertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Args are the flags Chromium runs with: headless, no sandbox (tests run
// as root in CI), nothing fetched from the network on its own.
var Args = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--no-first-run", "--disable-dev-shm-usage", "--hide-scrollbars"}

// Browser is one WebDriver session of a headless Chromium.
type Browser struct {
	base    string // chromedriver's URL
	session string
	client  *http.Client
}

// Options are the window's size; defaults 1400 x 1000.
type Options struct {
	Width, Height int
}

// Start starts chromedriver on a loopback port and opens a session; both
// end when the test does.
func Start(t testing.TB, o Options) *Browser {
	t.Helper()
	if o.Width == 0 {
		o.Width = 1400
	}
	if o.Height == 0 {
		o.Height = 1000
	}
	chrome, driver, err := find()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	var out bytes.Buffer
	cmd := exec.Command(driver, "--port="+strconv.Itoa(port), "--allowed-ips=127.0.0.1")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("browsertest: start %s: %v", driver, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	b := &Browser{base: fmt.Sprintf("http://127.0.0.1:%d", port), client: &http.Client{Timeout: 2 * time.Minute}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var status struct {
			Ready bool `json:"ready"`
		}
		if err := b.call(http.MethodGet, "/status", nil, &status); err == nil && status.Ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("browsertest: %s did not become ready on port %d: %s", driver, port, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	profile := t.TempDir()
	args := append(append([]string{}, Args...), fmt.Sprintf("--window-size=%d,%d", o.Width, o.Height), "--user-data-dir="+profile)
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName":        "chrome",
		"goog:chromeOptions": map[string]any{"binary": chrome, "args": args},
		"goog:loggingPrefs":  map[string]any{"browser": "ALL"},
	}}}
	var session struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(http.MethodPost, "/session", caps, &session); err != nil {
		t.Fatalf("browsertest: new session of %s: %v", chrome, err)
	}
	b.session = session.SessionID
	t.Cleanup(func() { _ = b.call(http.MethodDelete, "/session/"+b.session, nil, nil) })
	return b
}

// find returns the Chromium and chromedriver programs: $CHROMIUM and
// $CHROMEDRIVER, else the first found on PATH.
func find() (chrome, driver string, err error) {
	const install = "install them with `make browser` (Debian: apt-get install chromium chromium-driver)"
	chrome = os.Getenv("CHROMIUM")
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if chrome != "" {
			break
		}
		chrome, _ = exec.LookPath(name)
	}
	if chrome == "" {
		return "", "", errors.New("no Chromium on PATH: " + install)
	}
	if driver = os.Getenv("CHROMEDRIVER"); driver == "" {
		if driver, err = exec.LookPath("chromedriver"); err != nil {
			return "", "", errors.New("no chromedriver on PATH: " + install)
		}
	}
	return chrome, driver, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Open navigates to url and waits for the page to load.
func (b *Browser) Open(url string) error {
	return b.call(http.MethodPost, b.path("/url"), map[string]any{"url": url}, nil)
}

// Eval runs script, the body of a function (arguments as `arguments`),
// and decodes what it returns into out (nil to drop it).
func (b *Browser) Eval(out any, script string, args ...any) error {
	if args == nil {
		args = []any{}
	}
	var raw json.RawMessage
	if err := b.call(http.MethodPost, b.path("/execute/sync"), map[string]any{"script": script, "args": args}, &raw); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// WaitFor runs script until it returns true, or fails with what the last
// run of describe (a script returning a string) said.
func (b *Browser) WaitFor(ctx context.Context, script, describe string) error {
	for {
		var ok bool
		err := b.Eval(&ok, script)
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			var state string
			if derr := b.Eval(&state, describe); derr != nil {
				state = derr.Error()
			}
			if err != nil {
				state += "; last error: " + err.Error()
			}
			return fmt.Errorf("%w: %s", ctx.Err(), state)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Screenshot returns a PNG of the window.
func (b *Browser) Screenshot() ([]byte, error) {
	var data string
	if err := b.call(http.MethodGet, b.path("/screenshot"), nil, &data); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(data)
}

// Logs returns the browser console's entries, for a failing test to print.
func (b *Browser) Logs() string {
	var entries []struct {
		Level   string `json:"level"`
		Message string `json:"message"`
	}
	if err := b.call(http.MethodPost, b.path("/se/log"), map[string]any{"type": "browser"}, &entries); err != nil {
		return "(no console log: " + err.Error() + ")"
	}
	var s strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&s, "%s %s\n", e.Level, e.Message)
	}
	return s.String()
}

func (b *Browser) path(p string) string { return "/session/" + b.session + p }

// call makes one WebDriver request and decodes its "value" into out.
func (b *Browser) call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(env.Value, &e)
		return fmt.Errorf("%s %s: %s: %s", method, path, e.Error, e.Message)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(env.Value, out)
}

package eventtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopstream/shopstream/shared/event"
)

const goodPageView = `{"event_id":"01KKNT84ZVE0J9XF999QMMKQEN","event_type":"page_view","schema_version":1,
	"occurred_at":"2026-03-14T09:12:03.417Z","user_id":"u-000123","page_url":"/"}`

func TestSchemasValidate(t *testing.T) {
	v := Schemas(t)
	if v2 := Schemas(t); v2 != v {
		t.Error("Schemas compiled the schemas twice")
	}
	if len(v.schemas) != len(event.Types()) {
		t.Fatalf("%d schemas loaded, want one per event type (%d)", len(v.schemas), len(event.Types()))
	}
	if err := v.Validate("page_view", []byte(goodPageView)); err != nil {
		t.Errorf("valid page_view: %v", err)
	}
	bad := []struct {
		name, eventType, doc, want string
	}{
		{"wrong type for schema", "click", goodPageView, "click.v1.json"},
		{"unknown event type", "checkout", goodPageView, `no schema for event type "checkout"`},
		{"not JSON", "page_view", `{"event_id":`, "not JSON"},
		{"extra property", "page_view", strings.Replace(goodPageView, `"page_url"`, `"pageUrl":"/","page_url"`, 1), "pageUrl"},
		{"hostile id", "page_view", strings.Replace(goodPageView, `u-000123`, `'; DROP TABLE stock;--`, 1), "user_id"},
	}
	for _, tc := range bad {
		err := v.Validate(tc.eventType, []byte(tc.doc))
		if err == nil {
			t.Errorf("%s: Validate accepted it", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	schemaDir := filepath.Join(root, filepath.FromSlash(SchemaDir))
	common, err := os.ReadFile(filepath.Join(schemaDir, "common.v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	pageView, err := os.ReadFile(filepath.Join(schemaDir, "page_view.v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"empty directory", nil, "no *.json schema files"},
		{"not JSON", map[string]string{"page_view.v1.json": "{"}, "page_view.v1.json"},
		{"id does not match file", map[string]string{"click.v1.json": string(pageView)}, "must be an absolute URL ending in /click.v1.json"},
		{"types without schema", map[string]string{"common.v1.json": string(common), "page_view.v1.json": string(pageView)}, "no schema for product_view.v1.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("load: err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// fatalTB records a Fatalf instead of stopping the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestSchemasFailsTheTest(t *testing.T) {
	_, err := load(t.TempDir())
	tb := &fatalTB{}
	mustValidator(tb, nil, err)
	if !strings.Contains(tb.msg, "cannot load the event JSON Schemas") || !strings.Contains(tb.msg, "no *.json schema files") {
		t.Fatalf("Fatalf message = %q, want a clear one", tb.msg)
	}
}

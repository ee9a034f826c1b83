// Package eventtest provides test helpers for code that produces or consumes
// shopstream events, as httptest does for HTTP: it loads the language-neutral
// contract in events/schemas and validates JSON documents against it.
//
//	v := eventtest.Schemas(t)
//	if err := v.Validate("order_created", record.Value); err != nil {
//		t.Error(err)
//	}
package eventtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/shopstream/shopstream/shared/event"
)

// SchemaDir is the directory of the event JSON Schemas, relative to the
// repository root.
const SchemaDir = "events/schemas"

// Validator validates JSON documents against the event schemas, one compiled
// schema per event type at the current schema version. It is safe for
// concurrent use.
type Validator struct {
	dir     string
	schemas map[string]*jsonschema.Schema
	files   map[string]string
}

var (
	once      sync.Once
	shared    *Validator
	sharedErr error
)

// Schemas returns the Validator for the schemas under events/schemas of this
// repository, compiling them on first use. The repository root is found by
// walking up from this package's source directory (or, failing that, the
// working directory) to go.mod. Schemas fails the test with tb.Fatal when the
// schemas cannot be found, parsed or compiled, or when an event type has no
// schema.
func Schemas(tb testing.TB) *Validator {
	tb.Helper()
	once.Do(func() {
		root, err := repoRoot()
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = load(filepath.Join(root, filepath.FromSlash(SchemaDir)))
	})
	return mustValidator(tb, shared, sharedErr)
}

func mustValidator(tb testing.TB, v *Validator, err error) *Validator {
	tb.Helper()
	if err != nil {
		tb.Fatalf("eventtest: cannot load the event JSON Schemas: %v", err)
	}
	return v
}

// Dir returns the directory the schemas were loaded from.
func (v *Validator) Dir() string { return v.dir }

// Validate validates the JSON document doc against the schema of eventType
// ("order_created"). The error says which schema file and which keyword of
// which part of the document failed.
func (v *Validator) Validate(eventType string, doc []byte) error {
	sch, ok := v.schemas[eventType]
	if !ok {
		return fmt.Errorf("eventtest: no schema for event type %q", eventType)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("eventtest: %s document is not JSON: %w", eventType, err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("eventtest: %s document does not match %s: %w", eventType, v.files[eventType], err)
	}
	return nil
}

// load compiles every schema file in dir and indexes the event schemas of the
// current version by event type.
func load(dir string) (*Validator, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no *.json schema files in %s", dir)
	}
	sort.Strings(names)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	ids := make(map[string]string, len(names)) // file base name -> $id
	for _, name := range names {
		doc, err := readJSON(name)
		if err != nil {
			return nil, err
		}
		obj, ok := doc.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: a schema must be a JSON object", name)
		}
		id, _ := obj["$id"].(string)
		base := filepath.Base(name)
		if id == "" || path.Base(id) != base {
			return nil, fmt.Errorf("%s: $id %q must be an absolute URL ending in /%s", name, id, base)
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		ids[base] = id
	}
	v := &Validator{dir: dir, schemas: map[string]*jsonschema.Schema{}, files: map[string]string{}}
	var missing []string
	for _, t := range event.Types() {
		base := fmt.Sprintf("%s.v%d.json", t, event.SchemaVersion)
		id, ok := ids[base]
		if !ok {
			missing = append(missing, base)
			continue
		}
		sch, err := c.Compile(id)
		if err != nil {
			return nil, fmt.Errorf("compile %s: %w", filepath.Join(dir, base), err)
		}
		v.schemas[string(t)] = sch
		v.files[string(t)] = filepath.Join(dir, base)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s has no schema for %s", dir, strings.Join(missing, ", "))
	}
	return v, nil
}

func readJSON(name string) (any, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return doc, nil
}

// repoRoot finds the directory holding go.mod and events/schemas, walking up
// from this source file and then from the working directory.
func repoRoot() (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		if root, ok := walkUp(dir); ok {
			return root, nil
		}
	}
	return "", errors.New("no go.mod with " + SchemaDir + " next to it above " + strings.Join(starts, " or "))
}

func walkUp(dir string) (string, bool) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(SchemaDir))); err == nil && fi.IsDir() {
				return dir, true
			}
			return "", false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

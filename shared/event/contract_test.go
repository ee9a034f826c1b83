package event_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/eventtest"
)

// The contract test keeps the language-neutral contract in events/ (JSON
// Schemas, samples, producer shapes, Lambda payloads) and the Go types of this
// package from drifting apart.
//
// Goldens (events/samples/producer/*.canonical.json and *.origin.json) and
// the Lambda payloads (events/payloads/*.json) are generated; rewrite them
// after a deliberate change with
//
//	go test ./shared/event -run 'TestProducerShapeGoldens|TestPayloads' -update

var update = flag.Bool("update", false, "rewrite the generated files under events/ (producer goldens, Lambda payloads)")

const (
	eventsDir  = "../../events"
	schemaBase = "https://shopstream.dev/schemas/"
)

var (
	userActivity   = []event.Type{event.TypePageView, event.TypeProductView, event.TypeClick, event.TypeSearch, event.TypeAddToCart, event.TypeRemoveFromCart}
	orderLifecycle = []event.Type{event.TypeOrderCreated, event.TypePaymentAuthorized, event.TypePaymentFailed, event.TypeOrderShipped, event.TypeOrderCancelled, event.TypeRefundIssued}
	topics         = []string{event.TopicUserEvents, event.TopicTransactions, event.TopicInventory, event.TopicFeedback,
		event.TopicFraudAlerts, event.TopicInventoryAlerts, event.TopicSupportAlerts, event.TopicDeadLetters}
)

// sample is one canonical sample event file.
type sample struct {
	typ  event.Type
	path string // relative to events/samples, slash-separated
	data []byte
}

func (s sample) name() string { return s.path }

// loadSamples reads events/samples/<event_type>/*.json.
func loadSamples(t *testing.T) []sample {
	t.Helper()
	dir := filepath.Join(eventsDir, "samples")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read samples: %v", err)
	}
	var out []sample
	for _, ent := range entries {
		if !ent.IsDir() {
			t.Errorf("samples/%s: only directories belong in events/samples", ent.Name())
			continue
		}
		if ent.Name() == "producer" {
			continue
		}
		typ := event.Type(ent.Name())
		if !typ.Known() {
			t.Errorf("samples/%s: not an event type", ent.Name())
			continue
		}
		files, err := filepath.Glob(filepath.Join(dir, ent.Name(), "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, sample{typ: typ, path: ent.Name() + "/" + filepath.Base(f), data: data})
		}
	}
	return out
}

func TestSampleCoverage(t *testing.T) {
	samples := loadSamples(t)
	if len(samples) < len(event.Types()) {
		t.Fatalf("%d samples, want at least one per event type (%d)", len(samples), len(event.Types()))
	}
	count := map[event.Type]int{}
	for _, s := range samples {
		count[s.typ]++
	}
	for _, typ := range event.Types() {
		want := 1
		if slices.Contains(userActivity, typ) || slices.Contains(orderLifecycle, typ) {
			want = 2
		}
		if count[typ] < want {
			t.Errorf("%s: %d samples, want at least %d", typ, count[typ], want)
		}
	}
}

// TestSamples checks every sample against its schema and its Go type, both ways.
func TestSamples(t *testing.T) {
	v := eventtest.Schemas(t)
	samples := loadSamples(t)
	if len(samples) < len(event.Types()) {
		t.Fatalf("only %d samples found", len(samples))
	}
	for _, s := range samples {
		t.Run(s.name(), func(t *testing.T) {
			t.Parallel()
			if err := v.Validate(string(s.typ), s.data); err != nil {
				t.Errorf("sample does not match its schema: %v", err)
			}
			e, err := event.Decode(s.data, event.Source{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got, want := reflect.TypeOf(e), reflect.TypeOf(event.New(s.typ)); got != want {
				t.Fatalf("Decode returned %v, want %v", got, want)
			}
			m := e.Meta()
			if m.Origin.Shape != event.ShapeCanonical || m.Origin.DerivedID || len(m.Origin.Missing) > 0 {
				t.Errorf("Origin = %+v, want the canonical shape with nothing missing", m.Origin)
			}
			if e.Key() == "" {
				t.Error("Key() is empty")
			}
			if m.OccurredAt.Year() != 2026 || m.OccurredAt.Location() != time.UTC {
				t.Errorf("occurred_at %v: samples are UTC instants in 2026", m.OccurredAt)
			}

			out, err := json.Marshal(e)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if diff := jsonDiff(s.data, out); diff != "" {
				t.Errorf("re-marshalled event differs from the sample: %s\nsample: %s\ngot:    %s", diff, compact(t, s.data), out)
			}
			if err := v.Validate(string(s.typ), out); err != nil {
				t.Errorf("re-marshalled event does not match the schema: %v", err)
			}
			if fast, err := event.AppendJSON(nil, e); err != nil || !bytes.Equal(fast, out) {
				t.Errorf("AppendJSON differs from encoding/json (%v):\n%s\n%s", err, fast, out)
			}
			again, err := event.Decode(out, event.Source{})
			if err != nil {
				t.Fatalf("Decode(re-marshalled): %v", err)
			}
			if !reflect.DeepEqual(again, e) {
				t.Errorf("Decode(Marshal(e)) = %+v, want %+v", again, e)
			}
			// encoding/json must read the canonical shape the same way as the fast decoder.
			std := event.New(s.typ)
			if err := json.Unmarshal(s.data, std); err != nil {
				t.Fatalf("encoding/json Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(std, e) {
				t.Errorf("encoding/json read %+v, Decode read %+v", std, e)
			}
		})
	}
}

// TestHostileFeedbackIsStored shows that free text is stored byte for byte,
// never interpreted.
func TestHostileFeedbackIsStored(t *testing.T) {
	found := 0
	for _, s := range loadSamples(t) {
		if s.typ != event.TypeFeedback || !bytes.Contains(s.data, []byte("DROP TABLE")) || !bytes.Contains(s.data, []byte("<script>")) {
			continue
		}
		found++
		var raw struct {
			Feedback string `json:"feedback"`
		}
		if err := json.Unmarshal(s.data, &raw); err != nil {
			t.Fatal(err)
		}
		e, err := event.Decode(s.data, event.Source{})
		if err != nil {
			t.Fatalf("%s: hostile free text must be accepted and stored: %v", s.path, err)
		}
		if got := e.(*event.Feedback).Text; got != raw.Feedback {
			t.Errorf("%s: text = %q, want it unchanged: %q", s.path, got, raw.Feedback)
		}
		out, _ := json.Marshal(e)
		var back struct {
			Feedback string `json:"feedback"`
		}
		if err := json.Unmarshal(out, &back); err != nil || back.Feedback != raw.Feedback {
			t.Errorf("%s: text did not survive a JSON round trip: %q (%v)", s.path, back.Feedback, err)
		}
	}
	if found == 0 {
		t.Fatal("no feedback sample with an SQL injection string and a <script> tag")
	}
}

// readSchema reads a schema file as generic JSON.
func readSchema(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, "schemas", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func obj(t *testing.T, m map[string]any, path ...string) map[string]any {
	t.Helper()
	cur := m
	for _, p := range path {
		next, ok := cur[p].(map[string]any)
		if !ok {
			t.Fatalf("schema has no object at %s", strings.Join(path, "/"))
		}
		cur = next
	}
	return cur
}

func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// jsonFields returns the JSON names encoding/json uses for a struct type,
// walking embedded structs.
func jsonFields(rt reflect.Type) []string {
	var out []string
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkProperties checks that a schema object describes exactly the fields of
// the Go type rt, each with a description, with required a subset of them.
func checkProperties(t *testing.T, where string, schema map[string]any, rt reflect.Type) {
	t.Helper()
	props := obj(t, schema, "properties")
	if got, want := keys(props), jsonFields(rt); !slices.Equal(got, want) {
		t.Errorf("%s: properties %v, want the json fields of %v: %v", where, got, rt, want)
	}
	if schema["additionalProperties"] != false {
		t.Errorf("%s: additionalProperties must be false", where)
	}
	for name, p := range props {
		d, _ := p.(map[string]any)["description"].(string)
		if strings.TrimSpace(d) == "" {
			t.Errorf("%s: property %s has no description", where, name)
		}
	}
	for _, r := range strs(schema["required"]) {
		if _, ok := props[r]; !ok {
			t.Errorf("%s: required %q is not a property", where, r)
		}
	}
}

func TestSchemasMatchGoTypes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(eventsDir, "schemas", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(event.Types())+1 {
		t.Errorf("%d schema files, want one per event type plus common.v1.json (%d)", len(files), len(event.Types())+1)
	}
	for _, typ := range event.Types() {
		t.Run(string(typ), func(t *testing.T) {
			name := fmt.Sprintf("%s.v%d.json", typ, event.SchemaVersion)
			s := readSchema(t, name)
			if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema = %v", s["$schema"])
			}
			if s["$id"] != schemaBase+name {
				t.Errorf("$id = %v, want %s", s["$id"], schemaBase+name)
			}
			if s["type"] != "object" {
				t.Errorf("type = %v, want object", s["type"])
			}
			if d, _ := s["description"].(string); d == "" {
				t.Error("no description")
			}
			if c := obj(t, s, "properties", "event_type")["const"]; c != string(typ) {
				t.Errorf("event_type const = %v, want %s", c, typ)
			}
			checkProperties(t, name, s, reflect.TypeOf(event.New(typ)).Elem())
			req := strs(s["required"])
			for _, f := range []string{"event_id", "event_type", "schema_version", "occurred_at"} {
				if !slices.Contains(req, f) {
					t.Errorf("envelope field %s is not required", f)
				}
			}
		})
	}
	common := readSchema(t, "common.v1.json")
	if common["$id"] != schemaBase+"common.v1.json" {
		t.Errorf("common $id = %v", common["$id"])
	}
	if c := obj(t, common, "$defs", "schema_version")["const"]; c != float64(event.SchemaVersion) {
		t.Errorf("schema_version const = %v, want %d", c, event.SchemaVersion)
	}
	nested := map[string]reflect.Type{
		"location":      reflect.TypeOf(event.Location{}),
		"item":          reflect.TypeOf(event.Item{}),
		"fraud_reason":  reflect.TypeOf(event.FraudReason{}),
		"record_header": reflect.TypeOf(event.RecordHeader{}),
	}
	for def, rt := range nested {
		checkProperties(t, "common.v1.json#/$defs/"+def, obj(t, common, "$defs", def), rt)
	}
}

func TestSchemaEnumsMatchGo(t *testing.T) {
	defs := obj(t, readSchema(t, "common.v1.json"), "$defs")
	reasons := make([]string, 0, len(event.Reasons()))
	for _, r := range event.Reasons() {
		reasons = append(reasons, string(r))
	}
	for def, want := range map[string][]string{
		"device":         event.Devices,
		"payment_method": event.PaymentMethods,
		"failure_reason": event.FailureReasons,
		"decision":       event.Decisions,
		"alert_kind":     event.AlertKinds,
		"priority":       event.Priorities,
		"reason":         reasons,
	} {
		if got := strs(obj(t, defs, def)["enum"]); !slices.Equal(got, want) {
			t.Errorf("$defs/%s enum = %v, want %v", def, got, want)
		}
	}

	var codes []string
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			for c := 'A'; c <= 'Z'; c++ {
				if s := string([]rune{a, b, c}); event.IsCurrency(s) {
					codes = append(codes, s)
				}
			}
		}
	}
	got := strs(obj(t, defs, "currency")["enum"])
	sort.Strings(got)
	if len(codes) < 150 || !slices.Equal(got, codes) {
		t.Errorf("$defs/currency enum (%d codes) differs from event.IsCurrency (%d codes)", len(got), len(codes))
	}
}

// TestIDPatternMatchesIsID checks the schema's identifier pattern and length
// against event.IsID.
func TestIDPatternMatchesIsID(t *testing.T) {
	id := obj(t, readSchema(t, "common.v1.json"), "$defs", "id")
	re := regexp.MustCompile(id["pattern"].(string))
	maxLen := int(id["maxLength"].(float64))
	if maxLen != event.MaxIDLen {
		t.Errorf("maxLength %d, want %d", maxLen, event.MaxIDLen)
	}
	inputs := []string{"", "u-000123", "o-20260314-000451", "01KKNT84ZVE0J9XF999QMMKQEN", "a", "-a", "_a", ".hidden",
		"user@example.com", "arn:aws:kafka:us-east-1:1:cluster/x", "a+b=c", "'; DROP TABLE stock;--", "<script>alert(1)</script>",
		"a b", "a\nb", "ü", "a\x00", strings.Repeat("a", 128), strings.Repeat("a", 129)}
	for c := 0; c < 256; c++ {
		inputs = append(inputs, string([]byte{byte(c)}), string([]byte{'a', byte(c)}))
	}
	for _, s := range inputs {
		schemaOK := re.MatchString(s) && len([]rune(s)) <= maxLen
		if schemaOK != event.IsID(s) {
			t.Errorf("%q: schema says %v, IsID says %v", s, schemaOK, event.IsID(s))
		}
	}
}

// TestSchemaAgreesWithDecoder removes each property of each sample in turn
// (top level and one level down) and checks that the schema and the decoder
// agree on whether what is left is a valid event. This is what keeps
// "required" (and the conditional requirements) in step with Validate.
func TestSchemaAgreesWithDecoder(t *testing.T) {
	v := eventtest.Schemas(t)
	checked := 0
	for _, s := range loadSamples(t) {
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(s.data))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		for _, path := range removablePaths(doc) {
			if path[0] == "event_type" {
				// Without event_type the decoder looks for a producer shape instead.
				continue
			}
			b, err := json.Marshal(without(doc, path))
			if err != nil {
				t.Fatal(err)
			}
			_, decErr := event.Decode(b, event.Source{})
			schemaErr := v.Validate(string(s.typ), b)
			checked++
			if (decErr == nil) != (schemaErr == nil) {
				t.Errorf("%s without %s: decoder error %v, schema error %v", s.path, strings.Join(path, "."), decErr, schemaErr)
			}
		}
	}
	if checked < 200 {
		t.Fatalf("only %d variations checked", checked)
	}
}

// removablePaths lists the keys of doc, and of its objects and first array elements.
func removablePaths(doc map[string]any) [][]string {
	var out [][]string
	for _, k := range keys(doc) {
		out = append(out, []string{k})
		switch v := doc[k].(type) {
		case map[string]any:
			for _, k2 := range keys(v) {
				out = append(out, []string{k, k2})
			}
		case []any:
			if len(v) > 0 {
				if o, ok := v[0].(map[string]any); ok {
					for _, k2 := range keys(o) {
						out = append(out, []string{k, "0", k2})
					}
				}
			}
		}
	}
	return out
}

// without returns a deep copy of doc with the value at path removed.
func without(doc map[string]any, path []string) map[string]any {
	cp := deepCopy(doc).(map[string]any)
	var cur any = cp
	for _, p := range path[:len(path)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			cur = c[0]
		}
	}
	delete(cur.(map[string]any), path[len(path)-1])
	return cp
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = deepCopy(x)
		}
		return a
	default:
		return v
	}
}

// jsonDiff reports how two JSON documents differ semantically (numbers
// compared exactly), or "" when they are equal.
func jsonDiff(a, b []byte) string {
	va, err := normJSON(a)
	if err != nil {
		return "first document: " + err.Error()
	}
	vb, err := normJSON(b)
	if err != nil {
		return "second document: " + err.Error()
	}
	return diffValues("", va, vb)
}

func normJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return normNumbers(v), nil
}

func normNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = normNumbers(x)
		}
	case []any:
		for i, x := range v {
			v[i] = normNumbers(x)
		}
	case json.Number:
		r, ok := new(big.Rat).SetString(string(v))
		if !ok {
			return "bad number " + string(v)
		}
		return r.RatString()
	}
	return v
}

func diffValues(path string, a, b any) string {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: object vs %T", path, b)
		}
		for _, k := range keys(a) {
			if _, ok := bm[k]; !ok {
				return fmt.Sprintf("%s.%s: only in the first", path, k)
			}
			if d := diffValues(path+"."+k, a[k], bm[k]); d != "" {
				return d
			}
		}
		for _, k := range keys(bm) {
			if _, ok := a[k]; !ok {
				return fmt.Sprintf("%s.%s: only in the second", path, k)
			}
		}
		return ""
	case []any:
		ba, ok := b.([]any)
		if !ok || len(ba) != len(a) {
			return fmt.Sprintf("%s: arrays differ in length or type", path)
		}
		for i := range a {
			if d := diffValues(fmt.Sprintf("%s[%d]", path, i), a[i], ba[i]); d != "" {
				return d
			}
		}
		return ""
	default:
		if !reflect.DeepEqual(a, b) {
			return fmt.Sprintf("%s: %v vs %v", path, a, b)
		}
		return ""
	}
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// golden compares got with the file at path, or rewrites the file with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with: go test ./shared/event -run %s -update)", err, strings.Split(t.Name(), "/")[0])
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale or was edited by hand; if the change is deliberate, rewrite it with: go test ./shared/event -run %s -update\ngot:\n%s\nwant:\n%s",
			path, strings.Split(t.Name(), "/")[0], got, want)
	}
}

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// originJSON is the golden form of an event.Origin.
type originJSON struct {
	Shape     event.Shape `json:"shape"`
	DerivedID bool        `json:"derived_id"`
	Missing   []string    `json:"missing"`
}

// TestProducerShapeGoldens decodes the shapes producers already send (kept
// verbatim in events/samples/producer) and compares the canonical event and
// its Origin with the goldens next to them.
func TestProducerShapeGoldens(t *testing.T) {
	v := eventtest.Schemas(t)
	dir := filepath.Join(eventsDir, "samples", "producer")
	all, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, f := range all {
		if !strings.HasSuffix(f, ".canonical.json") && !strings.HasSuffix(f, ".origin.json") {
			inputs = append(inputs, f)
		}
	}
	if len(inputs) != 9 {
		t.Fatalf("%d producer shapes in %s, want the 9 of DESIGN.md section 2", len(inputs), dir)
	}
	shapes := map[event.Shape]bool{}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			data := bytes.TrimSpace(raw)
			e, err := event.Decode(data, event.Source{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			o := e.Meta().Origin
			if o.Shape == event.ShapeCanonical {
				t.Fatalf("decoded as the canonical shape; producer shapes have no event_type")
			}
			shapes[o.Shape] = true
			canonical, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(dir, name+".canonical.json"), indent(t, canonical))
			missing := o.Missing
			if missing == nil {
				missing = []string{}
			}
			ob, err := json.Marshal(originJSON{Shape: o.Shape, DerivedID: o.DerivedID, Missing: missing})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(dir, name+".origin.json"), indent(t, ob))

			// What the shape carries in full is a valid canonical event; what
			// it lacks is listed in Missing, and without it the canonical
			// form is incomplete.
			schemaErr := v.Validate(string(e.Meta().EventType), canonical)
			if len(o.Missing) == 0 && schemaErr != nil {
				t.Errorf("nothing missing, but the canonical form does not match the schema: %v", schemaErr)
			}
			if len(o.Missing) > 0 && schemaErr == nil {
				t.Errorf("Missing = %v, yet the canonical form is complete", o.Missing)
			}
			if len(o.Missing) == 0 {
				again, err := event.Decode(canonical, event.Source{})
				if err != nil {
					t.Fatalf("Decode(canonical form): %v", err)
				}
				e.Meta().Origin = event.Origin{}
				if !reflect.DeepEqual(again, e) {
					t.Errorf("canonical form decodes to %+v, want %+v", again, e)
				}
			}
		})
	}
	for _, s := range event.Shapes() {
		if !shapes[s] {
			t.Errorf("no producer sample of shape %q", s)
		}
	}
}

// Lambda payloads: events/payloads/<topic>.json holds what an MSK event
// source mapping invokes a function with for a batch of that topic's samples.

const (
	payloadARN        = "arn:aws:kafka:us-east-1:123456789012:cluster/shopstream/7d3c2a10-5b8e-4f61-9a2d-3e4f5a6b7c8d-s1"
	payloadBootstrap  = "boot-7d3c2a10.c1.kafka-serverless.us-east-1.amazonaws.com:9098"
	payloadPartitions = 3
)

var producers = map[string]string{
	event.TopicUserEvents:      "web-tracker/2.8.1",
	event.TopicTransactions:    "checkout-svc/4.12.0",
	event.TopicInventory:       "wms-sync/1.3.0",
	event.TopicFeedback:        "feedback-widget/0.9.4",
	event.TopicFraudAlerts:     "shopstream-fraud",
	event.TopicInventoryAlerts: "shopstream-inventory",
	event.TopicSupportAlerts:   "shopstream-support",
	event.TopicDeadLetters:     "shopstream-dlq",
}

// murmur2 is Kafka's default partitioner hash (Java client, franz-go).
func murmur2(b []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
	)
	h := seed ^ uint32(len(b))
	for ; len(b) >= 4; b = b[4:] {
		k := binary.LittleEndian.Uint32(b)
		k *= m
		k ^= k >> 24
		k *= m
		h *= m
		h ^= k
	}
	switch len(b) {
	case 3:
		h ^= uint32(b[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(b[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(b[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

func TestMurmur2MatchesKafka(t *testing.T) {
	// Vectors from Kafka's UtilsTest.testMurmur2.
	for in, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := murmur2([]byte(in)); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", in, got, want)
		}
	}
}

func partitionFor(key string) int64 {
	return int64(murmur2([]byte(key))&0x7fffffff) % payloadPartitions
}

// traceID is a binary header value: 16 bytes derived from the event id.
func traceID(eventID string) []byte {
	sum := sha256.Sum256([]byte(eventID))
	return sum[:16]
}

var numberArray = regexp.MustCompile(`\[[\s0-9,-]*\]`)

// buildPayload makes the Lambda payload for one topic from its samples:
// records keyed by the event key, partitioned as Kafka's default partitioner
// does, in offset order per partition.
func buildPayload(t *testing.T, topic string, samples []sample) (events.KafkaEvent, int) {
	t.Helper()
	type rec struct {
		e     event.Event
		value []byte
	}
	var recs []rec
	for _, s := range samples {
		if s.typ.Topic() != topic {
			continue
		}
		e, err := event.Decode(s.data, event.Source{})
		if err != nil {
			t.Fatalf("%s: %v", s.path, err)
		}
		recs = append(recs, rec{e: e, value: compact(t, s.data)})
	}
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i].e.Meta(), recs[j].e.Meta()
		if !a.OccurredAt.Equal(b.OccurredAt) {
			return a.OccurredAt.Before(b.OccurredAt)
		}
		return a.EventID < b.EventID
	})
	ev := events.KafkaEvent{
		EventSource:      "aws:kafka",
		EventSourceARN:   payloadARN,
		BootstrapServers: payloadBootstrap,
		Records:          map[string][]events.KafkaRecord{},
	}
	for _, r := range recs {
		key := r.e.Key()
		p := partitionFor(key)
		id := fmt.Sprintf("%s-%d", topic, p)
		offset := 10000*(p+1) + int64(7*len(topic)) + int64(len(ev.Records[id]))
		ev.Records[id] = append(ev.Records[id], events.KafkaRecord{
			Topic:         topic,
			Partition:     p,
			Offset:        offset,
			Timestamp:     events.MilliSecondsEpochTime{Time: r.e.Meta().OccurredAt.Add(23 * time.Millisecond)},
			TimestampType: "CREATE_TIME",
			Key:           base64.StdEncoding.EncodeToString([]byte(key)),
			Value:         base64.StdEncoding.EncodeToString(r.value),
			Headers: []map[string]events.JSONNumberBytes{
				{"content-type": events.JSONNumberBytes("application/json")},
				{"producer": events.JSONNumberBytes(producers[topic])},
				{"trace-id": events.JSONNumberBytes(traceID(r.e.Meta().EventID))},
			},
		})
	}
	return ev, len(recs)
}

func TestPayloads(t *testing.T) {
	v := eventtest.Schemas(t)
	samples := loadSamples(t)
	byValue := map[string]string{} // compact sample -> path
	for _, s := range samples {
		byValue[string(compact(t, s.data))] = s.path
	}
	files, err := filepath.Glob(filepath.Join(eventsDir, "payloads", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !*update && len(files) != len(topics) {
		t.Errorf("%d payload files, want one per topic (%d)", len(files), len(topics))
	}
	total := 0
	for _, topic := range topics {
		t.Run(topic, func(t *testing.T) {
			path := filepath.Join(eventsDir, "payloads", topic+".json")
			ev, want := buildPayload(t, topic, samples)
			b, err := json.MarshalIndent(ev, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			// Header values on one line each: [97,112,112,...].
			b = numberArray.ReplaceAllFunc(b, func(a []byte) []byte {
				return bytes.Join(bytes.Fields(a), nil)
			})
			golden(t, path, append(b, '\n'))

			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			n := checkPayload(t, v, topic, data, byValue)
			if n != want {
				t.Errorf("%d records, want one per %s sample (%d)", n, topic, want)
			}
			total += n
		})
	}
	if total < len(samples) {
		t.Errorf("payloads carry %d records, samples number %d", total, len(samples))
	}
}

// checkPayload checks one payload file as a function would receive it and
// returns its record count.
func checkPayload(t *testing.T, v *eventtest.Validator, topic string, data []byte, byValue map[string]string) int {
	t.Helper()
	var ev events.KafkaEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("not a KafkaEvent: %v", err)
	}
	if ev.EventSource != "aws:kafka" || !strings.HasPrefix(ev.EventSourceARN, "arn:aws:kafka:") || ev.BootstrapServers == "" {
		t.Errorf("envelope = %q %q %q, want an MSK event source", ev.EventSource, ev.EventSourceARN, ev.BootstrapServers)
	}
	if len(ev.Records) < 2 {
		t.Errorf("records from %d partitions, want at least 2", len(ev.Records))
	}

	// Count the records the file holds, independently of KafkaEvent.
	var raw struct {
		Records map[string][]struct {
			Headers []map[string][]int `json:"headers"`
		} `json:"records"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	rawCount, negative := 0, false
	for _, rs := range raw.Records {
		rawCount += len(rs)
		for _, r := range rs {
			for _, h := range r.Headers {
				for _, vals := range h {
					for _, x := range vals {
						if x < -128 || x > 127 {
							t.Errorf("header byte %d is not a signed byte", x)
						}
						negative = negative || x < 0
					}
				}
			}
		}
	}
	if !negative {
		t.Error("no header byte above 127 (written as a negative number)")
	}

	count := 0
	for id, recs := range ev.Records {
		last := int64(-1)
		for i, r := range recs {
			count++
			where := fmt.Sprintf("%s[%d]", id, i)
			if r.Topic != topic || id != fmt.Sprintf("%s-%d", r.Topic, r.Partition) {
				t.Errorf("%s: record of %s-%d under %s", where, r.Topic, r.Partition, id)
			}
			if r.Offset <= last {
				t.Errorf("%s: offset %d after %d, want offset order", where, r.Offset, last)
			}
			last = r.Offset
			if r.TimestampType != "CREATE_TIME" || r.Timestamp.Year() != 2026 {
				t.Errorf("%s: timestamp %v %s", where, r.Timestamp.Time, r.TimestampType)
			}
			key, err := base64.StdEncoding.DecodeString(r.Key)
			if err != nil {
				t.Fatalf("%s: key: %v", where, err)
			}
			value, err := base64.StdEncoding.DecodeString(r.Value)
			if err != nil {
				t.Fatalf("%s: value: %v", where, err)
			}
			e, err := event.Decode(value, event.Source{Topic: r.Topic, Partition: int32(r.Partition), Offset: r.Offset})
			if err != nil {
				t.Fatalf("%s: Decode: %v", where, err)
			}
			m := e.Meta()
			if m.EventType.Topic() != topic {
				t.Errorf("%s: a %s event does not belong on %s", where, m.EventType, topic)
			}
			if string(key) != e.Key() || partitionFor(e.Key()) != r.Partition {
				t.Errorf("%s: key %q on partition %d, want key %q on partition %d", where, key, r.Partition, e.Key(), partitionFor(e.Key()))
			}
			if err := v.Validate(string(m.EventType), value); err != nil {
				t.Errorf("%s: %v", where, err)
			}
			if _, ok := byValue[string(value)]; !ok {
				t.Errorf("%s: value is not one of the samples: %s", where, value)
			}
			if got := r.Timestamp.Sub(m.OccurredAt); got < 0 || got > time.Second {
				t.Errorf("%s: Kafka timestamp %v is not just after occurred_at %v", where, r.Timestamp.Time, m.OccurredAt)
			}
			checkHeaders(t, where, r.Headers, topic, m.EventID)
		}
	}
	if count != rawCount {
		t.Errorf("KafkaEvent holds %d records, the file %d", count, rawCount)
	}

	// The payload survives a round trip through the aws-lambda-go types.
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if d := jsonDiff(data, out); d != "" {
		t.Errorf("KafkaEvent round trip changed the payload: %s", d)
	}
	return count
}

func checkHeaders(t *testing.T, where string, hs []map[string]events.JSONNumberBytes, topic, eventID string) {
	t.Helper()
	want := []struct {
		key   string
		value []byte
	}{
		{"content-type", []byte("application/json")},
		{"producer", []byte(producers[topic])},
		{"trace-id", traceID(eventID)},
	}
	if len(hs) != len(want) {
		t.Errorf("%s: %d headers, want %d", where, len(hs), len(want))
		return
	}
	for i, w := range want {
		got, ok := hs[i][w.key]
		if !ok || len(hs[i]) != 1 || !bytes.Equal(got, w.value) {
			t.Errorf("%s: header %d = %v, want %s: %v", where, i, hs[i], w.key, w.value)
		}
		// Bytes above 127 travel as negative numbers and come back unchanged.
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var back events.JSONNumberBytes
		if err := json.Unmarshal(b, &back); err != nil || !bytes.Equal(back, w.value) {
			t.Errorf("%s: header %s does not round-trip: %s -> %v (%v)", where, w.key, b, back, err)
		}
	}
}

// errorOf returns err as an *event.Error, failing the test when it is not one.
func errorOf(t *testing.T, err error) *event.Error {
	t.Helper()
	var e *event.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *event.Error", err, err)
	}
	return e
}

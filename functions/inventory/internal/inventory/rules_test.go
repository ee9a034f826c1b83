package inventory_test

import (
	"strings"
	"testing"

	"github.com/shopstream/shopstream/functions/inventory/internal/inventory"
)

func TestDefaultRules(t *testing.T) {
	t.Parallel()
	r := inventory.DefaultRules()
	if r.Version == "" || r.LowStock != 10 || len(r.Products) != 0 || r.Threshold("p-00001") != 10 || r.Known("p-00001") {
		t.Fatalf("default rules: %+v", r)
	}
}

func TestLoadRulesErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown field", `{"version": "v", "low_stock": 10, "lowstock": 3}`, `unknown field "lowstock"`},
		{"no version", `{"version": " ", "low_stock": 10}`, "version: required"},
		{"negative default", `{"version": "v", "low_stock": -1}`, "low_stock -1 is out of range"},
		{"negative category", `{"version": "v", "low_stock": 1, "categories": {"toys": {"low_stock": -5}}}`, "categories.toys: low_stock -5"},
		{"negative product", `{"version": "v", "low_stock": 1, "products": {"p-1": {"low_stock": -2}}}`, "products.p-1: low_stock -2"},
		{"undefined category", `{"version": "v", "low_stock": 1, "products": {"p-1": {"category": "toy"}}}`, `category "toy" is not among the document's categories`},
		{"bad product id", `{"version": "v", "low_stock": 1, "products": {"p 1;drop": {}}}`, `"p 1;drop" is not a product id`},
		{"threshold not a number", `{"version": "v", "low_stock": "ten"}`, "cannot unmarshal"},
		{"two documents", `{"version": "v", "low_stock": 1} {}`, "more than one JSON value"},
		{"not an object", `[]`, "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := inventory.LoadRules([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
}

// TestRulesThreshold: a product's own threshold, else its category's, else
// the default.
func TestRulesThreshold(t *testing.T) {
	t.Parallel()
	r, err := inventory.LoadRules([]byte(`{
		"version": "t", "low_stock": 10,
		"categories": {"electronics": {"low_stock": 5}, "books": {}},
		"products": {
			"p-own": {"category": "electronics", "low_stock": 25},
			"p-cat": {"category": "electronics"},
			"p-book": {"category": "books"},
			"p-zero": {"low_stock": 0},
			"p-plain": {}
		}}`))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int64{"p-own": 25, "p-cat": 5, "p-book": 10, "p-zero": 0, "p-plain": 10, "p-other": 10} {
		if got := r.Threshold(id); got != want {
			t.Errorf("threshold of %s = %d, want %d", id, got, want)
		}
		if known := r.Known(id); known != (id != "p-other") {
			t.Errorf("known(%s) = %v", id, known)
		}
	}
}

func TestParseModes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]inventory.Reservation{"": inventory.ReserveBackorder, "backorder": inventory.ReserveBackorder,
		"all-or-nothing": inventory.ReserveBackorder, "Partial": inventory.ReservePartial} {
		if got, err := inventory.ParseReservation(in); err != nil || got != want {
			t.Errorf("ParseReservation(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := inventory.ParseReservation("some"); err == nil || !strings.Contains(err.Error(), "partial") {
		t.Errorf("ParseReservation(some): %v", err)
	}
	for in, want := range map[string]inventory.UnknownProducts{"": inventory.UnknownAccept, "accept": inventory.UnknownAccept, "REJECT": inventory.UnknownReject} {
		if got, err := inventory.ParseUnknownProducts(in); err != nil || got != want {
			t.Errorf("ParseUnknownProducts(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := inventory.ParseUnknownProducts("drop"); err == nil || !strings.Contains(err.Error(), "accept, reject") {
		t.Errorf("ParseUnknownProducts(drop): %v", err)
	}
}

// TestNewProcessorConfig: a configuration the function cannot honour fails
// at start, saying why.
func TestNewProcessorConfig(t *testing.T) {
	t.Parallel()
	bad := inventory.DefaultRules()
	bad.LowStock = -3
	for _, tc := range []struct {
		name string
		deps inventory.Deps
		want string
	}{
		{"reject without a catalogue", inventory.Deps{Unknown: inventory.UnknownReject}, "needs a catalogue"},
		{"unknown reservation", inventory.Deps{Reservation: "first-come"}, "reservation"},
		{"unknown rule", inventory.Deps{Unknown: "ignore"}, "unknown-product rule"},
		{"invalid rules", inventory.Deps{Rules: bad}, "low_stock -3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := inventory.NewProcessor(tc.deps); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
}

package inventory

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shopstream/shopstream/shared/event"
)

// DefaultRulesDocument is the embedded default stock rules (rules.json): one
// low-stock threshold for every product, no catalogue.
//
//go:embed rules.json
var DefaultRulesDocument []byte

// Rules is the stock rules document: low-stock thresholds by product and
// by category, and the catalogue of known products.
//
// A product's threshold is its own (Products[id].LowStock), else its
// category's (Categories[Products[id].Category].LowStock), else LowStock.
// Products is also the catalogue that UnknownReject checks against.
type Rules struct {
	// Version names the document; it is logged when the function starts.
	Version string `json:"version"`
	// LowStock is the threshold of products without one of their own or of
	// their category: available stock at or below it is low.
	LowStock int64 `json:"low_stock"`
	// Categories holds the rules of each category, by name.
	Categories map[string]CategoryRule `json:"categories"`
	// Products holds the known products, by product id.
	Products map[string]ProductRule `json:"products"`
}

// CategoryRule is what the rules say about one category.
type CategoryRule struct {
	// LowStock is the threshold of the category's products that have none
	// of their own; nil for the document's default.
	LowStock *int64 `json:"low_stock,omitempty"`
}

// ProductRule is what the rules say about one product.
type ProductRule struct {
	// Category names one of the document's categories, or is empty.
	Category string `json:"category,omitempty"`
	// LowStock is the product's own threshold; nil for its category's.
	LowStock *int64 `json:"low_stock,omitempty"`
}

// LoadRules reads a stock rules document (JSON) and checks it. Unknown
// fields are errors: a misspelt threshold must not silently keep its zero
// value.
func LoadRules(doc []byte) (*Rules, error) {
	var r Rules
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("stock rules: %w", err)
	}
	if dec.More() {
		return nil, errors.New("stock rules: more than one JSON value")
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("stock rules %s: %w", r.Version, err)
	}
	return &r, nil
}

// DefaultRules returns the embedded default rules.
func DefaultRules() *Rules {
	r, err := LoadRules(DefaultRulesDocument)
	if err != nil {
		panic(err) // the embedded document is tested
	}
	return r
}

// Validate checks r and returns every problem it finds, joined.
func (r *Rules) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	threshold := func(what string, v int64) {
		if v < 0 || v > event.MaxStockLevel {
			bad("%s: low_stock %d is out of range [0, %d]", what, v, event.MaxStockLevel)
		}
	}
	if strings.TrimSpace(r.Version) == "" {
		bad("version: required")
	}
	threshold("low_stock", r.LowStock)
	for _, name := range sortedKeys(r.Categories) {
		if strings.TrimSpace(name) == "" || len(name) > event.MaxNameLen {
			bad("categories: %q is not a category name (1-%d characters)", name, event.MaxNameLen)
		}
		if c := r.Categories[name]; c.LowStock != nil {
			threshold("categories."+name, *c.LowStock)
		}
	}
	for _, id := range sortedKeys(r.Products) {
		p := r.Products[id]
		if !event.IsID(id) {
			bad("products: %q is not a product id", id)
		}
		if p.LowStock != nil {
			threshold("products."+id, *p.LowStock)
		}
		if _, ok := r.Categories[p.Category]; p.Category != "" && !ok {
			bad("products.%s: category %q is not among the document's categories", id, p.Category)
		}
	}
	return errors.Join(errs...)
}

// Threshold returns the low-stock threshold of product id.
func (r *Rules) Threshold(id string) int64 {
	p, ok := r.Products[id]
	if !ok {
		return r.LowStock
	}
	if p.LowStock != nil {
		return *p.LowStock
	}
	if c, ok := r.Categories[p.Category]; ok && c.LowStock != nil {
		return *c.LowStock
	}
	return r.LowStock
}

// Known reports whether product id is in the catalogue.
func (r *Rules) Known(id string) bool {
	_, ok := r.Products[id]
	return ok
}

// thresholds returns the thresholds of the products whose threshold is not
// the default one.
func (r *Rules) thresholds() map[string]int64 {
	out := map[string]int64{}
	for id := range r.Products {
		if t := r.Threshold(id); t != r.LowStock {
			out[id] = t
		}
	}
	return out
}

// Reservation is how an order that stock cannot cover is reserved.
type Reservation string

// Reservation modes.
const (
	// ReserveBackorder reserves every line in full, even beyond what is
	// available, and backorders the order until stock covers it again.
	ReserveBackorder Reservation = "backorder"
	// ReservePartial reserves what is available of each line, records
	// what is short on the order, and never reserves beyond it.
	ReservePartial Reservation = "partial"
)

// ParseReservation parses a reservation mode: "backorder" (also
// "all-or-nothing", and the default for ""), or "partial".
func ParseReservation(s string) (Reservation, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", string(ReserveBackorder), "all-or-nothing":
		return ReserveBackorder, nil
	case string(ReservePartial):
		return ReservePartial, nil
	}
	return "", fmt.Errorf("reservation %q is not one of backorder (all-or-nothing), partial", s)
}

// UnknownProducts is what the function does with records about products
// that are not in the catalogue.
type UnknownProducts string

// Unknown-product rules.
const (
	// UnknownAccept applies them: an inventory event creates the product's
	// stock, an order for a product without stock is backordered (or, in
	// partial mode, short of everything).
	UnknownAccept UnknownProducts = "accept"
	// UnknownReject dead-letters them: an inventory event, or an order
	// lifecycle event with an item, naming a product the rules do not list.
	UnknownReject UnknownProducts = "reject"
)

// ParseUnknownProducts parses an unknown-product rule: "accept" (the
// default for "") or "reject".
func ParseUnknownProducts(s string) (UnknownProducts, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", string(UnknownAccept):
		return UnknownAccept, nil
	case string(UnknownReject):
		return UnknownReject, nil
	}
	return "", fmt.Errorf("unknown-product rule %q is not one of accept, reject", s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Package generator produces realistic, deterministic e-commerce traffic for
// shopstream: user sessions that move through a funnel, Zipf-skewed product
// popularity, order lifecycles, restocks and counts, feedback, injected fraud
// patterns and bad records, together with a ground truth of what a correct
// pipeline must end up with.
//
// The same Config (and so the same seed) gives the same records, byte for byte.
package generator

import (
	"errors"
	"fmt"
	"time"
)

// Config says what traffic to generate. The zero value of a field means its
// default, given in the field's comment.
type Config struct {
	// Seed makes a run reproducible. Default 1.
	Seed uint64
	// Users is the number of customer accounts. Default 5000.
	Users int
	// Products is the catalogue size. Default 500.
	Products int
	// Warehouses is the number of warehouses; each product is stocked in one. Default 3.
	Warehouses int
	// FraudRate is the share of orders that belong to an injected fraud
	// pattern, in [0, 0.5]. Default 0.02; set NoFraud for none.
	FraudRate float64
	// BadRate is the share of records that are bad (malformed, invalid), in
	// [0, 0.5]. Default 0.01; set NoBad for none.
	BadRate float64
	// LegacyShare is the share of good records written in the shapes
	// producers already send instead of the canonical shape, in [0, 1].
	// Default 0.
	LegacyShare float64
	// Start is the event time of the first record. Default 2026-01-01T00:00:00Z.
	Start time.Time
	// EventsPerSecond is the density of traffic in event time (not how fast
	// records are written). Default 50.
	EventsPerSecond float64
	// NoFraud and NoBad turn injection off (a zero rate means the default).
	NoFraud, NoBad bool
}

// DefaultStart is the default event time of the first record.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (c Config) withDefaults() (Config, error) {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Users == 0 {
		c.Users = 5000
	}
	if c.Products == 0 {
		c.Products = 500
	}
	if c.Warehouses == 0 {
		c.Warehouses = 3
	}
	if c.FraudRate == 0 && !c.NoFraud {
		c.FraudRate = 0.02
	}
	if c.NoFraud {
		c.FraudRate = 0
	}
	if c.BadRate == 0 && !c.NoBad {
		c.BadRate = 0.01
	}
	if c.NoBad {
		c.BadRate = 0
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	c.Start = c.Start.UTC().Truncate(time.Millisecond)
	if c.EventsPerSecond == 0 {
		c.EventsPerSecond = 50
	}
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.Users >= 10 && c.Users <= 10_000_000, "users must be in [10, 10000000], got %d", c.Users)
	check(c.Products >= 20 && c.Products <= 1_000_000, "products must be in [20, 1000000], got %d", c.Products)
	check(c.Warehouses >= 1 && c.Warehouses <= 99, "warehouses must be in [1, 99], got %d", c.Warehouses)
	check(c.FraudRate >= 0 && c.FraudRate <= 0.5, "fraud rate must be in [0, 0.5], got %v", c.FraudRate)
	check(c.BadRate >= 0 && c.BadRate <= 0.5, "bad rate must be in [0, 0.5], got %v", c.BadRate)
	check(c.LegacyShare >= 0 && c.LegacyShare <= 1, "legacy share must be in [0, 1], got %v", c.LegacyShare)
	check(c.EventsPerSecond > 0 && c.EventsPerSecond <= 1e6, "events per second must be in (0, 1000000], got %v", c.EventsPerSecond)
	check(!c.Start.Before(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) && c.Start.Year() < 2090, "start must be between 2000 and 2090, got %s", c.Start.Format(time.RFC3339))
	return c, errors.Join(errs...)
}

package fraud

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// DefaultRules is the embedded default rule document (rules.json).
//
//go:embed rules.json
var DefaultRules []byte

// Duration is a time.Duration written as a Go duration string ("150s").
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"5m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) ms() int64 { return time.Duration(d).Milliseconds() }

// Window is one sliding-window limit: more than Limit events within Window
// scores Score.
type Window struct {
	Window Duration `json:"window"`
	Limit  int      `json:"limit"`
	Score  float64  `json:"score"`
}

// Config is the versioned rule configuration: which rules run, their
// thresholds and their scores. Every decision records Version.
type Config struct {
	// Version names this document; it is recorded on every decision.
	Version    string `json:"version"`
	Thresholds struct {
		// An order scoring at least Review is reviewed; at least Decline, declined.
		Review  float64 `json:"review"`
		Decline float64 `json:"decline"`
	} `json:"thresholds"`
	// Retention is how long recent activity stays in a profile; at least
	// the longest window.
	Retention Duration `json:"retention"`
	Velocity  struct {
		UserOrders          []Window `json:"user_orders"`
		UserPaymentAttempts []Window `json:"user_payment_attempts"`
		CardOrders          []Window `json:"card_orders"`
	} `json:"velocity"`
	CardTesting struct {
		Window      Duration    `json:"window"`
		SmallAmount event.Money `json:"small_amount"`
		MinFailed   int         `json:"min_failed"`
		Score       float64     `json:"score"`
	} `json:"card_testing"`
	CardsPerAccount struct {
		Window      Duration `json:"window"`
		MinCards    int      `json:"min_cards"`
		RetroWindow Duration `json:"retro_window"`
		Score       float64  `json:"score"`
	} `json:"cards_per_account"`
	AccountsPerCard struct {
		Window      Duration `json:"window"`
		MinAccounts int      `json:"min_accounts"`
		Score       float64  `json:"score"`
	} `json:"accounts_per_card"`
	Amount struct {
		History         int         `json:"history"`
		MinHistory      int         `json:"min_history"`
		MinRatio        float64     `json:"min_ratio"`
		MinZ            float64     `json:"min_z"`
		MADFloor        float64     `json:"mad_floor"`
		Score           float64     `json:"score"`
		ColdStartAmount event.Money `json:"cold_start_amount"`
		ColdStartScore  float64     `json:"cold_start_score"`
	} `json:"amount"`
	Quantity struct {
		MinUnits  int     `json:"min_units"`
		Factor    float64 `json:"factor"`
		Score     float64 `json:"score"`
		HighUnits int     `json:"high_units"`
		HighScore float64 `json:"high_score"`
	} `json:"quantity"`
	Travel struct {
		MaxSpeedKMH   float64 `json:"max_speed_kmh"`
		MinDistanceKM float64 `json:"min_distance_km"`
		KnownPlaceKM  float64 `json:"known_place_km"`
		Score         float64 `json:"score"`
	} `json:"travel"`
	AccountChange struct {
		NewCard       float64 `json:"new_card"`
		NewIP         float64 `json:"new_ip"`
		NewDevice     float64 `json:"new_device"`
		FarFromHomeKM float64 `json:"far_from_home_km"`
		FarFromHome   float64 `json:"far_from_home"`
	} `json:"account_change"`
	Blocklist struct {
		Cards     []string `json:"cards"`
		IPs       []string `json:"ips"`
		Countries []string `json:"countries"`
		Score     float64  `json:"score"`
	} `json:"blocklist"`
}

// LoadConfig reads a rule document (JSON) and checks it. Unknown fields are
// errors: a misspelt threshold must not silently keep its zero value.
func LoadConfig(doc []byte) (*Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("fraud rules: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("fraud rules %s: %w", c.Version, err)
	}
	for i, s := range c.Blocklist.Countries {
		c.Blocklist.Countries[i] = strings.ToUpper(s)
	}
	return &c, nil
}

// DefaultConfig returns the embedded default rules.
func DefaultConfig() *Config {
	c, err := LoadConfig(DefaultRules)
	if err != nil {
		panic(err) // the embedded document is tested
	}
	return c
}

func (c *Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	score := func(name string, s float64) {
		check(s >= 0 && s <= 100 && !math.IsNaN(s), "%s: score %v is not in [0, 100]", name, s)
	}
	check(event.IsID(c.Version), "version %q is not an identifier", c.Version)
	check(c.Thresholds.Review > 0 && c.Thresholds.Review <= c.Thresholds.Decline && c.Thresholds.Decline <= 100,
		"thresholds: want 0 < review <= decline <= 100, got %v and %v", c.Thresholds.Review, c.Thresholds.Decline)
	longest := time.Duration(0)
	win := func(name string, d Duration) {
		check(d > 0, "%s: window must be positive", name)
		longest = max(longest, d.D())
	}
	for name, ws := range map[string][]Window{"velocity.user_orders": c.Velocity.UserOrders,
		"velocity.user_payment_attempts": c.Velocity.UserPaymentAttempts, "velocity.card_orders": c.Velocity.CardOrders} {
		for _, w := range ws {
			win(name, w.Window)
			check(w.Limit >= 1, "%s: limit must be at least 1", name)
			score(name, w.Score)
		}
	}
	win("card_testing", c.CardTesting.Window)
	check(c.CardTesting.MinFailed >= 1, "card_testing: min_failed must be at least 1")
	score("card_testing", c.CardTesting.Score)
	win("cards_per_account", c.CardsPerAccount.Window)
	check(c.CardsPerAccount.RetroWindow >= 0 && c.CardsPerAccount.RetroWindow <= c.CardsPerAccount.Window,
		"cards_per_account: retro_window must be within window")
	check(c.CardsPerAccount.MinCards >= 2, "cards_per_account: min_cards must be at least 2")
	score("cards_per_account", c.CardsPerAccount.Score)
	win("accounts_per_card", c.AccountsPerCard.Window)
	check(c.AccountsPerCard.MinAccounts >= 2, "accounts_per_card: min_accounts must be at least 2")
	score("accounts_per_card", c.AccountsPerCard.Score)
	check(c.Amount.History >= c.Amount.MinHistory && c.Amount.MinHistory >= 1 && c.Amount.History <= 200,
		"amount: want 1 <= min_history <= history <= 200")
	check(c.Amount.MinRatio >= 1 && c.Amount.MADFloor > 0, "amount: min_ratio must be >= 1 and mad_floor > 0")
	score("amount", c.Amount.Score)
	score("amount.cold_start", c.Amount.ColdStartScore)
	check(c.Quantity.MinUnits >= 1 && c.Quantity.Factor >= 1, "quantity: min_units >= 1 and factor >= 1")
	score("quantity", c.Quantity.Score)
	score("quantity.high", c.Quantity.HighScore)
	check(c.Quantity.HighUnits == 0 || c.Quantity.HighUnits >= c.Quantity.MinUnits, "quantity: high_units must be 0 or at least min_units")
	check(c.Travel.MaxSpeedKMH > 0 && c.Travel.MinDistanceKM >= 0 && c.Travel.KnownPlaceKM >= 0, "travel: speeds and distances must be positive")
	score("travel", c.Travel.Score)
	for _, s := range []float64{c.AccountChange.NewCard, c.AccountChange.NewIP, c.AccountChange.NewDevice, c.AccountChange.FarFromHome} {
		score("account_change", s)
	}
	score("blocklist", c.Blocklist.Score)
	check(c.Retention.D() >= longest, "retention %s is shorter than the longest window %s", c.Retention.D(), longest)
	for _, card := range c.Blocklist.Cards {
		check(event.IsID(card), "blocklist: card %q is not a fingerprint", card)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// Decide maps a score onto a decision.
func (c *Config) Decide(score float64) string {
	switch {
	case score >= c.Thresholds.Decline:
		return DecisionDecline
	case score >= c.Thresholds.Review:
		return DecisionReview
	}
	return DecisionApprove
}

func (c *Config) blockedCard(s string) bool { return s != "" && slices.Contains(c.Blocklist.Cards, s) }
func (c *Config) blockedIP(s string) bool   { return s != "" && slices.Contains(c.Blocklist.IPs, s) }
func (c *Config) blockedCountry(s string) bool {
	return s != "" && slices.Contains(c.Blocklist.Countries, strings.ToUpper(s))
}

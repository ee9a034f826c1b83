package fraud_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shopstream/shopstream/functions/fraud/internal/fraud"
	"github.com/shopstream/shopstream/shared/dynamotest"
	"github.com/shopstream/shopstream/shared/event"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// fixedClock stamps profile expiry in tests, so that runs compare equal. It
// is in the future: DynamoDB Local deletes expired items, as DynamoDB does.
func fixedClock() time.Time { return time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC) }

// newDynamo returns a store on fresh tables of DynamoDB Local.
func newDynamo(t testing.TB) *fraud.DynamoDB {
	t.Helper()
	d := fraud.NewDynamoDB(dynamotest.Client(t), fraud.Tables{
		Profiles: dynamotest.TableName(t, "fraud_profiles"), Decisions: dynamotest.TableName(t, "fraud_decisions"),
		Alerts: dynamotest.TableName(t, "fraud_alerts")}, 0, fixedClock)
	if err := d.CreateTables(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestStoreContract runs the Store contract against every implementation.
func TestStoreContract(t *testing.T) {
	t.Parallel()
	for name, mk := range map[string]func(t *testing.T) fraud.Store{
		"memory":   func(*testing.T) fraud.Store { return fraud.NewMemory() },
		"dynamodb": func(t *testing.T) fraud.Store { return newDynamo(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			storeContract(t, mk(t))
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func storeContract(t *testing.T, s fraud.Store) {
	ctx := context.Background()
	if got, err := s.Users(ctx, []string{"u-1"}); err != nil || len(got) != 0 {
		t.Fatalf("users of an empty store: %v %v", got, err)
	}
	if got, err := s.Decisions(ctx, []string{"o-1"}); err != nil || len(got) != 0 {
		t.Fatalf("decisions of an empty store: %v %v", got, err)
	}
	// Many profiles: more than one request's worth.
	var users []*fraud.UserProfile
	var ids []string
	for i := range 250 {
		p := fraud.NewUserProfile(fmt.Sprintf("u-%d", i))
		p.Version = 1
		p.Marks["transactions-0"] = int64(i)
		p.Orders = []fraud.OrderEntry{{ID: fmt.Sprintf("o-%d", i), At: 1000, Card: "fp_1", Amount: 1299}}
		p.Amounts = []int64{1299}
		p.Cards = []fraud.Seen{{Key: "fp_1", First: 1000, Last: 1000, N: 1}}
		p.Last = &fraud.Fix{Lat: 40.7, Lon: -74, At: 1000, City: "New York"}
		p.LastAt = 1000
		users = append(users, p)
		ids = append(ids, p.ID)
	}
	card := fraud.NewCardProfile("fp_1")
	card.Version = 1
	card.Uses = []fraud.CardUse{{User: "u-1", Order: "o-1", At: 1000}}
	if errs := s.PutProfiles(ctx, users, []*fraud.CardProfile{card}); len(errs) != 0 {
		t.Fatalf("put new profiles: %v", errs)
	}
	got, err := s.Users(ctx, ids)
	if err != nil || len(got) != len(ids) {
		t.Fatalf("read %d of %d users: %v", len(got), len(ids), err)
	}
	for _, p := range users {
		if g := got[p.ID]; g == nil || g.Version != 1 || jsonOf(t, g) != jsonOf(t, p) {
			t.Fatalf("user %s read back as %+v, want %+v", p.ID, g, p)
		}
	}
	cards, err := s.Cards(ctx, []string{"fp_1", "fp_2"})
	if err != nil || len(cards) != 1 || cards["fp_1"].Version != 1 || !reflect.DeepEqual(cards["fp_1"].Uses, card.Uses) {
		t.Fatalf("cards: %+v %v", cards, err)
	}
	// Conditional writes: a stale or skipped version is refused, the next is taken.
	stale := users[0].Clone()
	stale.OrderCount = 99
	errs := s.PutProfiles(ctx, []*fraud.UserProfile{stale}, nil)
	if !errors.Is(errs[fraud.UserKey(stale.ID)], fraud.ErrConflict) {
		t.Fatalf("a second version 1 was not refused: %v", errs)
	}
	skip := users[1].Clone()
	skip.Version = 3
	if errs := s.PutProfiles(ctx, []*fraud.UserProfile{skip}, nil); !errors.Is(errs[fraud.UserKey(skip.ID)], fraud.ErrConflict) {
		t.Fatalf("version 3 over 1 was not refused: %v", errs)
	}
	next := users[0].Clone()
	next.Version, next.OrderCount = 2, 7
	card2 := card.Clone()
	card2.Version = 2
	if errs := s.PutProfiles(ctx, []*fraud.UserProfile{next}, []*fraud.CardProfile{card2}); len(errs) != 0 {
		t.Fatalf("version 2: %v", errs)
	}
	if g, _ := s.Users(ctx, []string{next.ID}); g[next.ID].OrderCount != 7 || g[next.ID].Version != 2 {
		t.Fatalf("after version 2: %+v", g[next.ID])
	}
	// One refused item does not keep the others of the call from being written.
	a, b := users[2].Clone(), users[3].Clone()
	a.Version, a.OrderCount, b.Version, b.OrderCount = 1, 42, 2, 5
	errs = s.PutProfiles(ctx, []*fraud.UserProfile{a, b}, nil)
	if len(errs) != 1 || !errors.Is(errs[fraud.UserKey(a.ID)], fraud.ErrConflict) {
		t.Fatalf("mixed call: %v", errs)
	}
	if g, _ := s.Users(ctx, []string{b.ID}); g[b.ID].OrderCount != 5 {
		t.Fatalf("the valid item of a mixed call was not written: %+v", g[b.ID])
	}
	// Decisions.
	d := &fraud.Decision{OrderID: "o-1", UserID: "u-1", At: 1000, Card: "fp_1", Score: 55, Decision: fraud.DecisionReview,
		Reasons:     []event.FraudReason{{Rule: fraud.RuleVelocity, Score: 55, Detail: "4 orders"}},
		RuleVersion: "rules-1", Unevaluated: []string{"amount: no amount"}, Alerted: fraud.DecisionReview, Version: 1}
	if errs := s.PutDecisions(ctx, []*fraud.Decision{d}); len(errs) != 0 {
		t.Fatalf("put decision: %v", errs)
	}
	ds, err := s.Decisions(ctx, []string{"o-1", "o-2"})
	if err != nil || len(ds) != 1 || !ds["o-1"].Equal(d) || ds["o-1"].Version != 1 {
		t.Fatalf("decision read back as %+v (%v), want %+v", ds["o-1"], err, d)
	}
	if errs := s.PutDecisions(ctx, []*fraud.Decision{d}); len(errs) != 0 {
		t.Fatalf("writing the stored decision again (a retry that had landed) failed: %v", errs)
	}
	other := d.Clone()
	other.Score = 60
	if errs := s.PutDecisions(ctx, []*fraud.Decision{other}); !errors.Is(errs["o-1"], fraud.ErrConflict) {
		t.Fatalf("a second, different version 1 decision was not refused: %v", errs)
	}
	d2 := d.Clone()
	d2.Version, d2.Score, d2.Decision = 2, 85, fraud.DecisionDecline
	if errs := s.PutDecisions(ctx, []*fraud.Decision{d2}); len(errs) != 0 {
		t.Fatalf("decision version 2: %v", errs)
	}
	if ds, _ := s.Decisions(ctx, []string{"o-1"}); !ds["o-1"].Equal(d2) {
		t.Fatalf("decision after version 2: %+v", ds["o-1"])
	}
}

package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shopstream/shopstream/functions/analytics/api"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestVerifyEmptyDatabase: a migrated but empty database is not the truth
// of a run: Verify lists its missing windows and sessions.
func TestVerifyEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	pool, err := api.NewPool(ctx, api.Conn{URL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := api.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	g, err := generator.New(generator.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for range 2000 {
		g.Next()
	}
	diffs := api.Verify(ctx, pool, g.Truth())
	joined := strings.Join(diffs, "\n")
	for _, want := range []string{"window 60s", "window 300s", "session ", "product window"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %q among the differences:\n%s", want, joined)
		}
	}
}

// TestNewPoolNeedsADatabase: neither a URL nor a complete IAM endpoint is an
// error at init, not at the first batch.
func TestNewPoolNeedsADatabase(t *testing.T) {
	for _, c := range []api.Conn{{}, {Host: "db.example.invalid"}} {
		if p, err := api.NewPool(context.Background(), c); err == nil {
			p.Close()
			t.Errorf("%+v: no error", c)
		}
	}
}

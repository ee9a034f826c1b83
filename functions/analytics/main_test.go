package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopstream/shopstream/functions/analytics/internal/analytics"
	"github.com/shopstream/shopstream/shared/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestMigrationEvents: {"migrate": true} applies the migrations; a
// CloudFormation custom resource Create after it applies nothing and
// answers with the physical resource id; Delete leaves the schema.
func TestMigrationEvents(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	f := &function{pool: pool, logger: slog.New(slog.DiscardHandler)}
	call := func(event string) migrationResponse {
		t.Helper()
		out, err := f.handle(ctx, json.RawMessage(event))
		if err != nil {
			t.Fatalf("%s: %v", event, err)
		}
		return out.(migrationResponse)
	}
	ms, err := analytics.Migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("%d migrations: %v", len(ms), err)
	}
	var all []int
	for _, m := range ms {
		all = append(all, m.Version)
	}
	if r := call(`{"migrate": true}`); !slices.Equal(r.Applied, all) {
		t.Fatalf("migrate applied %v, want %v", r.Applied, all)
	}
	r := call(`{"RequestType": "Create", "ResponseURL": "https://example.invalid/", "StackId": "s", "RequestId": "r", "LogicalResourceId": "Schema"}`)
	if len(r.Applied) != 0 || r.PhysicalResourceID != schemaResource {
		t.Fatalf("create answered %+v", r)
	}
	if r := call(`{"RequestType": "Delete", "PhysicalResourceId": "shopstream-analytics-schema"}`); r.PhysicalResourceID != schemaResource {
		t.Fatalf("delete answered %+v", r)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM analytics.schema_migrations").Scan(&n); err != nil || n != len(all) {
		t.Fatalf("schema_migrations: %d rows (%v)", n, err)
	}
}

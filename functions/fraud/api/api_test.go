package api_test

import (
	"strings"
	"testing"

	"github.com/shopstream/shopstream/functions/fraud/api"
)

func TestRules(t *testing.T) {
	r := api.DefaultRules()
	if r.Version == "" || r.Thresholds.Review >= r.Thresholds.Decline {
		t.Fatalf("default rules: %+v", r)
	}
	if _, err := api.LoadRules([]byte(`{"version":"x","thresholds":{"review":90,"decline":10}}`)); err == nil ||
		!strings.Contains(err.Error(), "thresholds") {
		t.Fatalf("a document with inverted thresholds loaded: %v", err)
	}
	if api.Name != "fraud" || api.DefaultTables.Profiles == "" || api.DefaultTables.Decisions == "" || api.DefaultTables.Alerts == "" {
		t.Fatalf("name %q, tables %+v", api.Name, api.DefaultTables)
	}
}

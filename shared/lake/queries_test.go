package lake

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite events/queries/*.sql from Queries")

// queriesDir holds the example queries as SQL files, for reading and for
// pasting into any SQL client.
const queriesDir = "../../events/queries"

// queryFile returns the text of q's file: its name, description and
// parameters as comments, then the statement.
func queryFile(q Query) string {
	var b strings.Builder
	b.WriteString("-- " + q.Name + "\n--\n")
	line := "--"
	for _, w := range strings.Fields(q.Description) {
		if len(line)+1+len(w) > 100 {
			b.WriteString(line + "\n")
			line = "--"
		}
		line += " " + w
	}
	b.WriteString(line + "\n--\n")
	b.WriteString("-- Parameters: the first and the last day (dt, YYYY-MM-DD), in this order.\n")
	b.WriteString("-- Runs unchanged in Athena (the workgroup's named query " + q.Name + ") and in\n")
	b.WriteString("-- `shopstream query --example " + q.Name + " --param FIRST --param LAST`.\n")
	b.WriteString("-- Generated from shared/lake/queries.go: go test ./shared/lake -run TestQueryFiles -update\n\n")
	b.WriteString(q.SQL + ";\n")
	return b.String()
}

// TestQueryFiles holds events/queries/NAME.sql equal to the example
// queries, one file per query and no other.
func TestQueryFiles(t *testing.T) {
	qs := Queries()
	want := map[string]string{}
	for _, q := range qs {
		if q.Name == "" || strings.ContainsAny(q.Name, "/\\. ") || q.Description == "" {
			t.Fatalf("query %q: a name fit for a file, and a description", q.Name)
		}
		if _, dup := want[q.Name+".sql"]; dup {
			t.Fatalf("two queries named %s", q.Name)
		}
		if n := strings.Count(q.SQL, "?"); n != 2 {
			t.Errorf("%s: %d parameters, want the first and the last dt", q.Name, n)
		}
		want[q.Name+".sql"] = queryFile(q)
	}
	if *update {
		if err := os.MkdirAll(queriesDir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(queriesDir, "*.sql"))
		for _, f := range old {
			if _, ok := want[filepath.Base(f)]; !ok {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, text := range want {
			if err := os.WriteFile(filepath.Join(queriesDir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(queriesDir, "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	wantNames := make([]string, 0, len(want))
	for name := range want {
		wantNames = append(wantNames, name)
	}
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Fatalf("events/queries holds %v, want %v (rewrite with: go test ./shared/lake -run TestQueryFiles -update)", names, wantNames)
	}
	for _, f := range files {
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if w := want[filepath.Base(f)]; string(got) != w {
			t.Errorf("%s differs from shared/lake/queries.go (rewrite with: go test ./shared/lake -run TestQueryFiles -update)\ngot:\n%s\nwant:\n%s", f, got, w)
		}
	}
}

package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/shopstream/shopstream/shared/generator"
	lakefmt "github.com/shopstream/shopstream/shared/lake"
)

// logLines decodes the JSON log lines in buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestProcessorPartitions: a batch of several topic-partitions, processed
// a partition at a time and several at once, logs one line with the whole
// batch's counts; a partition that fails fails the whole batch.
func TestProcessorPartitions(t *testing.T) {
	t.Parallel()
	recs, truth := generate(t, generator.Config{Seed: 9, Start: testStart, EventsPerSecond: 3, BadRate: 0.05}, 3_000, 3)
	ev := batches(recs, len(recs))[0]
	if len(ev.Records) < 10 || truth.Bad == 0 {
		t.Fatalf("%d topic-partitions, %d bad records", len(ev.Records), truth.Bad)
	}

	var logs bytes.Buffer
	store := &flakyStore{Store: lakefmt.NewDirObjects(t.TempDir())}
	p, err := NewProcessor(store, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Process(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	lines := logLines(t, &logs)
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want one per batch: %v", len(lines), lines)
	}
	l := lines[0]
	if l["msg"] != "batch processed" || l["level"] != "INFO" || l["records"] != float64(len(recs)) ||
		l["partitions"] != float64(len(ev.Records)) || l["valid"] != float64(truth.Good) ||
		l["dead_lettered"] != float64(truth.Bad) || l["retried"] != float64(0) {
		t.Errorf("log line %v; want %d records in %d partitions, %d valid, %d dead letters", l, len(recs), len(ev.Records), truth.Good, truth.Bad)
	}

	// The store fails after a few objects: the batch fails, whole.
	logs.Reset()
	store.okPuts.Store(3)
	store.broken.Store(true)
	if _, err := p.Process(context.Background(), ev); err == nil || !strings.Contains(err.Error(), errFlaky.Error()) {
		t.Fatalf("a failing store gives %v", err)
	}
	lines = logLines(t, &logs)
	if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["retried"] != float64(len(recs)) ||
		!strings.Contains(lines[0]["err"].(string), errFlaky.Error()) {
		t.Errorf("log lines %v; want one error line retrying all %d records", lines, len(recs))
	}
}

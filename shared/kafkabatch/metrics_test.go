package kafkabatch

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestMetricsEMF: one Embedded Metric Format line per batch, with the
// batch's counts under the declared names.
func TestMetricsEMF(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	p := newTestProcessor(t, &recordingHandler{}, WithDeadLetterSink(&memorySink{}), WithMetrics(&out))
	ev := payload(0,
		rec{Topic: "orders", Partition: 0, Offset: 1, Value: validEvent(t, 1)},
		rec{Topic: "orders", Partition: 0, Offset: 2, Value: []byte("{not json")},
		rec{Topic: "orders", Partition: 1, Offset: 7, Value: validEvent(t, 2)},
	)
	for range 2 {
		if _, err := p.Process(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d metric lines for 2 batches:\n%s", len(lines), out.String())
	}
	var got struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Function                              string
		Records, DeadLetters, Failed, Retried int
		BatchDuration                         *float64
	}
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	d := got.AWS.CloudWatchMetrics
	if got.AWS.Timestamp != testTime.UnixMilli() || len(d) != 1 || d[0].Namespace != MetricsNamespace ||
		len(d[0].Dimensions) != 1 || d[0].Dimensions[0][0] != "Function" || len(d[0].Metrics) != 5 {
		t.Fatalf("metadata: %s", lines[0])
	}
	if got.Function != "testfn" || got.Records != 3 || got.DeadLetters != 1 || got.Failed != 0 || got.BatchDuration == nil {
		t.Fatalf("values: %s", lines[0])
	}
	for _, m := range d[0].Metrics {
		if !strings.Contains(lines[0], `"`+m.Name+`":`) {
			t.Errorf("declared metric %s has no value", m.Name)
		}
	}
}

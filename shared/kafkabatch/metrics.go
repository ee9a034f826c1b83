package kafkabatch

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// MetricsNamespace is the CloudWatch namespace of the batch metrics.
const MetricsNamespace = "shopstream"

// WithMetrics writes one CloudWatch Embedded Metric Format line per batch to
// w (in Lambda, os.Stdout: CloudWatch Logs turns the line into metrics). The
// metrics, in namespace "shopstream" with dimension Function: Records,
// DeadLetters, Failed, Retried (counts) and BatchDuration (milliseconds).
// Default: no metrics.
func WithMetrics(w io.Writer) Option {
	return func(p *Processor) { p.metrics = &emfWriter{w: w} }
}

type emfWriter struct {
	mu sync.Mutex
	w  io.Writer
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfLine struct {
	AWS           emfMeta `json:"_aws"`
	Function      string  `json:"Function"`
	Records       int     `json:"Records"`
	DeadLetters   int     `json:"DeadLetters"`
	Failed        int     `json:"Failed"`
	Retried       int     `json:"Retried"`
	BatchDuration float64 `json:"BatchDuration"`
}

var emfDirectives = []emfDirective{{
	Namespace:  MetricsNamespace,
	Dimensions: [][]string{{"Function"}},
	Metrics: []emfMetric{{"Records", "Count"}, {"DeadLetters", "Count"}, {"Failed", "Count"},
		{"Retried", "Count"}, {"BatchDuration", "Milliseconds"}},
}}

func (e *emfWriter) write(function string, st *Stats, at time.Time) {
	dead := 0
	for _, n := range st.DeadLettered {
		dead += n
	}
	b, err := json.Marshal(emfLine{
		AWS:      emfMeta{Timestamp: at.UnixMilli(), CloudWatchMetrics: emfDirectives},
		Function: function, Records: st.Records, DeadLetters: dead, Failed: st.Failed, Retried: st.Retried,
		BatchDuration: float64(st.Duration.Microseconds()) / 1000,
	})
	if err != nil {
		return
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	e.w.Write(b) // metrics are best effort: a failed write must not fail the batch
}

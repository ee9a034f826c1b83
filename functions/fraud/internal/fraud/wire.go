package fraud

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Deps is what the deployed function is made of.
type Deps struct {
	DynamoDB *dynamodb.Client
	Tables   Tables
	// Kafka produces alerts (fraud_alerts) and dead letters (dead_letters).
	Kafka *kgo.Client
	// Publisher, when set, also publishes every alert (SNS in AWS).
	Publisher Publisher
	Config    *Config
	Logger    *slog.Logger
	// Metrics receives one EMF line per batch; nil for none.
	Metrics io.Writer
}

// NewFunction wires the function: DynamoDB store, alerts to the alerts
// table, the fraud_alerts topic and the publisher, dead letters to the
// dead-letter topic.
func NewFunction(d Deps) (*Function, error) {
	store := NewDynamoDB(d.DynamoDB, d.Tables, 0, nil)
	sinks := Alerts{store, NewKafkaAlerts(d.Kafka, "")}
	if d.Publisher != nil {
		sinks = append(sinks, PublisherSink{d.Publisher})
	}
	h := New(store, sinks, WithConfig(d.Config), WithLogger(d.Logger))
	p, err := kafkabatch.NewProcessor(Name, kafkabatch.Chain(h, kafkabatch.Recoverer()),
		kafkabatch.WithDeadLetterSink(kafkabatch.NewKafkaSink(d.Kafka, "")), kafkabatch.WithLogger(d.Logger))
	if err != nil {
		return nil, err
	}
	return NewFunctionOf(p, d.Metrics), nil
}

// NewFunctionOf returns the function around a processor whose handler is a
// Handler, writing its metrics line per batch to metrics (nil for none).
func NewFunctionOf(p *kafkabatch.Processor, metrics io.Writer) *Function {
	return &Function{Processor: p, metrics: metrics}
}

// Function is the Lambda handler: the batch processor, and one CloudWatch
// EMF line per batch with what it decided.
type Function struct {
	Processor *kafkabatch.Processor
	mu        sync.Mutex
	metrics   io.Writer
}

// Process is the function's Lambda handler.
func (f *Function) Process(ctx context.Context, ev events.KafkaEvent) (kafkabatch.Response, error) {
	r := &BatchReport{}
	resp, st, err := f.Processor.ProcessWithStats(WithReport(ctx, r), ev)
	if f.metrics != nil {
		f.emit(st, r, err)
	}
	return resp, err
}

func (f *Function) emit(st kafkabatch.Stats, r *BatchReport, err error) {
	dead := 0
	for _, n := range st.DeadLettered {
		dead += n
	}
	failed := st.Failed
	if err != nil {
		failed = st.Records
	}
	metrics := []map[string]string{}
	for _, m := range []string{"Records", "Approved", "Reviewed", "Declined", "Escalated", "Alerts", "DeadLetters", "Failed"} {
		metrics = append(metrics, map[string]string{"Name": m, "Unit": "Count"})
	}
	metrics = append(metrics, map[string]string{"Name": "BatchDuration", "Unit": "Milliseconds"})
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp":         time.Now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{"Namespace": kafkabatch.MetricsNamespace, "Dimensions": [][]string{{"Function"}}, "Metrics": metrics}},
		},
		"Function": Name, "Records": st.Records, "Approved": r.Decisions[DecisionApprove], "Reviewed": r.Decisions[DecisionReview],
		"Declined": r.Decisions[DecisionDecline], "Escalated": r.Escalated, "Alerts": r.Alerts, "DeadLetters": dead,
		"Failed": failed, "BatchDuration": float64(st.Duration.Microseconds()) / 1000,
	}
	b, jerr := json.Marshal(line)
	if jerr != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, _ = fmt.Fprintf(f.metrics, "%s\n", b) // metrics are best effort
}

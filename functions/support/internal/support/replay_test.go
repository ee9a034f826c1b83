package support_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shopstream/shopstream/functions/support/internal/support"
	"github.com/shopstream/shopstream/shared/dynamotest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// snapshot is every item of the function's tables, rendered canonically,
// by table ("subjects", "ratings", "cases") and key.
type snapshot map[string]map[string]string

func takeSnapshot(t *testing.T, ctx context.Context, client *dynamodb.Client, tables support.Tables) snapshot {
	t.Helper()
	out := snapshot{}
	for name, table := range map[string]string{"subjects": tables.Subjects, "ratings": tables.Ratings, "cases": tables.Cases} {
		out[name] = map[string]string{}
		p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, item := range page.Items {
				r := render(&types.AttributeValueMemberM{Value: item})
				key := r
				for _, k := range []string{"subject", "case_id"} {
					if v, ok := item[k].(*types.AttributeValueMemberS); ok {
						key = v.Value
					}
				}
				if v, ok := item["rating_key"].(*types.AttributeValueMemberS); ok {
					key = v.Value + "@" + item["hour"].(*types.AttributeValueMemberS).Value
				}
				out[name][key] = r
			}
		}
	}
	return out
}

// render writes an attribute value canonically: map keys and sets sorted.
func render(av types.AttributeValue) string {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return fmt.Sprintf("S%q", v.Value)
	case *types.AttributeValueMemberN:
		return "N" + v.Value
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprint("B", v.Value)
	case *types.AttributeValueMemberSS:
		return fmt.Sprintf("SS%q", slices.Sorted(slices.Values(v.Value)))
	case *types.AttributeValueMemberL:
		parts := make([]string, len(v.Value))
		for i, e := range v.Value {
			parts[i] = render(e)
		}
		return "L[" + strings.Join(parts, ",") + "]"
	case *types.AttributeValueMemberM:
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(v.Value)) {
			parts = append(parts, fmt.Sprintf("%q:%s", k, render(v.Value[k])))
		}
		return "M{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprintf("%T", av)
}

// withoutVersions drops the subjects' version counters, which count writes
// and so depend on how the records were cut into batches.
func (s snapshot) withoutVersions() snapshot {
	out := snapshot{}
	for name, items := range s {
		out[name] = maps.Clone(items)
	}
	for k, v := range out["subjects"] {
		i := strings.Index(v, `"version":N`)
		j := strings.IndexAny(v[i+len(`"version":N`):], ",}")
		out["subjects"][k] = v[:i] + v[i+len(`"version":N`)+j:]
	}
	return out
}

func diffSnapshots(t *testing.T, what string, a, b snapshot) {
	t.Helper()
	n := 0
	for name := range a {
		for k, v := range a[name] {
			if b[name][k] != v && n < 5 {
				t.Errorf("%s: %s %s differs:\n%s\n%s", what, name, k, v, b[name][k])
				n++
			}
		}
		for k := range b[name] {
			if _, ok := a[name][k]; !ok && n < 5 {
				t.Errorf("%s: %s %s only in the second state", what, name, k)
				n++
			}
		}
	}
}

// TestReplayLeavesIdenticalState: against DynamoDB Local, delivering a
// batch a second time leaves every item of every table exactly as the
// first delivery left it; and delivering each batch's first half, then the
// whole batch, ends with the same items as delivering each batch once
// (subject version counters aside, which count writes).
func TestReplayLeavesIdenticalState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, truth := newKafkaLog(t, feedbackTraffic, 12000)
	batches := l.LiveBatches(1000)
	client := dynamotest.Client(t)
	type pipe struct {
		store  *support.DynamoDB
		tables support.Tables
		proc   *kafkabatch.Processor
	}
	newPipe := func() pipe {
		store, tables := newTables(t, ctx)
		proc, err := kafkabatch.NewProcessor(support.Name, support.New(store, &memAlerts{}),
			kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(io.Discard)))
		if err != nil {
			t.Fatal(err)
		}
		return pipe{store, tables, proc}
	}
	deliver := func(p pipe, ev events.KafkaEvent) {
		t.Helper()
		if resp, err := p.proc.Process(ctx, ev); err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("%v %+v", err, resp)
		}
	}
	onceP, twiceP, halvedP := newPipe(), newPipe(), newPipe()
	for i, ev := range batches {
		deliver(onceP, ev)

		deliver(twiceP, ev)
		first := takeSnapshot(t, ctx, client, twiceP.tables)
		requests := twiceP.store.Requests()
		deliver(twiceP, ev)
		diffSnapshots(t, fmt.Sprintf("batch %d delivered again", i), first, takeSnapshot(t, ctx, client, twiceP.tables))
		// A replay reads its subjects (100 a request) and writes nothing.
		records := 0
		for _, rs := range ev.Records {
			records += len(rs)
		}
		if extra := twiceP.store.Requests() - requests; extra > int64(records/100+1) {
			t.Errorf("batch %d of %d records delivered again sent %d requests", i, records, extra)
		}

		half := events.KafkaEvent{Records: map[string][]events.KafkaRecord{}}
		for tp, rs := range ev.Records {
			if n := len(rs) / 2; n > 0 {
				half.Records[tp] = rs[:n]
			}
		}
		deliver(halvedP, half)
		deliver(halvedP, ev)
	}
	final := takeSnapshot(t, ctx, client, onceP.tables)
	if len(final["cases"]) == 0 || len(final["ratings"]) == 0 {
		t.Fatalf("nothing written: %d cases, %d ratings", len(final["cases"]), len(final["ratings"]))
	}
	diffSnapshots(t, "each batch twice vs once", final, takeSnapshot(t, ctx, client, twiceP.tables))
	diffSnapshots(t, "halves then whole batches vs once", final.withoutVersions(), takeSnapshot(t, ctx, client, halvedP.tables).withoutVersions())
	for _, d := range support.Compare(ctx, onceP.store, truth) {
		t.Error(d)
	}
}

// TestManyMentions: an order mentioned 35 times, each in another hour, in
// one batch against DynamoDB Local: the first MaxFeedback mentions make one
// case and one transaction (subject, case and 90 rating items), the rest
// are dead-lettered as rejected, and a replay changes nothing.
func TestManyMentions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, tables := newTables(t, ctx)
	var dl bytes.Buffer
	proc, err := kafkabatch.NewProcessor(support.Name, support.New(store, &memAlerts{}),
		kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(&dl)))
	if err != nil {
		t.Fatal(err)
	}
	var recs []events.KafkaRecord
	for i := range 35 {
		fb := &event.Feedback{Envelope: env(fmt.Sprint("e-", i), event.TypeFeedback, time.Duration(i)*time.Hour), UserID: "u-1",
			Rating: 1 + i%5, Text: "late", OrderID: "o-1", ProductID: fmt.Sprint("p-", i)}
		recs = append(recs, record(t, event.TopicFeedback, int64(i), fb))
	}
	ev := events.KafkaEvent{Records: map[string][]events.KafkaRecord{"customer_feedback-0": recs}}
	resp, st, err := proc.ProcessWithStats(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) > 0 || st.DeadLettered[event.ReasonRejected] != 35-support.MaxFeedback {
		t.Fatalf("%v %+v %+v", err, resp, st)
	}
	first := takeSnapshot(t, ctx, dynamotest.Client(t), tables)
	if len(first["cases"]) != 1 || len(first["ratings"]) != 3*support.MaxFeedback {
		t.Fatalf("%d cases, %d rating items", len(first["cases"]), len(first["ratings"]))
	}
	if _, _, err := proc.ProcessWithStats(ctx, ev); err != nil {
		t.Fatal(err)
	}
	diffSnapshots(t, "replay", first, takeSnapshot(t, ctx, dynamotest.Client(t), tables))
	if !strings.Contains(dl.String(), `"reason":"rejected"`) {
		t.Errorf("dead letters: %s", dl.String()[:min(300, dl.Len())])
	}
}

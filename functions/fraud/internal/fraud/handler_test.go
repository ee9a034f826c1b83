package fraud_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/functions/fraud/internal/fraud"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

func record(t testing.TB, partition, offset int64, key string, value string) events.KafkaRecord {
	t.Helper()
	return events.KafkaRecord{Topic: event.TopicTransactions, Partition: partition, Offset: offset,
		Timestamp: events.MilliSecondsEpochTime{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, TimestampType: "CREATE_TIME",
		Key: base64.StdEncoding.EncodeToString([]byte(key)), Value: base64.StdEncoding.EncodeToString([]byte(value))}
}

func orderJSON(id, user, card, ip string, at time.Time, cents int64, qty int, city string, lat, lon float64) string {
	price := float64(cents) / 100 / float64(qty)
	return fmt.Sprintf(`{"event_id":"e-%s","event_type":"order_created","schema_version":1,"occurred_at":%q,`+
		`"order_id":%q,"user_id":%q,"items":[{"product_id":"p-1","quantity":%d,"price":%.2f}],"total_amount":%.2f,"currency":"USD",`+
		`"payment_method":"card","card_fingerprint":%q,"ip":%q,"device":"mobile","location":{"country":"US","city":%q,"lat":%v,"lon":%v}}`,
		id, at.Format(time.RFC3339Nano), id, user, qty, price, price*float64(qty), card, ip, city, lat, lon)
}

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// TestBadAndLegacyRecords: a malformed record is dead-lettered with its
// reason and the rest of the batch is decided; a producer shape without
// card, location or prices is decided on what it carries, says what it
// could not evaluate, and is not flagged for what it lacks.
func TestBadAndLegacyRecords(t *testing.T) {
	t.Parallel()
	var dl bytes.Buffer
	store := fraud.NewMemory()
	h := fraud.New(store, newMemAlerts())
	p, err := kafkabatch.NewProcessor(fraud.Name, h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(&dl)))
	if err != nil {
		t.Fatal(err)
	}
	ev := esmtest.Payload([]events.KafkaRecord{
		record(t, 0, 0, "u-1", orderJSON("o-1", "u-1", "fp_aaaaaaaaaaaaaaaa", "8.8.8.8", t0, 2500, 1, "New York", 40.71, -74)),
		record(t, 0, 1, "u-1", `{"order_id":"o-2",`),
		record(t, 0, 2, "u-1", `{"order_id":"o-3","user_id":"u-1","status":"created","timestamp":"2026-01-01T12:30:00Z","items":[{"product_id":"p-1","quantity":1}]}`),
		record(t, 0, 3, "u-1", `{"eventId":"e-9","eventType":"OrderCreated","timestamp":"2026-01-01T12:31:00Z","orderId":"o-4","userId":"u-1","items":[{"productId":"p-1","quantity":1,"price":25}],"totalAmount":25,"paymentStatus":"Pending"}`),
		record(t, 0, 4, "u-1", `{"transaction_id":"o-4","user_id":"u-1","amount":25,"timestamp":"2026-01-01T12:31:05Z","location":"Berlin"}`),
	})
	resp, st, err := p.ProcessWithStats(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%v %+v", err, resp)
	}
	if st.DeadLettered[event.ReasonNotJSON] != 1 || !strings.Contains(dl.String(), `"reason":"not_json"`) {
		t.Fatalf("dead letters: %v\n%s", st.DeadLettered, dl.String())
	}
	ds, _ := store.Decisions(context.Background(), []string{"o-1", "o-3", "o-4"})
	if len(ds) != 3 {
		t.Fatalf("decisions: %v", ds)
	}
	for id, d := range ds {
		if d.Decision != fraud.DecisionApprove || d.RuleVersion != h.Config().Version {
			t.Errorf("%s: %+v", id, d)
		}
	}
	if u := strings.Join(ds["o-3"].Unevaluated, "; "); !strings.Contains(u, "amount: no amount") || !strings.Contains(u, "no coordinates") ||
		!strings.Contains(u, "no card") {
		t.Errorf("o-3 (no prices, card or location) says it could not evaluate only: %s", u)
	}
	if u := strings.Join(ds["o-4"].Unevaluated, "; "); strings.Contains(u, "amount") || !strings.Contains(u, "no card") {
		t.Errorf("o-4 (a total, no card): %s", u)
	}
}

// failingStore fails every profile write of the users it names.
type failingStore struct {
	fraud.Store
	users map[string]bool
	reads bool
}

var errTransient = errors.New("throttled")

func (f *failingStore) Users(ctx context.Context, ids []string) (map[string]*fraud.UserProfile, error) {
	if f.reads {
		return nil, errTransient
	}
	return f.Store.Users(ctx, ids)
}

func (f *failingStore) PutProfiles(ctx context.Context, users []*fraud.UserProfile, cards []*fraud.CardProfile) map[string]error {
	var ok []*fraud.UserProfile
	errs := map[string]error{}
	for _, u := range users {
		if f.users[u.ID] {
			errs[fraud.UserKey(u.ID)] = errTransient
			continue
		}
		ok = append(ok, u)
	}
	for k, v := range f.Store.PutProfiles(ctx, ok, cards) {
		errs[k] = v
	}
	return errs
}

// TestTransientFailure: a profile that cannot be written fails only its
// own records (the partial batch response names their partition's lowest
// one); delivered again, they converge on the state of a clean run.
func TestTransientFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recs := []events.KafkaRecord{
		record(t, 0, 0, "u-1", orderJSON("o-1", "u-1", "fp_aaaaaaaaaaaaaaaa", "8.8.8.8", t0, 2500, 1, "New York", 40.71, -74)),
		record(t, 1, 0, "u-2", orderJSON("o-2", "u-2", "fp_bbbbbbbbbbbbbbbb", "9.9.9.9", t0, 2500, 1, "Boston", 42.36, -71.06)),
		record(t, 0, 1, "u-1", orderJSON("o-3", "u-1", "fp_aaaaaaaaaaaaaaaa", "8.8.8.8", t0.Add(time.Minute), 2500, 1, "New York", 40.71, -74)),
	}
	mem := fraud.NewMemory()
	fs := &failingStore{Store: mem, users: map[string]bool{"u-1": true}}
	p, _ := newProcessor(t, fs, newMemAlerts())
	resp, err := p.Process(ctx, esmtest.Payload(recs))
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier.Partition != "transactions-0" ||
		resp.BatchItemFailures[0].ItemIdentifier.Offset != 0 {
		t.Fatalf("want only transactions-0 from offset 0 failed: %v %+v", err, resp)
	}
	if u, _ := mem.Users(ctx, []string{"u-1", "u-2"}); u["u-1"] != nil || u["u-2"] == nil {
		t.Fatalf("profiles after the failure: %v", u)
	}
	fs.users = nil
	if resp, err := p.Process(ctx, esmtest.Payload(recs)); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v %+v", err, resp)
	}
	clean := fraud.NewMemory()
	cp, _ := newProcessor(t, clean, newMemAlerts())
	run(t, cp, []events.KafkaEvent{esmtest.Payload(recs)})
	for _, id := range []string{"u-1", "u-2"} {
		a, _ := mem.Users(ctx, []string{id})
		b, _ := clean.Users(ctx, []string{id})
		ja, _ := json.Marshal(a[id])
		jb, _ := json.Marshal(b[id])
		if string(ja) != string(jb) {
			t.Errorf("%s after redelivery %s, clean %s", id, ja, jb)
		}
	}
	fs.reads = true
	resp, err = p.Process(ctx, esmtest.Payload([]events.KafkaRecord{record(t, 0, 2, "u-1",
		orderJSON("o-5", "u-1", "fp_aaaaaaaaaaaaaaaa", "8.8.8.8", t0.Add(time.Hour), 2500, 1, "New York", 40.71, -74))}))
	if err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("a failed read must fail its records, not the invocation: %v %+v", err, resp)
	}
}

// TestLogsAndMetrics: an alert is logged with the record's coordinates and
// without the card fingerprint or IP address; each batch writes one EMF
// line with the decisions by type.
func TestLogsAndMetrics(t *testing.T) {
	t.Parallel()
	var logs, metrics bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	c := fraud.DefaultConfig()
	c.Blocklist.IPs = []string{"6.6.6.6"}
	h := fraud.New(fraud.NewMemory(), newMemAlerts(), fraud.WithConfig(c), fraud.WithLogger(logger))
	p, err := kafkabatch.NewProcessor(fraud.Name, h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(&bytes.Buffer{})), kafkabatch.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	f := fraud.NewFunctionOf(p, &metrics)
	ev := esmtest.Payload([]events.KafkaRecord{
		record(t, 0, 7, "u-1", orderJSON("o-1", "u-1", "fp_cccccccccccccccc", "6.6.6.6", t0, 2500, 1, "New York", 40.71, -74)),
		record(t, 0, 8, "u-2", orderJSON("o-2", "u-2", "fp_dddddddddddddddd", "7.7.7.7", t0, 2500, 1, "New York", 40.71, -74)),
		record(t, 0, 9, "u-2", `not json`),
	})
	if resp, err := f.Process(context.Background(), ev); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%v %+v", err, resp)
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"fraud alert"`) || !strings.Contains(out, `"topic":"transactions","partition":0,"offset":7`) {
		t.Fatalf("no alert line with the record's coordinates:\n%s", out)
	}
	for _, secret := range []string{"fp_cccccccccccccccc", "6.6.6.6", "fp_dddddddddddddddd", "7.7.7.7"} {
		if strings.Contains(out, secret) {
			t.Errorf("the logs show %s:\n%s", secret, out)
		}
	}
	var line map[string]any
	if err := json.Unmarshal(metrics.Bytes(), &line); err != nil || strings.Count(metrics.String(), "\n") != 1 {
		t.Fatalf("want one EMF line: %v %q", err, metrics.String())
	}
	if line["Records"] != 3.0 || line["Declined"] != 1.0 || line["Approved"] != 1.0 || line["DeadLetters"] != 1.0 || line["Alerts"] != 1.0 {
		t.Fatalf("EMF line %v", line)
	}
}

package esm

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fixtureRecords are the records of testdata/msk-event.json.
func fixtureRecords() []*kgo.Record {
	return []*kgo.Record{
		{
			Topic: "inventory_updates", Partition: 0, Offset: 41, Timestamp: time.UnixMilli(1761403680123),
			Key:   []byte("prod001"),
			Value: []byte(`{"product_id":"prod001","change":-1,"timestamp":"2025-10-25T14:48:00Z"}`),
			Headers: []kgo.RecordHeader{
				{Key: "traceparent", Value: []byte("00")},
				{Key: "bytes", Value: []byte{118, 256 - 36, 0, 127, 128}},
			},
		},
		{Topic: "inventory_updates", Partition: 0, Offset: 42, Timestamp: time.UnixMilli(1761403680456)},
		{
			Topic: "inventory_updates", Partition: 3, Offset: 7, Timestamp: time.UnixMilli(1761403681000),
			Value: []byte(`{"product_id":"prod002","change":2,"timestamp":"2025-10-25T14:48:01Z"}`),
		},
	}
}

func toRecs(rs []*kgo.Record) []*rec {
	out := make([]*rec, len(rs))
	for i, r := range rs {
		out[i] = &rec{r: r, key: partitionKey(r.Topic, r.Partition), json: encodeRecord(nil, r)}
	}
	return out
}

// compactFixture reads a testdata file and compacts its JSON.
func compactFixture(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPayloadFixtures checks the payload byte for byte against fixtures in
// the documented MSK and self-managed shapes.
func TestPayloadFixtures(t *testing.T) {
	t.Parallel()
	msk := Config{
		FunctionName: "inventory", Topic: "inventory_updates", StartingPosition: TrimHorizon, EventSourceARN: testARN,
		BootstrapServers: []string{"b-1.shopstream.kafka.us-east-1.amazonaws.com:9098", "b-2.shopstream.kafka.us-east-1.amazonaws.com:9098"},
	}
	s, err := msk.validate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := buildPayload(s.payloadPrefix(), toRecs(fixtureRecords()))
	if want := compactFixture(t, "msk-event.json"); !bytes.Equal(got, want) {
		t.Errorf("MSK payload\n got %s\nwant %s", got, want)
	}

	self := Config{
		FunctionName: "support", Topic: "customer_feedback", StartingPosition: TrimHorizon,
		BootstrapServers: []string{"kafka-1.shop.internal:9092"},
	}
	if s, err = self.validate(time.Now()); err != nil {
		t.Fatal(err)
	}
	got = buildPayload(s.payloadPrefix(), toRecs([]*kgo.Record{{
		Topic: "customer_feedback", Partition: 1, Offset: 0, Timestamp: time.UnixMilli(1761403680000),
		Key: []byte("user-12"), Value: []byte(`{"user_id":"12","feedback":"Great service!","rating":5}`),
		Headers: []kgo.RecordHeader{{Key: "x-source", Value: []byte{255}}},
	}}))
	if want := compactFixture(t, "self-managed-event.json"); !bytes.Equal(got, want) {
		t.Errorf("self-managed payload\n got %s\nwant %s", got, want)
	}
}

// TestPayloadDecodesWithLambda decodes a payload as a Go function receives
// it, through lambda.NewHandler, and checks that encoding/json writes back
// the same document: the payload is exactly an events.KafkaEvent.
func TestPayloadDecodesWithLambda(t *testing.T) {
	t.Parallel()
	payload := compactFixture(t, "msk-event.json")
	var ev events.KafkaEvent
	h := lambda.NewHandler(func(_ context.Context, e events.KafkaEvent) error { ev = e; return nil })
	if _, err := h.Invoke(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
	if ev.EventSource != "aws:kafka" || ev.EventSourceARN != testARN || !strings.Contains(ev.BootstrapServers, ",") {
		t.Errorf("event = %+v", ev)
	}
	r := ev.Records["inventory_updates-0"][0]
	if r.Timestamp.UnixMilli() != 1761403680123 || r.TimestampType != "CREATE_TIME" || r.Offset != 41 {
		t.Errorf("record = %+v", r)
	}
	if h := r.Headers[1]["bytes"]; !bytes.Equal(h, []byte{118, 220, 0, 127, 128}) {
		t.Errorf("header bytes = %v", h)
	}
	again, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(payload, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("aws-lambda-go does not write the payload back as it was\n got %s\nwant %s", again, payload)
	}
}

// TestSizerExact checks, on random records, that the size counted while a
// batch is built is the size of the payload, and that the payload is valid
// JSON.
func TestSizerExact(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	s, err := validConfig().validate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	prefix := s.payloadPrefix()
	headerKeys := []string{"", "k", `"<&>\`, "ünï\u2028cödé", "tab\tnl\n", "\x00\x1f"}
	bytesOf := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return b
	}
	for range 200 {
		var recs []*rec
		for p := range int32(r.IntN(4)) {
			for o := range int64(r.IntN(5)) {
				kr := &kgo.Record{Topic: []string{"a", "orders.v2", "x_y-z"}[r.IntN(3)], Partition: p, Offset: o * 1000, Timestamp: time.UnixMilli(r.Int64N(1 << 42))}
				if r.IntN(2) == 0 {
					kr.Key = bytesOf(r.IntN(20))
				}
				kr.Value = bytesOf(r.IntN(300))
				for range r.IntN(3) {
					kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: headerKeys[r.IntN(len(headerKeys))], Value: bytesOf(r.IntN(8))})
				}
				recs = append(recs, &rec{r: kr, key: partitionKey(kr.Topic, kr.Partition), json: encodeRecord(nil, kr)})
			}
		}
		// Group by key, as batches are.
		grouped := make(map[string][]*rec)
		var keys []string
		for _, x := range recs {
			if grouped[x.key] == nil {
				keys = append(keys, x.key)
			}
			grouped[x.key] = append(grouped[x.key], x)
		}
		recs = recs[:0]
		for _, k := range keys {
			recs = append(recs, grouped[k]...)
		}
		z := newSizer(prefix)
		for _, x := range recs {
			z.add(x)
		}
		payload := buildPayload(prefix, recs)
		if len(payload) != z.size {
			t.Fatalf("payload is %d bytes, the sizer counted %d", len(payload), z.size)
		}
		var ev events.KafkaEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Fatalf("payload does not decode: %v\n%s", err, payload)
		}
		n := 0
		for k, rs := range ev.Records {
			for i, kr := range rs {
				want := grouped[k][i].r
				n++
				if kr.Offset != want.Offset || len(kr.Headers) != len(want.Headers) {
					t.Fatalf("record %s[%d] = %+v, want offset %d", k, i, kr, want.Offset)
				}
				for j, h := range kr.Headers {
					if !bytes.Equal(h[want.Headers[j].Key], want.Headers[j].Value) {
						t.Fatalf("header %d of %s@%d: %v, want %v", j, k, kr.Offset, h, want.Headers[j])
					}
				}
			}
		}
		if n != len(recs) {
			t.Fatalf("payload has %d records, want %d", n, len(recs))
		}
	}
}

// TestTakeStopsBeforeLimit checks that a batch takes records until the next
// would make its payload larger than the limit, and no further; and that a
// record too large for any payload is taken alone.
func TestTakeStopsBeforeLimit(t *testing.T) {
	t.Parallel()
	m, err := New(validConfig(), InvokerFunc(nil))
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(m, context.Background())
	mb := make([]byte, 1<<20) // 1 MiB: 1,398,104 bytes of base64
	p := &partition{key: "t-0", topic: "t", next: -1}
	for i := range 10 {
		x := &rec{r: &kgo.Record{Topic: "t", Offset: int64(i), Value: mb}, key: p.key, at: time.Now()}
		x.json = encodeRecord(nil, x.r)
		p.buf = append(p.buf, x)
		p.bufBytes += len(x.json)
	}
	p.paused = true // keep throttle from calling the (absent) client
	recs := r.take([]*partition{p})
	size := len(buildPayload(m.prefix, recs))
	next := len(buildPayload(m.prefix, append(recs, p.buf[0])))
	if len(recs) != 4 || size > MaxPayloadBytes || next <= MaxPayloadBytes {
		t.Errorf("took %d records, %d bytes (with the next one: %d); want the most under %d", len(recs), size, next, MaxPayloadBytes)
	}

	huge := &rec{r: &kgo.Record{Topic: "t", Partition: 1, Value: make([]byte, MaxPayloadBytes)}, key: "t-1", at: time.Now()}
	huge.json = encodeRecord(nil, huge.r)
	q := &partition{key: "t-1", topic: "t", partition: 1, next: -1, buf: []*rec{huge}, bufBytes: len(huge.json)}
	p.busy = false
	if recs := r.take([]*partition{q, p}); len(recs) != 1 || recs[0] != huge {
		t.Errorf("took %d records, want the oversized one alone", len(recs))
	}
}

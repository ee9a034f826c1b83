package kafkabatch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/shared/event"
)

var testTime = time.Date(2024, 10, 25, 14, 48, 0, 0, time.UTC)

// validEvent returns a valid canonical event of a type picked by n, built
// from the Go types and marshalled with encoding/json.
func validEvent(t testing.TB, n int) []byte {
	t.Helper()
	id := "evt-" + strconv.Itoa(n)
	var e event.Event
	switch n % 4 {
	case 0:
		pv := event.New(event.TypePageView).(*event.PageView)
		pv.UserID, pv.PageURL, pv.Device = "user-"+strconv.Itoa(n%97), "/product/"+strconv.Itoa(n), "mobile"
		e = pv
	case 1:
		oc := event.New(event.TypeOrderCreated).(*event.OrderCreated)
		oc.OrderID, oc.UserID, oc.Currency, oc.PaymentMethod = "order-"+strconv.Itoa(n), "user-1", "EUR", "card"
		oc.Items = []event.Item{{ProductID: "prod-7", Quantity: 2, Price: event.FromCents(2999)}}
		total := event.FromCents(5998)
		oc.TotalAmount = &total
		oc.CardFingerprint = "fp-secret-1234"
		e = oc
	case 2:
		sa := event.New(event.TypeStockAdjusted).(*event.StockAdjusted)
		sa.ProductID, sa.WarehouseID, sa.Change = "prod-"+strconv.Itoa(n%13), "wh-1", -1
		e = sa
	default:
		fb := event.New(event.TypeFeedback).(*event.Feedback)
		fb.UserID, fb.Rating, fb.Text = "user-2", 1+n%5, "Great service!"
		e = fb
	}
	m := e.Meta()
	m.EventID, m.OccurredAt = id, testTime.Add(time.Duration(n)*time.Second)
	if err := e.Validate(); err != nil {
		t.Fatalf("test event %d does not validate: %v", n, err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rec describes one record of a test payload. Value is raw bytes, encoded
// to base64 in the payload unless RawValue is set.
type rec struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	RawValue  string // written to the payload as it is (bad base64)
	Headers   []event.RecordHeader
}

func (r rec) coord() coord { return coord{r.Topic, r.Partition, r.Offset} }

type coord struct {
	Topic     string
	Partition int32
	Offset    int64
}

func coordOf(r *Record) coord { return coord{r.Topic, r.Partition, r.Offset} }

// payload builds an MSK event source mapping payload of rs, in shuffled
// order within each partition's list (the processor must sort them), or in
// the order given when seed is 0.
func payload(seed uint64, rs ...rec) events.KafkaEvent {
	ev := events.KafkaEvent{
		EventSource:      "aws:kafka",
		EventSourceARN:   "arn:aws:kafka:eu-west-1:123456789012:cluster/test/abc",
		BootstrapServers: "b-1.test:9098",
		Records:          map[string][]events.KafkaRecord{},
	}
	for _, r := range rs {
		kr := events.KafkaRecord{
			Topic:         r.Topic,
			Partition:     int64(r.Partition),
			Offset:        r.Offset,
			Timestamp:     events.MilliSecondsEpochTime{Time: testTime.Add(time.Duration(r.Offset) * time.Millisecond)},
			TimestampType: "CREATE_TIME",
			Value:         base64.StdEncoding.EncodeToString(r.Value),
			Headers:       []map[string]events.JSONNumberBytes{},
		}
		if r.RawValue != "" {
			kr.Value = r.RawValue
		}
		if r.Key != nil {
			kr.Key = base64.StdEncoding.EncodeToString(r.Key)
		}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, map[string]events.JSONNumberBytes{h.Key: h.Value})
		}
		k := r.Topic + "-" + strconv.Itoa(int(r.Partition))
		ev.Records[k] = append(ev.Records[k], kr)
	}
	if seed == 0 {
		return ev
	}
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for _, l := range ev.Records {
		rnd.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
	}
	return ev
}

// recordingHandler records what it was handed and marks messages by rules.
type recordingHandler struct {
	mu      sync.Mutex
	calls   int
	seen    []coord
	events  []event.Event
	fail    func(m *Message) (bool, error) // true: Fail with the error
	reject  func(m *Message) (bool, error) // true: Reject with the error
	failAll error                          // returned from Handle
}

func (h *recordingHandler) Handle(_ context.Context, b *Batch) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	for _, m := range b.Messages() {
		if m.Event == nil {
			return errors.New("handler got a message without an event")
		}
		h.seen = append(h.seen, coordOf(&m.Record))
		h.events = append(h.events, m.Event)
		if h.reject != nil {
			if ok, err := h.reject(m); ok {
				b.Reject(m, err)
			}
		}
		if h.fail != nil {
			if ok, err := h.fail(m); ok {
				b.Fail(m, err)
			}
		}
	}
	return h.failAll
}

// memorySink is a DeadLetterSink that keeps letters in memory and fails
// while err is set.
type memorySink struct {
	mu      sync.Mutex
	letters []*event.DeadLetter
	calls   int
	err     error
}

func (s *memorySink) Send(_ context.Context, letters []*event.DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return s.err
	}
	s.letters = append(s.letters, letters...)
	return nil
}

func (s *memorySink) byCoord() map[coord]*event.DeadLetter {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[coord]*event.DeadLetter, len(s.letters))
	for _, dl := range s.letters {
		m[coord{dl.Topic, dl.Partition, dl.Offset}] = dl
	}
	return m
}

func newTestProcessor(t testing.TB, h Handler, opts ...Option) *Processor {
	t.Helper()
	p, err := NewProcessor("testfn", h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p.now = func() time.Time { return testTime }
	return p
}

func sortedCoords(cs []coord) []coord {
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(a, b coord) int {
		return compareRecords(&Record{Topic: a.Topic, Partition: a.Partition, Offset: a.Offset},
			&Record{Topic: b.Topic, Partition: b.Partition, Offset: b.Offset})
	})
	return cs
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func failureList(r Response) string {
	var parts []string
	for _, f := range r.BatchItemFailures {
		parts = append(parts, fmt.Sprintf("%s@%d", f.ItemIdentifier.Partition, f.ItemIdentifier.Offset))
	}
	return strings.Join(parts, " ")
}

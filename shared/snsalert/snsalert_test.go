package snsalert_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/shopstream/shopstream/shared/snsalert"
	"github.com/shopstream/shopstream/shared/snstest"
)

const (
	standardARN = "arn:aws:sns:eu-west-1:123456789012:shopstream-alerts"
	fifoARN     = "arn:aws:sns:eu-west-1:123456789012:shopstream-alerts.fifo"
)

func TestInputStandardTopic(t *testing.T) {
	in, err := snsalert.Input(standardARN, snsalert.Message{
		ID: "a-1", Group: "user-1", Subject: "shopstream support alert: high",
		Body: []byte(`{"event_id":"a-1"}`), Attributes: map[string]string{"priority": "high", "empty": ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(in.TopicArn) != standardARN || aws.ToString(in.Message) != `{"event_id":"a-1"}` ||
		aws.ToString(in.Subject) != "shopstream support alert: high" {
		t.Errorf("input %+v", in)
	}
	if in.MessageGroupId != nil || in.MessageDeduplicationId != nil {
		t.Errorf("FIFO ids on a standard topic: %v %v", aws.ToString(in.MessageGroupId), aws.ToString(in.MessageDeduplicationId))
	}
	want := map[string]string{"priority": "high", "alert_id": "a-1"}
	if got := attrs(in.MessageAttributes); !equal(got, want) {
		t.Errorf("attributes %v, want %v", got, want)
	}
}

func TestInputFIFOTopic(t *testing.T) {
	long := strings.Repeat("x", 129)
	for _, tc := range []struct {
		name, id, group, wantGroup, wantDedup string
	}{
		{"group given", "a-1", "user-1", "user-1", "a-1"},
		{"group defaults to the id", "a-1", "", "a-1", "a-1"},
		{"ids hashed past 128 characters", long, "user 1", snsalert.FIFOID("user 1"), snsalert.FIFOID(long)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := snsalert.Input(fifoARN, snsalert.Message{ID: tc.id, Group: tc.group, Body: []byte("{}")})
			if err != nil {
				t.Fatal(err)
			}
			if g, d := aws.ToString(in.MessageGroupId), aws.ToString(in.MessageDeduplicationId); g != tc.wantGroup || d != tc.wantDedup {
				t.Errorf("group %q dedup %q, want %q %q", g, d, tc.wantGroup, tc.wantDedup)
			}
			if in.Subject != nil {
				t.Errorf("subject %q, want none", aws.ToString(in.Subject))
			}
		})
	}
}

func TestFIFOID(t *testing.T) {
	for _, tc := range []struct {
		in     string
		hashed bool
	}{
		{"evt-123:transactions/4@17", false},
		{strings.Repeat("a", 128), false},
		{strings.Repeat("a", 129), true},
		{"with space", true},
		{"ünicode", true},
		{"", true},
	} {
		got := snsalert.FIFOID(tc.in)
		if (got != tc.in) != tc.hashed || len(got) > 128 || got == "" {
			t.Errorf("FIFOID(%q) = %q (hashed: want %v)", tc.in, got, tc.hashed)
		}
		if snsalert.FIFOID(tc.in) != got {
			t.Errorf("FIFOID(%q) is not stable", tc.in)
		}
	}
	if snsalert.FIFOID("a b") == snsalert.FIFOID("a c") {
		t.Error("two ids hash alike")
	}
}

func TestSubject(t *testing.T) {
	for in, want := range map[string]string{
		"shopstream fraud alert: decline": "shopstream fraud alert: decline",
		"  line\nbreak\ttab ":             "line break tab",
		"café":                            "caf",
		strings.Repeat("s", 150):          strings.Repeat("s", snsalert.MaxSubject),
		"\x00\x01":                        "",
	} {
		if got := snsalert.Subject(in); got != want {
			t.Errorf("Subject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInvalidMessages(t *testing.T) {
	many := map[string]string{}
	for i := 0; i < snsalert.MaxAttributes; i++ {
		many["a"+strconv.Itoa(i)] = "v"
	}
	for name, m := range map[string]snsalert.Message{
		"no id":                {Body: []byte("{}")},
		"no body":              {ID: "a"},
		"not UTF-8":            {ID: "a", Body: []byte{0xff, 0xfe}},
		"too large":            {ID: "a", Body: bytes.Repeat([]byte("x"), snsalert.MaxMessageBytes)},
		"reserved attribute":   {ID: "a", Body: []byte("{}"), Attributes: map[string]string{"AWS.trace": "x"}},
		"bad attribute name":   {ID: "a", Body: []byte("{}"), Attributes: map[string]string{"prio rity": "x"}},
		"dotted attribute":     {ID: "a", Body: []byte("{}"), Attributes: map[string]string{"a..b": "x"}},
		"too many attributes":  {ID: "a", Body: []byte("{}"), Attributes: many},
		"empty attribute name": {ID: "a", Body: []byte("{}"), Attributes: map[string]string{"": "x"}},
	} {
		if _, err := snsalert.Input(standardARN, m); !errors.Is(err, snsalert.ErrInvalid) {
			t.Errorf("%s: Input error %v, want ErrInvalid", name, err)
		}
		ok := snsalert.Message{ID: "ok", Body: []byte("{}")}
		if _, err := snsalert.BatchInputs(standardARN, []snsalert.Message{ok, m}); !errors.Is(err, snsalert.ErrInvalid) {
			t.Errorf("%s: BatchInputs error %v, want ErrInvalid", name, err)
		}
	}
}

func TestBatchInputsSplitByCount(t *testing.T) {
	msgs := make([]snsalert.Message, 25)
	for i := range msgs {
		msgs[i] = snsalert.Message{ID: fmt.Sprintf("a-%d", i), Group: "g", Body: []byte(fmt.Sprintf(`{"n":%d}`, i))}
	}
	batches, err := snsalert.BatchInputs(fifoARN, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if got := sizes(batches); got != "10,10,5" {
		t.Fatalf("batches of %s, want 10,10,5", got)
	}
	n := 0
	for _, b := range batches {
		if aws.ToString(b.TopicArn) != fifoARN {
			t.Errorf("topic %s", aws.ToString(b.TopicArn))
		}
		for i, e := range b.PublishBatchRequestEntries {
			// Order is kept: FIFO topics deliver a batch in entry order.
			if aws.ToString(e.Id) != strconv.Itoa(i) || aws.ToString(e.Message) != fmt.Sprintf(`{"n":%d}`, n) ||
				aws.ToString(e.MessageDeduplicationId) != fmt.Sprintf("a-%d", n) || aws.ToString(e.MessageGroupId) != "g" {
				t.Errorf("entry %d of a batch: %+v", i, e)
			}
			n++
		}
	}
}

func TestBatchInputsSplitBySize(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 100*1024)
	msgs := []snsalert.Message{{ID: "a", Body: body}, {ID: "b", Body: body}, {ID: "c", Body: body}, {ID: "d", Body: []byte("{}")}}
	batches, err := snsalert.BatchInputs(standardARN, msgs)
	if err != nil {
		t.Fatal(err)
	}
	// Two 100 KiB messages fit in 256 KiB, a third does not; the small
	// one joins the second request.
	if got := sizes(batches); got != "2,2" {
		t.Fatalf("batches of %s, want 2,2", got)
	}
	for _, b := range batches {
		total := 0
		for _, e := range b.PublishBatchRequestEntries {
			total += len(aws.ToString(e.Message))
		}
		if total > snsalert.MaxMessageBytes {
			t.Errorf("a request of %d bytes", total)
		}
	}
	if b, err := snsalert.BatchInputs(standardARN, nil); err != nil || len(b) != 0 {
		t.Errorf("no messages: %d requests, %v", len(b), err)
	}
}

func TestBatchError(t *testing.T) {
	in, err := snsalert.BatchInputs(standardARN, []snsalert.Message{
		{ID: "a-0", Body: []byte("{}")}, {ID: "a-1", Body: []byte("{}")}, {ID: "a-2", Body: []byte("{}")},
	})
	if err != nil {
		t.Fatal(err)
	}
	ok := func(id string) types.PublishBatchResultEntry {
		return types.PublishBatchResultEntry{Id: aws.String(id)}
	}
	if err := snsalert.BatchError(in[0], &sns.PublishBatchOutput{Successful: []types.PublishBatchResultEntry{ok("0"), ok("1"), ok("2")}}); err != nil {
		t.Errorf("all published: %v", err)
	}
	err = snsalert.BatchError(in[0], &sns.PublishBatchOutput{
		Successful: []types.PublishBatchResultEntry{ok("0")},
		Failed: []types.BatchResultErrorEntry{{Id: aws.String("1"), Code: aws.String("InternalError"), Message: aws.String("try again"),
			SenderFault: false}},
	})
	if err == nil {
		t.Fatal("a failed and a missing entry: no error")
	}
	for _, want := range []string{"2 of 3 failed", "a-1: InternalError", "a-2: no result"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "a-0") {
		t.Errorf("error %q names a published alert", err)
	}
}

// The tests below publish through the SNS API of moto's server
// (shared/snstest), which delivers every message to HTTP subscribers and
// applies their filter policies.

func TestPublishDeliversToSubscribers(t *testing.T) {
	t.Parallel()
	client := snstest.Client(t)
	ctx := context.Background()
	topic := snstest.Topic(t, client, false)
	all := snstest.Subscribe(t, client, topic, "")
	high := snstest.Subscribe(t, client, topic, `{"priority":["high"]}`)

	p := snsalert.New(client, topic)
	if p.TopicARN() != topic {
		t.Errorf("TopicARN %s", p.TopicARN())
	}
	var msgs []snsalert.Message
	for i := 0; i < 13; i++ {
		prio := "normal"
		if i%4 == 0 {
			prio = "high"
		}
		msgs = append(msgs, snsalert.Message{ID: fmt.Sprintf("alert-%02d", i), Subject: "shopstream alert: " + prio,
			Body: []byte(fmt.Sprintf(`{"event_id":"alert-%02d","priority":%q}`, i, prio)), Attributes: map[string]string{"priority": prio}})
	}
	// One message goes through Publish, twelve through two PublishBatch requests.
	if err := p.Publish(ctx, msgs[0]); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, msgs[1:]...); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx); err != nil {
		t.Fatalf("no messages: %v", err)
	}
	got := byMessage(all.Wait(t, len(msgs)))
	for _, m := range msgs {
		n, ok := got[string(m.Body)]
		if !ok {
			t.Errorf("alert %s not delivered", m.ID)
			continue
		}
		if n.Subject != m.Subject || n.TopicArn != topic {
			t.Errorf("alert %s: subject %q topic %s, want %q %s", m.ID, n.Subject, n.TopicArn, m.Subject, topic)
		}
	}
	// The filtered subscription receives the high-priority alerts only:
	// the attributes reached SNS.
	high.Wait(t, 4)
	time.Sleep(200 * time.Millisecond)
	if n := high.Notifications(); len(n) != 4 {
		t.Errorf("filtered subscription received %d alerts, want 4", len(n))
	}
	for _, n := range high.Notifications() {
		if !strings.Contains(n.Message, `"priority":"high"`) {
			t.Errorf("filtered subscription received %s", n.Message)
		}
	}
}

func TestPublishFIFO(t *testing.T) {
	t.Parallel()
	client := snstest.Client(t)
	ctx := context.Background()
	topic := snstest.Topic(t, client, true)
	sub := snstest.Subscribe(t, client, topic, "")
	p := snsalert.New(client, topic)
	msgs := []snsalert.Message{
		{ID: "a-1", Group: "user-1", Body: []byte(`{"n":1}`)},
		{ID: "a-2", Group: "user-1", Body: []byte(`{"n":2}`)},
		{ID: strings.Repeat("long-id-", 20), Group: "user 2", Body: []byte(`{"n":3}`)},
	}
	if err := p.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, msgs[0]); err != nil {
		t.Fatal(err)
	}
	got := byMessage(sub.Wait(t, 3))
	for _, m := range msgs {
		if _, ok := got[string(m.Body)]; !ok {
			t.Errorf("alert %s not delivered", m.ID)
		}
	}
}

func TestPublishErrors(t *testing.T) {
	t.Parallel()
	client := snstest.Client(t)
	ctx := context.Background()
	p := snsalert.New(client, "arn:aws:sns:us-east-1:123456789012:missing")
	if err := p.Publish(ctx, snsalert.Message{ID: "a", Body: []byte("{}")}); err == nil || !strings.Contains(err.Error(), "publish alert a") {
		t.Errorf("publish to a missing topic: %v", err)
	}
	if err := p.Publish(ctx, snsalert.Message{ID: "a", Body: []byte("{}")}, snsalert.Message{ID: "b", Body: []byte("{}")}); err == nil {
		t.Error("batch to a missing topic: no error")
	}
	// Invalid messages fail before any request.
	if err := p.Publish(ctx, snsalert.Message{ID: "a"}); !errors.Is(err, snsalert.ErrInvalid) {
		t.Errorf("publish without body: %v", err)
	}
}

func byMessage(ns []snstest.Notification) map[string]snstest.Notification {
	out := map[string]snstest.Notification{}
	for _, n := range ns {
		out[n.Message] = n
	}
	return out
}

func attrs(m map[string]types.MessageAttributeValue) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if aws.ToString(v.DataType) != "String" {
			out[k] = "type " + aws.ToString(v.DataType)
			continue
		}
		out[k] = aws.ToString(v.StringValue)
	}
	return out
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sizes(batches []*sns.PublishBatchInput) string {
	var s []string
	for _, b := range batches {
		s = append(s, strconv.Itoa(len(b.PublishBatchRequestEntries)))
	}
	return strings.Join(s, ",")
}

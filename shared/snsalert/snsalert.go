// Package snsalert publishes alerts to an Amazon SNS topic: each alert's
// JSON as the message, a subject line for e-mail subscribers, and string
// message attributes that subscription filter policies select on.
//
// An alert carries its own id. On a FIFO topic (ARN ending in ".fifo") that
// id is the deduplication id, so an alert published again within SNS's
// five-minute deduplication window is dropped; on a standard topic a
// republished alert arrives again with the same id, and receivers drop
// duplicates by it.
//
// The requests are built by pure functions ([Input], [BatchInputs]) that
// check SNS's limits first, so that an alert SNS would refuse fails with a
// clear error before any call.
package snsalert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// Limits of SNS that the requests are checked against.
const (
	// MaxMessageBytes bounds one message, body and attributes, and the sum
	// of the messages of one PublishBatch request (a topic's default
	// MaximumMessageSize).
	MaxMessageBytes = 256 * 1024
	// MaxBatch is the number of messages one PublishBatch request carries.
	MaxBatch = 10
	// MaxAttributes is the number of message attributes of one message.
	MaxAttributes = 10
	// MaxSubject is the length of a subject line (fewer than 100 ASCII
	// characters).
	MaxSubject = 99
	// maxFIFOID bounds a FIFO message group or deduplication id.
	maxFIFOID = 128
)

// ErrInvalid is wrapped by the errors of messages SNS would refuse: no
// body, too large, bad attributes. Publishing such a message again cannot
// succeed.
var ErrInvalid = errors.New("snsalert: invalid message")

// Message is one alert as SNS carries it.
type Message struct {
	// ID identifies the alert (its event id); required. It is the
	// deduplication id on a FIFO topic (hashed with SHA-256 when it does
	// not fit SNS's 128 characters).
	ID string
	// Group is the message group on a FIFO topic: alerts of one group are
	// delivered in order. Default ID.
	Group string
	// Subject is the subject line of e-mail deliveries. Characters SNS
	// does not accept (non-ASCII, control characters) become spaces, and
	// it is cut to MaxSubject characters; "" sends none.
	Subject string
	// Body is the alert (JSON); required.
	Body []byte
	// Attributes are string message attributes for subscription filter
	// policies. Empty values are left out.
	Attributes map[string]string
}

// Publisher publishes messages to one topic. It is safe for concurrent
// use.
type Publisher struct {
	client   *sns.Client
	topicARN string
}

// New returns a publisher to topicARN through client.
func New(client *sns.Client, topicARN string) *Publisher {
	return &Publisher{client: client, topicARN: topicARN}
}

// TopicARN returns the topic the publisher publishes to.
func (p *Publisher) TopicARN() string { return p.topicARN }

// Publish publishes msgs: one Publish request for one message, else
// PublishBatch requests of up to MaxBatch messages. It returns nil only
// when SNS accepted every message; after an error some messages may have
// been published, and publishing all of them again is how a caller
// retries.
func (p *Publisher) Publish(ctx context.Context, msgs ...Message) error {
	switch len(msgs) {
	case 0:
		return nil
	case 1:
		in, err := Input(p.topicARN, msgs[0])
		if err != nil {
			return err
		}
		if _, err := p.client.Publish(ctx, in); err != nil {
			return fmt.Errorf("publish alert %s to SNS: %w", msgs[0].ID, err)
		}
		return nil
	}
	batches, err := BatchInputs(p.topicARN, msgs)
	if err != nil {
		return err
	}
	for _, in := range batches {
		out, err := p.client.PublishBatch(ctx, in)
		if err != nil {
			return fmt.Errorf("publish %d alerts to SNS: %w", len(in.PublishBatchRequestEntries), err)
		}
		if err := BatchError(in, out); err != nil {
			return err
		}
	}
	return nil
}

// IsFIFO reports whether topicARN names a FIFO topic.
func IsFIFO(topicARN string) bool { return strings.HasSuffix(topicARN, ".fifo") }

// Input returns the Publish request of m to topicARN, or an error wrapping
// ErrInvalid when SNS would refuse it.
func Input(topicARN string, m Message) (*sns.PublishInput, error) {
	e, err := entry(topicARN, m, "")
	if err != nil {
		return nil, err
	}
	return &sns.PublishInput{
		TopicArn: aws.String(topicARN), Message: e.Message, Subject: e.Subject, MessageAttributes: e.MessageAttributes,
		MessageGroupId: e.MessageGroupId, MessageDeduplicationId: e.MessageDeduplicationId,
	}, nil
}

// BatchInputs returns the PublishBatch requests of msgs to topicARN, in
// order: at most MaxBatch messages and MaxMessageBytes in each. Entry ids
// are the messages' positions in their request ("0" to "9"). The first
// message SNS would refuse stops it with an error wrapping ErrInvalid.
func BatchInputs(topicARN string, msgs []Message) ([]*sns.PublishBatchInput, error) {
	var (
		out  []*sns.PublishBatchInput
		cur  *sns.PublishBatchInput
		size int
	)
	for _, m := range msgs {
		n, err := Size(m)
		if err != nil {
			return nil, err
		}
		if cur == nil || len(cur.PublishBatchRequestEntries) == MaxBatch || size+n > MaxMessageBytes {
			cur = &sns.PublishBatchInput{TopicArn: aws.String(topicARN)}
			out = append(out, cur)
			size = 0
		}
		e, err := entry(topicARN, m, strconv.Itoa(len(cur.PublishBatchRequestEntries)))
		if err != nil {
			return nil, err
		}
		cur.PublishBatchRequestEntries = append(cur.PublishBatchRequestEntries, e)
		size += n
	}
	return out, nil
}

// BatchError returns nil when out reports every entry of in published, and
// otherwise an error naming the ids of the messages SNS refused, with its
// codes. An entry that out reports neither way counts as refused.
func BatchError(in *sns.PublishBatchInput, out *sns.PublishBatchOutput) error {
	ok := map[string]bool{}
	for _, s := range out.Successful {
		ok[aws.ToString(s.Id)] = true
	}
	failed := map[string]types.BatchResultErrorEntry{}
	for _, f := range out.Failed {
		failed[aws.ToString(f.Id)] = f
	}
	var errs []string
	for _, e := range in.PublishBatchRequestEntries {
		id := aws.ToString(e.Id)
		if ok[id] {
			continue
		}
		alert := aws.ToString(e.MessageDeduplicationId)
		if v, has := e.MessageAttributes[idAttribute]; has {
			alert = aws.ToString(v.StringValue)
		}
		f, has := failed[id]
		switch {
		case !has:
			errs = append(errs, fmt.Sprintf("%s: no result", alert))
		case f.SenderFault:
			errs = append(errs, fmt.Sprintf("%s: %s (refused): %s", alert, aws.ToString(f.Code), aws.ToString(f.Message)))
		default:
			errs = append(errs, fmt.Sprintf("%s: %s: %s", alert, aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("publish alerts to SNS: %d of %d failed: %s", len(errs), len(in.PublishBatchRequestEntries), strings.Join(errs, "; "))
}

// idAttribute carries the alert's id on every message, so that a
// subscriber (and an error) can name the alert without parsing the body.
const idAttribute = "alert_id"

// Size returns the bytes m counts against SNS's message size limit: body,
// subject, and each attribute's name, type and value. It fails, wrapping
// ErrInvalid, for a message SNS would refuse.
func Size(m Message) (int, error) {
	attrs, err := attributes(m)
	if err != nil {
		return 0, err
	}
	n := len(m.Body) + len(Subject(m.Subject))
	for k, v := range attrs {
		n += len(k) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue))
	}
	if n > MaxMessageBytes {
		return 0, fmt.Errorf("%w: alert %s is %d bytes, SNS takes at most %d", ErrInvalid, m.ID, n, MaxMessageBytes)
	}
	return n, nil
}

func entry(topicARN string, m Message, id string) (types.PublishBatchRequestEntry, error) {
	if m.ID == "" {
		return types.PublishBatchRequestEntry{}, fmt.Errorf("%w: an alert without id", ErrInvalid)
	}
	if len(m.Body) == 0 {
		return types.PublishBatchRequestEntry{}, fmt.Errorf("%w: alert %s has no body", ErrInvalid, m.ID)
	}
	if !utf8.Valid(m.Body) {
		return types.PublishBatchRequestEntry{}, fmt.Errorf("%w: alert %s: the body is not UTF-8", ErrInvalid, m.ID)
	}
	if _, err := Size(m); err != nil {
		return types.PublishBatchRequestEntry{}, err
	}
	attrs, _ := attributes(m) // checked by Size
	e := types.PublishBatchRequestEntry{Message: aws.String(string(m.Body)), MessageAttributes: attrs}
	if id != "" {
		e.Id = aws.String(id)
	}
	if s := Subject(m.Subject); s != "" {
		e.Subject = aws.String(s)
	}
	if IsFIFO(topicARN) {
		group := m.Group
		if group == "" {
			group = m.ID
		}
		e.MessageGroupId, e.MessageDeduplicationId = aws.String(FIFOID(group)), aws.String(FIFOID(m.ID))
	}
	return e, nil
}

// attributes returns the message attributes of m: its Attributes and the
// alert id, or an error wrapping ErrInvalid for names SNS refuses.
func attributes(m Message) (map[string]types.MessageAttributeValue, error) {
	out := make(map[string]types.MessageAttributeValue, len(m.Attributes)+1)
	names := make([]string, 0, len(m.Attributes))
	for k := range m.Attributes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := checkAttributeName(k); err != nil {
			return nil, fmt.Errorf("%w: alert %s: %v", ErrInvalid, m.ID, err)
		}
		if v := m.Attributes[k]; v != "" {
			out[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	if _, taken := out[idAttribute]; !taken && m.ID != "" {
		out[idAttribute] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(m.ID)}
	}
	if len(out) > MaxAttributes {
		return nil, fmt.Errorf("%w: alert %s has %d message attributes, SNS takes at most %d", ErrInvalid, m.ID, len(out), MaxAttributes)
	}
	return out, nil
}

// checkAttributeName applies SNS's rules for message attribute names: up
// to 256 characters of letters, digits, '_', '-' and '.', no leading or
// trailing '.' nor "..", and no "AWS." or "Amazon." prefix.
func checkAttributeName(k string) error {
	switch {
	case k == "" || len(k) > 256:
		return fmt.Errorf("message attribute name %q: want 1 to 256 characters", k)
	case strings.HasPrefix(strings.ToLower(k), "aws.") || strings.HasPrefix(strings.ToLower(k), "amazon."):
		return fmt.Errorf("message attribute name %q: the AWS. and Amazon. prefixes are reserved", k)
	case k[0] == '.' || k[len(k)-1] == '.' || strings.Contains(k, ".."):
		return fmt.Errorf("message attribute name %q: no leading, trailing or repeated '.'", k)
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("message attribute name %q: only letters, digits, '_', '-' and '.'", k)
		}
	}
	return nil
}

// Subject returns s as SNS accepts a subject: printable ASCII, spaces for
// anything else, trimmed, at most MaxSubject characters.
func Subject(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			r = ' '
		}
		b.WriteRune(r)
	}
	out := strings.TrimSpace(b.String())
	if len(out) > MaxSubject {
		out = strings.TrimSpace(out[:MaxSubject])
	}
	return out
}

// FIFOID returns id as a FIFO message group or deduplication id: id itself
// when it is 1 to 128 characters of ASCII letters, digits and punctuation,
// else the hex SHA-256 of id (the same id always maps to the same value).
func FIFOID(id string) string {
	if id != "" && len(id) <= maxFIFOID {
		valid := true
		for i := 0; i < len(id); i++ {
			if c := id[i]; c <= 0x20 || c > 0x7e {
				valid = false
				break
			}
		}
		if valid {
			return id
		}
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

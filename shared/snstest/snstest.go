// Package snstest provides an SNS server to tests, as httptest provides
// HTTP servers: moto's server (a local implementation of the AWS APIs),
// started for one test and stopped when it ends, with HTTP subscribers that
// record what the topic delivers. moto applies subscription filter
// policies, so a filtered subscriber shows which message attributes reached
// SNS.
//
//	func TestPublish(t *testing.T) {
//		client := snstest.Client(t)
//		topic := snstest.Topic(t, client, false)
//		sub := snstest.Subscribe(t, client, topic, "")
//		... publish ...
//		got := sub.Wait(t, 3)
//	}
//
// When the server cannot start, the test fails with the reason and how to
// install it (`pip install 'moto[server]'`); it is never skipped.
package snstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// Client starts a server for t and returns an SNS client of it (region
// us-east-1, static test credentials). The server stops when t ends.
func Client(t testing.TB) *sns.Client {
	t.Helper()
	url, err := start(t)
	if err != nil {
		t.Fatalf("snstest: moto's server did not start (install it with `pip install 'moto[server]'`): %v", err)
	}
	return sns.New(sns.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

func start(t testing.TB) (string, error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	out := &syncBuffer{}
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", port)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	url := "http://127.0.0.1:" + port
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			t.Cleanup(stop)
			return url, nil
		}
	}
	stop()
	return "", fmt.Errorf("no answer on %s within a minute: %s", url, out.String())
}

var seq atomic.Int64

// Topic creates a topic with a name unique to t (a FIFO topic when fifo)
// and returns its ARN.
func Topic(t testing.TB, client *sns.Client, fifo bool) string {
	t.Helper()
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + "-" + strconv.FormatInt(seq.Add(1), 10)
	in := &sns.CreateTopicInput{Name: aws.String(name)}
	if fifo {
		in.Name = aws.String(name + ".fifo")
		in.Attributes = map[string]string{"FifoTopic": "true"}
	}
	out, err := client.CreateTopic(context.Background(), in)
	if err != nil {
		t.Fatalf("snstest: create topic %s: %v", name, err)
	}
	return aws.ToString(out.TopicArn)
}

// Notification is one message as an HTTP subscriber receives it.
type Notification struct {
	Type, MessageId, TopicArn, Subject, Message string
}

// Subscriber is an HTTP endpoint subscribed to a topic.
type Subscriber struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs []Notification
}

// Subscribe subscribes a new HTTP endpoint to topicARN, with filterPolicy
// (JSON; "" for none) on the message attributes.
func Subscribe(t testing.TB, client *sns.Client, topicARN, filterPolicy string) *Subscriber {
	t.Helper()
	s := &Subscriber{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n Notification
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &n); err != nil {
			t.Errorf("snstest: a delivery that is not a notification: %v: %s", err, b)
			return
		}
		if n.Type == "Notification" {
			s.mu.Lock()
			s.msgs = append(s.msgs, n)
			s.mu.Unlock()
		}
	}))
	t.Cleanup(s.srv.Close)
	in := &sns.SubscribeInput{TopicArn: aws.String(topicARN), Protocol: aws.String("http"), Endpoint: aws.String(s.srv.URL)}
	if filterPolicy != "" {
		in.Attributes = map[string]string{"FilterPolicy": filterPolicy}
	}
	if _, err := client.Subscribe(context.Background(), in); err != nil {
		t.Fatalf("snstest: subscribe to %s: %v", topicARN, err)
	}
	return s
}

// Notifications returns what the subscriber received so far, in order.
func (s *Subscriber) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Notification(nil), s.msgs...)
}

// Wait returns the notifications once at least n have arrived; it fails t
// when they have not within 20 seconds.
func (s *Subscriber) Wait(t testing.TB, n int) []Notification {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msgs := s.Notifications()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("snstest: %d of %d notifications arrived", len(msgs), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

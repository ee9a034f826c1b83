package kafkaclient

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestParseAuth(t *testing.T) {
	for in, want := range map[string]Auth{"": AuthNone, "none": AuthNone, "IAM": AuthIAM, " iam ": AuthIAM} {
		got, err := ParseAuth(in)
		if err != nil || got != want {
			t.Errorf("ParseAuth(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseAuth("scram"); err == nil || !strings.Contains(err.Error(), `"scram"`) {
		t.Errorf("ParseAuth(scram) error = %v, want one naming the value", err)
	}
}

func TestSplitBrokers(t *testing.T) {
	got := SplitBrokers(" a:9092,,b:9098 ,")
	if strings.Join(got, "|") != "a:9092|b:9098" {
		t.Fatalf("SplitBrokers = %q", got)
	}
}

func TestOptionsRefusesIncompleteConfig(t *testing.T) {
	if _, err := Options(Config{}); !errors.Is(err, ErrNoBrokers) {
		t.Errorf("no brokers: err = %v, want ErrNoBrokers", err)
	}
	if _, err := Options(Config{Brokers: []string{"b:9098"}, Auth: AuthIAM}); err == nil {
		t.Error("IAM without credentials: no error")
	}
}

// TestPlainProduces produces to a local broker without authentication.
func TestPlainProduces(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"), kfake.ListenFn(loopback))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := New(Config{Brokers: c.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// TestIAMHandshake runs a TLS listener that speaks the Kafka protocol up to
// SASL authentication and checks that the client negotiates AWS_MSK_IAM and
// signs the connect action with the configured credentials.
func TestIAMHandshake(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan map[string]string, 1)
	mech := make(chan string, 1)
	go serveSASL(t, ln, mech, got)

	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret-never-sent", "session-token")
	cl, err := New(Config{
		// An MSK broker name (the signature's region comes from it),
		// dialled on loopback.
		Brokers: []string{"b-1.shop.abc123.c2.kafka.eu-west-1.amazonaws.com:9098"}, Auth: AuthIAM, Credentials: creds,
		TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, ln.Addr().String())
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { _ = cl.Ping(ctx) }()

	select {
	case m := <-mech:
		if m != "AWS_MSK_IAM" {
			t.Fatalf("mechanism = %q, want AWS_MSK_IAM", m)
		}
	case <-ctx.Done():
		t.Fatal("no SASL handshake within 10s")
	}
	var payload map[string]string
	select {
	case payload = <-got:
	case <-ctx.Done():
		t.Fatal("no SASL authenticate within 10s")
	}
	if payload["action"] != "kafka-cluster:Connect" {
		t.Errorf("action = %q", payload["action"])
	}
	if !strings.HasPrefix(payload["x-amz-credential"], "AKIDEXAMPLE/") {
		t.Errorf("credential = %q, want the access key's scope", payload["x-amz-credential"])
	}
	if payload["x-amz-security-token"] != "session-token" {
		t.Errorf("security token = %q", payload["x-amz-security-token"])
	}
	if !strings.Contains(payload["x-amz-credential"], "/eu-west-1/kafka-cluster/") {
		t.Errorf("credential scope = %q, want the broker's region and kafka-cluster", payload["x-amz-credential"])
	}
	if payload["x-amz-signature"] == "" || payload["host"] != "b-1.shop.abc123.c2.kafka.eu-west-1.amazonaws.com" {
		t.Errorf("signature %q host %q", payload["x-amz-signature"], payload["host"])
	}
	for k, v := range payload {
		if strings.Contains(v, "secret-never-sent") {
			t.Errorf("secret key sent in %s", k)
		}
	}
}

var _ aws.CredentialsProvider = credentials.StaticCredentialsProvider{}

func loopback(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }

// serveSASL answers ApiVersions, SASLHandshake and SASLAuthenticate on the
// first connection and reports what the client sent.
func serveSASL(t *testing.T, ln net.Listener, mech chan<- string, got chan<- map[string]string) {
	conn, err := ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	for {
		var size [4]byte
		if _, err := io.ReadFull(conn, size[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(conn, body); err != nil {
			return
		}
		r := kbin.Reader{Src: body}
		key, version, corr := r.Int16(), r.Int16(), r.Int32()
		r.NullableString()
		req := kmsg.RequestForKey(key)
		if req == nil {
			return
		}
		req.SetVersion(version)
		if req.IsFlexible() {
			kmsg.SkipTags(&r)
		}
		if err := req.ReadFrom(r.Src); err != nil {
			t.Errorf("parse request key %d: %v", key, err)
			return
		}
		var resp kmsg.Response
		switch req := req.(type) {
		case *kmsg.ApiVersionsRequest:
			rs := req.ResponseKind().(*kmsg.ApiVersionsResponse)
			for _, k := range []struct{ key, min, max int16 }{{17, 1, 1}, {36, 0, 2}, {3, 0, 12}, {18, 0, 3}} {
				rs.ApiKeys = append(rs.ApiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: k.key, MinVersion: k.min, MaxVersion: k.max})
			}
			resp = rs
		case *kmsg.SASLHandshakeRequest:
			mech <- req.Mechanism
			resp = req.ResponseKind()
		case *kmsg.SASLAuthenticateRequest:
			m := map[string]string{}
			if err := json.Unmarshal(req.SASLAuthBytes, &m); err != nil {
				t.Errorf("auth bytes are not a JSON object of strings: %v", err)
			}
			got <- m
			rs := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
			rs.SessionLifetimeMillis = int64(time.Hour / time.Millisecond)
			resp = rs
		default:
			return // metadata and later: the test has what it needs
		}
		resp.SetVersion(version)
		buf := []byte{0, 0, 0, 0, 0, 0, 0, 0}
		if resp.IsFlexible() && resp.Key() != 18 {
			buf = append(buf, 0)
		}
		buf = resp.AppendTo(buf)
		binary.BigEndian.PutUint32(buf[:4], uint32(len(buf)-4))
		binary.BigEndian.PutUint32(buf[4:8], uint32(corr))
		if _, err := conn.Write(buf); err != nil {
			return
		}
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

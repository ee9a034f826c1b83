// Package kafkaclient builds the Kafka clients the functions produce alerts
// and dead letters with: plain TCP to a local broker (kfake, a laptop cluster,
// LocalStack), or TLS with SASL AWS_MSK_IAM to Amazon MSK, signed with the
// function's own AWS credentials.
package kafkaclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/twmb/franz-go/pkg/kgo"
	awssasl "github.com/twmb/franz-go/pkg/sasl/aws"
)

// Auth says how a client authenticates to the brokers.
type Auth string

const (
	// AuthNone connects in plain text without authentication: local brokers.
	AuthNone Auth = "none"
	// AuthIAM connects with TLS and authenticates with SASL AWS_MSK_IAM, the
	// default of MSK Serverless.
	AuthIAM Auth = "iam"
)

// ParseAuth reads an Auth from configuration; "" means AuthNone.
func ParseAuth(s string) (Auth, error) {
	switch a := Auth(strings.ToLower(strings.TrimSpace(s))); a {
	case "", AuthNone:
		return AuthNone, nil
	case AuthIAM:
		return AuthIAM, nil
	default:
		return "", fmt.Errorf("kafka auth %q: want %q or %q", s, AuthNone, AuthIAM)
	}
}

// Config says which brokers to reach and how.
type Config struct {
	// Brokers are the seed brokers, host:port. Required.
	Brokers []string
	// Auth is the authentication; default AuthNone.
	Auth Auth
	// Credentials sign the AWS_MSK_IAM handshake; required with AuthIAM.
	// The provider is asked on every new connection, so rotated Lambda
	// credentials are picked up.
	Credentials aws.CredentialsProvider
	// TLS overrides the TLS configuration used with AuthIAM; default
	// system roots, TLS 1.2 or later.
	TLS *tls.Config
	// Dial opens the TCP connection under TLS with AuthIAM; default a
	// net.Dialer with a 10s timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Opts are further client options (producer settings, logger).
	Opts []kgo.Opt
}

// ErrNoBrokers is returned when Config.Brokers is empty.
var ErrNoBrokers = errors.New("kafka: no brokers configured")

// SplitBrokers parses a comma-separated broker list, dropping empty entries.
func SplitBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// Options returns the client options for cfg.
func Options(cfg Config) ([]kgo.Opt, error) {
	if len(cfg.Brokers) == 0 {
		return nil, ErrNoBrokers
	}
	auth := cfg.Auth
	if auth == "" {
		auth = AuthNone
	}
	opts := []kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}
	switch auth {
	case AuthNone:
	case AuthIAM:
		if cfg.Credentials == nil {
			return nil, errors.New("kafka: IAM auth needs AWS credentials")
		}
		tc := cfg.TLS
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		dial := cfg.Dial
		if dial == nil {
			dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
		}
		creds := cfg.Credentials
		opts = append(opts,
			kgo.Dialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
				return dialTLS(ctx, dial, tc, network, addr)
			}),
			kgo.SASL(awssasl.ManagedStreamingIAM(func(ctx context.Context) (awssasl.Auth, error) {
				c, err := creds.Retrieve(ctx)
				if err != nil {
					return awssasl.Auth{}, fmt.Errorf("retrieve AWS credentials: %w", err)
				}
				return awssasl.Auth{AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
			})),
		)
	default:
		return nil, fmt.Errorf("kafka auth %q: want %q or %q", auth, AuthNone, AuthIAM)
	}
	return append(opts, cfg.Opts...), nil
}

// dialTLS opens a TLS connection to addr, verifying the broker's name.
func dialTLS(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), base *tls.Config, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("broker address %q: %w", addr, err)
	}
	raw, err := dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := base.Clone()
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	conn := tls.Client(raw, tc)
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
	}
	return conn, nil
}

// New returns a client for cfg. It does not connect until first used.
func New(cfg Config) (*kgo.Client, error) {
	opts, err := Options(cfg)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return cl, nil
}

package analytics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Conn says how to reach PostgreSQL: a URL (DATABASE_URL, with its
// password), or an Aurora endpoint with IAM authentication.
type Conn struct {
	// URL is a postgres:// URL; when set, the IAM fields are ignored.
	URL string
	// Host, Port (default 5432), Database and User name an Aurora
	// PostgreSQL endpoint (or RDS Proxy) whose user logs in with IAM: a
	// fresh authentication token, signed with Credentials for Region, is
	// the password of every new connection, over TLS.
	Host        string
	Port        int
	Database    string
	User        string
	Region      string
	Credentials aws.CredentialsProvider
	// MaxConns bounds the pool; default 2: one invocation runs one batch
	// at a time, and a spare lets a retry start while a broken connection
	// closes.
	MaxConns int32
}

// NewPool returns a pool for c, created once at the function's init and
// shared by every invocation. Connections are opened on first use; a
// broken one is dropped from the pool and the batch using it retried.
func NewPool(ctx context.Context, c Conn) (*pgxpool.Pool, error) {
	var cfg *pgxpool.Config
	var err error
	switch {
	case c.URL != "":
		cfg, err = pgxpool.ParseConfig(c.URL)
		if err != nil {
			return nil, fmt.Errorf("database URL: %w", redactURLError(err))
		}
	case c.Host != "":
		if c.User == "" || c.Database == "" || c.Region == "" || c.Credentials == nil {
			return nil, errors.New("IAM database authentication needs a host, user, database, region and credentials")
		}
		port := c.Port
		if port == 0 {
			port = 5432
		}
		u := url.URL{Scheme: "postgres", User: url.User(c.User), Host: net.JoinHostPort(c.Host, strconv.Itoa(port)),
			Path: "/" + c.Database, RawQuery: "sslmode=require"}
		cfg, err = pgxpool.ParseConfig(u.String())
		if err != nil {
			return nil, fmt.Errorf("database endpoint: %w", err)
		}
		endpoint := net.JoinHostPort(c.Host, strconv.Itoa(port))
		cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
			token, err := auth.BuildAuthToken(ctx, endpoint, c.Region, c.User, c.Credentials)
			if err != nil {
				return fmt.Errorf("build IAM auth token: %w", err)
			}
			cc.Password = token
			return nil
		}
	default:
		return nil, errors.New("no database: set a URL or an IAM endpoint")
	}
	cfg.MaxConns = c.MaxConns
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 2
	}
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.MaxConnLifetime = 30 * time.Minute
	cfg.HealthCheckPeriod = time.Minute
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = Name
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// redactURLError keeps a password out of a URL parse error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return errors.New("cannot parse it")
}

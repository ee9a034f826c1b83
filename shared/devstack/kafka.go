package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultPartitions is the number of partitions of the topics Kafka creates
// when not told otherwise.
const DefaultPartitions = 6

// KafkaConfig configures [StartKafka].
type KafkaConfig struct {
	// Brokers names an existing cluster (host:port seeds) to use instead of
	// starting a broker in process.
	Brokers []string

	Topics     []string // created at start unless they exist
	Partitions int32    // partitions of each new topic; default DefaultPartitions

	Port    int          // the in-process broker's port; 0 picks a free one
	DataDir string       // the in-process broker keeps its log here; "" keeps it in memory
	Logger  *slog.Logger // nil discards

	ReadyTimeout time.Duration // how long to wait for the cluster's metadata; default 30s
}

// Kafka is a Kafka cluster reached through the Kafka protocol: franz-go's
// kfake broker running in this process on 127.0.0.1 (it binds nothing
// else), or an existing cluster.
type Kafka struct {
	Brokers    []string // seed brokers, host:port
	Partitions int32    // the default for CreateTopics
	cluster    *kfake.Cluster
	client     *kgo.Client
	admin      *kadm.Client
}

// StartKafka starts the in-process broker (or connects to cfg.Brokers),
// waits until it answers a metadata request and creates cfg.Topics.
func StartKafka(ctx context.Context, cfg KafkaConfig) (*Kafka, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	k := &Kafka{Brokers: cfg.Brokers, Partitions: cfg.Partitions}
	if len(cfg.Brokers) == 0 {
		opts := []kfake.Opt{kfake.NumBrokers(1), kfake.DefaultNumPartitions(int(cfg.Partitions))}
		if cfg.Port != 0 {
			opts = append(opts, kfake.Ports(cfg.Port))
		}
		if cfg.DataDir != "" {
			opts = append(opts, kfake.DataDir(cfg.DataDir))
		}
		c, err := kfake.NewCluster(opts...)
		if err != nil {
			return nil, fmt.Errorf("start Kafka broker: %w", err)
		}
		k.cluster = c
		k.Brokers = c.ListenAddrs()
	}
	client, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...))
	if err != nil {
		k.Stop()
		return nil, fmt.Errorf("Kafka client for %v: %w", k.Brokers, err)
	}
	k.client = client
	k.admin = kadm.NewClient(client)
	probe := func(ctx context.Context) error {
		_, err := k.admin.BrokerMetadata(ctx)
		return err
	}
	if err := Ready(ctx, nil, cfg.ReadyTimeout, probe); err != nil {
		k.Stop()
		return nil, fmt.Errorf("Kafka at %v: %w", k.Brokers, err)
	}
	if k.cluster != nil {
		for _, b := range k.Brokers {
			_, port, _ := net.SplitHostPort(b)
			p, _ := strconv.Atoi(port)
			if err := CheckLoopback(p); err != nil {
				k.Stop()
				return nil, fmt.Errorf("Kafka broker: %w", err)
			}
		}
	}
	if err := k.CreateTopics(ctx, cfg.Partitions, cfg.Topics...); err != nil {
		k.Stop()
		return nil, err
	}
	logger.Info("Kafka ready", "brokers", k.Brokers, "in_process", k.cluster != nil, "topics", cfg.Topics)
	return k, nil
}

// CreateTopics creates each topic with partitions partitions (0 means
// k.Partitions) and the cluster's default replication. A topic that
// exists already is left as it is.
func (k *Kafka) CreateTopics(ctx context.Context, partitions int32, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	if partitions <= 0 {
		partitions = k.Partitions
	}
	resp, err := k.admin.CreateTopics(ctx, partitions, -1, nil, topics...)
	if err != nil {
		return fmt.Errorf("create topics %v: %w", topics, err)
	}
	var errs []error
	for _, r := range resp {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", r.Topic, r.Err))
		}
	}
	return errors.Join(errs...)
}

// Admin returns an admin client of the cluster, valid until Stop.
func (k *Kafka) Admin() *kadm.Client { return k.admin }

// InProcess reports whether the broker runs in this process.
func (k *Kafka) InProcess() bool { return k.cluster != nil }

// Stop closes our client and, for the in-process broker, the broker.
func (k *Kafka) Stop() error {
	if k.client != nil {
		k.client.Close()
		k.client = nil
	}
	if k.cluster != nil {
		k.cluster.Close()
		k.cluster = nil
	}
	return nil
}

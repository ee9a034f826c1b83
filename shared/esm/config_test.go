package esm

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func validConfig() Config {
	return Config{
		FunctionName:     "inventory",
		Topic:            "inventory_updates",
		EventSourceARN:   testARN,
		BootstrapServers: []string{"127.0.0.1:9092"},
		StartingPosition: TrimHorizon,
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	s, err := validConfig().validate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.BatchSize != 100 || s.MaxBatchingWindow != 500*time.Millisecond {
		t.Errorf("batch size %d, window %v; want 100 and 500ms", s.BatchSize, s.MaxBatchingWindow)
	}
	if s.retries != Infinite || s.maxAge != 0 {
		t.Errorf("retries %d, max age %v; want infinite both", s.retries, s.maxAge)
	}
	if s.ConsumerGroupID != "inventory-inventory_updates" {
		t.Errorf("consumer group %q", s.ConsumerGroupID)
	}
	if s.FunctionARN != "arn:aws:lambda:us-east-1:000000000000:function:inventory" {
		t.Errorf("function ARN %q", s.FunctionARN)
	}
	if s.eventSource != EventSourceMSK {
		t.Errorf("event source %q", s.eventSource)
	}

	c := validConfig()
	c.EventSourceARN = ""
	c.Topics = []string{"transactions"}
	c.OnFailure = NewDirDestination(t.TempDir())
	s, err = c.validate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.eventSource != EventSourceSelfManaged {
		t.Errorf("event source %q, want %q", s.eventSource, EventSourceSelfManaged)
	}
	if s.ConsumerGroupID != "inventory-inventory_updates+transactions" {
		t.Errorf("consumer group %q", s.ConsumerGroupID)
	}
	if s.retries != DestinationRetryAttempts {
		t.Errorf("infinite retries with a destination = %d, want %d", s.retries, DestinationRetryAttempts)
	}
	c.RetryAttempts = new(0)
	if s, err = c.validate(time.Now()); err != nil || s.retries != 0 {
		t.Errorf("RetryAttempts 0: retries %d, err %v", s.retries, err)
	}
}

func TestConfigInvalid(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"no function", func(c *Config) { c.FunctionName = "" }, "FunctionName"},
		{"function name", func(c *Config) { c.FunctionName = "in ventory" }, "FunctionName"},
		{"function ARN", func(c *Config) { c.FunctionARN = "inventory" }, "FunctionARN"},
		{"no topic", func(c *Config) { c.Topic = "" }, "no Topic"},
		{"topic name", func(c *Config) { c.Topic = "a b" }, "not a Kafka topic name"},
		{"topic twice", func(c *Config) { c.Topics = []string{c.Topic} }, "listed twice"},
		{"cluster ARN", func(c *Config) { c.EventSourceARN = "arn:aws:sqs:us-east-1:1:q" }, "EventSourceARN"},
		{"no servers", func(c *Config) { c.BootstrapServers = nil }, "no BootstrapServers"},
		{"server", func(c *Config) { c.BootstrapServers = []string{"localhost"} }, "host:port"},
		{"group", func(c *Config) { c.ConsumerGroupID = "a group" }, "ConsumerGroupID"},
		{"group length", func(c *Config) { c.ConsumerGroupID = strings.Repeat("g", 201) }, "ConsumerGroupID"},
		{"batch size", func(c *Config) { c.BatchSize = 10_001 }, "BatchSize"},
		{"negative batch size", func(c *Config) { c.BatchSize = -1 }, "BatchSize"},
		{"window", func(c *Config) { c.MaxBatchingWindow = 301 * time.Second }, "MaxBatchingWindow"},
		{"no position", func(c *Config) { c.StartingPosition = "" }, "no StartingPosition"},
		{"position", func(c *Config) { c.StartingPosition = "EARLIEST" }, "StartingPosition"},
		{"timestamp without AT_TIMESTAMP", func(c *Config) { c.StartingPositionTimestamp = now }, "StartingPositionTimestamp is set"},
		{"AT_TIMESTAMP without timestamp", func(c *Config) { c.StartingPosition = AtTimestamp }, "needs a StartingPositionTimestamp"},
		{"future timestamp", func(c *Config) {
			c.StartingPosition, c.StartingPositionTimestamp = AtTimestamp, now.Add(time.Hour)
		}, "in the future"},
		{"retries", func(c *Config) { c.RetryAttempts = new(10_001) }, "RetryAttempts"},
		{"negative retries", func(c *Config) { c.RetryAttempts = new(-2) }, "RetryAttempts"},
		{"record age too short", func(c *Config) { c.MaxRecordAge = 59 * time.Second }, "MaxRecordAge"},
		{"record age too long", func(c *Config) { c.MaxRecordAge = 604_801 * time.Second }, "MaxRecordAge"},
		{"destination is the source", func(c *Config) { c.OnFailure = NewKafkaDestination(nil, c.Topic) }, "its failures would come back"},
		{"destination topic", func(c *Config) { c.OnFailure = NewKafkaDestination(nil, "") }, "OnFailure topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.modify(&c)
			_, err := New(c, InvokerFunc(nil))
			if err == nil {
				t.Fatal("New accepted the configuration")
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalidConfig saying %q", err, tt.want)
			}
		})
	}
	if _, err := New(validConfig(), nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil Invoker: err = %v", err)
	}
}

func TestConfigLimitsAccepted(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.BatchSize, c.MaxBatchingWindow = MaxBatchSize, MaxMaxBatchingWindow
	c.RetryAttempts, c.MaxRecordAge = new(MaxRetryAttempts), MaxMaxRecordAge
	c.StartingPosition, c.StartingPositionTimestamp = AtTimestamp, time.Now().Add(-time.Hour)
	c.ConsumerGroupID = "a-/*:_+=.@Z9"
	if _, err := c.validate(time.Now()); err != nil {
		t.Error(err)
	}
	c.RetryAttempts, c.MaxRecordAge = new(Infinite), Infinite
	if s, err := c.validate(time.Now()); err != nil || s.retries != Infinite || s.maxAge != 0 {
		t.Errorf("infinite: %+v, %v", s, err)
	}
}

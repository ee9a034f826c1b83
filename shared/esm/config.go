package esm

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Limits and defaults of a Kafka event source mapping, as Lambda documents
// them for Amazon MSK and self-managed Apache Kafka.
const (
	// DefaultBatchSize is BatchSize when it is not set.
	DefaultBatchSize = 100
	// MaxBatchSize is the largest BatchSize.
	MaxBatchSize = 10_000
	// DefaultMaxBatchingWindow is MaxBatchingWindow when it is not set.
	DefaultMaxBatchingWindow = 500 * time.Millisecond
	// MaxMaxBatchingWindow is the longest MaxBatchingWindow.
	MaxMaxBatchingWindow = 300 * time.Second
	// MaxPayloadBytes is the largest payload of a synchronous invocation
	// (6 MB): a batch closes before its JSON would grow past it.
	MaxPayloadBytes = 6 * 1024 * 1024
	// MaxRetryAttempts is the largest bounded RetryAttempts.
	MaxRetryAttempts = 10_000
	// DestinationRetryAttempts is the retry bound Lambda applies when
	// RetryAttempts is infinite and an OnFailure destination is set.
	DestinationRetryAttempts = 10
	// MinMaxRecordAge and MaxMaxRecordAge bound a finite MaxRecordAge.
	MinMaxRecordAge = 60 * time.Second
	MaxMaxRecordAge = 604_800 * time.Second
	// Infinite is the RetryAttempts and MaxRecordAge value that sets no
	// bound, the AWS default.
	Infinite = -1
)

// StartingPosition is where a mapping starts reading a partition that its
// consumer group has no committed offset for.
type StartingPosition string

// The starting positions of a Kafka event source mapping.
const (
	// TrimHorizon starts at the oldest record of each partition.
	TrimHorizon StartingPosition = "TRIM_HORIZON"
	// Latest starts after the newest record: only records produced from
	// then on are processed.
	Latest StartingPosition = "LATEST"
	// AtTimestamp starts at the first record whose timestamp is at or
	// after StartingPositionTimestamp.
	AtTimestamp StartingPosition = "AT_TIMESTAMP"
)

// Event sources, the payload's eventSource.
const (
	// EventSourceMSK is the eventSource of an Amazon MSK mapping.
	EventSourceMSK = "aws:kafka"
	// EventSourceSelfManaged is the eventSource of a self-managed Apache
	// Kafka mapping.
	EventSourceSelfManaged = "SelfManagedKafka"
)

// Config is the configuration of one event source mapping. Its fields carry
// the names of the CDK props of ManagedKafkaEventSource and
// SelfManagedKafkaEventSource (CloudFormation names in parentheses where
// they differ) and the same defaults and limits; New validates them.
type Config struct {
	// FunctionName is the name of the function the mapping invokes
	// (FunctionName): 1 to 64 letters, digits, hyphens or underscores.
	// Required. It names the function in logs, and its default
	// ConsumerGroupID and FunctionARN derive from it.
	FunctionName string
	// FunctionARN is the function's ARN, written in on-failure records.
	// Default: arn:aws:lambda:us-east-1:000000000000:function:FunctionName.
	FunctionARN string

	// Topic is the Kafka topic to consume. Lambda takes exactly one topic
	// per mapping; the emulator also takes more in Topics, and then one
	// batch may hold records of several topics. At least one of Topic and
	// Topics is required.
	Topic string
	// Topics are more topics to consume (Topics).
	Topics []string

	// EventSourceARN is the MSK cluster's ARN (ClusterArn, EventSourceArn).
	// Set, the mapping is an Amazon MSK one: the payload's eventSource is
	// "aws:kafka" and it carries eventSourceArn. Empty, it is a self-managed
	// Kafka one: eventSource "SelfManagedKafka", and no eventSourceArn.
	EventSourceARN string
	// BootstrapServers are the host:port addresses the mapping connects to
	// (BootstrapServers, KAFKA_BOOTSTRAP_SERVERS). Required. The payload's
	// bootstrapServers lists them, comma-separated.
	BootstrapServers []string

	// ConsumerGroupID is the Kafka consumer group of the mapping
	// (ConsumerGroupId): 1 to 200 characters of [a-zA-Z0-9-/*:_+=.@].
	// Default: FunctionName, "-", and the topics joined by "+". Lambda's
	// default is the mapping's UUID; a default derived from the
	// configuration lets a restarted emulator resume where it stopped.
	ConsumerGroupID string

	// BatchSize is the most records one invocation receives (BatchSize):
	// 1 to 10,000. Default 100 (zero means the default).
	BatchSize int
	// MaxBatchingWindow is the longest the mapping gathers records before
	// it invokes the function with fewer than BatchSize
	// (MaximumBatchingWindowInSeconds): at most 300 s. Default 500 ms (zero
	// means the default).
	MaxBatchingWindow time.Duration

	// StartingPosition applies only to partitions the consumer group has no
	// committed offset for. Required, as in CDK.
	StartingPosition StartingPosition
	// StartingPositionTimestamp is the time AtTimestamp starts from
	// (StartingPositionTimestamp, in Unix seconds there). Required with
	// AtTimestamp, refused with the other positions; it must not be in the
	// future.
	StartingPositionTimestamp time.Time

	// RetryAttempts is how many times a batch the function failed is
	// retried (MaximumRetryAttempts), not counting the first invocation:
	// Infinite (-1) or 0 to 10,000. Default (nil): Infinite, so a record
	// the function always fails blocks its partition until MaxRecordAge
	// discards it; with an OnFailure destination, an infinite
	// RetryAttempts becomes DestinationRetryAttempts (10), as in Lambda.
	// Splitting a batch (BisectBatchOnError) does not count as a retry.
	// Set it with new(3).
	RetryAttempts *int
	// MaxRecordAge is the age past which a record is not sent to the
	// function any more but to OnFailure (MaximumRecordAgeInSeconds):
	// Infinite or 60 s to 604,800 s. Age is measured from the record's
	// Kafka timestamp. Default (zero): Infinite; any negative value means
	// Infinite too.
	MaxRecordAge time.Duration

	// BisectBatchOnError splits a batch the function failed in two halves,
	// retried one after the other (BisectBatchOnFunctionError), until a
	// failing record is alone in its batch. Default false.
	BisectBatchOnError bool
	// ReportBatchItemFailures makes the mapping read the function's
	// partial batch response (FunctionResponseTypes
	// ["ReportBatchItemFailures"]); without it, the response is ignored
	// and a batch the function returned from has succeeded. Default false.
	ReportBatchItemFailures bool

	// OnFailure receives the records the mapping gives up on: after the
	// retries, past MaxRecordAge, or too large for a payload
	// (DestinationConfig.OnFailure). Default nil: they are discarded, and
	// processing goes on.
	OnFailure Destination
}

var (
	functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	groupIDRE      = regexp.MustCompile(`^[a-zA-Z0-9\-/*:_+=.@]{1,200}$`)
)

// settings is a validated Config with its defaults applied.
type settings struct {
	Config
	topics      []string // Topic and Topics
	eventSource string
	servers     string // BootstrapServers, comma-separated
	retries     int    // effective RetryAttempts: Infinite or a bound
	maxAge      time.Duration
}

// ErrInvalidConfig matches, through errors.Is, every error New returns for
// an invalid Config.
var ErrInvalidConfig = errors.New("esm: invalid configuration")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// validate checks c and applies its defaults; now is the current time, for
// StartingPositionTimestamp.
func (c Config) validate(now time.Time) (*settings, error) {
	s := &settings{Config: c}
	if !functionNameRE.MatchString(c.FunctionName) {
		return nil, configError("FunctionName %q: want 1 to 64 letters, digits, hyphens or underscores", c.FunctionName)
	}
	if s.FunctionARN == "" {
		s.FunctionARN = "arn:aws:lambda:us-east-1:000000000000:function:" + c.FunctionName
	} else if !strings.HasPrefix(s.FunctionARN, "arn:") {
		return nil, configError("FunctionARN %q is not an ARN", c.FunctionARN)
	}

	if c.Topic != "" {
		s.topics = append(s.topics, c.Topic)
	}
	s.topics = append(s.topics, c.Topics...)
	if len(s.topics) == 0 {
		return nil, configError("no Topic")
	}
	for i, t := range s.topics {
		if !validTopic(t) {
			return nil, configError("topic %q is not a Kafka topic name", t)
		}
		if slices.Contains(s.topics[:i], t) {
			return nil, configError("topic %q is listed twice", t)
		}
	}

	if c.EventSourceARN != "" {
		if !strings.HasPrefix(c.EventSourceARN, "arn:") || !strings.Contains(c.EventSourceARN, ":kafka:") {
			return nil, configError("EventSourceARN %q is not an MSK cluster ARN (arn:aws:kafka:...)", c.EventSourceARN)
		}
		s.eventSource = EventSourceMSK
	} else {
		s.eventSource = EventSourceSelfManaged
	}
	if len(c.BootstrapServers) == 0 {
		return nil, configError("no BootstrapServers")
	}
	for _, b := range c.BootstrapServers {
		if i := strings.LastIndexByte(b, ':'); i <= 0 || i == len(b)-1 || strings.ContainsAny(b, ", ") {
			return nil, configError("bootstrap server %q is not host:port", b)
		}
	}
	s.servers = strings.Join(c.BootstrapServers, ",")

	if s.ConsumerGroupID == "" {
		s.ConsumerGroupID = c.FunctionName + "-" + strings.Join(s.topics, "+")
		if len(s.ConsumerGroupID) > 200 {
			return nil, configError("the default ConsumerGroupID %q is longer than 200 characters: set ConsumerGroupID", s.ConsumerGroupID)
		}
	} else if !groupIDRE.MatchString(s.ConsumerGroupID) {
		return nil, configError("ConsumerGroupID %q: want 1 to 200 characters of [a-zA-Z0-9-/*:_+=.@]", c.ConsumerGroupID)
	}

	switch {
	case s.BatchSize == 0:
		s.BatchSize = DefaultBatchSize
	case s.BatchSize < 1 || s.BatchSize > MaxBatchSize:
		return nil, configError("BatchSize %d: want 1 to %d", c.BatchSize, MaxBatchSize)
	}
	switch {
	case s.MaxBatchingWindow == 0:
		s.MaxBatchingWindow = DefaultMaxBatchingWindow
	case s.MaxBatchingWindow < 0 || s.MaxBatchingWindow > MaxMaxBatchingWindow:
		return nil, configError("MaxBatchingWindow %v: want at most %v", c.MaxBatchingWindow, MaxMaxBatchingWindow)
	}

	switch c.StartingPosition {
	case TrimHorizon, Latest:
		if !c.StartingPositionTimestamp.IsZero() {
			return nil, configError("StartingPositionTimestamp is set, but StartingPosition is %s, not %s", c.StartingPosition, AtTimestamp)
		}
	case AtTimestamp:
		if c.StartingPositionTimestamp.IsZero() {
			return nil, configError("StartingPosition %s needs a StartingPositionTimestamp", AtTimestamp)
		}
		if c.StartingPositionTimestamp.After(now) {
			return nil, configError("StartingPositionTimestamp %s is in the future", c.StartingPositionTimestamp.UTC().Format(time.RFC3339))
		}
	case "":
		return nil, configError("no StartingPosition: want %s, %s or %s", TrimHorizon, Latest, AtTimestamp)
	default:
		return nil, configError("StartingPosition %q: want %s, %s or %s", c.StartingPosition, TrimHorizon, Latest, AtTimestamp)
	}

	s.retries = Infinite
	if c.RetryAttempts != nil {
		s.retries = *c.RetryAttempts
		if s.retries < Infinite || s.retries > MaxRetryAttempts {
			return nil, configError("RetryAttempts %d: want -1 (infinite) or 0 to %d", s.retries, MaxRetryAttempts)
		}
	}
	if s.retries == Infinite && c.OnFailure != nil {
		s.retries = DestinationRetryAttempts
	}

	switch {
	case c.MaxRecordAge <= 0:
		s.maxAge = 0 // infinite
	case c.MaxRecordAge < MinMaxRecordAge || c.MaxRecordAge > MaxMaxRecordAge:
		return nil, configError("MaxRecordAge %v: want -1 (infinite) or %v to %v", c.MaxRecordAge, MinMaxRecordAge, MaxMaxRecordAge)
	default:
		s.maxAge = c.MaxRecordAge
	}

	if d, ok := c.OnFailure.(interface{ Topic() string }); ok {
		switch t := d.Topic(); {
		case !validTopic(t):
			return nil, configError("the OnFailure topic %q is not a Kafka topic name", t)
		case slices.Contains(s.topics, t):
			return nil, configError("the OnFailure topic %q is a topic of the mapping: its failures would come back to it", t)
		}
	}
	return s, nil
}

// validTopic reports whether s is a legal Kafka topic name.
func validTopic(s string) bool {
	if len(s) == 0 || len(s) > 249 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

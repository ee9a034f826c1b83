// Package esm emulates the AWS Lambda event source mapping (ESM) for Kafka,
// Amazon MSK and self-managed Apache Kafka, so that shopstream's functions
// run locally (shopstream dev) with the batches, retries and failures they
// get from Lambda.
//
// A Mapping consumes its topics in a consumer group of its own, builds the
// exact events.KafkaEvent payload Lambda sends, invokes the function through
// an Invoker, and commits offsets only once the function has succeeded with
// the records or they went to the on-failure Destination:
//
//	p, _ := kafkabatch.NewProcessor("inventory", h, kafkabatch.WithDeadLetterSink(sink))
//	m, err := esm.New(esm.Config{
//		FunctionName:            "inventory",
//		Topic:                   "inventory_updates",
//		BootstrapServers:        []string{"127.0.0.1:9092"},
//		StartingPosition:        esm.TrimHorizon,
//		BatchSize:               500,
//		RetryAttempts:           new(3),
//		BisectBatchOnError:      true,
//		ReportBatchItemFailures: true,
//		OnFailure:               esm.NewDirDestination(".shopstream/failures/inventory"),
//	}, esm.NewHandlerInvoker(p.Process), esm.WithLogger(logger))
//	if err != nil { ... }
//	go m.Run(ctx)
//	err = m.WaitDrained(ctx) // --exit-when-drained
//
// Config takes the names, defaults and limits of the CDK props of
// ManagedKafkaEventSource and SelfManagedKafkaEventSource. What the mapping
// does follows Lambda's documentation of Kafka event sources:
//
//   - A batch closes at BatchSize records, MaxBatchingWindow after its oldest
//     record was polled, or before its payload would pass 6 MB (6,291,456
//     bytes). A record too large for any payload goes to OnFailure
//     (MaximumPayloadSizeExceeded) without an invocation.
//   - Records are keyed "topic-partition", in offset order; key and value are
//     base64, timestamps in milliseconds, header values arrays of signed
//     bytes. One partition has at most one batch in flight; a batch may mix
//     partitions.
//   - A function error retries the whole batch: RetryAttempts times
//     (infinite by default, 10 when infinite with an OnFailure destination),
//     not counting the first invocation. BisectBatchOnError splits a failing
//     batch in halves, retried in order; a split does not count as a retry.
//   - With ReportBatchItemFailures, a partial batch response commits each
//     listed partition up to its lowest listed offset and retries from
//     there; partitions not listed are done. A response naming a partition
//     or offset not in the batch is invalid: the whole batch failed.
//   - Records older than MaxRecordAge are not sent again (RecordAgeExceeded).
//   - An invocation that could not be made (throttled, unreachable) is
//     retried without counting against RetryAttempts.
//   - What the mapping gives up on goes to OnFailure as Lambda's on-failure
//     record (Failure; RecordFailure for a Kafka topic), and the partition
//     goes on. Without OnFailure it is discarded.
//   - StartingPosition applies only to partitions the group has no committed
//     offset for.
//
// Not emulated: event filtering, schema registries, authentication
// configuration (pass kgo options with WithKafkaOptions), provisioned
// pollers and scaling (concurrency is WithMaxConcurrency), and the Enabled
// switch (do not Run a disabled mapping).
//
// Invokers: HandlerInvoker runs a Go handler in this process; other packages
// invoke a function's bootstrap binary through a local Runtime API, or the
// Lambda Invoke API.
package esm

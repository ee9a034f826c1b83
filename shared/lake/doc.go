// Package lake defines the shopstream data lake: one Parquet table per event
// family, its columns as Go row types, the Hive-style object layout, and a
// Writer that turns a batch of decoded events into one Parquet object per
// table, hour partition and Kafka topic-partition.
//
// The row types are the single definition of each table's columns: the
// writer encodes them, and the Glue table definitions of the infrastructure
// are generated from the same types (Schema), so the files and the catalogue
// cannot drift apart.
//
// # Layout
//
//	TABLE/dt=YYYY-MM-DD/hour=HH/TOPIC-PARTITION-FIRSTOFFSET.parquet
//	dead_letters/dt=YYYY-MM-DD/hour=HH/FUNCTION-TOPIC-PARTITION-FIRSTOFFSET.parquet
//
// dt and hour are the event time (occurred_at) in UTC; they are partition
// keys and not columns of the files. FIRSTOFFSET is the lowest Kafka offset
// among the object's rows, zero-padded to 20 digits so that names sort by
// offset. The object key does not carry the last offset, which is kept in
// the file's key-value metadata (and the object's user metadata) instead: a
// redelivered batch that starts at the same offset but ends elsewhere must
// replace the object it wrote before, not add a second one beside it. The
// second form holds the dead letters a function (the lake itself) made for
// records it could not decode, apart from the dead letters it reads from the
// dead-letter topic.
//
// Compaction (Compactor) adds two kinds of objects to a partition folder:
//
//	compacted-GGGGGGGG-HASH-NNN.parquet   the merged rows of generation G
//	_compaction-GGGGGGGG.json             the manifest committing generation G
//
// A reader lists the partition and follows its latest manifest (Resolve):
// the outputs it names and the small files it does not supersede hold
// every row exactly once. CountS3 reads the lake so.
//
// Items of an order are a repeated group (LIST of STRUCT) in the order's
// row, not a child table: see Item.
//
// # Column conventions
//
//   - Timestamps are INT64 TIMESTAMP adjusted to UTC: occurred_at and
//     ingested_at in microseconds, kafka_timestamp in milliseconds (Kafka's
//     own unit). Never nanoseconds, which Athena cannot read.
//   - Money is DECIMAL(18,4) stored as INT64: event.Money exactly.
//   - Low-cardinality strings (event types, shapes, topics, categories,
//     currencies, devices, reasons) are dictionary encoded.
//   - A value the source did not carry is NULL, never a zero: the producer
//     shape an event was read from is in shape, and the canonical fields it
//     lacks are listed in missing_fields.
//   - Every row carries its Kafka coordinates (kafka_topic, kafka_partition,
//     kafka_offset, kafka_timestamp) and ingested_at, when the lake wrote it.
//   - Every column chunk is zstd compressed.
package lake

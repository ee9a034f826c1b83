// Package devstack starts and stops the local services that stand in for
// AWS and Kafka during `shopstream dev` and in tests: a Kafka-protocol broker,
// DynamoDB Local, an S3 server over plain files (versitygw) and a private
// PostgreSQL cluster.
//
// Every service is a real server reached with the real clients (kgo,
// aws-sdk-go-v2, pgx). Each one listens on 127.0.0.1 only, on a free port,
// keeps its data and logs under a run directory, and is checked after start
// in /proc/net/tcp{,6}: a server found listening beyond loopback is an
// error (or, for DynamoDB Local without a C compiler, a logged warning).
//
// External programs run under a supervisor ([StartProcess]): each child has
// its own process group and is killed by the kernel (Pdeathsig) when our
// process dies, so a Ctrl-C or a crash leaves no orphan behind.
//
// Programs that are not part of the machine (DynamoDB Local, versitygw, the
// loopback shim) are installed on first use into a tools directory shared by
// every run ([Tools]). A missing prerequisite fails fast with a
// [*MissingError] naming what to install.
//
// The package is Linux-only: it relies on /proc, process groups and
// Pdeathsig.
package devstack

// Package migrations holds the analytics function's PostgreSQL schema as
// versioned SQL files, NNNN_name.sql, applied in order once each.
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS

// Package lakesql runs SQL over the lake's Parquet files on this machine
// with DuckDB, under the table names the Glue catalogue gives them in
// Athena: each table is a view over read_parquet of its files, with the
// Hive partition keys dt and hour as strings, as Athena declares them.
//
// The files are the ones a reader sees (lake.Resolve): a compacted
// partition is read through its latest manifest, never twice. They are
// read from a directory (the local S3 server's bucket folder, see Dir) or
// fetched from any S3 endpoint into a cache folder first (Fetch).
//
// This package links DuckDB with cgo; only the shopstream command uses it,
// never a function's binary.
package lakesql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2" // the database/sql driver "duckdb"
	"github.com/parquet-go/parquet-go"

	"github.com/shopstream/shopstream/shared/lake"
)

// Files are the local Parquet files of each lake table, by table name.
type Files map[string][]string

// Dir returns the files a reader sees in the lake under prefix of the
// directory dir, a bucket as a folder of plain files (the local S3
// server's posix backend keeps a bucket so).
func Dir(ctx context.Context, dir, prefix string) (Files, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("no lake at %s: %w", dir, errors.Join(err, errNotDir))
	}
	objs := lake.NewDirObjects(dir)
	views, err := lake.Resolve(ctx, objs, prefix, "")
	if err != nil {
		return nil, err
	}
	out := Files{}
	for _, v := range views {
		for _, o := range v.Visible {
			out[v.Table] = append(out[v.Table], objs.Path(o.Key))
		}
	}
	return out, nil
}

var errNotDir = errors.New("not a directory")

// Fetch returns the files a reader sees in the lake under prefix of objs,
// downloading into cacheDir (under their keys) those it does not hold yet
// at the listed size.
func Fetch(ctx context.Context, objs lake.Objects, prefix, cacheDir string) (Files, error) {
	views, err := lake.Resolve(ctx, objs, prefix, "")
	if err != nil {
		return nil, err
	}
	cache := lake.NewDirObjects(cacheDir)
	out := Files{}
	for _, v := range views {
		for _, o := range v.Visible {
			path := cache.Path(o.Key)
			if path == "" {
				return nil, fmt.Errorf("object key %q cannot be a file name", o.Key)
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() != o.Size {
				body, err := objs.Get(ctx, o.Key)
				if err != nil {
					return nil, err
				}
				if err := cache.Put(ctx, o.Key, body, nil); err != nil {
					return nil, fmt.Errorf("cache %s: %w", o.Key, err)
				}
			}
			out[v.Table] = append(out[v.Table], path)
		}
	}
	return out, nil
}

// DB is an in-memory DuckDB database whose views are the lake's tables.
type DB struct {
	db    *sql.DB
	empty string // folder of the empty files of tables without data
}

// Open opens a database with one view per lake table over files. A table
// without files is a view of no rows with the table's columns, as an
// Athena table over an empty prefix.
func Open(ctx context.Context, files Files) (*DB, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	db.SetMaxOpenConns(1)
	d := &DB{db: db}
	// Timestamps print in UTC, as Athena prints them (ICU is built in; a
	// build without it has no time zones and prints UTC anyway).
	_, _ = db.ExecContext(ctx, "SET TimeZone = 'UTC'")
	for _, t := range lake.Tables() {
		paths := slices.Clone(files[t.Name])
		slices.Sort(paths)
		var src string
		if len(paths) == 0 {
			empty, err := d.emptyFile(t)
			if err != nil {
				d.Close()
				return nil, err
			}
			src = fmt.Sprintf("SELECT *, CAST(NULL AS VARCHAR) AS %s, CAST(NULL AS VARCHAR) AS %s FROM read_parquet(%s) WHERE false",
				lake.PartitionDate, lake.PartitionHour, quote(empty))
		} else {
			list := make([]string, len(paths))
			for i, p := range paths {
				list[i] = quote(p)
			}
			src = fmt.Sprintf("SELECT * FROM read_parquet([%s], hive_partitioning = true, union_by_name = true, hive_types = {'%s': VARCHAR, '%s': VARCHAR})",
				strings.Join(list, ", "), lake.PartitionDate, lake.PartitionHour)
		}
		if _, err := db.ExecContext(ctx, "CREATE VIEW "+t.Name+" AS "+src); err != nil {
			d.Close()
			return nil, fmt.Errorf("view %s: %w", t.Name, err)
		}
	}
	return d, nil
}

// emptyFile writes a Parquet file of no rows with the table's columns.
func (d *DB) emptyFile(t lake.Table) (string, error) {
	if d.empty == "" {
		dir, err := os.MkdirTemp("", "shopstream-lakesql-")
		if err != nil {
			return "", err
		}
		d.empty = dir
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, t.Schema())
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("empty %s: %w", t.Name, err)
	}
	path := filepath.Join(d.empty, t.Name+".parquet")
	return path, os.WriteFile(path, buf.Bytes(), 0o644)
}

// quote returns s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Close closes the database.
func (d *DB) Close() error {
	err := d.db.Close()
	if d.empty != "" {
		err = errors.Join(err, os.RemoveAll(d.empty))
	}
	return err
}

// Result is the answer to a query.
type Result struct {
	Columns []string
	// Types are DuckDB's type names of the columns.
	Types []string
	// Rows hold the values as the driver returns them: nil for NULL,
	// strings, integers, floats, booleans, time.Time, duckdb.Decimal,
	// lists ([]any) and structs (map[string]any).
	Rows [][]any
}

// Query runs one SQL statement and returns all its rows. args are bound
// to its parameters ($1 or ?).
func (d *DB) Query(ctx context.Context, query string, args ...any) (*Result, error) {
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	r := &Result{}
	for _, c := range cols {
		r.Columns = append(r.Columns, c.Name())
		r.Types = append(r.Types, c.DatabaseTypeName())
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r.Rows = append(r.Rows, vals)
	}
	return r, rows.Err()
}

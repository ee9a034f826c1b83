package analytics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The store sends its parameters and reads its results in PostgreSQL's
// binary format, encoded here: one-dimensional arrays of the element types
// the statements use, and the scalars its results hold. Timestamps are
// unix milliseconds in memory and microseconds since 2000-01-01 UTC on the
// wire.

// PostgreSQL type OIDs.
const (
	oidBytea        = 17
	oidInt8         = 20
	oidInt4         = 23
	oidText         = 25
	oidTimestamptz  = 1184
	oidByteaArray   = 1001
	oidInt4Array    = 1007
	oidTextArray    = 1009
	oidInt8Array    = 1016
	oidFloat8       = 701
	oidFloat8Array  = 1022
	oidTimestampArr = 1185
)

// pgEpochMicros is 2000-01-01 UTC in unix microseconds.
const pgEpochMicros = 946_684_800_000_000

// params are the parameters of one statement.
type params struct {
	values [][]byte
	oids   []uint32
}

func (p *params) add(oid uint32, v []byte) *params {
	p.values = append(p.values, v)
	p.oids = append(p.oids, oid)
	return p
}

func arrayHeader(b []byte, elem uint32, n int, nulls bool) []byte {
	if n == 0 {
		return binary.BigEndian.AppendUint32(append(b, 0, 0, 0, 0, 0, 0, 0, 0), elem)
	}
	b = binary.BigEndian.AppendUint32(b, 1)
	if nulls {
		b = binary.BigEndian.AppendUint32(b, 1)
	} else {
		b = binary.BigEndian.AppendUint32(b, 0)
	}
	b = binary.BigEndian.AppendUint32(b, elem)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return binary.BigEndian.AppendUint32(b, 1)
}

// text adds a text scalar.
func (p *params) text(s string) *params { return p.add(oidText, []byte(s)) }

// texts adds a text[].
func (p *params) texts(ss []string) *params {
	size := 20 + 4*len(ss)
	for _, s := range ss {
		size += len(s)
	}
	b := arrayHeader(make([]byte, 0, size), oidText, len(ss), false)
	for _, s := range ss {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return p.add(oidTextArray, b)
}

// byteas adds a bytea[].
func (p *params) byteas(vs [][]byte) *params {
	size := 20 + 4*len(vs)
	for _, v := range vs {
		size += len(v)
	}
	b := arrayHeader(make([]byte, 0, size), oidBytea, len(vs), false)
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return p.add(oidByteaArray, b)
}

// int4s adds an int[].
func (p *params) int4s(vs []int32) *params {
	b := arrayHeader(make([]byte, 0, 20+8*len(vs)), oidInt4, len(vs), false)
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, 4)
		b = binary.BigEndian.AppendUint32(b, uint32(v))
	}
	return p.add(oidInt4Array, b)
}

// int8s adds a bigint[].
func (p *params) int8s(vs []int64) *params {
	b := arrayHeader(make([]byte, 0, 20+12*len(vs)), oidInt8, len(vs), false)
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, 8)
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	return p.add(oidInt8Array, b)
}

// float8s adds a float8[].
func (p *params) float8s(vs []float64) *params {
	b := arrayHeader(make([]byte, 0, 20+12*len(vs)), oidFloat8, len(vs), false)
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, 8)
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(v))
	}
	return p.add(oidFloat8Array, b)
}

// times adds a timestamptz[] of unix milliseconds; with null, the
// elements null says are NULL.
func (p *params) times(ms []int64, null []bool) *params {
	nulls := false
	for _, n := range null {
		nulls = nulls || n
	}
	b := arrayHeader(make([]byte, 0, 20+12*len(ms)), oidTimestamptz, len(ms), nulls)
	for i, v := range ms {
		if i < len(null) && null[i] {
			b = binary.BigEndian.AppendUint32(b, 0xffffffff)
			continue
		}
		b = binary.BigEndian.AppendUint32(b, 8)
		b = binary.BigEndian.AppendUint64(b, uint64(v*1000-pgEpochMicros))
	}
	return p.add(oidTimestampArr, b)
}

var errWire = errors.New("unexpected value in a result")

func readInt4(v []byte) (int32, error) {
	if len(v) != 4 {
		return 0, fmt.Errorf("int: %w", errWire)
	}
	return int32(binary.BigEndian.Uint32(v)), nil
}

func readInt8(v []byte) (int64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("bigint: %w", errWire)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// readTime returns a timestamptz as unix milliseconds.
func readTime(v []byte) (int64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("timestamptz: %w", errWire)
	}
	us := int64(binary.BigEndian.Uint64(v)) + pgEpochMicros
	return floorTo(us, 1000) / 1000, nil
}

// readArray calls elem with each element of a one-dimensional array (nil
// for NULL) and returns their number.
func readArray(v []byte, elem func(i int, e []byte) error) (int, error) {
	if len(v) < 12 {
		return 0, fmt.Errorf("array: %w", errWire)
	}
	ndim := binary.BigEndian.Uint32(v)
	if ndim == 0 {
		return 0, nil
	}
	if ndim != 1 || len(v) < 20 {
		return 0, fmt.Errorf("array of %d dimensions: %w", ndim, errWire)
	}
	n := int(binary.BigEndian.Uint32(v[12:]))
	v = v[20:]
	for i := range n {
		if len(v) < 4 {
			return 0, fmt.Errorf("array: %w", errWire)
		}
		size := int32(binary.BigEndian.Uint32(v))
		v = v[4:]
		if size < 0 {
			if err := elem(i, nil); err != nil {
				return 0, err
			}
			continue
		}
		if int(size) > len(v) {
			return 0, fmt.Errorf("array: %w", errWire)
		}
		if err := elem(i, v[:size]); err != nil {
			return 0, err
		}
		v = v[size:]
	}
	return n, nil
}

func readTexts(v []byte) ([]string, error) {
	var out []string
	_, err := readArray(v, func(_ int, e []byte) error {
		if e == nil {
			return fmt.Errorf("text[] with NULL: %w", errWire)
		}
		out = append(out, string(e))
		return nil
	})
	return out, err
}

func readInt8s(v []byte) ([]int64, error) { return readElems(v, readInt8) }

// readElems reads a one-dimensional array of elements that read decodes.
func readElems[T any](v []byte, read func([]byte) (T, error)) ([]T, error) {
	var out []T
	_, err := readArray(v, func(_ int, e []byte) error {
		x, err := read(e)
		out = append(out, x)
		return err
	})
	return out, err
}

func readTimes(v []byte) ([]int64, error) { return readElems(v, readTime) }

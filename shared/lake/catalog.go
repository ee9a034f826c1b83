package lake

import (
	"fmt"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// Column is one column of a table as a Glue (Hive) catalogue declares it.
type Column struct {
	Name string
	// Type is the Hive type: string, int, bigint, boolean, double,
	// timestamp, decimal(18,4), binary, array<...>, struct<...>.
	Type string
}

// Columns returns the table's columns as the Glue table definition
// declares them, derived from the same row type the writer encodes, in
// file order. The partition keys (PartitionKeys, both string) are not
// among them.
func (t Table) Columns() ([]Column, error) {
	s := t.Schema()
	cols := make([]Column, 0, len(s.Fields()))
	for _, f := range s.Fields() {
		typ, err := hiveType(f)
		if err != nil {
			return nil, fmt.Errorf("table %s: column %s: %w", t.Name, f.Name(), err)
		}
		cols = append(cols, Column{Name: f.Name(), Type: typ})
	}
	return cols, nil
}

// hiveType returns the Hive type of a Parquet node as Athena reads it.
func hiveType(n parquet.Node) (string, error) {
	var lt format.LogicalTypeValue
	if l := n.Type().LogicalType(); l != nil {
		lt = l.Value
	}
	if !n.Leaf() {
		if _, ok := lt.(*format.ListType); ok {
			// LIST: group (LIST) { repeated group list { element } }
			list := n.Fields()
			if len(list) != 1 || len(list[0].Fields()) != 1 {
				return "", fmt.Errorf("malformed LIST")
			}
			elem, err := hiveType(list[0].Fields()[0])
			if err != nil {
				return "", err
			}
			return "array<" + elem + ">", nil
		}
		var b strings.Builder
		b.WriteString("struct<")
		for i, f := range n.Fields() {
			typ, err := hiveType(f)
			if err != nil {
				return "", err
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f.Name() + ":" + typ)
		}
		b.WriteByte('>')
		return b.String(), nil
	}
	switch l := lt.(type) {
	case *format.StringType, *format.EnumType:
		return "string", nil
	case *format.TimestampType:
		if _, nanos := l.Unit.Value.(*format.NanoSeconds); nanos {
			return "", fmt.Errorf("nanosecond timestamps cannot be read by Athena")
		}
		return "timestamp", nil
	case *format.DecimalType:
		return fmt.Sprintf("decimal(%d,%d)", l.Precision, l.Scale), nil
	case *format.DateType:
		return "date", nil
	case *format.IntType:
		switch l.BitWidth {
		case 8:
			return "tinyint", nil
		case 16:
			return "smallint", nil
		case 32:
			return "int", nil
		}
		return "bigint", nil
	case nil:
	default:
		return "", fmt.Errorf("logical type %s has no Hive type here", l)
	}
	switch n.Type().Kind() {
	case parquet.Boolean:
		return "boolean", nil
	case parquet.Int32:
		return "int", nil
	case parquet.Int64:
		return "bigint", nil
	case parquet.Float:
		return "float", nil
	case parquet.Double:
		return "double", nil
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return "binary", nil
	}
	return "", fmt.Errorf("physical type %s has no Hive type here", n.Type().Kind())
}

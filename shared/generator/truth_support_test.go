package generator

import "testing"

// TestSupportTruth: every complaint the generator writes has its reasons in
// the support truth, no other text has any, and a feedback-rich run has
// cases of orders and of order-less feedback and ratings in every scope.
func TestSupportTruth(t *testing.T) {
	for _, s := range badFeedback {
		if len(supportTextReasons[s]) == 0 {
			t.Errorf("complaint %q has no reasons", s)
		}
	}
	for _, l := range [][]string{goodFeedback, okFeedback, hostileText} {
		for _, s := range l {
			if _, ok := supportTextReasons[s]; ok {
				t.Errorf("%q has reasons", s)
			}
		}
	}
	g, err := New(Config{Seed: 11, EventsPerSecond: 2, LegacyShare: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	for range 20000 {
		g.Next()
	}
	st := g.Truth().Support
	scopes := map[string]int{}
	for _, r := range st.Ratings {
		scopes[r.Scope]++
		if r.Count < 1 || r.Sum < r.Count || r.Sum > 5*r.Count || r.Dist[0]+r.Dist[1]+r.Dist[2]+r.Dist[3]+r.Dist[4] != r.Count {
			t.Errorf("rating %+v", r)
		}
	}
	var withOrder, orderless int
	for _, c := range st.Cases {
		if c.OrderID == "" {
			orderless++
		} else if c.Order != nil {
			withOrder++
		}
	}
	if scopes[SupportScopeAll] == 0 || scopes[SupportScopeProduct] == 0 || scopes[SupportScopeCategory] == 0 || withOrder < 10 || orderless < 3 {
		t.Fatalf("ratings by scope %v, %d cases with order context, %d without order", scopes, withOrder, orderless)
	}
}

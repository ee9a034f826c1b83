package generator

// actionKind says what a scheduled action does.
type actionKind uint8

const (
	actSessionArrival actionKind = iota
	actSessionStep
	actPayment
	actShip
	actCancel
	actRefund
	actFeedback
	actRestock
	actAdjust
	actCount
	actMetric
	actFraudStep
)

// action is something that happens at a point of event time (ms since start).
type action struct {
	at       int64
	seq      uint64 // ties break in scheduling order, so runs are deterministic
	kind     actionKind
	session  *session
	order    *order
	product  *product
	campaign *campaign
}

// actionHeap is a binary min-heap on (at, seq).
type actionHeap []action

func (h actionHeap) less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}

func (h *actionHeap) push(a action) {
	*h = append(*h, a)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *actionHeap) pop() action {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = action{}
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s.less(r, l) {
			m = r
		}
		if !s.less(m, i) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

package fraud

import (
	"context"
	"encoding/json"
	"sync"
)

// Memory is a Store in memory, for tests, benchmarks and local experiments.
type Memory struct {
	mu        sync.Mutex
	users     map[string]*UserProfile
	cards     map[string]*CardProfile
	decisions map[string]*Decision
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{users: map[string]*UserProfile{}, cards: map[string]*CardProfile{}, decisions: map[string]*Decision{}}
}

// Users implements Store.
func (m *Memory) Users(_ context.Context, ids []string) (map[string]*UserProfile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]*UserProfile, len(ids))
	for _, id := range ids {
		if p := m.users[id]; p != nil {
			out[id] = p.Clone()
		}
	}
	return out, nil
}

// Cards implements Store.
func (m *Memory) Cards(_ context.Context, ids []string) (map[string]*CardProfile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]*CardProfile, len(ids))
	for _, id := range ids {
		if p := m.cards[id]; p != nil {
			out[id] = p.Clone()
		}
	}
	return out, nil
}

// PutProfiles implements Store.
func (m *Memory) PutProfiles(_ context.Context, users []*UserProfile, cards []*CardProfile) map[string]error {
	m.mu.Lock()
	defer m.mu.Unlock()
	errs := map[string]error{}
	for _, p := range users {
		if v := versionOf(m.users[p.ID]); v != p.Version-1 && !sameJSON(m.users[p.ID], p, v == p.Version) {
			errs[UserKey(p.ID)] = ErrConflict
			continue
		}
		m.users[p.ID] = p.Clone()
	}
	for _, p := range cards {
		if v := cardVersion(m.cards[p.ID]); v != p.Version-1 && !sameJSON(m.cards[p.ID], p, v == p.Version) {
			errs[CardKey(p.ID)] = ErrConflict
			continue
		}
		m.cards[p.ID] = p.Clone()
	}
	return errs
}

// Decisions implements Store.
func (m *Memory) Decisions(_ context.Context, ids []string) (map[string]*Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]*Decision, len(ids))
	for _, id := range ids {
		if d := m.decisions[id]; d != nil {
			out[id] = d.Clone()
		}
	}
	return out, nil
}

// PutDecisions implements Store.
func (m *Memory) PutDecisions(_ context.Context, ds []*Decision) map[string]error {
	m.mu.Lock()
	defer m.mu.Unlock()
	errs := map[string]error{}
	for _, d := range ds {
		var v int64
		if old := m.decisions[d.OrderID]; old != nil {
			v = old.Version
		}
		if v != d.Version-1 && !(v == d.Version && m.decisions[d.OrderID].Equal(d)) {
			errs[d.OrderID] = ErrConflict
			continue
		}
		m.decisions[d.OrderID] = d.Clone()
	}
	return errs
}

// AllDecisions returns every decision.
func (m *Memory) AllDecisions(context.Context) ([]*Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Decision, 0, len(m.decisions))
	for _, d := range m.decisions {
		out = append(out, d.Clone())
	}
	return out, nil
}

// sameJSON reports whether a stored item is exactly the one to write: a
// write that already landed is not a conflict.
func sameJSON(stored, p any, sameVersion bool) bool {
	if !sameVersion {
		return false
	}
	a, err1 := json.Marshal(stored)
	b, err2 := json.Marshal(p)
	return err1 == nil && err2 == nil && string(a) == string(b)
}

func versionOf(p *UserProfile) int64 {
	if p == nil {
		return 0
	}
	return p.Version
}

func cardVersion(p *CardProfile) int64 {
	if p == nil {
		return 0
	}
	return p.Version
}

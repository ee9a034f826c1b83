package api

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shopstream/shopstream/functions/support/internal/support"
)

// CaseSummary is what a live view shows of the support cases: how many are
// open, by priority, and the latest opened.
type CaseSummary struct {
	Open       int            `json:"open"`
	ByPriority map[string]int `json:"by_priority"`
	// Latest are the most recently opened open cases, newest first.
	Latest []CaseLine `json:"latest"`
}

// CaseLine is one case as a live view lists it; no feedback text.
type CaseLine struct {
	CaseID       string    `json:"case_id"`
	OrderID      string    `json:"order_id,omitempty"`
	UserID       string    `json:"user_id"`
	Priority     string    `json:"priority"`
	Reasons      []string  `json:"reasons"`
	LowestRating int       `json:"lowest_rating,omitempty"`
	OpenedAt     time.Time `json:"opened_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// OpenCases reads the cases table (a scan: its cost grows with the table)
// and summarises the open cases, with the latest n.
func OpenCases(ctx context.Context, client *dynamodb.Client, t Tables, n int) (CaseSummary, error) {
	cases, err := support.NewDynamoDB(client, t).AllCases(ctx)
	if err != nil {
		return CaseSummary{}, err
	}
	s := CaseSummary{ByPriority: map[string]int{}, Latest: []CaseLine{}}
	open := cases[:0]
	for _, c := range cases {
		if c.Status == support.StatusOpen {
			open = append(open, c)
			s.ByPriority[c.Priority]++
		}
	}
	s.Open = len(open)
	slices.SortFunc(open, func(a, b *support.Case) int {
		return cmp.Or(b.OpenedAt.Compare(a.OpenedAt), cmp.Compare(a.ID, b.ID))
	})
	for _, c := range open[:min(n, len(open))] {
		s.Latest = append(s.Latest, CaseLine{CaseID: c.ID, OrderID: c.OrderID, UserID: c.UserID, Priority: c.Priority,
			Reasons: append([]string{}, c.Reasons...), LowestRating: c.LowestRating, OpenedAt: c.OpenedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()})
	}
	if s.Latest == nil {
		s.Latest = []CaseLine{}
	}
	return s, nil
}

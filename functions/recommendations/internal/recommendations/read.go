package recommendations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"
)

// ItemReader reads one item for the read path, nil when there is none.
// Implementations must be safe for concurrent use.
type ItemReader interface {
	Item(ctx context.Context, k Kind, key string) (*Item, error)
}

// Recommendation is one recommended product.
type Recommendation struct {
	ProductID string  `json:"product_id"`
	Score     float64 `json:"score"`
	// Source is "related" (co-viewed or co-purchased with the product) or
	// "popular" (popular in its category: the fallback for cold products).
	Source string `json:"source"`
	// CoViews and CoPurchases are a related product's undecayed counts;
	// Views and Purchases a popular product's.
	CoViews     int64 `json:"co_views,omitempty"`
	CoPurchases int64 `json:"co_purchases,omitempty"`
	Views       int64 `json:"views,omitempty"`
	Purchases   int64 `json:"purchases,omitempty"`
}

// Result is the answer to GET /recommendations/{product_id}.
type Result struct {
	ProductID string `json:"product_id"`
	// Category is the product's category as its events named it, or as
	// the request gave it; "" when neither did.
	Category string `json:"category,omitempty"`
	// Fallback names the popular ranking the list was filled from, if it
	// was: a category, or "_all".
	Fallback        string           `json:"fallback,omitempty"`
	Recommendations []Recommendation `json:"recommendations"`
}

// ErrBadRequest matches the errors Lookup returns for a request it cannot
// answer (an empty or oversized product id, a count out of range).
var ErrBadRequest = errors.New("bad request")

// MaxIDLength bounds the product ids the read path accepts, in bytes.
const MaxIDLength = 256

// Lookup returns up to n recommendations for a product: its top related
// products, then, while fewer than n, the most popular products of its
// category (of category when the product has none; of all categories when
// neither is known), never the product itself nor one twice.
func Lookup(ctx context.Context, r ItemReader, productID, category string, n int) (Result, error) {
	if productID == "" || len(productID) > MaxIDLength || !utf8.ValidString(productID) {
		return Result{}, fmt.Errorf("%w: a product id is 1 to %d bytes of UTF-8", ErrBadRequest, MaxIDLength)
	}
	if n < 1 || n > 100 {
		return Result{}, fmt.Errorf("%w: n must be 1 to 100", ErrBadRequest)
	}
	res := Result{ProductID: productID, Category: category, Recommendations: []Recommendation{}}
	it, err := r.Item(ctx, Related, productID)
	if err != nil {
		return Result{}, err
	}
	seen := map[string]bool{productID: true}
	if it != nil {
		if it.Category != "" {
			res.Category = it.Category
		}
		for _, s := range it.Top {
			if len(res.Recommendations) == n {
				break
			}
			seen[s.ID] = true
			res.Recommendations = append(res.Recommendations, Recommendation{ProductID: s.ID, Score: s.Score,
				Source: "related", CoViews: s.Views, CoPurchases: s.Buys})
		}
	}
	for _, key := range slices.Compact([]string{res.Category, AllCategories}) {
		if len(res.Recommendations) >= n || key == "" {
			continue
		}
		pop, err := r.Item(ctx, Popular, key)
		if err != nil {
			return Result{}, err
		}
		if pop == nil {
			continue
		}
		for _, s := range pop.Top {
			if len(res.Recommendations) == n {
				break
			}
			if seen[s.ID] {
				continue
			}
			seen[s.ID] = true
			if res.Fallback == "" {
				res.Fallback = key
			}
			res.Recommendations = append(res.Recommendations, Recommendation{ProductID: s.ID, Score: s.Score,
				Source: "popular", Views: s.Views, Purchases: s.Buys})
		}
	}
	return res, nil
}

// Route is the read path's ServeMux pattern.
const Route = "GET /recommendations/{product_id}"

// NewHTTPHandler returns the read path: GET /recommendations/{product_id}
// with optional query parameters n (how many, default 10, at most 100)
// and category (the fallback's category for a product the function has not
// seen), answering JSON. Errors are JSON too: {"error": "..."}, 400 for a
// bad request, 500 (logged, not detailed) for a failed read.
func NewHTTPHandler(r ItemReader, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(Route, func(w http.ResponseWriter, req *http.Request) {
		n := 10
		if v := req.URL.Query().Get("n"); v != "" {
			x, err := strconv.Atoi(v)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "n must be a number"})
				return
			}
			n = x
		}
		res, err := Lookup(req.Context(), r, req.PathValue("product_id"), req.URL.Query().Get("category"), n)
		switch {
		case errors.Is(err, ErrBadRequest):
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		case err != nil:
			if logger != nil {
				logger.ErrorContext(req.Context(), "recommendations lookup failed", "err", err)
			}
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "lookup failed"})
		default:
			writeJSON(w, http.StatusOK, res)
		}
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=60")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

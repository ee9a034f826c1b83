package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	inventory "github.com/shopstream/shopstream/functions/inventory/api"
	"github.com/shopstream/shopstream/shared/dashboard"
)

// lowStockSummary is the value of the low_stock feed.
type lowStockSummary struct {
	// Total counts the product-warehouse pairs at or below their
	// threshold, OutOfStock those with nothing available.
	Total      int `json:"total"`
	OutOfStock int `json:"out_of_stock"`
	// Items are the lowest, by available stock.
	Items []inventory.StockLevel `json:"items"`
}

// lowStockScan bounds the pairs the feed counts.
const lowStockScan = 10_000

func lowStockFeed(db *dynamodb.Client, stockTable string) dashboard.Feed {
	tables := inventory.DefaultTables
	tables.Stock = stockTable
	return dashboard.Feed{Name: feedLowStock, Title: "Low stock",
		Doc: "lowStockSummary: product-warehouse pairs at or below their low-stock threshold, lowest available first (inventory function's stock table)",
		Read: func(ctx context.Context) (any, error) {
			levels, err := inventory.LowStock(ctx, db, tables, lowStockScan)
			if err != nil {
				return nil, err
			}
			s := lowStockSummary{Total: len(levels), Items: levels[:min(latestRows, len(levels))]}
			for _, l := range levels {
				if l.OutOfStock {
					s.OutOfStock++
				}
			}
			if s.Items == nil {
				s.Items = []inventory.StockLevel{}
			}
			return s, nil
		}}
}

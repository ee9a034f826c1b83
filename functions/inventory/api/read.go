package api

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shopstream/shopstream/functions/inventory/internal/inventory"
)

// StockLevel is the stock of one product in one warehouse, with the
// product's low-stock threshold: product_id, warehouse_id, on_hand,
// reserved, available, threshold, out_of_stock.
type StockLevel = inventory.StockLevel

// LowStock returns the product-warehouse pairs whose available stock is at
// or below their product's low-stock threshold (out of stock included),
// lowest available first, at most limit (which must be positive): what the
// live dashboard shows. It scans the stock table, reading back only the
// products that are low.
func LowStock(ctx context.Context, db *dynamodb.Client, tables Tables, limit int) ([]StockLevel, error) {
	return inventory.NewDynamoDB(db, tables).LowStock(ctx, limit)
}

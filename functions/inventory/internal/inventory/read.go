package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// StockLevel is the stock of one product in one warehouse, with the
// product's low-stock threshold.
type StockLevel struct {
	ProductID   string `json:"product_id"`
	WarehouseID string `json:"warehouse_id"`
	OnHand      int64  `json:"on_hand"`
	Reserved    int64  `json:"reserved"`
	// Available is OnHand - Reserved; negative while orders are backordered.
	Available int64 `json:"available"`
	Threshold int64 `json:"threshold"`
	// OutOfStock says nothing is available.
	OutOfStock bool `json:"out_of_stock"`
}

// LowStock returns the product-warehouse pairs whose available stock is at
// or below their product's low-stock threshold (out of stock included),
// lowest available first (then by product and warehouse), at most limit.
//
// It scans the stock table for the items that carry "low_stock", which a
// product write keeps while some warehouse of the product is low: the read
// costs the table's size in read capacity, and returns only the low items.
// It reads eventually consistently, as a dashboard may.
func (d *DynamoDB) LowStock(ctx context.Context, limit int) ([]StockLevel, error) {
	if limit < 1 {
		return nil, fmt.Errorf("low stock: limit %d is not positive", limit)
	}
	var out []StockLevel
	p := dynamodb.NewScanPaginator(d.client, &dynamodb.ScanInput{
		TableName:                aws.String(d.tables.Stock),
		FilterExpression:         aws.String("attribute_exists(#low)"),
		ProjectionExpression:     aws.String("#id, #thr, #low"),
		ExpressionAttributeNames: map[string]string{"#id": "product_id", "#thr": "threshold", "#low": "low_stock"},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan %s for low stock: %w", d.tables.Stock, err)
		}
		for _, item := range page.Items {
			levels, err := decodeLow(item)
			if err != nil {
				return nil, err
			}
			out = append(out, levels...)
		}
	}
	slices.SortFunc(out, func(a, b StockLevel) int {
		return cmp.Or(cmp.Compare(a.Available, b.Available), cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.WarehouseID, b.WarehouseID))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func decodeLow(item map[string]types.AttributeValue) ([]StockLevel, error) {
	id := str(item["product_id"])
	var errs []error
	num := func(av types.AttributeValue) int64 {
		v, err := getN(av)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	thr := num(item["threshold"])
	low, ok := item["low_stock"].(*types.AttributeValueMemberM)
	if !ok {
		return nil, fmt.Errorf("product %s: low_stock is not a map", id)
	}
	out := make([]StockLevel, 0, len(low.Value))
	for w, v := range low.Value {
		m, ok := v.(*types.AttributeValueMemberM)
		if !ok {
			return nil, fmt.Errorf("product %s: low stock of %s is not a map", id, w)
		}
		s := StockLevel{ProductID: id, WarehouseID: w, OnHand: num(m.Value["on_hand"]), Reserved: num(m.Value["reserved"]), Threshold: thr}
		s.Available = s.OnHand - s.Reserved
		s.OutOfStock = s.Available <= 0
		out = append(out, s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("product %s: %w", id, err)
	}
	return out, nil
}

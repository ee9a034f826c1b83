// Command recommendations-api is the recommendations read path behind a
// Lambda function URL: GET /recommendations/{product_id} answers the
// product's related products as JSON, filled with popular products of its
// category for products with few or none.
//
// Environment: RELATED_TABLE, POPULAR_TABLE (as the recommendations
// function's), AWS_LAMBDA_LOG_LEVEL.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shopstream/shopstream/functions/recommendations/api"
	"github.com/shopstream/shopstream/shared/logging"
)

func main() {
	logger := logging.New(os.Stdout, "recommendations-api", os.Getenv("AWS_LAMBDA_LOG_LEVEL"))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("init failed", "err", err)
		os.Exit(1)
	}
	tables := api.DefaultTables
	if s := os.Getenv("RELATED_TABLE"); s != "" {
		tables.Related = s
	}
	if s := os.Getenv("POPULAR_TABLE"); s != "" {
		tables.Popular = s
	}
	lambda.Start(api.FunctionURLHandler(api.NewHTTPHandler(dynamodb.NewFromConfig(cfg), tables, logger)))
}

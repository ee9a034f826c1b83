#!/usr/bin/env bash
# Runs inside LocalStack once it is ready: the resources shopstream's
# functions expect and that `cdklocal deploy` does not create here (the MSK
# parts of the stack are not deployed to LocalStack: Kafka is the compose
# broker and shopstream's event source mapping emulator drives the functions).
set -euo pipefail

region="${AWS_DEFAULT_REGION:-us-east-1}"

# The bucket the event source mappings' on-failure records go to when a run
# uses the S3 destination.
awslocal --region "$region" s3api head-bucket --bucket shopstream-failures 2>/dev/null ||
  awslocal --region "$region" s3api create-bucket --bucket shopstream-failures

# The alert topic the functions publish to.
awslocal --region "$region" sns create-topic --name shopstream-alerts >/dev/null

echo "shopstream: LocalStack resources ready"

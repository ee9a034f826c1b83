# shopstream — make targets. Everything a target needs it installs or starts itself.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
FUZZTIME ?= 30s
BENCHTIME ?= 1s
RUN_DIR ?= .shopstream

.PHONY: help test vet fmt-check fuzz bench dev generate build synth clean assets browser

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

test: fmt-check assets browser vet ## run every test (what CI runs); fails on a skipped test
	@mkdir -p $(RUN_DIR)/artifacts
	$(GO) test -count=1 -v -artifacts -outputdir $(CURDIR)/$(RUN_DIR)/artifacts ./... > $(RUN_DIR)/test.log 2>&1 || { grep -E -- '^(--- FAIL|FAIL|panic:|\s+.*_test\.go:[0-9]+:)' $(RUN_DIR)/test.log | head -200; tail -5 $(RUN_DIR)/test.log; exit 1; }
	@grep -E '^(ok|FAIL|\?)\s' $(RUN_DIR)/test.log
	@if grep -E -- '--- SKIP' $(RUN_DIR)/test.log; then echo "make test: skipped tests are not allowed"; exit 1; fi
	@echo "$$(grep -cE -- '^\s*--- PASS' $(RUN_DIR)/test.log) passed, 0 failed"

vet: ## go vet
	$(GO) vet ./...

fmt-check: ## fail when a Go file is not gofmt'ed
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "not gofmt'ed: $$out"; exit 1; fi

fuzz: ## run every fuzzer for FUZZTIME each (default 30s)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

bench: ## run the benchmarks, one core, with their baselines and targets
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -cpu 1 ./...

# The dashboard's script: uPlot and shared/dashboard/web/app.js bundled by
# esbuild (both pinned in package.json) into the assets the binary embeds.
DASHBOARD_JS := shared/dashboard/assets/dist/app.js

assets: $(DASHBOARD_JS) ## bundle the dashboard's script and chart library into shared/dashboard/assets/dist (npm)

$(DASHBOARD_JS): shared/dashboard/web/app.js package.json package-lock.json
	@[ -x node_modules/.bin/esbuild ] && [ -d node_modules/uplot ] || npm ci --no-audit --no-fund
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npm run --silent dashboard

browser: ## install headless Chromium and its WebDriver (Debian chromium, chromium-driver) for the dashboard's browser test
	scripts/install-tools --browser

build: assets ## build the shopstream command into bin/, and each function as a Lambda bootstrap (linux/arm64) into bin/functions/NAME/
	$(GO) build -o bin/shopstream ./cmd/shopstream
	@for dir in functions/*/; do \
	  name=$$(basename $$dir); [ -f $$dir/main.go ] || continue; \
	  echo "build functions/$$name"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
	    -o bin/functions/$$name/bootstrap ./functions/$$name; \
	done

synth: build ## build the functions, then synthesize the CDK app into cdk.out (offline) with the repo's CDK CLI
	npm install --no-audit --no-fund
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx cdk synth --quiet

dev: assets ## install what is missing, then run the whole pipeline locally until Ctrl-C
	scripts/install-tools
	$(GO) run ./cmd/shopstream dev --rate 500 $(DEV_FLAGS)

generate: ## the reference run: 200,000 records with seed 7 into /tmp
	$(GO) run ./cmd/shopstream generate --count 200000 --seed 7 --out /tmp/e.jsonl --truth /tmp/t.json

clean: ## remove build and run outputs
	rm -rf bin cdk.out $(RUN_DIR)

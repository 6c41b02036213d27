# opsgate — `make test` is the one test command (CI runs it through .ci/run).
GO ?= go
GOFILES := $(shell git ls-files '*.go' 2>/dev/null)

.PHONY: test deps fmt-check vet build fuzz bench chart

test: deps fmt-check vet
	$(GO) test -race -count=1 ./...

# Programs the tests run: redis-server (they start their own on free
# ports) and kubectl (against an in-test fake API server). Missing ones
# are installed with apt-get: redis-server, kubernetes-client.
deps:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	command -v kubectl >/dev/null 2>&1 || missing="$$missing kubernetes-client"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing$$missing with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing:$$missing — run 'sudo apt-get install$$missing' (or make test as root)" >&2; exit 1; \
	  fi; \
	fi

fmt-check:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:" $$out >&2; exit 1; fi

vet:
	$(GO) vet ./...

build:
	$(GO) build -o opsgate .

# The Helm chart by hand (make test runs the same checks in test/deploy).
HELM ?= $(GO) run helm.sh/helm/v3/cmd/helm@v3.21.4
chart:
	$(HELM) lint --strict deploy/helm/opsgate
	$(HELM) template opsgate deploy/helm/opsgate -f deploy/helm/opsgate/ci/socket-sentinel-values.yaml

# Short fuzzing of every parser and verifier (FUZZTIME=30s make fuzz).
FUZZTIME ?= 10s
fuzz:
	$(GO) test ./integrations/pagerduty -run '^$$' -fuzz FuzzParseEvent -fuzztime $(FUZZTIME)
	$(GO) test ./integrations/pagerduty -run '^$$' -fuzz FuzzVerify -fuzztime $(FUZZTIME)
	$(GO) test ./bot/storm -run '^$$' -fuzz FuzzTemplate -fuzztime $(FUZZTIME)
	$(GO) test ./bot/triage -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./bot/redact -run '^$$' -fuzz FuzzRedact -fuzztime $(FUZZTIME)
	$(GO) test ./bot/logtmpl -run '^$$' -fuzz FuzzMiner -fuzztime $(FUZZTIME)
	$(GO) test ./bot/inject -run '^$$' -fuzz FuzzCheck -fuzztime $(FUZZTIME)
	$(GO) test ./knowledge/kb -run '^$$' -fuzz FuzzParseJSONL -fuzztime $(FUZZTIME)
	$(GO) test ./knowledge/kb -run '^$$' -fuzz FuzzParseMarkdown -fuzztime $(FUZZTIME)
	$(GO) test ./knowledge/search -run '^$$' -fuzz FuzzTokens -fuzztime $(FUZZTIME)
	$(GO) test ./bot/rca -run '^$$' -fuzz FuzzReply -fuzztime $(FUZZTIME)
	$(GO) test ./bot/catalog -run '^$$' -fuzz FuzzValidate -fuzztime $(FUZZTIME)
	$(GO) test ./bot/collect -run '^$$' -fuzz FuzzAnswers -fuzztime $(FUZZTIME)
	$(GO) test ./bot/server -run '^$$' -fuzz FuzzSlackEndpoints -fuzztime $(FUZZTIME)
	$(GO) test ./bot/jobs -run '^$$' -fuzz FuzzParseProposalID -fuzztime $(FUZZTIME)
	$(GO) test ./bot/clicks -run '^$$' -fuzz FuzzSubmission -fuzztime $(FUZZTIME)
	$(GO) test ./bot/seal -run '^$$' -fuzz FuzzOpen -fuzztime $(FUZZTIME)
	$(GO) test ./bot/queue -run '^$$' -fuzz FuzzOpen -fuzztime $(FUZZTIME)
	$(GO) test ./bot/audit -run '^$$' -fuzz FuzzReadAnchors -fuzztime $(FUZZTIME)
	$(GO) test ./bot/catalog -run '^$$' -fuzz FuzzNormalize -fuzztime $(FUZZTIME)
	$(GO) test ./bot/seal -run '^$$' -fuzz FuzzOpenBinary -fuzztime $(FUZZTIME)
	$(GO) test ./bot/logtmpl -run '^$$' -fuzz FuzzRestore -fuzztime $(FUZZTIME)
	$(GO) test ./knowledge/search -run '^$$' -fuzz FuzzReadIndex -fuzztime $(FUZZTIME)
	$(GO) test ./bot/cli -run '^$$' -fuzz FuzzTemplateLineIsJSON -fuzztime $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Switchyard: `make run` and `make test` set up everything they need on a fresh clone.
# Recipes run under pipefail: no recipe pipes a command into a reader that may stop early (head,
# grep -q), since the writer then dies of SIGPIPE and fails the recipe at random; read a captured
# output instead (`head -1 <<<"$$(cmd)"`). test/unit/makefile.test.ts holds this.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

OPA_VERSION   := v1.22.3
TOOLS_DIR     := $(CURDIR)/.tools
OPA           := $(TOOLS_DIR)/opa-$(OPA_VERSION)/opa
# The flagd daemon `make bench` compares against: the version pinned in bench/peers/flagd/go.mod.
FLAGD_VERSION := $(shell awk '$$1 == "github.com/open-feature/flagd/flagd" { print $$2 }' bench/peers/flagd/go.mod)
FLAGD         := $(TOOLS_DIR)/flagd-$(FLAGD_VERSION)/flagd
CAPABILITIES  := build-support/opa-capabilities.json
BUNDLE        := build/policy/bundle.tar.gz
ENTRYPOINT    := switchyard/decision
NODE_STAMP    := node_modules/.installed
DIST_STAMP    := dist/.built
POLICY_FILES  := $(shell find policies -type f | sort)
TS_FILES      := $(shell find src bench -name '*.ts' 2>/dev/null | sort)
# The manifest revision: a digest of the policy sources, so the same policies/ always build the same revision.
POLICY_REV     = $(shell find policies -type f ! -name '*_test.rego' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)

export SWITCHYARD_POLICY_BUNDLE ?= $(CURDIR)/$(BUNDLE)

.PHONY: help deps opa flagd policies policy-check build run test bench policy-publish clean chromium

help:
	@echo "make run             install what is missing, build, start on ./data/switchyard.db"
	@echo "make test            install what is missing, check + test policies/, run the vitest suite"
	@echo "make policies        opa fmt/check/test and build the wasm bundle ($(BUNDLE))"
	@echo "make bench           run the benchmarks against OPA and flagd (built once) and print their table"
	@echo "make policy-publish  publish policies/ to a running server (SWITCHYARD_URL, SWITCHYARD_TOKEN)"

deps: $(NODE_STAMP) $(OPA)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The pinned opa: built from the Go module proxy into an ignored folder, reused when present.
# Where Go is missing, an `opa` already on PATH at the pinned version is used instead.
$(OPA):
	@mkdir -p $(dir $@)
	@if command -v go >/dev/null 2>&1; then \
	  echo "installing opa $(OPA_VERSION) with go install (once)"; \
	  CGO_ENABLED=0 GOBIN=$(dir $@) go install github.com/open-policy-agent/opa@$(OPA_VERSION); \
	elif command -v opa >/dev/null 2>&1 && grep -qx "Version: $(OPA_VERSION:v%=%)" <<<"$$(opa version)"; then \
	  ln -sf "$$(command -v opa)" $@; \
	else \
	  echo "need Go (to install opa $(OPA_VERSION)) or opa $(OPA_VERSION) on PATH" >&2; exit 1; \
	fi
	@head -1 <<<"$$($@ version)"

opa: $(OPA)

# The flagd daemon for `make bench` only: built from the Go module proxy with the checksums in
# bench/peers/flagd/go.sum (a few minutes, once; build.sh says what it substitutes and why).
# Where Go is missing, a `flagd` already on PATH at the pinned version is used instead.
$(FLAGD): bench/peers/flagd/go.mod bench/peers/flagd/go.sum bench/peers/flagd/build.sh
	@mkdir -p $(dir $@)
	@if command -v go >/dev/null 2>&1; then \
	  echo "building flagd $(FLAGD_VERSION) from the Go module proxy (once)"; \
	  bench/peers/flagd/build.sh $@; \
	elif command -v flagd >/dev/null 2>&1 && grep -q "^flagd: $(FLAGD_VERSION) " <<<"$$(flagd version 2>/dev/null)"; then \
	  ln -sf "$$(command -v flagd)" $@; \
	else \
	  echo "need Go (to build flagd $(FLAGD_VERSION)) or flagd $(FLAGD_VERSION) on PATH" >&2; exit 1; \
	fi

flagd: $(FLAGD)

# The browser tests drive Debian's chromium (playwright-core cannot download a browser here).
chromium:
	@bash scripts/install-chromium.sh

policy-check: $(OPA)
	$(OPA) fmt --list --fail policies
	$(OPA) check --strict --capabilities $(CAPABILITIES) policies
	$(OPA) test policies

CHECK_STAMP := build/policy/.checked
$(CHECK_STAMP): $(OPA) $(POLICY_FILES) $(CAPABILITIES)
	@$(MAKE) --no-print-directory policy-check
	@mkdir -p $(dir $@) && touch $@

$(BUNDLE): $(CHECK_STAMP)
	@mkdir -p $(dir $@)
	$(OPA) build -t wasm -e $(ENTRYPOINT) --capabilities $(CAPABILITIES) --revision "$(POLICY_REV)" --ignore '*_test.rego' -o $@ policies
	@echo "built $@ (revision $(POLICY_REV))"

policies: $(CHECK_STAMP) $(BUNDLE)

$(DIST_STAMP): $(NODE_STAMP) $(TS_FILES) tsconfig.json tsconfig.build.json
	npx tsc -p tsconfig.build.json
	@touch $@

build: $(DIST_STAMP) $(BUNDLE)

run: build
	node dist/src/main.js

test: deps $(CHECK_STAMP) $(BUNDLE) $(DIST_STAMP) chromium
	npx tsc -p tsconfig.json
	npx vitest run

bench: build $(FLAGD)
	SWITCHYARD_BENCH_FLAGD=$(FLAGD) node dist/bench/run.js

policy-publish: $(BUNDLE)
	@test -n "$${SWITCHYARD_TOKEN:-}" || { echo "set SWITCHYARD_TOKEN to a governance or admin token" >&2; exit 1; }
	curl -sS --fail-with-body -X PUT "$${SWITCHYARD_URL:-http://127.0.0.1:8080}/v1/policy" \
	  -H "Authorization: Bearer $$SWITCHYARD_TOKEN" -H 'Content-Type: application/gzip' --data-binary @$(BUNDLE)
	@echo

clean:
	rm -rf dist build

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
COMMA         := ,
BUNDLE        := build/policy/bundle.tar.gz
ENTRYPOINT    := switchyard/decision
NODE_STAMP    := node_modules/.installed
DIST_STAMP    := dist/.built
POLICY_FILES  := $(shell find policies -type f | sort)
TS_FILES      := $(shell find src bench -name '*.ts' 2>/dev/null | sort)
# The manifest revision: a digest of the policy sources, so the same policies/ always build the same revision.
POLICY_REV     = $(shell find policies -type f ! -name '*_test.rego' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)

export SWITCHYARD_POLICY_BUNDLE ?= $(CURDIR)/$(BUNDLE)

.PHONY: help deps opa flagd opa-eval policies policy-check build run test typecheck typecheck-server typecheck-console lint bench interop policy-publish clean chromium mutation

help:
	@echo "make run             install what is missing, build, start on ./data/switchyard.db"
	@echo "make test            install what is missing, check + test policies/, type-check, run the vitest suite"
	@echo "make typecheck       tsc over the server, tests and benches, and over the console's JSDoc-typed modules"
	@echo "make lint            ESLint's promise rules (a forgotten await) over src, test and bench (docs/testing.md)"
	@echo "make policies        opa fmt/check/test and build the wasm bundle ($(BUNDLE))"
	@echo "make bench           run the benchmarks against OPA and flagd (built once) and print their table"
	@echo "make mutation        StrykerJS mutation testing, one run per module group (MODULES=audit,access for some; docs/mutation.md)"
	@echo "make interop         stock Python, Go and JS OFREP providers and the flagd daemon against our OFREP (installs them once)"
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

# OPA's Go evaluator for `make bench` (the in-process decision peer): a small program on the
# `rego` package at the pinned OPA version, built from the Go module proxy with the checksums in
# its go.sum, into a folder named by its sources' digest (changed sources build afresh).
OPA_EVAL_SRC := bench/peers/opa-eval/go.mod bench/peers/opa-eval/go.sum bench/peers/opa-eval/main.go
OPA_EVAL     := $(TOOLS_DIR)/opa-eval-$(shell cat $(OPA_EVAL_SRC) | sha256sum | cut -c1-12)/opa-eval

$(OPA_EVAL): $(OPA_EVAL_SRC)
	@command -v go >/dev/null 2>&1 || { echo "need Go to build OPA's evaluator for make bench" >&2; exit 1; }
	@grep -qx 'require github.com/open-policy-agent/opa $(OPA_VERSION)' bench/peers/opa-eval/go.mod || { echo "bench/peers/opa-eval/go.mod must require opa $(OPA_VERSION)" >&2; exit 1; }
	@echo "building OPA's Go evaluator ($(OPA_VERSION)) from the Go module proxy (once)"
	@mkdir -p $(dir $@)
	cd bench/peers/opa-eval && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -o $@ .

opa-eval: $(OPA_EVAL)

# `make interop`'s clients, pinned by the committed lock files and installed into .tools once per
# version of those files (the folder is named by their digest, so changed pins install afresh).
INTEROP_PY_LOCK := test/interop/python/requirements.lock
INTEROP_VENV    := $(TOOLS_DIR)/interop-py-$(shell cat $(INTEROP_PY_LOCK) | sha256sum | cut -c1-12)
INTEROP_PY_STAMP := $(INTEROP_VENV)/.installed
INTEROP_GO_SRC  := test/interop/go/go.mod test/interop/go/go.sum test/interop/go/main.go
INTEROP_GO      := $(TOOLS_DIR)/interop-go-$(shell cat $(INTEROP_GO_SRC) | sha256sum | cut -c1-12)/interop

# A stamp, not bin/python: that is a link to an interpreter older than any lock file.
$(INTEROP_PY_STAMP): $(INTEROP_PY_LOCK)
	@echo "installing the Python OFREP provider from PyPI (once)"
	@rm -rf $(INTEROP_VENV) && python3 -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r $(INTEROP_PY_LOCK)
	@touch $@

$(INTEROP_GO): $(INTEROP_GO_SRC)
	@echo "building the Go OFREP provider client from the Go module proxy (once)"
	@mkdir -p $(dir $@)
	cd test/interop/go && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -o $@ .

# Not part of `make test`: it needs Python, Go and the flagd build (see docs/services.md, "Interop").
interop: build $(FLAGD) $(INTEROP_PY_STAMP) $(INTEROP_GO)
	SWITCHYARD_INTEROP_PYTHON=$(INTEROP_VENV)/bin/python SWITCHYARD_INTEROP_GO=$(INTEROP_GO) SWITCHYARD_INTEROP_FLAGD=$(FLAGD) \
	  npx vitest run --config vitest.interop.config.ts

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

# The checks are single-threaded (tsc ~18 s, the console's tsc ~3 s, lint ~38 s of CPU): two at a
# time on CI's 2 cores, each one's output kept together (docs/testing.md, "Where make test spends
# its time"). Any failure stops `make test` before vitest, as before.
test: deps $(CHECK_STAMP) $(BUNDLE) $(DIST_STAMP) chromium
	@$(MAKE) --no-print-directory -j2 --output-sync=target typecheck-server typecheck-console lint
	npx vitest run

# The console (src/console/static) is plain ES modules with `// @ts-check` and JSDoc types:
# tsconfig.console.json checks them with the DOM library, as tsconfig.json checks the server.
typecheck: typecheck-server typecheck-console

typecheck-server: $(NODE_STAMP)
	npx tsc -p tsconfig.json

typecheck-console: $(NODE_STAMP)
	npx tsc -p tsconfig.console.json

# Type-aware ESLint with the promise rules only (eslint.config.mjs): a forgotten `await` compiles.
# No --cache: a file's findings depend on the types of the files it imports.
lint: $(NODE_STAMP)
	npx eslint --max-warnings 0 src test bench

# Not part of `make test`: StrykerJS on the modules where a silent bug costs most, one run per
# group (stryker.config.mjs lists them and the test files each runs). Reports in reports/mutation/.
MUTATION_MODULES := evaluation audit layers lifecycle policy cache access
MODULES ?= $(MUTATION_MODULES)
mutation: deps $(CHECK_STAMP) $(BUNDLE) $(DIST_STAMP)
	@for m in $(subst $(COMMA), ,$(MODULES)); do \
	  echo "== mutation: $$m"; \
	  start=$$(date +%s); \
	  STRYKER_MODULE=$$m npx stryker run stryker.config.mjs; \
	  echo "== mutation: $$m took $$(( $$(date +%s) - start )) s"; \
	done
	@node scripts/mutation-table.mjs $(subst $(COMMA), ,$(MODULES))

bench: build $(FLAGD) $(OPA_EVAL)
	SWITCHYARD_BENCH_FLAGD=$(FLAGD) SWITCHYARD_BENCH_OPA_EVAL=$(OPA_EVAL) node dist/bench/run.js

policy-publish: $(BUNDLE)
	@test -n "$${SWITCHYARD_TOKEN:-}" || { echo "set SWITCHYARD_TOKEN to a governance or admin token" >&2; exit 1; }
	curl -sS --fail-with-body -X PUT "$${SWITCHYARD_URL:-http://127.0.0.1:8080}/v1/policy" \
	  -H "Authorization: Bearer $$SWITCHYARD_TOKEN" -H 'Content-Type: application/gzip' --data-binary @$(BUNDLE)
	@echo

clean:
	rm -rf dist build

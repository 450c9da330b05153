# remedy — the two commands a fresh machine needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
FAULTS_VENV := .venv-faults
CHECKOV_VENV := .venv-checkov
CARGO ?= cargo

.PHONY: demo test venv faults-venv checkov-venv bench-venv bench bench-regions bench-history bench-latency build lint release release-check bench-runtime clean-venv

## The pinned emulator and template linter, in .venv (created if missing or outdated).
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## The fault-injection proxy (mitmproxy), in its own venv (see requirements-faults.txt).
faults-venv: $(FAULTS_VENV)/.installed
$(FAULTS_VENV)/.installed: requirements-faults.txt
	test -x $(FAULTS_VENV)/bin/python || $(PYTHON) -m venv $(FAULTS_VENV)
	$(FAULTS_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-faults.txt
	touch $@

## checkov, in its own venv (see requirements-checkov.txt).
checkov-venv: $(CHECKOV_VENV)/.installed
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

build:
	$(CARGO) build --bins --examples

## Seed an emulated organization and roll the dev stage out to it, with progress bars.
demo: venv build
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./demo.sh

## The whole suite: unit tests, integration tests against the emulator, template lint.
test: venv faults-venv
	PATH="$(CURDIR)/$(VENV)/bin:$(CURDIR)/$(FAULTS_VENV)/bin:$$PATH" $(CARGO) test --workspace --all-targets
	$(MAKE) lint

## cfn-lint and checkov over every template in stacks/ and pipeline/, and the rendered
## member template (accepted checkov findings: tests/checkov-skips.txt).
lint: venv checkov-venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CHECKOV="$(CURDIR)/$(CHECKOV_VENV)/bin/checkov" ./tests/support/lint-templates.sh

## The release zip (README.md, "Install"): dist/remedy-<version>-<arch>-linux.zip with the
## release binary, its man page remedy.1, shell completions, the bootstrap stack, the example
## configuration and the docs.
release:
	$(CARGO) build --release --bin remedy
	./tests/support/release.sh

## The artifacts as shipped: the release zip (man page, completions), and the Lambda zip
## under 20 MB needing glibc <= 2.34.
release-check: release
	./tests/support/release-check.sh

## The awscli of the hand-written loop `make bench` compares with, in its own venv.
bench-venv: .venv-bench/.installed
.venv-bench/.installed: requirements-bench.txt
	test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

## remedy beside the hand-written loop and the emulator's ceiling (BENCHMARKS.md); not part
## of `make test`. BENCH_ARGS, e.g. --accounts 100,500 --loop-sample 10, narrows it.
bench: venv faults-venv bench-venv
	$(CARGO) build --release --bin remedy --example testbed
	PATH="$(CURDIR)/$(VENV)/bin:$(CURDIR)/$(FAULTS_VENV)/bin:$$PATH" $(VENV)/bin/python bench/bench.py \
		--remedy $${CARGO_TARGET_DIR:-target}/release/remedy --aws $(CURDIR)/.venv-bench/bin/aws $(BENCH_ARGS)

## One stack per account against a stack per region (BENCHMARKS.md): 1,000 accounts covering
## three regions, BEFORE (an earlier release binary) and this one, in one run.
bench-regions: venv faults-venv bench-venv
	test -n "$(BEFORE)" || { echo "BEFORE=<path to an earlier remedy release binary>"; exit 2; }
	$(CARGO) build --release --bin remedy --example testbed
	PATH="$(CURDIR)/$(VENV)/bin:$(CURDIR)/$(FAULTS_VENV)/bin:$$PATH" $(VENV)/bin/python bench/bench.py \
		--remedy $${CARGO_TARGET_DIR:-target}/release/remedy --before $(BEFORE) --accounts 1000 \
		--out bench/regions.json $(BENCH_ARGS)

## `remedy history` over 1,000 accounts x 100 ledger records each (BENCHMARKS.md): wall time,
## calls per account, peak RSS, the JSON checked against what was seeded. BENCH_ARGS, e.g.
## --accounts 100 --concurrency default, narrows it.
bench-history: venv
	$(CARGO) build --release --bin remedy --example testbed
	$(VENV)/bin/python bench/history.py --remedy $${CARGO_TARGET_DIR:-target}/release/remedy $(BENCH_ARGS)

## Rollouts at CloudFormation's speed (BENCHMARKS.md): 1,000 accounts at concurrency 64 and
## 256, 10 % throttling, 5,000 accounts for memory, through the latency model
## (tests/faults/latency.py). About 45 minutes, half of it the 5,000-account run (the emulator
## slows with that many stacks). BENCH_ARGS, e.g. --accounts 200 --scenarios first-64.
bench-latency: venv faults-venv
	$(CARGO) build --release --bin remedy --example testbed
	PATH="$(CURDIR)/$(VENV)/bin:$(CURDIR)/$(FAULTS_VENV)/bin:$$PATH" $(VENV)/bin/python bench/latency.py \
		--remedy $${CARGO_TARGET_DIR:-target}/release/remedy $(BENCH_ARGS)

## The runtime's numbers (BENCHMARKS.md): decision time, package size, cold start. Release build.
bench-runtime:
	$(CARGO) build --release --bin remedy --example bench_runtime
	$${CARGO_TARGET_DIR:-target}/release/examples/bench_runtime $${CARGO_TARGET_DIR:-target}/release/remedy

clean-venv:
	rm -rf $(VENV)

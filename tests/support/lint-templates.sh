#!/usr/bin/env bash
# cfn-lint over every template in stacks/ and pipeline/, and over the member template as
# `remedy template` renders it with every catalog rule enabled. Run by `make lint` / `make test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${CARGO_TARGET_DIR:-target}/debug/remedy"
[ -x "$bin" ] || cargo build --quiet --bin remedy
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/remedy.yaml" <<'YAML'
stages:
  - name: lint
    targets: {accounts: ["111111111111"]}
rules:
  "*": remediate
YAML
"$bin" --config "$work/remedy.yaml" template --stage lint > "$work/remediation-rendered.yaml"
templates=(stacks/*.yaml "$work/remediation-rendered.yaml")
shopt -s nullglob
for t in pipeline/*.yaml; do
  case "$t" in *buildspec*) ;; *) templates+=("$t") ;; esac
done
echo "cfn-lint ${templates[*]}"
cfn-lint --format parseable -- "${templates[@]}"
echo "cfn-lint: ${#templates[@]} templates clean"

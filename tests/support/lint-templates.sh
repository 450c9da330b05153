#!/usr/bin/env bash
# cfn-lint and checkov over every template in stacks/ and pipeline/, and over the member
# template as `remedy template` renders it with every catalog rule enabled. Run by `make lint`
# / `make test`. Accepted checkov findings: tests/checkov-skips.txt.
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

# checkov, with the accepted findings of tests/checkov-skips.txt (one line of reason each).
checkov="${CHECKOV:-checkov}"
skips=$(grep -v '^#' tests/checkov-skips.txt | awk 'NF {print $1}' | paste -sd, -)
files=()
for t in "${templates[@]}"; do files+=(-f "$t"); done
echo "checkov ${templates[*]} (skipping ${skips})"
BC_SKIP_MAPPING=TRUE "$checkov" --quiet --compact --skip-download --framework cloudformation --skip-check "$skips" "${files[@]}" 2> >(grep -v "is not a valid json" >&2)
echo "checkov: ${#templates[@]} templates clean"

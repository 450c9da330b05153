#!/usr/bin/env bash
# cfn-lint and checkov over every template in stacks/ and pipeline/, and over the member
# template as `remedy template` renders it with every catalog rule enabled; then the IAM checks
# real AWS needs and the emulator does not make: CloudFormation's handler permissions against
# the roles that deploy each stack (tests/support/check_handler_permissions.py) and parliament
# over every policy (tests/support/lint_policies.py). Run by `make lint` / `make test`.
# Accepted findings: tests/checkov-skips.txt, tests/handler-permission-skips.txt,
# tests/parliament-skips.txt (one reason a line).
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
  # A grace period: the orchestrator's SendMessage (and data key) statements are linted too.
  S3-001: {mode: remediate, grace: 10m}
YAML
# An exception that names tags: the Exceptions parameter and tag:GetResources are linted too;
# a notification topic: the alarms' actions and the key policy that lets them use the key.
cat >> "$work/remedy.yaml" <<YAML
notifications:
  topics:
    - {name: lint, risk_levels: [EXTREME]}
exceptions:
  - {id: lint, rules: [S3-001], tags: {team: web}, reason: Lint, owner: lint@example.com, expires: $(date -u -d '+30 days' +%F)}
YAML
"$bin" --config "$work/remedy.yaml" template --stage lint > "$work/remediation-rendered.yaml"
# The same with `encryption: aws-managed` (no key; SSE-SQS queues): linted and checked for
# handler permissions too, not checkov (its unencrypted topics are the documented trade-off).
{ echo "encryption: aws-managed"; cat "$work/remedy.yaml"; } > "$work/remedy-aws-managed.yaml"
"$bin" --config "$work/remedy-aws-managed.yaml" template --stage lint > "$work/remediation-aws-managed.yaml"
templates=(stacks/*.yaml "$work/remediation-rendered.yaml")
shopt -s nullglob
for t in pipeline/*.yaml; do
  case "$t" in *buildspec*) ;; *) templates+=("$t") ;; esac
done
echo "cfn-lint ${templates[*]}"
cfn-lint --format parseable -- "${templates[@]}" "$work/remediation-aws-managed.yaml"
echo "cfn-lint: $((${#templates[@]} + 1)) templates clean"

# checkov, with the accepted findings of tests/checkov-skips.txt (one line of reason each).
checkov="${CHECKOV:-checkov}"
skips=$(grep -v '^#' tests/checkov-skips.txt | awk 'NF {print $1}' | paste -sd, -)
files=()
for t in "${templates[@]}"; do files+=(-f "$t"); done
echo "checkov ${templates[*]} (skipping ${skips})"
BC_SKIP_MAPPING=TRUE "$checkov" --quiet --compact --skip-download --framework cloudformation --skip-check "$skips" "${files[@]}" 2> >(grep -v "is not a valid json" >&2)
echo "checkov: ${#templates[@]} templates clean"

# The dev venv's python (cfn-lint's resource provider schemas, parliament); `make lint` puts it
# first on PATH.
py=.venv/bin/python
[ -x "$py" ] || py=python3

# CloudFormation's handler permissions: the member stack is made by the execution role
# (DeployPolicy), the artifact stack by the pipeline's build role with its own credentials.
for rendered in "$work/remediation-rendered.yaml" "$work/remediation-aws-managed.yaml"; do
  "$py" tests/support/check_handler_permissions.py --template "$rendered" \
    --policy-template stacks/account-bootstrap.yaml --role StackExecutionRole
done
"$py" tests/support/check_handler_permissions.py --template stacks/artifacts.yaml \
  --stack-name remedy-artifacts --handlers create,update,delete \
  --policy-template pipeline/pipeline.yaml --role BuildRole

# parliament over every policy document of every template (the rendered rule roles among them).
"$py" tests/support/lint_policies.py "${templates[@]}"

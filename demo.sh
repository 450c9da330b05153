#!/usr/bin/env bash
# `make demo`: start the emulator, seed an organization, roll out dev → staging → prod
# through the approval gates with progress bars, plan, status and the Markdown report, then
# stop the emulator. Everything stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")"
target="${CARGO_TARGET_DIR:-target}/debug"
port="${DEMO_PORT:-5123}"
mkdir -p demo

echo "==> starting the emulator (moto) on 127.0.0.1:$port"
python tests/support/moto_launcher.py -H 127.0.0.1 -p "$port" > demo/emulator.log 2>&1 &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true' EXIT

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_EC2_METADATA_DISABLED=true

echo "==> seeding an organization"
"$target/examples/testbed" seed --endpoint "$AWS_ENDPOINT_URL"
# The emulator stores Lambda code but never runs it: a stub package keeps it small.
# (`remedy package` writes the real one: this binary as `bootstrap`.)
"$target/examples/testbed" stub-package demo/package.zip

cat > demo/remedy.yaml <<'YAML'
# The demo's configuration: docs/configuration.md has every key. (The test bed names
# remedy's role CloudConformity, the default; in a real organization give it another name.)
stack_name: remedy
package: package.zip
regions: [us-east-1]
role:
  name: CloudConformity
  external_id: demo-external-id
stages:
  - name: dev
    targets:
      ous: [/Workloads/Dev]
    concurrency: 16
  - name: staging
    approval: true
    targets: {ous: [/Workloads/Staging]}
  - name: prod
    approval: true
    targets: {ous: [/Workloads/Prod]}
    failure_tolerance: 1
rules:
  S3-001: remediate
  EC2-002: remediate
  KMS-002: {mode: remediate}
  "*": dry-run
YAML

remedy() { "$target/remedy" --config demo/remedy.yaml "$@"; }

echo; echo "==> remedy accounts --stage dev"
remedy accounts --stage dev
echo; echo "==> remedy rollout --yes   (no one to approve the staging gate: it stops there, exit 3)"
remedy rollout --yes --report demo/rollout.md < /dev/null || echo "(exit $?)"
echo; echo "==> remedy deploy --stage dev   (again: nothing changed, so nothing is touched)"
remedy deploy --stage dev --yes
echo; echo "==> remedy plan --stage staging   (what the gate would let through)"
remedy plan --stage staging
echo; echo "==> remedy rollout --approve staging --approve prod"
remedy rollout --approve staging --approve prod --report demo/rollout.md < /dev/null || echo "(exit $?)"
echo; echo "==> remedy status --stage prod"
remedy status --stage prod
echo; echo "==> demo/rollout.md (the --report of the last rollout)"
cat demo/rollout.md
echo; echo "==> done; the emulator stops now (its log: demo/emulator.log)"

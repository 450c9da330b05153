#!/usr/bin/env bash
# The Lambda artifact as shipped: the release binary zipped by `remedy package` stays under
# 20 MB, and needs no glibc newer than Lambda's provided.al2023 (2.34).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${CARGO_TARGET_DIR:-target}/release/remedy"
out="${CARGO_TARGET_DIR:-target}/release/remedy-lambda.zip"
"$bin" package --out "$out"
size=$(stat -c %s "$out")
glibc=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1)
echo "release binary: $(stat -c %s "$bin") bytes; package: $size bytes; newest glibc symbol: $glibc"
if [ "$size" -ge $((20 * 1024 * 1024)) ]; then
  echo "the package is over 20 MB" >&2
  exit 1
fi
if [ "$(printf '%s\n%s\n' "$glibc" GLIBC_2.34 | sort -V | tail -1)" != GLIBC_2.34 ]; then
  echo "$glibc is newer than provided.al2023's glibc 2.34" >&2
  exit 1
fi

#!/usr/bin/env bash
# The artifacts as shipped (after `make release`): the release zip holds the binary, a man
# page that renders with every command, and completions; the release binary zipped by
# `remedy package` stays under 20 MB, and needs no glibc newer than Lambda's
# provided.al2023 (2.34).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${CARGO_TARGET_DIR:-target}/release/remedy"

version=$("$bin" --version | awk '{print $2}')
release="dist/remedy-${version}-$(uname -m)-linux.zip"
fail() { echo "$release: $*" >&2; exit 1; }
[ -f "$release" ] || fail "missing (make release writes it)"
listing=$(unzip -Z1 "$release")
name="remedy-${version}-$(uname -m)-linux"
for file in remedy remedy.1 completions/remedy.bash completions/_remedy completions/remedy.fish \
  completions/remedy.ps1 stacks/account-bootstrap.yaml examples/remedy.yaml README.md docs/configuration.md; do
  grep -qx "$name/$file" <<<"$listing" || fail "lacks $file"
done
page=$(unzip -p "$release" "$name/remedy.1")
# roff: the title request before any section (clap_mangen puts two string definitions first).
first=$(grep -m1 -E '^\.(TH|SH)' <<<"$page" || true)
[[ "$first" == .TH\ remedy\ 1* ]] || fail "remedy.1 does not start with .TH (first request: $first)"
if command -v man >/dev/null; then
  rendered=$(MANWIDTH=100 man -l - <<<"$page" 2>/dev/null | col -b 2>/dev/null || true)
elif command -v groff >/dev/null; then
  rendered=$(groff -man -Tutf8 <<<"$page" 2>/dev/null || true)
else
  rendered=""
  echo "no man or groff: remedy.1 checked as text only"
fi
if [ -n "${rendered}" ] || command -v man >/dev/null || command -v groff >/dev/null; then
  for heading in "REMEDY DEPLOY" "REMEDY ROLLOUT" "REMEDY COMPLETIONS" "EXAMPLES"; do
    grep -q "$heading" <<<"$rendered" || fail "remedy.1 renders without $heading"
  done
fi
unzip -p "$release" "$name/completions/remedy.bash" | grep -q "remedy" || fail "empty bash completions"
cmp -s <(unzip -p "$release" "$name/remedy") "$bin" || fail "holds another binary than $bin"
echo "release zip: $release ($(stat -c %s "$release") bytes); $("$bin" --version)"
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

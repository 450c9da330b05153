#!/usr/bin/env bash
# `make release`: the release zip of the binary `cargo build --release` made, in dist/:
# remedy-<version>-<arch>-linux.zip holding remedy, its man page remedy.1 (`remedy manpage`),
# completions for bash, zsh, fish and PowerShell, the member-account bootstrap stack, the
# example configuration and the docs. Prints the zip's path.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${CARGO_TARGET_DIR:-target}/release/remedy"
version=$("$bin" --version | awk '{print $2}')
name="remedy-${version}-$(uname -m)-linux"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/completions" "$root/stacks" "$root/docs" "$root/examples"
cp "$bin" "$root/remedy"
"$bin" manpage > "$root/remedy.1"
"$bin" completions bash > "$root/completions/remedy.bash"
"$bin" completions zsh > "$root/completions/_remedy"
"$bin" completions fish > "$root/completions/remedy.fish"
"$bin" completions powershell > "$root/completions/remedy.ps1"
cp stacks/account-bootstrap.yaml "$root/stacks/"
cp examples/remedy.yaml "$root/examples/"
cp docs/configuration.md "$root/docs/"
cp README.md "$root/"
mkdir -p dist
rm -f "dist/$name.zip"
(cd "$stage" && zip -qr "$OLDPWD/dist/$name.zip" "$name")
echo "dist/$name.zip"

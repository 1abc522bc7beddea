#!/usr/bin/env bash
# Refreshes the GraphiQL page's vendored assets from their npm packages.
#
# Every file in this folder but this script is written here, never by hand:
# each comes unchanged out of a published package's tarball (`npm pack`,
# which checks the tarball against the registry's integrity hash), with the
# package's LICENSE beside it, and `manifest.tsv` records where each came
# from and its SHA-256 (a test checks the bytes the gateway embeds against
# it). To move to other versions, change the pins below and run this script,
# then `cargo test graphiql` (the browser test shows whether GraphiQL still
# starts with the page's bootstrap, `../boot.js`).
#
# Needs npm and sha256sum. Usage: src/http/graphiql/vendor/refresh.sh
set -euo pipefail

# The pins: package, exact version, files taken from the tarball. React 18
# is the last React with browser (UMD) builds, and GraphiQL 4 the last major
# that ships one (graphiql.min.js expects the globals React and ReactDOM).
PACKAGES=(
  "react 18.3.1 package/umd/react.production.min.js"
  "react-dom 18.3.1 package/umd/react-dom.production.min.js"
  "graphiql 4.1.2 package/graphiql.min.js package/graphiql.min.css"
)

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

rows=()
for entry in "${PACKAGES[@]}"; do
  read -r name version files <<<"$entry"
  echo "== $name@$version"
  pack="$work/$name"
  mkdir -p "$pack"
  # `npm pack --json` prints the tarball's name and its integrity hash.
  meta="$(cd "$pack" && npm pack --silent --json "$name@$version")"
  tarball="$(node -e 'const m = JSON.parse(process.argv[1])[0]; console.log(m.filename)' "$meta")"
  integrity="$(node -e 'const m = JSON.parse(process.argv[1])[0]; console.log(m.integrity)' "$meta")"
  tar -xzf "$pack/$tarball" -C "$pack"
  rm -rf "${here:?}/$name"
  mkdir -p "$here/$name"
  for source in package/LICENSE $files; do
    target="$name/$(basename "$source")"
    cp "$pack/$source" "$here/$target"
    sum="$(sha256sum "$here/$target" | cut -d' ' -f1)"
    rows+=("$target	$name@$version	$source	$sum	$integrity")
  done
done

{
  echo "# Written by refresh.sh from the npm packages' tarballs; never edited by hand."
  echo "# file	package@version	path in the tarball	sha256	tarball integrity"
  printf '%s\n' "${rows[@]}"
} >"$here/manifest.tsv"
echo "wrote $here/manifest.tsv"

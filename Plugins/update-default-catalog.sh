#!/usr/bin/env bash
# Copies the package's catalog.json into Sources/Catalog/DefaultCatalog.swift, the copy that
# metanas carries so that it works from any folder. Run it after editing catalog.json
# (DefaultCatalogTests fails until the two agree).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if grep -q '"""#' "$root/catalog.json"; then
    echo "catalog.json must not contain the text \"\"\"# (it ends the Swift string literal)" >&2
    exit 1
fi
{
    cat <<'HEADER'
/// The catalog compiled into metanas: a byte-for-byte copy of the package's `catalog.json`,
/// written by `Plugins/update-default-catalog.sh` (`DefaultCatalogTests` fails when they differ).
enum DefaultCatalog {
    /// The name used in messages about it.
    static let source = "catalog.json (built in)"

    static let text = #"""
HEADER
    cat "$root/catalog.json"
    printf '\n"""#\n}\n'
} > "$root/Sources/Catalog/DefaultCatalog.swift"
echo "updated Sources/Catalog/DefaultCatalog.swift"

#!/usr/bin/env bash
# Builds the operation plugin in this folder (every .swift file here) as a shared library for
# one build of metanas. The library is compiled against that build's module interfaces and does
# NOT link Engine, NN, SearchSpace or Catalog: metanas exports them (--export-dynamic) and the
# dynamic linker binds the plugin to them when it is loaded, so both share one copy of each type.
#
# Usage: build.sh [-c debug|release] [--package DIR] [--scratch-path DIR] [--bin-path DIR] [-o FILE]
#   -c, --configuration   the metanas build to match (default debug)
#   --package DIR         the MetaNAS package (default: two folders up, as in Plugins/ExampleOperation)
#   --scratch-path DIR    the build folder given to `swift build` (default: PACKAGE/.build)
#   --bin-path DIR        the build's products folder, holding Modules/ (default: SCRATCH/CONFIGURATION)
#   -o, --output FILE     the library to write (default: .build/lib$name.so in this folder, where
#                         catalog.json in this folder expects it)
# When you copy this folder for an operation of your own, change `name` below: it names the
# Swift module and the library, and must differ between plugins loaded together.
# Build metanas first (`swift build [-c release]`), and rebuild the plugin whenever metanas is
# rebuilt: Swift gives these modules no stable binary interface.
set -euo pipefail
name=GatedConv
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
configuration=debug
scratch=""
output="$here/.build/lib$name.so"
bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        -c|--configuration) configuration="$2"; shift 2 ;;
        --package) root="$(cd "$2" && pwd)"; shift 2 ;;
        --scratch-path) scratch="$2"; shift 2 ;;
        --bin-path) bin="$2"; shift 2 ;;
        -o|--output) output="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$configuration" in debug|release) ;; *) echo "build.sh: -c must be debug or release" >&2; exit 2 ;; esac
if [ ! -f "$root/Package.swift" ] || [ ! -d "$root/Sources/Catalog" ]; then
    echo "build.sh: $root is not the MetaNAS package; pass --package DIR" >&2
    exit 2
fi
scratch="${scratch:-$root/.build}"
bin="${bin:-$scratch/$configuration}"
modules="$bin/Modules"
if [ ! -f "$modules/Catalog.swiftmodule" ]; then
    echo "build.sh: no metanas build in $bin; run: swift build --scratch-path '$scratch' -c $configuration" >&2
    exit 1
fi
swiftc="${SWIFTC:-$(command -v swiftc || true)}"
if [ -z "$swiftc" ]; then echo "build.sh: swiftc not found (put the Swift toolchain on PATH or set SWIFTC)" >&2; exit 1; fi

# The C modules the Swift modules import, as SwiftPM passes them.
cflags=()
for m in CJSON COpenBLAS CArchive CSPNG; do cflags+=(-Xcc "-fmodule-map-file=$root/Sources/$m/module.modulemap"); done
cflags+=(-Xcc "-fmodule-map-file=$root/Sources/CKernels/include/module.modulemap")
for inc in $(pkg-config --cflags-only-I openblas json-c libarchive spng 2>/dev/null || true); do cflags+=("$inc"); done

mkdir -p "$(dirname "$output")"
temporary="$output.$$.tmp"
trap 'rm -f "$temporary"' EXIT
sources=("$here"/*.swift)
"$swiftc" -emit-library -parse-as-library -module-name "$name" -swift-version 6 \
    -O -target-cpu haswell -enforce-exclusivity=unchecked \
    -I "$modules" -module-cache-path "$(dirname "$output")/ModuleCache" "${cflags[@]}" \
    "${sources[@]}" -o "$temporary"
mv -f "$temporary" "$output"
echo "built $output"

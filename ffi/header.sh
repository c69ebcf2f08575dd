#!/usr/bin/env bash
# Writes include/iotadm.h from the crate with cbindgen, or with --check, fails when the
# checked-in header differs from a fresh one, then compiles it as C99 and C++17 with every
# warning an error. The header's text depends on the cbindgen version: CBINDGEN_VERSION.
set -euo pipefail
cd "$(dirname "$0")"

CBINDGEN_VERSION=0.29.4
if ! cbindgen --version 2>/dev/null | grep -qx "cbindgen $CBINDGEN_VERSION"; then
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked
fi

generate() {
    # cbindgen warns about every private item it skips; its errors still fail the script.
    cbindgen --quiet --config cbindgen.toml --crate iotadm-ffi --output "$1"
    # The library's limits as macros, with the values of the IOTADM_* settings in effect
    # (the same as the library's build, when both run in one environment). They follow
    # the standard includes.
    local limits
    limits="$(mktemp)"
    {
        printf '\n/* The build'"'"'s limits (iotadm::limits; set by the IOTADM_* variables). */\n'
        cargo run --quiet --manifest-path ../Cargo.toml -p iotadm-host --bin iotadm -- limits --c
    } >"$limits"
    awk -v file="$limits" '{ print } /^#include <stdint.h>$/ { while ((getline line < file) > 0) print line }' \
        "$1" >"$1.tmp"
    mv "$1.tmp" "$1"
    rm -f "$limits"
}

case "${1:-}" in
    --check)
        fresh="$(mktemp -d)"
        trap 'rm -rf "$fresh"' EXIT
        generate "$fresh/iotadm.h"
        if ! diff -u include/iotadm.h "$fresh/iotadm.h"; then
            echo "ffi/include/iotadm.h is stale: run ffi/header.sh and commit the result" >&2
            exit 1
        fi
        printf '#include "iotadm.h"\n' >"$fresh/use.c"
        gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -fsyntax-only "$fresh/use.c"
        cp "$fresh/use.c" "$fresh/use.cpp"
        g++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude -fsyntax-only "$fresh/use.cpp"
        echo "include/iotadm.h is fresh and compiles as C99 and C++17"
        ;;
    "")
        generate include/iotadm.h
        echo "wrote include/iotadm.h"
        ;;
    *)
        echo "usage: $0 [--check]" >&2
        exit 2
        ;;
esac

#!/usr/bin/env bash
# What each optional feature of iotadm costs in flash: builds the QEMU example
# (examples/qemu-cortex-m, release: opt-level "z", LTO) once for the handset profile it
# links and once more per feature added to it, and prints a Markdown table of the image's
# flash (.vector_table + .text + .rodata, as tests/qemu.rs counts it) and each delta.
# The whole image is measured, not a share by symbol: string tables and other constants
# without a symbol belong to whichever feature brought them in.
#
# Usage: ./scripts/size-features.sh        (about a minute per build on two cores)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v arm-none-eabi-size >/dev/null || {
    echo "arm-none-eabi-size is missing (Debian: binutils-arm-none-eabi)" >&2
    exit 1
}

example=examples/qemu-cortex-m
target_dir=$PWD/target/size-features

# The features the profile leaves out, each measured on top of it: iotadm's, or the
# example's own where the image needs code for it (fumo-url: a downloader).
extras=(iotadm/ddf-descriptions iotadm/auth-basic fumo-url)

flash() {
    arm-none-eabi-size -A "$1" |
        awk '$1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { s += $2 } END { print s }'
}

build() {
    (cd "$example" && cargo build --quiet --release --bin iotadm-qemu --target-dir "$target_dir" ${1:+--features "$1"})
    flash "$target_dir/thumbv7em-none-eabihf/release/iotadm-qemu"
}

profile=$(build "")
echo "| build | image flash | change |"
echo "|---|---:|---:|"
echo "| handset profile (the example's features) | $profile | |"
for feature in "${extras[@]}"; do
    size=$(build "$feature")
    printf '| profile + `%s` | %s | %+d |\n' "${feature#iotadm/}" "$size" "$((size - profile))"
done

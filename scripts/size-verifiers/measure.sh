#!/usr/bin/env bash
# Flash of one signature verification per candidate crate on thumbv7em-none-eabihf
# (opt-level "z", LTO, one codegen unit, panic abort): builds this crate once with no
# verifier and once per feature, runs each build under QEMU (exit 0: the good signature
# verifies and a damaged one does not), and prints a Markdown table of the image's flash
# (.vector_table + .text + .rodata) and the crate's share (the difference from the build
# without a verifier). Also lists what each build duplicates (`cargo tree -d`). A build that
# verified is built again with the `stack` feature and run for its verification's peak
# stack (bytes, the larger of the good and the damaged signature's; see src/main.rs).
#
# Usage: scripts/size-verifiers/measure.sh [FEATURE...]
# Needs arm-none-eabi-size (Debian: binutils-arm-none-eabi) and, to run, qemu-system-arm.
set -euo pipefail
cd "$(dirname "$0")"
features=("$@")
[ ${#features[@]} -gt 0 ] || features=(ed25519-dalek ed25519-dalek-2 ed25519-compact ed25519-compact-opt-size salty
    p256 "p256 raw" p256-0-13 "p256-0-13 raw" p256-cm4)
elf=target/thumbv7em-none-eabihf/release/size-verifiers

flash() {
    arm-none-eabi-size -A "$elf" |
        awk '$1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { s += $2 } END { print s }'
}

qemu() {
    timeout 30 qemu-system-arm -machine mps2-an386 -display none -monitor none \
        -semihosting-config enable=on,target=native -kernel "$elf"
}

build() {
    cargo build --quiet --release ${1:+--features "$1"} 2>/dev/null
    local size
    size=$(flash)
    local ran="not run" stack="-" out
    if command -v qemu-system-arm >/dev/null; then
        if qemu; then
            ran=verified
            cargo build --quiet --release --features "${1:+$1 }stack" 2>/dev/null
            if out=$(qemu); then
                stack=$(sed -n 's/^stack //p' <<<"$out")
            fi
        else
            ran=FAILED
        fi
    fi
    echo "$size $ran $stack"
}

# Crates the build without a verifier already has twice (cortex-m's own) are left out.
dups() {
    cargo tree -d -e normal --target thumbv7em-none-eabihf ${1:+--features "$1"} 2>/dev/null |
        awk '/^[a-z]/ { print $1 " " $2 }' | sort -u
}
base_dups=$(dups "")
read -r base base_ran base_stack < <(build "")
echo "| crate (feature) | image flash | crate share | verify stack | under QEMU | duplicates |"
echo "|---|---:|---:|---:|---|---|"
echo "| none | $base | | $base_stack | $base_ran | |"
for f in "${features[@]}"; do
    read -r size ran stack < <(build "$f")
    new_dups=$(comm -13 <(echo "$base_dups") <(dups "$f") | paste -sd, - | sed 's/,/, /g')
    echo "| $f | $size | $((size - base)) | $stack | $ran | ${new_dups:-none} |"
done

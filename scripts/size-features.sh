#!/usr/bin/env bash
# What each optional feature of iotadm costs in flash: builds the QEMU example
# (examples/qemu-cortex-m, release: opt-level "z", LTO) for the handset profile it links,
# once more per default feature the profile leaves out (added to the profile), and once
# with every feature, and prints a Markdown table of the image's flash
# (.vector_table + .text + .rodata, as tests/qemu.rs counts it) and each delta. The whole
# image is measured, not a share by symbol: string tables and other constants without a
# symbol belong to whichever feature brought them in. Then the profile image by module
# (scripts/size-by-module.py), where the parts in the profile show what they cost.
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

# The default features the profile leaves out, each measured on top of it: as iotadm's,
# or as the example's own where the image needs code for it (fumo-url: a downloader).
mapfile -t extras < <(python3 - <<'PY'
import tomllib
default = tomllib.load(open("Cargo.toml", "rb"))["features"]["default"]
example = tomllib.load(open("examples/qemu-cortex-m/Cargo.toml", "rb"))
profile = example["dependencies"]["iotadm"].get("features", [])
own = example.get("features", {})
print("\n".join(f if f in own else f"iotadm/{f}" for f in default if f not in profile))
PY
)

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
echo "| handset profile (\`$(python3 scripts/profile-features.py)\`) | $profile | |"
for feature in "${extras[@]}"; do
    size=$(build "$feature")
    printf '| profile + `%s` | %s | %+d |\n' "${feature#iotadm/}" "$size" "$((size - profile))"
done
size=$(build all-features)
printf '| every feature (the default) | %s | %+d |\n' "$size" "$((size - profile))"

echo
echo "The profile image by module:"
echo
build "" >/dev/null
python3 scripts/size-by-module.py "$target_dir/thumbv7em-none-eabihf/release/iotadm-qemu" --depth 2 --top 40

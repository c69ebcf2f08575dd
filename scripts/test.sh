#!/usr/bin/env bash
# The test command: installs what the checks need on a fresh machine, then runs every
# check CI runs. Usage: ./scripts/test.sh   (FUZZ_SECONDS=60 by default per target)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# --- What the checks need -------------------------------------------------------------
# libwbxml: the interop tests. QEMU and the Arm binutils: the Cortex-M image tests
# (tests/qemu.rs), which build examples/qemu-cortex-m and measure it with nm and size. The C
# compilers: the C interface's header checks and host program (tests/c_api.rs). The Arm C
# compiler (no C library: the firmware links with -nostdlib) and make: the C firmware on
# QEMU (tests/qemu_c.rs), which builds examples/c-firmware. The openssl command: the
# certificates of the HTTPS tests (tests/common/certs.rs), made at test time.
apt_packages=(libwbxml2-utils qemu-system-arm binutils-arm-none-eabi gcc-arm-none-eabi make gcc g++ openssl)
missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

step "Rust targets and toolchains"
rustup target add thumbv7em-none-eabihf thumbv7m-none-eabi >/dev/null
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# The minimum supported Rust version, from the manifest: the MSRV check below builds with it.
msrv=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["package"]["rust-version"])')
rustup toolchain list | grep -q "^$msrv" || rustup toolchain install "$msrv" --profile minimal
rustup target add --toolchain "$msrv" thumbv7em-none-eabihf >/dev/null

step "Python peers: imgtool and detools (target/peers-venv)"
./scripts/peers-venv.sh >/dev/null

# --- Checks -------------------------------------------------------------------------------
step "cargo fmt --check"
cargo fmt --all -- --check

step "no import circle among the core's modules"
python3 scripts/module-deps.py

step "cargo clippy (all targets, all features)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo doc: every intra-doc link resolves, with and without the host features"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet --all-features

step "the code blocks of README.md, SECURITY.md and docs/*.md (Rust ones run as doctests below)"
python3 scripts/doc-blocks.py

step "MSRV: Rust $msrv checks the workspace (all targets, all features), the core for thumbv7em and the C interface"
CARGO_TARGET_DIR=target/msrv cargo "+$msrv" check --quiet --workspace --all-targets --all-features
CARGO_TARGET_DIR=target/msrv cargo "+$msrv" check --quiet --lib --no-default-features --target thumbv7em-none-eabihf
(cd ffi && CARGO_TARGET_DIR=../target/msrv cargo "+$msrv" check --quiet --all-targets)

step "cargo test (the workspace, all features; the libwbxml, QEMU and openssl peers are required)"
cargo test --workspace --all-features

step "the QEMU Cortex-M image: fmt and clippy"
(
    cd examples/qemu-cortex-m
    cargo fmt -- --check
    cargo clippy --release --bins -- -D warnings
)

step "the vendor example (examples/vendor-mo, its own workspace): fmt, clippy, firmware build, tests"
(
    cd examples/vendor-mo
    cargo fmt -- --check
    cargo clippy --all-targets -- -D warnings
    cargo build --target thumbv7em-none-eabihf
    cargo test
)

step "cargo publish --dry-run: every publishable crate packages and builds alone, without a warning"
cargo publish --workspace --dry-run --allow-dirty >target/publish.log 2>&1 || { tail -n 40 target/publish.log; exit 1; }
if grep '^warning' target/publish.log | grep -v 'aborting upload due to dry run'; then
    exit 1
fi

step "the demo (the README's main command)"
cargo run --quiet -p iotadm-host --example demo >target/demo.log 2>&1 || { tail -n 40 target/demo.log; exit 1; }
grep -E '^(report acknowledged|the server saw)' target/demo.log

step "no_std library for thumbv7em-none-eabihf, no default features"
cargo build --lib --no-default-features --target thumbv7em-none-eabihf
# Each optional feature on its own (the default has them all; the tests run with all).
for feature in $(python3 -c 'import tomllib; print(" ".join(tomllib.load(open("Cargo.toml", "rb"))["features"]["default"]))'); do
    cargo check --lib --no-default-features --features "$feature" --target thumbv7em-none-eabihf
done
cargo check --lib --no-default-features --features defmt --target thumbv7m-none-eabi
cargo check --lib --no-default-features --features log --target thumbv7em-none-eabihf
# The unit tests without the optional features, where each part left out answers with
# its status code (a manifest without the dev-dependency that would turn them on).
python3 scripts/lib-tests.py ""
# With the XML codec alone (the session tests that write the server's messages in XML,
# run against every other part left out), and with the handset profile of
# examples/qemu-cortex-m.
python3 scripts/lib-tests.py xml
python3 scripts/lib-tests.py "$(python3 scripts/profile-features.py)"

# The C interface is its own crate (not built by the steps above); tests/c_api.rs, run by
# `cargo test`, builds it for the host and runs the C host program against the test server.
step "C interface (ffi/): fmt, clippy, unit tests, the static library for thumbv7em-none-eabihf"
(
    cd ffi
    cargo fmt -- --check
    cargo clippy --all-targets -- -D warnings
    cargo test
    cargo build --release --target thumbv7em-none-eabihf
)

step "C interface: include/iotadm.h is fresh and compiles as C99 and C++17"
ffi/header.sh --check

step "fuzz smoke run, seeded from the real-message corpus"
corpus_dir="${IOTADM_CORPUS:-../shared/corpus/real}"
seconds="${FUZZ_SECONDS:-60}"
(
    cd fuzz
    cargo +nightly fuzz build
    mkdir -p target
    # One fuzzer a core: each target gets its full time on a core of its own.
    fuzz() {
        local target=$1 log="target/fuzz-$1.log"
        mkdir -p "corpus/$target"
        case "$target" in
            decode_xml) cp "../$corpus_dir"/*.xml "corpus/$target/" ;;
            decode_wbxml) cp "../$corpus_dir"/*.wbxml "corpus/$target/" ;;
            session) cp seeds/session/* "corpus/$target/" ;;
            *) cp "../$corpus_dir"/*.xml "../$corpus_dir"/*.wbxml "corpus/$target/" ;;
        esac
        cargo +nightly fuzz run "$target" "corpus/$target" -- \
            -max_total_time="$seconds" -timeout=10 -dict=syncml.dict -print_final_stats=1 >"$log" 2>&1
    }
    report() {
        local target=$1 status=$2 log="target/fuzz-$1.log"
        step "fuzz $target for ${seconds}s"
        if [ "$status" -ne 0 ]; then
            tail -n 60 "$log"
            echo "fuzz target $target failed; the crashing input is in fuzz/artifacts/$target/" >&2
            return 1
        fi
        grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log"
    }
    cores=$(nproc)
    set -- decode_xml decode_wbxml round_trip session
    while [ $# -gt 0 ]; do
        batch=()
        pids=()
        while [ $# -gt 0 ] && [ ${#batch[@]} -lt "$cores" ]; do
            fuzz "$1" &
            pids+=($!)
            batch+=("$1")
            shift
        done
        failed=0
        for i in "${!batch[@]}"; do
            status=0
            wait "${pids[$i]}" || status=$?
            report "${batch[$i]}" "$status" || failed=1
        done
        [ "$failed" -eq 0 ] || exit 1
    done
)

step "all checks passed"

#!/usr/bin/env bash
# Mutation testing of the protocol rules (cargo-mutants): each mutant of the named source
# files must make some test fail. Runs by hand, not in CI: a mutant costs about 25 s on
# the two-core machine (an incremental build and the tests below), the whole of src/auth,
# src/session and src/tree about 17 hours. Arguments go to cargo mutants, for example
#   ./scripts/mutants.sh --file 'src/auth/*.rs'      # one module (about 2 hours)
#   ./scripts/mutants.sh --file 'src/session/*.rs' --shard 0/20   # a twentieth of one
#   ./scripts/mutants.sh --file 'src/auth/*.rs' --re 'quoted|decode_digest'
# Results land in mutants.out/ (caught.txt, missed.txt, ...); docs/conformance.md keeps the
# figures of the runs made and what was done about each missed mutant.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked

# The corpus is found beside the project; cargo mutants builds a copy elsewhere.
corpus="${IOTADM_CORPUS:-$(cd .. && pwd)/shared/corpus/real}"
export IOTADM_CORPUS="$corpus"

# The tests that exercise the core's rules; the QEMU, C and libwbxml peers and the long
# power-cut sweeps of the installer add minutes per mutant and check other code.
tests=(--lib --test auth --test session --test session_auth --test session_messages
    --test session_trigger --test tree --test tree_exchange --test tree_handlers
    --test tree_power_cut --test tree_storage --test testserver --test bootstrap --test cdma
    --test cdma_session --test fumo --test fumo_session --test notification)

exec cargo mutants --package iotadm --all-features --timeout 120 "$@" -- "${tests[@]}"

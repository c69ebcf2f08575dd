#!/usr/bin/env bash
# Times the iotadm host tool against libwbxml's tools (Debian libwbxml2-utils) on the
# same generated messages: whole-process CPU time (user + sys), median of RUNS runs,
# and libwbxml's time divided by iotadm's.
#
#   WBXML -> XML   iotadm wbxml2xml -o OUT IN    vs  wbxml2xml -o OUT IN
#   XML -> WBXML   iotadm xml2wbxml -o OUT IN    vs  xml2wbxml -v 1.2 -n -o OUT IN
#
# Two messages of SIZE bytes of XML (default 8 MiB), from examples/gen_message.rs:
#   tree   a Replace of tens of thousands of small items (a device sending its tree);
#   mixed  commands of every kind from the test generator, some with large values.
# Both tools read the same files; the WBXML input is iotadm's encoding of the XML.
#
# libwbxml's xml2wbxml builds a string table by default, which takes minutes on a
# message of a few hundred kilobytes (it did not finish an 8 MiB one in 15 minutes), so
# the large messages are encoded with -n, no string table, as iotadm writes them. The
# default mode is timed on a SMALL-byte tree message (default 64 KiB) as well.
#
# Usage: scripts/bench-libwbxml.sh        (RUNS=5 SIZE=8388608 SMALL=65536 to change)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
size=${SIZE:-8388608}
small=${SMALL:-65536}
work=$root/target/bench-libwbxml
mkdir -p "$work"

need() { command -v "$1" >/dev/null 2>&1; }
missing=()
need xml2wbxml && need wbxml2xml || missing+=(libwbxml2-utils)
if ((${#missing[@]})); then
    apt-get install -y "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y "${missing[@]}" >/dev/null; }
fi

echo "building the iotadm tool and the message generator (release)..."
(cd "$root" && cargo build -q --release -p iotadm-host --bin iotadm && cargo build -q --release --example gen_message)
iotadm=$root/target/release/iotadm
gen=$root/target/release/examples/gen_message

# CPU seconds (user + sys) of one run of a command, output discarded: the children's
# times that bash's `times` reports (millisecond resolution) in a subshell that ran it.
cpu() {
    (
        "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
        times
    ) | tail -n 1 | awk '{
        s = 0
        for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] }
        printf "%.4f\n", s }'
}

# Median CPU seconds of $runs runs.
median() {
    local i
    for ((i = 0; i < runs; i++)); do cpu "$@"; done |
        sort -n | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); printf "%.4f", (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }'
}

row() { # label, iotadm seconds, libwbxml seconds
    awk -v l="$1" -v a="$2" -v b="$3" 'BEGIN {
        r = (a > 0) ? sprintf("%.1fx", b / a) : "-";
        printf "  %-34s %9.3f s %11.3f s %9s\n", l, a, b, r }'
}

echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; $(rustc -V); $(date -u +%Y-%m-%dT%H:%MZ)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CPU time (user + sys), median of $runs runs"
printf '  %-34s %11s %13s %9s\n' "" "iotadm" "libwbxml" "ratio"

for kind in tree mixed; do
    xml=$work/$kind.xml wbxml=$work/$kind.wbxml
    [[ $kind == tree ]] && mode=large || mode=mixed
    "$gen" "$mode" "$size" >"$xml"
    "$iotadm" xml2wbxml -o "$wbxml" "$xml"
    label="$kind $(numfmt --to=iec "$(stat -c %s "$xml")")B XML, $(numfmt --to=iec "$(stat -c %s "$wbxml")")B WBXML"
    echo "$label"
    a=$(median "$iotadm" wbxml2xml -o "$work/out.xml" "$wbxml")
    b=$(median wbxml2xml -o "$work/out.lib.xml" "$wbxml")
    row "WBXML -> XML" "$a" "$b"
    a=$(median "$iotadm" xml2wbxml -o "$work/out.wbxml" "$xml")
    b=$(median xml2wbxml -v 1.2 -n -o "$work/out.lib.wbxml" "$xml")
    row "XML -> WBXML (libwbxml -n)" "$a" "$b"
done

xml=$work/small.xml
"$gen" large "$small" >"$xml"
echo "tree $(numfmt --to=iec "$(stat -c %s "$xml")")B XML, libwbxml with its string table"
a=$(median "$iotadm" xml2wbxml -o "$work/out.wbxml" "$xml")
b=$(median xml2wbxml -v 1.2 -o "$work/out.lib.wbxml" "$xml")
row "XML -> WBXML (libwbxml default)" "$a" "$b"

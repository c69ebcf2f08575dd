#!/usr/bin/env python3
"""Where an image's flash goes, by crate and module, and who pulls in `core::fmt`.

Usage: scripts/size-by-module.py ELF [--depth N] [--top N] [--fmt]

Reads the sized symbols of a Cortex-M ELF (`arm-none-eabi-nm -S -C`) and sums code and
read-only data by the module path in each symbol's name, to `--depth` path segments under
the crate (default 2: `iotadm::codec::xml`). With LTO a symbol stands for everything the
compiler inlined into it, so the figures say where code was emitted, not which source
line asked for it; generic code lands under the module of the function that instantiated
it. Constants without a symbol (string literals, tables the compiler merged) are not
counted: the total is below the image's flash by those bytes.

`--fmt` also lists the functions outside `core` that call into `core::fmt` (from
`arm-none-eabi-objdump -d`), grouped by crate: what keeps the formatting machinery in the
image.
"""

import argparse
import collections
import re
import subprocess
import sys

PRIMITIVES = {"u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize",
              "char", "str", "bool", "f32", "f64"}
PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*")


def symbols(elf):
    out = subprocess.run(
        ["arm-none-eabi-nm", "-S", "-C", "--defined-only", elf],
        capture_output=True, text=True, check=True,
    ).stdout
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 4 or parts[2] not in "tTrR":
            continue
        yield int(parts[1], 16), parts[3]


def owner(name, depth):
    """The module a symbol belongs to: the first path in its name that is not a plain
    trait or a primitive (`<T as Trait>::f` belongs to T's module)."""
    body = name.lstrip("<&*").replace("mut ", "").replace("dyn ", "")
    m = PATH.match(body)
    if not m:
        return "(unnamed)"
    segments = m.group(0).split("::")
    # `<u8 as Trait>::f`, `<T as Trait>::f`: a primitive or a generic parameter has no
    # module; the trait's path says which crate the code serves.
    if segments[0] in PRIMITIVES or (len(segments) == 1 and len(segments[0]) == 1):
        after = body.split(" as ", 1)
        m = PATH.match(after[1]) if len(after) == 2 else None
        if not m:
            return "(generic)"
        segments = m.group(0).split("::")
    # Drop the item name itself and anything that looks like a type or function.
    module = []
    for seg in segments:
        if seg[:1].isupper() or (module and len(module) > depth):
            break
        module.append(seg)
    if not module:
        return segments[0]
    return "::".join(module[: depth + 1])


def by_module(elf, depth):
    sums = collections.Counter()
    for size, name in symbols(elf):
        sums[owner(name, depth)] += size
    return sums


def fmt_callers(elf):
    out = subprocess.run(
        ["arm-none-eabi-objdump", "-d", "-C", "--no-show-raw-insn", elf],
        capture_output=True, text=True, check=True,
    ).stdout
    callers = collections.defaultdict(set)
    current = None
    for line in out.splitlines():
        head = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if head:
            current = head.group(1)
            continue
        call = re.search(r"\bbl?x?\s+[0-9a-f]+ <(core::fmt::[^>+]*)", line)
        if call and current and not current.lstrip("<").startswith("core::"):
            callers[current].add(call.group(1))
    return callers


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("elf")
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--fmt", action="store_true")
    ap.add_argument("--top", type=int, default=0, help="only the N largest modules, and the rest in one row")
    args = ap.parse_args()

    sums = by_module(args.elf, args.depth)
    total = sum(sums.values())
    print(f"| module | bytes | share |\n|---|---:|---:|")
    ranked = sums.most_common()
    shown = ranked[: args.top] if args.top else ranked
    for module, size in shown:
        print(f"| `{module}` | {size:,} | {100 * size / total:.1f}% |")
    rest = ranked[len(shown):]
    if rest:
        print(f"| {len(rest)} smaller modules | {sum(s for _, s in rest):,} | |")
    print(f"| total (named symbols) | {total:,} | |")

    if args.fmt:
        callers = fmt_callers(args.elf)
        crates = collections.defaultdict(list)
        for fn in sorted(callers):
            crate = owner(fn, 0)
            crates[crate].append(fn)
        print("\nCallers of core::fmt outside core, by crate:")
        for crate, fns in sorted(crates.items(), key=lambda kv: -len(kv[1])):
            print(f"- {crate}: {len(fns)}")
            for fn in fns[:12]:
                print(f"    {fn}")
            if len(fns) > 12:
                print(f"    ... {len(fns) - 12} more")


if __name__ == "__main__":
    sys.exit(main())

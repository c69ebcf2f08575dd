#!/usr/bin/env python3
"""Checks every fenced code block of the documentation against what it shows.

    python3 scripts/doc-blocks.py

The blocks of README.md, SECURITY.md and docs/*.md, by language:

- rust: compiled and run as doctests (`cargo test --doc`), so the file must be one that
  src/lib.rs includes under `cfg(doctest)`. A block marked `ignore` must follow a line
  `<!-- not compiled: REASON -->` saying why.
- c: compiled as C99 with -Wall -Werror against ffi/include/iotadm.h, inside a function
  whose surroundings (the integrator's flash driver, callbacks, ...) are declared by
  scripts/doc-blocks/prelude.h.
- toml: parsed; the iotadm features a `[dependencies]` table names must be features of
  the crate, the `IOTADM_*` settings of an `[env]` table limits of build.rs.
- xml: a DDF document (`<MgmtTree>`) is compiled with the standard objects by
  `iotadm ddf check`, as a vendor's build script would.
- sh: parsed by `bash -n`; each `--test NAME` must be a test of the repository and each
  path under scripts/, examples/, ffi/ or tests/ must exist.
- text: not checked.

Exits non-zero naming each block that fails, as FILE:LINE.
"""

import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
NOT_COMPILED = re.compile(r"^\s*<!-- not compiled: .+ -->\s*$")


def blocks(path):
    """(line, language, text, line before the fence) of each fenced block."""
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m.group(2):
            i += 1
            continue
        indent, lang, start = m.group(1), m.group(2), i
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line)
            i += 1
        before = lines[start - 1] if start > 0 else ""
        yield start + 1, lang, "\n".join(body) + "\n", before
        i += 1


def doctest_files():
    """The markdown files src/lib.rs compiles as doctests."""
    lib = (ROOT / "src/lib.rs").read_text()
    return {
        (ROOT / "src" / p).resolve()
        for p in re.findall(r'include_str!\("([^"]+\.md)"\)', lib)
    }


def features():
    return set(tomllib.loads((ROOT / "Cargo.toml").read_text())["features"])


def limits():
    return {f"IOTADM_{n}" for n in re.findall(r'limit\(\s*"([A-Z0-9_]+)"', (ROOT / "build.rs").read_text())}


def check_rust(path, lang, before, doctests):
    if path.resolve() not in doctests:
        return "a Rust block in a file src/lib.rs does not compile as doctests"
    if "ignore" in lang.split(",") and not NOT_COMPILED.match(before):
        return "an `ignore` block without a `<!-- not compiled: REASON -->` line before it"
    return None


def check_c(text):
    prelude = ROOT / "scripts/doc-blocks/prelude.h"
    source = f'#include "{prelude}"\n\nvoid doc_block(void) {{\n{text}}}\n'
    with tempfile.TemporaryDirectory() as tmp:
        c = Path(tmp) / "block.c"
        c.write_text(source)
        r = subprocess.run(
            ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-Wno-unused-variable",
             "-Wno-unused-but-set-variable", "-fsyntax-only", f"-I{ROOT / 'ffi/include'}", str(c)],
            capture_output=True, text=True)
    if r.returncode:
        return r.stderr.strip() or f"gcc exited with {r.returncode}"
    return None


def check_toml(text, known_features, known_limits):
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return f"not TOML: {e}"
    dep = doc.get("dependencies", {}).get("iotadm")
    if isinstance(dep, dict):
        unknown = set(dep.get("features", [])) - known_features
        if unknown:
            return f"features iotadm does not have: {sorted(unknown)}"
    unknown = {k for k in doc.get("env", {}) if k.startswith("IOTADM_")} - known_limits
    if unknown:
        return f"settings build.rs does not know: {sorted(unknown)}"
    return None


def check_xml(text, iotadm):
    if "<MgmtTree>" not in text:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        ddf = Path(tmp) / "block.xml"
        ddf.write_text(text)
        r = subprocess.run([iotadm, "ddf", "check", str(ddf)], capture_output=True, text=True)
    return (r.stderr or r.stdout).strip() if r.returncode else None


def check_sh(text):
    r = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
    if r.returncode:
        return r.stderr.strip()
    for name in re.findall(r"--test\s+([A-Za-z0-9_]+)", text):
        if not (ROOT / "tests" / f"{name}.rs").exists():
            return f"no test named {name}"
    for p in re.findall(r"(?:^|\s)\.?/?((?:scripts|examples|ffi|tests)/[A-Za-z0-9_./-]+)", text):
        if "/target/" in p or p.startswith("ffi/target"):
            continue
        if not (ROOT / p.rstrip("/")).exists():
            return f"no such path: {p}"
    return None


def main():
    os.chdir(ROOT)
    build = subprocess.run(
        ["cargo", "build", "--quiet", "-p", "iotadm-host", "--bin", "iotadm"],
        capture_output=True, text=True)
    if build.returncode:
        sys.exit(f"building iotadm failed:\n{build.stderr}")
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    iotadm = str(Path(target) / "debug" / "iotadm")
    doctests, known_features, known_limits = doctest_files(), features(), limits()
    files = [ROOT / "README.md", ROOT / "SECURITY.md", *sorted((ROOT / "docs").glob("*.md"))]
    failures, counts = [], {}
    for path in files:
        for line, lang, text, before in blocks(path):
            kind = lang.split(",")[0]
            if kind == "rust":
                err = check_rust(path, lang, before, doctests)
            elif kind == "c":
                err = check_c(text)
            elif kind == "toml":
                err = check_toml(text, known_features, known_limits)
            elif kind == "xml":
                err = check_xml(text, iotadm)
            elif kind == "sh":
                err = check_sh(text)
            elif kind == "text":
                err = None
            else:
                err = f"no check for blocks in {lang!r}"
            counts[kind] = counts.get(kind, 0) + 1
            if err:
                failures.append(f"{path.relative_to(ROOT)}:{line}: {err}")
    print("doc blocks checked: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The core's module dependency graph, and a check that it has no circle.

Reads the paths the non-test code of src/**/*.rs names (`use crate::...`, `use super::...`,
paths to child modules, and `crate::`/`super::` paths written inline), resolves them through
the `pub use` re-exports of each mod.rs to the file that defines the item, and builds two
graphs:

  * top level: one node per top-level module (auth, codec, tree, session, ...);
  * files: one node per file, with the edges between files of the same module directory
    (codec/decode -> codec/model, session/exec -> session/lo, ...).

It prints every strongly connected component of more than one node (a circle) and exits
non-zero if there is one. Re-exports (`pub use`) are not dependencies: a mod.rs that
re-exports its children does not depend on them. `--graph` also prints every edge.

Usage: scripts/module-deps.py [--graph] [SRC_DIR]
"""

import os
import re
import sys

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"

# Directories whose files are one type split by concern: the type lives in mod.rs and each
# file adds `impl` blocks to it, reaching the type and its private helpers through
# `use super::*`, while mod.rs calls the helpers those files define. The circle is the
# split itself, not a tangle, so it is reported but does not fail the check.
SPLIT_TYPES = {
    "tree/runtime": "the runtime Tree, one file per concern",
}


def strip_comments_and_strings(text):
    """Blanks comments, string and char literals, keeping the braces of code intact."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(" ")
            continue
        m = re.match(r'b?r(#*)"', text[i:i + 260])
        if m and (i == 0 or not re.match(r"[A-Za-z0-9_]", text[i - 1])):
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            i = n if j < 0 else j + len(end)
            out.append('""')
            continue
        if c == '"' or (c == "b" and text.startswith('b"', i)
                        and (i == 0 or not re.match(r"[A-Za-z0-9_]", text[i - 1]))):
            i += 2 if c == "b" else 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
            continue
        if c == "'":
            m = re.match(r"'(\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'", text[i:])
            if m:
                out.append("' '")
                i += m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


def strip_test_items(code):
    """Removes every item under `#[cfg(test)]` (test modules, test-only uses and fns)."""
    out = []
    i = 0
    pat = re.compile(r"#\[cfg\(test\)\]")
    while True:
        m = pat.search(code, i)
        if not m:
            out.append(code[i:])
            break
        out.append(code[i:m.start()])
        j = m.end()
        semi, brace = code.find(";", j), code.find("{", j)
        if brace < 0 or (0 <= semi < brace):
            i = semi + 1
            continue
        depth, k = 0, brace
        while k < len(code):
            if code[k] == "{":
                depth += 1
            elif code[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        i = k + 1
    return "".join(out)


def expand_use_tree(tree):
    """`a::{b, c::{d, e as f}}` -> [["a","b"], ["a","c","d"], ["a","c","e"]]."""
    tree = re.sub(r"\s+", "", tree)

    def parse(s, pos):
        # Returns (list of paths, new pos) for the tree starting at pos.
        prefix = []
        while True:
            if pos < len(s) and s[pos] == "{":
                pos += 1
                paths = []
                while pos < len(s) and s[pos] != "}":
                    sub, pos = parse(s, pos)
                    paths.extend(sub)
                    if pos < len(s) and s[pos] == ",":
                        pos += 1
                return [prefix + p for p in paths], pos + 1
            m = re.compile(r"(" + IDENT + r"|\*)").match(s, pos)
            if not m:
                return [prefix], pos
            prefix.append(m.group(1))
            pos = m.end()
            if s.startswith("::", pos):
                pos += 2
                continue
            if s.startswith("as", pos):
                m2 = re.compile(r"as" + IDENT).match(s, pos)
                if m2:
                    pos = m2.end()
            return [prefix], pos

    paths, _ = parse(tree, 0)
    return paths


class Module:
    def __init__(self, path, file):
        self.path = path  # tuple of segments from the crate root
        self.file = file
        self.children = set()
        self.reexports = {}  # name -> absolute path (list)
        self.uses = []  # (absolute path, is_pub)
        self.inline = []  # absolute paths written in code


def load(src):
    modules = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            full = os.path.join(root, f)
            rel = os.path.relpath(full, src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            modules[tuple(rel)] = Module(tuple(rel), os.path.relpath(full, src))
    for path, mod in modules.items():
        for other in modules:
            if len(other) == len(path) + 1 and other[:len(path)] == path:
                mod.children.add(other[-1])
    return modules


def absolutize(mod, segs, modules):
    """Turns a path as written in `mod` into a path from the crate root, or None."""
    base = list(mod.path)
    segs = list(segs)
    if not segs:
        return None
    if segs[0] == "crate":
        return segs[1:]
    if segs[0] in ("self", "super"):
        while segs and segs[0] in ("self", "super"):
            if segs[0] == "super":
                if not base:
                    return None
                base = base[:-1]
            segs = segs[1:]
        return base + segs
    if segs[0] in mod.children:
        return base + segs
    return None  # an external crate, core, or a name already in scope


def scan(modules):
    for mod in modules.values():
        with open(os.path.join(SRC, mod.file), encoding="utf-8") as fh:
            code = strip_test_items(strip_comments_and_strings(fh.read()))
        use_re = re.compile(r"(?:^|[;{}\s])(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);")
        spans = []
        for m in use_re.finditer(code):
            spans.append((m.start(2), m.end(2)))
            is_pub = bool(m.group(1)) and "(self)" not in m.group(1)
            raw_tree = re.sub(r"\s+", "", m.group(2))
            for segs in expand_use_tree(m.group(2)):
                ab = absolutize(mod, segs, modules)
                if ab is None:
                    continue
                if segs and segs[-1] == "self":
                    ab = ab[:-1]
                mod.uses.append((ab, is_pub))
                if is_pub and ab and ab[-1] != "*":
                    alias = re.search(re.escape(segs[-1]) + r"as(" + IDENT + r")", raw_tree)
                    name = alias.group(1) if alias else ab[-1]
                    mod.reexports[name] = ab
        # Inline paths outside use statements.
        rest = list(code)
        for a, b in spans:
            rest[a:b] = " " * (b - a)
        rest = "".join(rest)
        for m in re.finditer(r"(?<![A-Za-z0-9_:])((?:crate|super|self)(?:::" + IDENT + r")+)",
                             rest):
            ab = absolutize(mod, m.group(1).split("::"), modules)
            if ab is not None:
                mod.inline.append(ab)


def resolve(path, modules, depth=0):
    """The module (file) that defines the item a crate-absolute path names."""
    path = [p for p in path if p != "*"]
    # The longest prefix that is a module.
    k = len(path)
    while k > 0 and tuple(path[:k]) not in modules:
        k -= 1
    mod = tuple(path[:k])
    if mod not in modules:
        return ()
    rest = path[k:]
    if rest and depth < 16:
        target = modules[mod].reexports.get(rest[0])
        if target is not None and list(target[:len(mod)]) != list(path[:k + 1]):
            return resolve(list(target) + rest[1:], modules, depth + 1)
        if target is not None:
            return resolve(list(target) + rest[1:], modules, depth + 1)
    return mod


def edges(modules):
    found = set()
    for mod in modules.values():
        targets = [p for p, is_pub in mod.uses if not is_pub] + mod.inline
        for p in targets:
            t = resolve(p, modules)
            if t != mod.path:
                found.add((mod.path, t))
    return found


def name(path):
    return "/".join(path) if path else "lib"


def sccs(nodes, adj):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(adj.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def allowed(comp):
    for d in SPLIT_TYPES:
        if all(c == d + "/mod" or (c.startswith(d + "/") and "/" not in c[len(d) + 1:])
               for c in comp):
            return d
    return None


def report(title, nodes, edge_set, show):
    adj = {}
    for a, b in edge_set:
        adj.setdefault(a, set()).add(b)
    if show:
        print(f"# {title}: edges")
        for a, b in sorted(edge_set):
            print(f"  {a} -> {b}")
    circles = []
    for comp in sccs(nodes, adj):
        split = allowed(comp)
        if split:
            print(f"{title}: allowed split of {split} ({SPLIT_TYPES[split]}): " + ", ".join(comp))
        else:
            circles.append(comp)
    if circles:
        print(f"{title}: {len(circles)} circle(s)")
        for comp in circles:
            members = set(comp)
            inner = sorted((a, b) for a, b in edge_set if a in members and b in members)
            print("  {" + ", ".join(comp) + "}")
            for a, b in inner:
                print(f"      {a} -> {b}")
    else:
        print(f"{title}: no circle")
    return len(circles)


def main():
    global SRC
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    show = "--graph" in sys.argv
    SRC = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "src")
    modules = load(SRC)
    scan(modules)
    all_edges = edges(modules)

    top = set()
    top_nodes = {name(p[:1]) for p in modules}
    for a, b in all_edges:
        if a[:1] and b[:1] and a[:1] != b[:1]:
            top.add((name(a[:1]), name(b[:1])))
    bad = report("top-level modules", top_nodes, top, show)

    # Within one module directory: edges between files that share a parent directory
    # (a mod.rs counts as a file of its own directory).
    def dir_of(p):
        m = modules[p]
        return p if m.file.endswith(("mod.rs", "lib.rs")) else p[:-1]

    inner = set()
    for a, b in all_edges:
        if b in modules and a in modules and dir_of(a) == dir_of(b):
            la = name(a) + ("/mod" if modules[a].file.endswith("mod.rs") else "")
            lb = name(b) + ("/mod" if modules[b].file.endswith("mod.rs") else "")
            inner.add((la, lb))
    file_nodes = {x for e in inner for x in e}
    bad += report("files within a module directory", file_nodes, inner, show)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

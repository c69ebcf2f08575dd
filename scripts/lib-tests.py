#!/usr/bin/env python3
"""Runs the core's unit tests with exactly the features named, e.g.

    scripts/lib-tests.py                      # no optional feature
    scripts/lib-tests.py cdma,large-objects   # those two only

`cargo test -p iotadm --lib --no-default-features` cannot do this in the workspace: the
tests' dev-dependency `iotadm-host` depends on `iotadm` with its default features, and Cargo
unifies the features of a package across the build, so the unit tests would run with
everything on. This script writes a manifest for the same sources without the
dev-dependency `iotadm-host` (under target/lib-tests/, with the workspace's Cargo.lock) and runs the
unit tests there. Extra arguments after `--` go to `cargo test`.
"""

import os
import shutil
import subprocess
import sys
import tomllib

# The dev-dependencies that would bring the library in again with its default features,
# and the benchmarks' harness, which the unit tests do not use.
DEV_LEFT_OUT = {"iotadm-host", "criterion"}

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + " }"
    raise TypeError(value)


def table(name, entries):
    lines = [f"[{name}]"]
    lines += [f'"{k}" = {toml_value(v)}' for k, v in entries.items()]
    return "\n".join(lines) + "\n"


def absolute_paths(deps):
    out = {}
    for name, spec in deps.items():
        if isinstance(spec, dict) and "path" in spec:
            spec = dict(spec, path=os.path.join(ROOT, spec["path"]))
        out[name] = spec
    return out


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1 :]
    features = args[0] if args else ""

    with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
        manifest = tomllib.load(f)
    package = manifest["package"]
    out_dir = os.path.join(ROOT, "target", "lib-tests")
    os.makedirs(out_dir, exist_ok=True)

    text = table(
        "package",
        {
            "name": package["name"],
            "version": package["version"],
            "edition": package["edition"],
            "build": os.path.join(ROOT, "build.rs"),
            "publish": False,
        },
    )
    text += table("lib", {"path": os.path.join(ROOT, "src", "lib.rs")})
    text += "[workspace]\n"
    text += table("features", manifest["features"])
    text += table("dependencies", absolute_paths(manifest["dependencies"]))
    text += table("build-dependencies", absolute_paths(manifest["build-dependencies"]))
    dev = {k: v for k, v in manifest["dev-dependencies"].items() if k not in DEV_LEFT_OUT}
    text += table("dev-dependencies", absolute_paths(dev))
    for name, profile in manifest.get("profile", {}).items():
        if name == "dev":
            for pkg, settings in profile.get("package", {}).items():
                text += table(f'profile.dev.package."{pkg}"', settings)
    with open(os.path.join(out_dir, "Cargo.toml"), "w") as f:
        f.write(text)
    shutil.copyfile(os.path.join(ROOT, "Cargo.lock"), os.path.join(out_dir, "Cargo.lock"))

    command = [
        "cargo",
        "test",
        "--quiet",
        "--manifest-path",
        os.path.join(out_dir, "Cargo.toml"),
        "--lib",
        "--no-default-features",
    ]
    if features:
        command += ["--features", features]
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(out_dir, "target"))
    print(f"unit tests with features [{features}]", flush=True)
    if extra:
        command += ["--"] + extra
    return subprocess.call(command, env=env)


if __name__ == "__main__":
    sys.exit(main())

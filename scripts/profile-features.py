#!/usr/bin/env python3
"""Prints the handset profile's features, comma-separated: the iotadm features that
examples/qemu-cortex-m links (its Cargo.toml is where the profile is written down), for
the scripts that build or test the profile elsewhere."""

import os
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

with open(os.path.join(ROOT, "examples", "qemu-cortex-m", "Cargo.toml"), "rb") as f:
    dep = tomllib.load(f)["dependencies"]["iotadm"]
if dep.get("default-features", True):
    sys.exit("examples/qemu-cortex-m takes iotadm's default features: no profile named")
print(",".join(dep.get("features", [])))

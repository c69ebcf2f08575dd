//! A node the DDF does not describe cannot be named: code that binds a handler to
//! `./Vendor/Missing` through the generated constants does not compile.
//!
//! The test writes a tiny crate that depends on this one by path (under Cargo's temporary
//! directory for tests) and runs `cargo check` on it twice: naming `COUNTER` it compiles,
//! so the probe itself is sound, and naming `MISSING` it fails with an error naming the
//! missing constant. The probe builds offline, into a target directory of its own.
//!
//! A second probe shows the same of iotadm's limits: what an `IOTADM_*` variable sets at
//! build time is what the core is built with, checked at compile time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::{env, fs};

/// The probe crate's directory, `name` under Cargo's temporary directory for tests, with
/// its manifest and lock file written.
fn probe_crate(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    fs::create_dir_all(dir.join("src")).expect("probe directory");
    let vendor_mo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = format!(
        "[package]\nname = \"vendor-mo-probe\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[workspace]\n\n[dependencies]\nvendor-mo = {{ path = {:?} }}\n\
         iotadm = {{ path = {:?}, default-features = false }}\n",
        vendor_mo.display().to_string(),
        vendor_mo.join("../..").display().to_string()
    );
    write_if_changed(&dir.join("Cargo.toml"), &manifest);
    // The same versions as this crate's, so that nothing needs resolving online.
    if !dir.join("Cargo.lock").exists() {
        fs::copy(vendor_mo.join("Cargo.lock"), dir.join("Cargo.lock")).expect("lock file");
    }
    dir
}

fn write_if_changed(path: &Path, text: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(text) {
        fs::write(path, text).expect("probe file");
    }
}

/// `cargo check` of the probe whose library names `./Vendor/<constant>`.
fn check_naming(dir: &Path, constant: &str) -> Output {
    let source = format!(
        "//! Binds a handler's node by its generated constant.\n#![no_std]\n\n\
         /// The node.\npub const NODE: u16 = vendor_mo::dm::nodes::vendor::{constant};\n"
    );
    check(dir, &source, &[])
}

/// `cargo check` of the probe with `source` as its library, with `vars` set.
fn check(dir: &Path, source: &str, vars: &[(&str, &str)]) -> Output {
    write_if_changed(&dir.join("src/lib.rs"), source);
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .arg("check")
        .arg("--offline")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dir.join("target"))
        // Plain messages, whatever the terminal.
        .env("CARGO_TERM_COLOR", "never")
        .envs(vars.iter().copied())
        .output()
        .expect("cargo runs")
}

#[test]
fn naming_a_node_the_ddf_lacks_does_not_compile() {
    let dir = probe_crate("vendor-mo-probe");

    let described = check_naming(&dir, "COUNTER");
    assert!(
        described.status.success(),
        "the probe naming COUNTER must compile:\n{}",
        String::from_utf8_lossy(&described.stderr)
    );

    let missing = check_naming(&dir, "MISSING");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success(),
        "naming MISSING compiled:\n{stderr}"
    );
    assert!(
        stderr.contains("error[E0425]") && stderr.contains("MISSING"),
        "the error names the missing constant:\n{stderr}"
    );
    assert!(
        stderr.contains("vendor_mo::dm::nodes::vendor"),
        "the error names the generated module:\n{stderr}"
    );
}

/// A vendor sets iotadm's limits at build time through `IOTADM_*` variables: the value
/// given is the constant the core is built with, and one out of its bounds stops the
/// build with a message naming the variable.
#[test]
fn a_limit_set_at_build_time_is_the_one_built_with() {
    let dir = probe_crate("vendor-mo-limits-probe");
    let source = "//! Checks the limit iotadm was built with.\n#![no_std]\n\n\
                  const _: () = assert!(iotadm::limits::URI_LEN == 300);\n\
                  /// Keeps the dependency linked.\npub use vendor_mo::dm;\n";

    let set = check(&dir, source, &[("IOTADM_URI_LEN", "300")]);
    assert!(
        set.status.success(),
        "IOTADM_URI_LEN=300 builds URI_LEN = 300:\n{}",
        String::from_utf8_lossy(&set.stderr)
    );

    let default = check(&dir, source, &[]);
    assert!(
        !default.status.success(),
        "without the variable URI_LEN keeps its default"
    );

    let out_of_bounds = check(&dir, source, &[("IOTADM_URI_LEN", "12")]);
    let stderr = String::from_utf8_lossy(&out_of_bounds.stderr);
    assert!(!out_of_bounds.status.success(), "a URI limit of 12 built");
    assert!(
        stderr.contains("IOTADM_URI_LEN must be a number from 128 to 8192"),
        "the build names the variable and its bounds:\n{stderr}"
    );
}

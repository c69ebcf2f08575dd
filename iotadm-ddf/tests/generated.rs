//! The generated code, compiled in a crate of its own: `tests/fixture` generates its
//! schema in a build script with `compiler::Builder` and includes it, with strict
//! lints, and its tests compare the `static` schema with the one the compiler builds at
//! run time and use the typed node ids. A crate cannot run its own generator in its build
//! script, hence the separate crate; this test runs `cargo test` on it.

use std::path::Path;
use std::process::Command;

#[test]
fn generated_code_compiles_and_equals_the_runtime_schema() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture/Cargo.toml");
    // A target directory of its own inside this build's, so that it neither waits for
    // the lock on this build's nor leaves files in the source tree.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixture");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .arg("test")
        .arg("--manifest-path")
        .arg(&fixture)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "cargo test on the fixture failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.contains("test tests::generated_schemas_equal_the_runtime_compile ... ok")
            && stdout.contains("test tests::typed_ids_name_their_nodes ... ok"),
        "the fixture's tests did not run\n{stdout}"
    );
}

//! Build script: compiles the DDF documents in `ddf/`, then those in each directory named by
//! the `IOTADM_DDF_DIRS` environment variable (separated like `PATH`), into the static
//! management-tree node table `$OUT_DIR/ddf_nodes.rs` that `src/tree/schema.rs` includes.
//! Files are read in sorted order, so the table is the same on every machine. A malformed
//! DDF stops the build with a message naming the file and the node.
//!
//! `IOTADM_DDF_DESCRIPTIONS=0` leaves the nodes' titles and descriptions out of the table,
//! to save flash; `1` (or leaving it unset) keeps them.

#[path = "src/tree/ddf_compiler.rs"]
mod ddf_compiler;

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/tree/ddf_compiler.rs");
    println!("cargo:rerun-if-env-changed=IOTADM_DDF_DIRS");
    println!("cargo:rerun-if-env-changed=IOTADM_DDF_DESCRIPTIONS");
    if let Err(message) = build_node_table() {
        eprintln!("error: {message}");
        process::exit(1);
    }
}

fn build_node_table() -> Result<(), String> {
    let mut sources = read_dir_sources(Path::new("ddf"))?;
    // The crate's own tests add an object with a leaf of every format.
    if env::var_os("CARGO_FEATURE_TEST_MO").is_some() {
        sources.extend(read_dir_sources(Path::new("tests/ddf"))?);
    }
    if let Some(dirs) = env::var_os("IOTADM_DDF_DIRS") {
        for dir in env::split_paths(&dirs).filter(|d| !d.as_os_str().is_empty()) {
            sources.extend(read_dir_sources(&dir).map_err(|e| format!("IOTADM_DDF_DIRS: {e}"))?);
        }
    }
    let descriptions = match env::var("IOTADM_DDF_DESCRIPTIONS").as_deref() {
        Err(env::VarError::NotPresent) | Ok("1") => true,
        Ok("0") => false,
        Ok(other) => {
            return Err(format!(
                "IOTADM_DDF_DESCRIPTIONS must be 0 or 1, not {other:?}"
            ))
        }
        Err(env::VarError::NotUnicode(_)) => {
            return Err("IOTADM_DDF_DESCRIPTIONS must be 0 or 1".to_owned())
        }
    };
    let mut schema = ddf_compiler::compile(&sources).map_err(|e| e.to_string())?;
    if !descriptions {
        schema.drop_descriptions();
    }
    let rust = schema.to_rust()?;
    let out_dir = env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?;
    let out = PathBuf::from(out_dir).join("ddf_nodes.rs");
    fs::write(&out, rust).map_err(|e| format!("{}: {e}", out.display()))
}

/// The `*.xml` files of `dir` as `(name, text)`, sorted by name. A relative `dir` is taken
/// from this package's directory, where Cargo runs build scripts.
fn read_dir_sources(dir: &Path) -> Result<Vec<(String, String)>, String> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.extension().is_some_and(|ext| ext == "xml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            println!("cargo:rerun-if-changed={}", path.display());
            let name = path.display().to_string();
            let text = fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
            Ok((name, text))
        })
        .collect()
}

//! Build script: compiles the standard management objects' DDF documents (DevInfo,
//! DevDetail, DMAcc, FUMO and CDMA, which ship with `iotadm-ddf`) into the ready schema
//! `schema::STANDARD` (`$OUT_DIR/standard_schema.rs`). A vendor composes its own schema,
//! the standard objects plus its DDF documents, with the same `iotadm_ddf::Builder` in its
//! own build script.

use std::env;
use std::path::PathBuf;
use std::process;

use iotadm_ddf::compiler::{Builder, Generate};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let Some(out_dir) = env::var_os("OUT_DIR") else {
        eprintln!("error: OUT_DIR is not set");
        process::exit(1);
    };
    let out = PathBuf::from(out_dir).join("standard_schema.rs");
    let generate = Generate {
        runtime_path: "crate::schema".to_owned(),
        schema_name: "STANDARD".to_owned(),
        nodes_module: None,
    };
    if let Err(message) = Builder::new().generate(generate).write(&out) {
        eprintln!("error: {message}");
        process::exit(1);
    }
}

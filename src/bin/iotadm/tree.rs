//! `iotadm tree` and `iotadm ddf check`: the compiled management tree, and the DDF compiler
//! that `build.rs` runs, offered to vendors writing their own DDF documents.

use std::fs;
use std::io;
use std::path::Path;

use iotadm::tree::schema::{self, NodeId, NODES};

#[path = "../../tree/ddf_compiler.rs"]
mod ddf_compiler;

use ddf_compiler::{Compiler, Declared};

/// `iotadm tree`: one line per node of the compiled tree, in preorder:
/// `URI FORMAT ACCESS`, e.g. `./DMAcc/<x>/AppAuth/<x>/AAuthSecret chr Add,Delete,Replace`.
/// Placeholders print as `<x>`; ACCESS is `-` when no command may target the node.
pub(crate) fn print_tree(out: &mut impl io::Write) -> io::Result<()> {
    let mut uri = String::new();
    for (id, def) in (0..).zip(NODES.iter()) {
        uri.clear();
        schema::write_uri(id, &mut uri).map_err(io::Error::other)?;
        writeln!(out, "{uri} {} {}", def.format(), def.access())?;
    }
    Ok(())
}

/// `iotadm ddf check FILE`: compiles `path` as `build.rs` would, on top of the tree compiled
/// into this tool, so that its `<Path>`s may name the standard objects and any clash with
/// them is found. Returns a one-line summary, or the compiler's one-line reason.
pub(crate) fn ddf_check(path: &Path) -> Result<String, String> {
    let name = path.display().to_string();
    let text = fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let mut compiler = Compiler::with_existing(schema::children(0).map(declared).collect());
    compiler
        .add_document(&name, &text)
        .map_err(|e| e.to_string())?;
    let compiled = compiler.finish().map_err(|e| e.to_string())?;

    // The checked document's top-level nodes: its nodes whose parent is not its own.
    let own = compiled.nodes.iter().filter(|n| n.document == Some(0));
    let tops: Vec<&str> = own
        .clone()
        .filter(|n| {
            n.parent
                .and_then(|p| compiled.nodes.get(p))
                .is_none_or(|p| p.document != Some(0))
        })
        .map(|n| n.uri.as_str())
        .collect();
    Ok(format!(
        "{name}: OK: {} nodes at {}",
        own.count(),
        tops.join(", ")
    ))
}

/// The compiled-in subtree at `id`, as the compiler needs to know it.
fn declared(id: NodeId) -> Declared {
    let def = schema::node(id);
    Declared {
        name: def.map_or_else(String::new, |d| d.name().to_owned()),
        interior: def.is_some_and(|d| d.is_interior()),
        case_sensitive: def.is_none_or(|d| d.case_sensitive()),
        children: schema::children(id).map(declared).collect(),
    }
}

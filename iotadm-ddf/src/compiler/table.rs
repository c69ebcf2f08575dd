//! From a [`Compiled`] tree to the tables of a [`Schema`]: the string pool, the packed
//! node specs and the documents.
//!
//! [`Compiled::leak`] and [`Compiled::to_rust`] both start from the one [`Table`] built
//! here, so a schema built at run time and the `static` one generated code builds are the
//! same, id for id and byte for byte.

use std::boxed::Box;
use std::collections::HashMap;
use std::format;
use std::string::String;
use std::vec::Vec;

use super::{Compiled, DdfError};
use crate::node::{NodeDef, NodeSpec, NodeStrings, StrId, NO_STRING};
use crate::schema::{DocumentDef, Schema, StringOffsets};
use crate::{NodeId, NO_DOCUMENT, NO_NODE};

/// The tables of a schema, before they are leaked or printed.
#[derive(Debug)]
pub(super) struct Table<'c> {
    /// Each distinct string once, in id order.
    pub(super) strings: Vec<&'c str>,
    /// Where each string starts, then where the last one ends.
    pub(super) offsets: Vec<u32>,
    pub(super) nodes: Vec<NodeSpec>,
    /// Each distinct row of node strings once, in the order nodes first use them.
    pub(super) node_strings: Vec<NodeStrings>,
    pub(super) documents: Vec<DocumentDef>,
}

impl<'c> Table<'c> {
    /// Numbers the strings in the order the tree first uses them: every node name in
    /// preorder (so that a lookup by name reads one short stretch of the pool), then each
    /// node's other strings, then the documents'.
    ///
    /// [`Compiler::finish`](super::Compiler::finish) has checked that every id fits its
    /// integer type; should one not, it reads as "none" rather than panicking.
    pub(super) fn of(compiled: &'c Compiled) -> Table<'c> {
        let mut pool = Pool::default();
        for n in &compiled.nodes {
            pool.intern(&n.name);
        }
        let mut nodes = Vec::with_capacity(compiled.nodes.len());
        let mut node_strings = Vec::new();
        let mut rows = HashMap::new();
        for n in &compiled.nodes {
            let p = &n.props;
            // Interned in this order so that string ids stay what they were when each node
            // held its own.
            let mime = pool.intern(&p.mime);
            let default_value = p.default_value.as_deref().map(|v| pool.intern(v));
            let acl = p.acl.as_deref().map(|v| pool.intern(v));
            let title = pool.intern(&p.title);
            let description = pool.intern(&p.description);
            let row = NodeStrings {
                default_value: default_value.unwrap_or(NO_STRING),
                mime,
                title,
                description,
                acl: acl.unwrap_or(NO_STRING),
            };
            let strings = *rows.entry(row).or_insert_with(|| {
                node_strings.push(row);
                u16::try_from(node_strings.len() - 1).unwrap_or(u16::MAX)
            });
            nodes.push(NodeSpec {
                name: pool.id(&n.name),
                parent: node_id(n.parent),
                first_child: node_id(n.first_child),
                subtree_end: node_id(Some(n.subtree_end)),
                format: p.format,
                access: p.access,
                occurrence: p.occurrence,
                scope: p.scope,
                case_sensitive: p.case_sensitive,
                strings,
                document: n
                    .document
                    .map_or(NO_DOCUMENT, |d| u8::try_from(d).unwrap_or(NO_DOCUMENT)),
                key: n.key,
            });
        }
        let documents = compiled
            .documents
            .iter()
            .map(|d| DocumentDef {
                root: node_id(Some(d.root)),
                man: pool.intern(&d.man),
                model: pool.intern(&d.model),
                ver_dtd: pool.intern(&d.ver_dtd),
            })
            .collect();
        let mut offsets = Vec::with_capacity(pool.strings.len() + 1);
        let mut end: u32 = 0;
        offsets.push(end);
        for s in &pool.strings {
            end = end.saturating_add(u32::try_from(s.len()).unwrap_or(u32::MAX));
            offsets.push(end);
        }
        Table {
            strings: pool.strings,
            offsets,
            nodes,
            node_strings,
            documents,
        }
    }

    /// Whether every offset fits in a `u16`, so the offsets table can be narrow.
    pub(super) fn narrow(&self) -> bool {
        self.offsets
            .last()
            .is_none_or(|&end| end <= u32::from(u16::MAX))
    }
}

/// Refuses a tree whose strings do not fit a schema's string ids and offsets.
pub(super) fn check_strings(compiled: &Compiled, max_strings: usize) -> Result<(), DdfError> {
    let table = Table::of(compiled);
    let whole = |message: String| DdfError {
        file: String::new(),
        node: None,
        line: None,
        message,
    };
    if table.strings.len() > max_strings {
        return Err(whole(format!(
            "the schema holds {} distinct strings, more than the {max_strings} its string ids \
             can number; leave titles and descriptions out (Builder::descriptions(false))",
            table.strings.len()
        )));
    }
    let bytes: usize = table.strings.iter().map(|s| s.len()).sum();
    if u32::try_from(bytes).is_err() {
        return Err(whole(format!(
            "the schema's strings take {bytes} bytes, more than 4 GiB"
        )));
    }
    Ok(())
}

/// The strings of a table, each once.
#[derive(Debug, Default)]
struct Pool<'c> {
    strings: Vec<&'c str>,
    ids: HashMap<&'c str, StrId>,
}

impl<'c> Pool<'c> {
    fn intern(&mut self, value: &'c str) -> StrId {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = StrId::try_from(self.strings.len()).unwrap_or(NO_STRING);
        self.ids.insert(value, id);
        self.strings.push(value);
        id
    }

    fn id(&self, value: &str) -> StrId {
        self.ids.get(value).copied().unwrap_or(NO_STRING)
    }
}

fn node_id(id: Option<usize>) -> NodeId {
    id.map_or(NO_NODE, |i| NodeId::try_from(i).unwrap_or(NO_NODE))
}

impl Compiled {
    /// The tree as a [`Schema`] for the rest of the program's life: for host tools and
    /// tests, which compile DDF documents at run time.
    ///
    /// The schema is the one [`to_rust`](Self::to_rust) would have generated from the same
    /// tree: the same ids, strings, keys and documents. Its tables are leaked (a few
    /// kilobytes for the standard documents), so call it once per tree, not in a loop.
    pub fn leak(self) -> &'static Schema {
        let table = Table::of(&self);
        let strings: &'static str = String::leak(table.strings.concat());
        let offsets = if table.narrow() {
            let narrow: Vec<u16> = table
                .offsets
                .iter()
                .map(|&o| u16::try_from(o).unwrap_or(u16::MAX))
                .collect();
            StringOffsets::Narrow(Vec::leak(narrow))
        } else {
            StringOffsets::Wide(Vec::leak(table.offsets))
        };
        let nodes: Vec<NodeDef> = table.nodes.into_iter().map(NodeDef::new).collect();
        Box::leak(Box::new(Schema::from_parts(
            Vec::leak(nodes),
            Vec::leak(table.node_strings),
            strings,
            offsets,
            Vec::leak(table.documents),
            u8::try_from(self.max_depth).unwrap_or(u8::MAX),
            self.descriptions,
        )))
    }
}

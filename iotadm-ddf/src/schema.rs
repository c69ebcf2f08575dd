//! [`Schema`]: a compiled management tree as a value, and its lookups by id, name, URI and
//! key.
//!
//! A schema is five `static` tables: the nodes in preorder (index 0 the root `.`), the
//! rows of strings nodes share, one string pool where each distinct string is stored once,
//! the pool's offsets, and the DDF documents the tree came from. A node's descendants are the ids `id + 1 .. subtree_end`,
//! its children are linked through `first_child` and the end of each child's subtree, and
//! every node knows its `parent`.
//!
//! Every method takes ids that may be out of range and answers `None`, an empty iterator
//! or an error instead of panicking. A table that breaks the preorder (which only a bug in
//! the generator could produce) cannot make a walk loop: walks only ever move forward
//! through the children and backward through the parents.

use core::fmt;

use crate::node::{Node, NodeDef, NodeStrings, StrId, NO_STRING};
use crate::{fnv1a, NodeId, FNV_OFFSET, NO_NODE, ROOT};

/// Where each string of a schema's pool starts, then where the last one ends: string `i`
/// is `strings[offsets[i] .. offsets[i + 1]]`. Narrow when the pool fits in 64 KiB.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringOffsets {
    /// `u16` offsets.
    Narrow(&'static [u16]),
    /// `u32` offsets, for a pool of 64 KiB or more.
    Wide(&'static [u32]),
}

impl StringOffsets {
    /// The byte range of string `id` in the pool.
    fn span(self, id: StrId) -> Option<(usize, usize)> {
        let i = usize::from(id);
        match self {
            StringOffsets::Narrow(o) => {
                Some((usize::from(*o.get(i)?), usize::from(*o.get(i + 1)?)))
            }
            StringOffsets::Wide(o) => Some((
                usize::try_from(*o.get(i)?).ok()?,
                usize::try_from(*o.get(i + 1)?).ok()?,
            )),
        }
    }
}

/// One DDF document (`<MgmtTree>`) of a schema, as generated code spells it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentDef {
    /// The first top-level `<Node>` of the document.
    pub root: NodeId,
    /// `Man`.
    pub man: StrId,
    /// `Mod`.
    pub model: StrId,
    /// `VerDTD`.
    pub ver_dtd: StrId,
}

/// One DDF document (`<MgmtTree>`) a schema was compiled from.
///
/// A document with several top-level nodes owns every node whose
/// [`document`](NodeDef::document) is its index; its top-level nodes are those whose parent
/// belongs to another document, and their `<Path>` is the parent's URI.
#[derive(Clone, Copy)]
pub struct Document<'a> {
    schema: &'a Schema,
    def: &'a DocumentDef,
}

impl<'a> Document<'a> {
    /// The first top-level `<Node>` of the document.
    pub const fn root(&self) -> NodeId {
        self.def.root
    }

    /// `Man`, empty when absent.
    pub fn man(&self) -> &'a str {
        self.schema.string(self.def.man)
    }

    /// `Mod`, empty when absent.
    pub fn model(&self) -> &'a str {
        self.schema.string(self.def.model)
    }

    /// `VerDTD`.
    pub fn ver_dtd(&self) -> &'a str {
        self.schema.string(self.def.ver_dtd)
    }
}

impl fmt::Debug for Document<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("root", &self.root())
            .field("man", &self.man())
            .field("model", &self.model())
            .field("ver_dtd", &self.ver_dtd())
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Document<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Document {{ root: {=u16}, man: {=str}, model: {=str}, ver_dtd: {=str} }}",
            self.root(),
            self.man(),
            self.model(),
            self.ver_dtd(),
        );
    }
}

/// A compiled management tree: every node its DDF documents describe, with lookups.
///
/// Built by generated code (a `static`, see `compiler::Generate`) or at
/// run time by the compiler. Node ids are indices in preorder, [`ROOT`] first.
#[derive(Clone, Copy)]
pub struct Schema {
    nodes: &'static [NodeDef],
    node_strings: &'static [NodeStrings],
    strings: &'static str,
    offsets: StringOffsets,
    documents: &'static [DocumentDef],
    max_depth: u8,
    descriptions: bool,
}

impl Schema {
    /// Assembles a schema from its tables; generated code calls it to build a `static`.
    #[doc(hidden)]
    pub const fn from_parts(
        nodes: &'static [NodeDef],
        node_strings: &'static [NodeStrings],
        strings: &'static str,
        offsets: StringOffsets,
        documents: &'static [DocumentDef],
        max_depth: u8,
        descriptions: bool,
    ) -> Schema {
        Schema {
            nodes,
            node_strings,
            strings,
            offsets,
            documents,
            max_depth,
            descriptions,
        }
    }

    /// The node `id`, or `None` when `id` is out of range.
    pub fn node(&self, id: NodeId) -> Option<Node<'_>> {
        self.nodes
            .get(usize::from(id))
            .map(|def| Node::new(self, id, def))
    }

    /// How many nodes the schema holds, root included. A `const fn`, so that a `static`
    /// schema can size arrays kept per node.
    pub const fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the schema holds no node at all, not even a root (no compiled schema is).
    pub const fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every node id, in preorder.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..NO_NODE).take(self.nodes.len())
    }

    /// The children of `parent` in document order; none for a leaf or an unknown id.
    pub fn children(&self, parent: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let first = self.def(parent).map_or(NO_NODE, NodeDef::first_child);
        let first = self.def(first).map(|_| first).filter(|&f| f > parent);
        core::iter::successors(first, move |&id| {
            self.def(id)
                .map(|def| self.next_sibling(id, def))
                .filter(|&next| self.def(next).is_some())
        })
    }

    /// The unnamed placeholder child of `parent`, if it has one (a parent has at most one).
    pub fn placeholder_child(&self, parent: NodeId) -> Option<NodeId> {
        self.children(parent).find(|&id| {
            self.def(id)
                .is_some_and(|d| self.is_empty_string(d.name_id()))
        })
    }

    /// The child of `parent` that a URI segment `name` reaches: the child with exactly that
    /// name, else a child whose `CaseSense` is `CIS` and whose name matches ignoring ASCII
    /// case, else the placeholder child. `None` when nothing matches or `name` is empty.
    pub fn child(&self, parent: NodeId, name: &str) -> Option<NodeId> {
        self.child_bytes(parent, name.as_bytes())
    }

    /// [`child`](Self::child) for a name given as bytes, as URIs arrive in messages.
    pub fn child_bytes(&self, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        if name.is_empty() {
            return None;
        }
        let mut folded = None;
        let mut placeholder = None;
        for id in self.children(parent) {
            let Some(def) = self.def(id) else { continue };
            let child_name = self.string_bytes(def.name_id());
            if child_name.is_empty() {
                placeholder = Some(id);
            } else if child_name == name {
                return Some(id);
            } else if folded.is_none()
                && !def.case_sensitive()
                && child_name.eq_ignore_ascii_case(name)
            {
                folded = Some(id);
            }
        }
        folded.or(placeholder)
    }

    /// The node a schema URI names: `./DMAcc/<x>/ServerID`, `DMAcc/<x>/ServerID`, or `.`
    /// for the root (so do `./` and the empty string).
    ///
    /// A segment written `<...>` names the placeholder child; any other segment goes
    /// through [`child`](Self::child), so a concrete instance name
    /// (`./DMAcc/srv1/ServerID`) reaches the placeholder's node too. An empty segment
    /// (`./DMAcc//ServerID`, a trailing `/`) names nothing.
    pub fn find(&self, uri: &str) -> Option<NodeId> {
        let path = match uri.as_bytes() {
            [b'.', b'/', rest @ ..] => rest,
            [b'.'] => &[],
            other => other,
        };
        self.def(ROOT)?;
        if path.is_empty() {
            return Some(ROOT);
        }
        path.split(|&b| b == b'/').try_fold(ROOT, |id, seg| {
            if seg.len() >= 2 && seg.first() == Some(&b'<') && seg.last() == Some(&b'>') {
                self.placeholder_child(id)
            } else {
                self.child_bytes(id, seg)
            }
        })
    }

    /// The node whose [`key`](NodeDef::key) is `key`. The compiler refuses schemas in which
    /// two nodes share a key, so there is at most one.
    pub fn by_key(&self, key: u32) -> Option<NodeId> {
        self.ids()
            .zip(self.nodes)
            .find(|(_, def)| def.key() == key)
            .map(|(id, _)| id)
    }

    /// Writes the URI of node `id` in the form of the DM specifications,
    /// e.g. `./DMAcc/<x>/AppAuth/<x>/AAuthType`: placeholders print as `<x>`, the root as
    /// `.`. An unknown id writes nothing and returns an error.
    pub fn write_uri(&self, id: NodeId, out: &mut impl fmt::Write) -> fmt::Result {
        // Segments are written root first but found leaf first; rather than keep the chain,
        // which would bound the depth, walk up again for each segment.
        let depth = self.depth(id).ok_or(fmt::Error)?;
        out.write_str(".")?;
        for level in (0..depth).rev() {
            let seg = self.ancestor(id, level).ok_or(fmt::Error)?;
            let name = self.def(seg).map_or("", |d| self.string(d.name_id()));
            out.write_str("/")?;
            out.write_str(if name.is_empty() { "<x>" } else { name })?;
        }
        Ok(())
    }

    /// The DDF documents the schema was compiled from, in compilation order.
    pub fn documents(&self) -> impl Iterator<Item = Document<'_>> + '_ {
        self.documents
            .iter()
            .map(move |def| Document { schema: self, def })
    }

    /// The document of index `index` (a node's [`document`](NodeDef::document)).
    pub fn document(&self, index: u8) -> Option<Document<'_>> {
        self.documents
            .get(usize::from(index))
            .map(|def| Document { schema: self, def })
    }

    /// Depth of the deepest node, in URI segments below the root.
    pub const fn max_depth(&self) -> usize {
        self.max_depth as usize
    }

    /// Whether the nodes keep their titles and descriptions; `false` when the schema was
    /// built without them, which leaves them all empty.
    pub const fn descriptions(&self) -> bool {
        self.descriptions
    }

    /// A hash of every node's key and format, in order: two schemas with the same
    /// fingerprint almost surely number the same nodes the same way and give them the same
    /// formats.
    pub fn fingerprint(&self) -> u32 {
        self.nodes.iter().fold(FNV_OFFSET, |hash, def| {
            let hash = fnv1a(hash, &def.key().to_le_bytes());
            fnv1a(hash, &[def.format() as u8])
        })
    }

    fn def(&self, id: NodeId) -> Option<&NodeDef> {
        self.nodes.get(usize::from(id))
    }

    /// In preorder the node after this subtree is the next sibling, unless it lies past the
    /// parent's subtree too.
    pub(crate) fn next_sibling(&self, id: NodeId, def: &NodeDef) -> NodeId {
        let Some(parent) = self.def(def.parent()) else {
            return NO_NODE;
        };
        if def.subtree_end() > id && def.subtree_end() < parent.subtree_end() {
            def.subtree_end()
        } else {
            NO_NODE
        }
    }

    /// How many segments below the root node `id` sits; `None` for an unknown id or a
    /// parent chain that does not lead back to the root.
    fn depth(&self, id: NodeId) -> Option<usize> {
        let mut depth = 0;
        let mut cur = id;
        loop {
            let parent = self.def(cur)?.parent();
            if parent == NO_NODE {
                return Some(depth);
            }
            if parent >= cur {
                return None;
            }
            depth += 1;
            cur = parent;
        }
    }

    /// The ancestor `levels` steps above `id` (`id` itself for 0).
    fn ancestor(&self, id: NodeId, levels: usize) -> Option<NodeId> {
        (0..levels).try_fold(id, |cur, _| {
            Some(self.def(cur)?.parent()).filter(|&p| p != NO_NODE)
        })
    }

    /// The string `id` of the pool. Generated tables only hold ids of the pool, cut at
    /// character boundaries; anything else reads as the empty string.
    pub(crate) fn string(&self, id: StrId) -> &'static str {
        self.offsets
            .span(id)
            .and_then(|(start, end)| self.strings.get(start..end))
            .unwrap_or("")
    }

    /// [`string`](Self::string) as bytes, without the character-boundary checks of `str`
    /// slicing: for comparing names, where only equality matters.
    pub(crate) fn string_bytes(&self, id: StrId) -> &'static [u8] {
        self.offsets
            .span(id)
            .and_then(|(start, end)| self.strings.as_bytes().get(start..end))
            .unwrap_or(&[])
    }

    /// The string `id`, `None` for [`NO_STRING`].
    pub(crate) fn optional_string(&self, id: StrId) -> Option<&'static str> {
        (id != NO_STRING).then(|| self.string(id))
    }

    /// The strings row of `def`; a row out of range reads as no strings at all.
    pub(crate) fn node_strings(&self, def: &NodeDef) -> NodeStrings {
        self.node_strings
            .get(usize::from(def.strings_row()))
            .copied()
            .unwrap_or(NodeStrings::NONE)
    }

    /// Whether string `id` is empty (or unknown), without slicing the pool.
    pub(crate) fn is_empty_string(&self, id: StrId) -> bool {
        self.offsets
            .span(id)
            .is_none_or(|(start, end)| start == end)
    }
}

impl fmt::Debug for Schema {
    /// A summary; the nodes themselves print through [`Node`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("nodes", &self.nodes.len())
            .field("documents", &self.documents.len())
            .field("strings", &self.strings.len())
            .field("max_depth", &self.max_depth)
            .field("descriptions", &self.descriptions)
            .field("fingerprint", &format_args!("{:#010x}", self.fingerprint()))
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Schema {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Schema {{ nodes: {=usize}, documents: {=usize}, max_depth: {=u8} }}",
            self.nodes.len(),
            self.documents.len(),
            self.max_depth,
        );
    }
}

/// Tests on a small table written by hand, so that they run without the compiler and can
/// hold what the compiler never produces.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{NodeSpec, NodeStrings};
    use crate::types::{AccessSet, Format, Occurrence, Scope};
    use crate::{uri_key, NO_DOCUMENT};
    use std::string::String;

    // ".", "A", "", "b", "x", "é" (two bytes, 4..6)
    static STRINGS: &str = ".Abxé";
    static OFFSETS: [u16; 7] = [0, 1, 2, 2, 3, 4, 6];

    const fn spec(name: StrId, parent: NodeId, first_child: NodeId, end: NodeId) -> NodeSpec {
        NodeSpec {
            name,
            parent,
            first_child,
            subtree_end: end,
            format: Format::Node,
            access: AccessSet::GET,
            occurrence: Occurrence::One,
            scope: Scope::Permanent,
            case_sensitive: false,
            strings: 0,
            document: NO_DOCUMENT,
            key: 0,
        }
    }

    // . -> A -> <x> -> b ; plus ids pointing nowhere.
    static NODES: [NodeDef; 4] = [
        NodeDef::new(NodeSpec {
            key: uri_key("."),
            ..spec(0, NO_NODE, 1, 4)
        }),
        NodeDef::new(NodeSpec {
            key: uri_key("A"),
            ..spec(1, 0, 2, 4)
        }),
        NodeDef::new(NodeSpec {
            key: uri_key("A/<x>"),
            scope: Scope::Dynamic,
            ..spec(2, 1, 3, 4)
        }),
        NodeDef::new(NodeSpec {
            key: uri_key("A/<x>/b"),
            format: Format::Chr,
            strings: 1,
            ..spec(3, 2, NO_NODE, 4)
        }),
    ];

    static NODE_STRINGS: [NodeStrings; 2] = [
        NodeStrings {
            default_value: NO_STRING,
            mime: 2,
            title: 2,
            description: 2,
            acl: NO_STRING,
        },
        NodeStrings {
            default_value: 5,
            mime: 2,
            title: 2,
            description: 2,
            acl: 60,
        },
    ];

    static DOCUMENTS: [DocumentDef; 1] = [DocumentDef {
        root: 1,
        man: 4,
        model: 200,
        ver_dtd: 5,
    }];

    static SMALL: Schema = Schema::from_parts(
        &NODES,
        &NODE_STRINGS,
        STRINGS,
        StringOffsets::Narrow(&OFFSETS),
        &DOCUMENTS,
        3,
        false,
    );

    fn uri(schema: &Schema, id: NodeId) -> String {
        let mut s = String::new();
        schema.write_uri(id, &mut s).unwrap();
        s
    }

    #[test]
    fn a_hand_written_table_reads_back() {
        assert_eq!(SMALL.len(), 4);
        assert_eq!(SMALL.ids().collect::<std::vec::Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(SMALL.find("./A/<x>/b"), Some(3));
        assert_eq!(SMALL.find("a/anything/B"), Some(3));
        assert_eq!(uri(&SMALL, 3), "./A/<x>/b");
        let b = SMALL.node(3).unwrap();
        assert_eq!(b.default_value(), Some("é"));
        assert_eq!(b.acl(), Some(""), "an id past the pool reads as empty");
        assert_eq!(b.title(), "");
        assert!(SMALL.node(2).unwrap().is_placeholder());
        let doc = SMALL.document(0).unwrap();
        assert_eq!((doc.root(), doc.man(), doc.model()), (1, "x", ""));
        assert_eq!(doc.ver_dtd(), "é");
        assert_eq!(SMALL.document(1).map(|d| d.root()), None);
        assert_eq!(SMALL.by_key(uri_key("./A/<x>")), Some(2));
        assert_eq!((SMALL.max_depth(), SMALL.descriptions()), (3, false));
        const PER_NODE: [u8; SMALL.len()] = [0; SMALL.len()];
        assert_eq!(PER_NODE.len(), 4);
    }

    #[test]
    fn bad_string_ids_read_as_nothing() {
        assert_eq!(SMALL.string(6), "");
        assert_eq!(SMALL.string(7), "");
        assert_eq!(SMALL.string(NO_STRING), "");
        assert_eq!(SMALL.string_bytes(NO_STRING), b"");
        assert_eq!(SMALL.optional_string(NO_STRING), None);
        assert_eq!(SMALL.optional_string(0), Some("."));
        assert!(SMALL.is_empty_string(2) && SMALL.is_empty_string(NO_STRING));
        // Offsets that cut a character read as nothing, byte-wise they still compare.
        static CUT: [u16; 2] = [4, 5];
        let cut = Schema::from_parts(
            &NODES,
            &NODE_STRINGS,
            STRINGS,
            StringOffsets::Narrow(&CUT),
            &[],
            0,
            true,
        );
        assert_eq!(cut.string(0), "");
        assert_eq!(cut.string_bytes(0), &"é".as_bytes()[..1]);
        static WIDE: [u32; 3] = [0, 1, u32::MAX];
        let wide = Schema::from_parts(
            &NODES,
            &NODE_STRINGS,
            STRINGS,
            StringOffsets::Wide(&WIDE),
            &[],
            0,
            true,
        );
        assert_eq!((wide.string(0), wide.string(1)), (".", ""));
    }

    #[test]
    fn a_schema_without_nodes_answers_nothing() {
        let empty = Schema::from_parts(&[], &[], "", StringOffsets::Narrow(&[]), &[], 0, true);
        assert!(empty.is_empty());
        assert_eq!(empty.ids().count(), 0);
        assert_eq!(empty.find("."), None);
        assert_eq!(empty.children(ROOT).count(), 0);
        assert!(empty.write_uri(ROOT, &mut String::new()).is_err());
        assert_eq!(empty.by_key(uri_key(".")), None);
        assert_eq!(empty.fingerprint(), FNV_OFFSET);
    }

    #[test]
    fn broken_links_end_walks_instead_of_looping() {
        // A child that points back at its parent, a parent after its child.
        static LOOPS: [NodeDef; 3] = [
            NodeDef::new(spec(0, NO_NODE, 1, 3)),
            NodeDef::new(spec(1, 2, 1, 1)),
            NodeDef::new(spec(3, 1, 0, 3)),
        ];
        let s = Schema::from_parts(
            &LOOPS,
            &NODE_STRINGS,
            STRINGS,
            StringOffsets::Narrow(&OFFSETS),
            &[],
            0,
            true,
        );
        assert_eq!(s.children(1).count(), 0);
        assert_eq!(s.children(ROOT).collect::<std::vec::Vec<_>>(), [1]);
        assert!(s.write_uri(1, &mut String::new()).is_err());
        assert!(s.write_uri(2, &mut String::new()).is_err());
        assert_eq!(s.find("A/b"), None);
        // A node whose row of strings is missing has none.
        let rowless = Schema::from_parts(
            &NODES,
            &[],
            STRINGS,
            StringOffsets::Narrow(&OFFSETS),
            &[],
            0,
            true,
        );
        let b = rowless.node(3).unwrap();
        assert_eq!((b.default_value(), b.acl(), b.mime()), (None, None, ""));
    }

    #[test]
    fn debug_summarises() {
        let text = std::format!("{SMALL:?}");
        assert!(
            text.starts_with("Schema { nodes: 4, documents: 1, "),
            "{text}"
        );
        let doc = std::format!("{:?}", SMALL.document(0).unwrap());
        assert_eq!(
            doc,
            "Document { root: 1, man: \"x\", model: \"\", ver_dtd: \"é\" }"
        );
        let def = std::format!("{:?}", NODES[1]);
        assert!(def.starts_with("NodeDef { name: 1, parent: 0, "), "{def}");
    }
}

/// The lookups on the standard documents, compiled at run time.
#[cfg(all(test, feature = "compiler"))]
mod compiled_tests {
    use super::*;
    use crate::compiler::{compile, standard_documents, Compiled};
    use crate::types::{AccessSet, Format};
    use crate::{uri_key, NO_DOCUMENT};
    use std::string::String;
    use std::sync::OnceLock;
    use std::vec::Vec;

    fn compiled() -> Compiled {
        compile(standard_documents()).unwrap()
    }

    fn standard() -> &'static Schema {
        static STANDARD: OnceLock<&'static Schema> = OnceLock::new();
        STANDARD.get_or_init(|| compiled().leak())
    }

    fn uri(id: NodeId) -> String {
        let mut s = String::new();
        standard().write_uri(id, &mut s).unwrap();
        s
    }

    fn path(segments: &[&str]) -> NodeId {
        segments
            .iter()
            .try_fold(ROOT, |id, seg| standard().child(id, seg))
            .unwrap_or_else(|| panic!("no node for {segments:?}"))
    }

    #[test]
    fn root_is_synthesised() {
        let s = standard();
        let root = s.node(ROOT).unwrap();
        assert_eq!(root.name(), ".");
        assert_eq!(root.parent(), NO_NODE);
        assert_eq!(root.format(), Format::Node);
        assert_eq!(root.access(), AccessSet::ADD.union(AccessSet::GET));
        assert_eq!(root.acl(), Some("Add=*&Get=*"));
        assert_eq!(root.document(), NO_DOCUMENT);
        assert_eq!(root.key(), uri_key("."));
        assert_eq!(usize::from(root.subtree_end()), s.len());
        assert_eq!(uri(ROOT), ".");
        assert_eq!(
            (s.find("."), s.find("./"), s.find("")),
            (Some(0), Some(0), Some(0))
        );
    }

    #[test]
    fn links_are_consistent_preorder() {
        let s = standard();
        for id in s.ids() {
            let node = s.node(id).unwrap();
            assert!(node.subtree_end() > id && usize::from(node.subtree_end()) <= s.len());
            let kids: Vec<NodeId> = s.children(id).collect();
            // The sibling links agree with the parent links, which are stored.
            let by_parent: Vec<NodeId> = s
                .ids()
                .filter(|&k| s.node(k).unwrap().parent() == id)
                .collect();
            assert_eq!(kids, by_parent, "children of {}", uri(id));
            assert_eq!(
                node.first_child(),
                by_parent.first().copied().unwrap_or(NO_NODE)
            );
            for (k, next) in by_parent.iter().zip(by_parent.iter().skip(1)) {
                assert_eq!(s.node(*k).unwrap().next_sibling(), *next);
            }
            if let Some(&last) = by_parent.last() {
                assert_eq!(s.node(last).unwrap().next_sibling(), NO_NODE);
            }
            // Preorder: the first child follows its parent, each next child follows the
            // previous child's subtree, and the last child's subtree ends the parent's.
            let mut expect = id + 1;
            for &k in &kids {
                assert_eq!(k, expect, "child order under {}", uri(id));
                assert_eq!(s.node(k).unwrap().parent(), id);
                expect = s.node(k).unwrap().subtree_end();
            }
            assert_eq!(expect, node.subtree_end(), "subtree of {}", uri(id));
            if node.is_leaf() {
                assert!(kids.is_empty());
            }
            if id != ROOT {
                assert!(node.parent() < id);
                assert!(s.document(node.document()).is_some());
            }
            assert!(s.depth(id).unwrap() <= s.max_depth());
        }
        assert_eq!(s.max_depth(), 7);
    }

    #[test]
    fn child_prefers_named_then_placeholder() {
        let s = standard();
        let dmacc = path(&["DMAcc"]);
        let acc = s.child(dmacc, "srv1").unwrap();
        assert_eq!(Some(acc), s.placeholder_child(dmacc));
        assert_eq!(s.child(dmacc, "anything-else"), Some(acc));
        let app_auth = s.child(acc, "AppAuth").unwrap();
        assert_eq!(s.node(app_auth).unwrap().name(), "AppAuth");
        let ty = path(&["DMAcc", "x", "AppAuth", "CLCRED", "AAuthType"]);
        assert_eq!(uri(ty), "./DMAcc/<x>/AppAuth/<x>/AAuthType");
        assert_eq!(s.node(ty).unwrap().format(), Format::Chr);
        assert_eq!(s.child_bytes(app_auth, b"x"), s.placeholder_child(app_auth));

        let devinfo = path(&["DevInfo"]);
        assert_eq!(s.placeholder_child(devinfo), None);
        assert_eq!(s.child(devinfo, "NoSuchNode"), None);
        // Names are case-sensitive unless the DDF says CIS.
        assert_eq!(s.child(devinfo, "devid"), None);
        assert_eq!(s.child(devinfo, ""), None);
    }

    #[test]
    fn find_reads_schema_and_instance_uris() {
        let s = standard();
        let server_id = path(&["DMAcc", "x", "ServerID"]);
        for uri in [
            "./DMAcc/<x>/ServerID",
            "DMAcc/<x>/ServerID",
            "./DMAcc/srv1/ServerID",
            "./DMAcc/<anything>/ServerID",
        ] {
            assert_eq!(s.find(uri), Some(server_id), "{uri}");
        }
        for uri in [
            "./DMAcc//ServerID",
            "./DMAcc/<x>/ServerID/",
            "./DevInfo/<x>",
            "./NoSuch",
            "../DevInfo",
            "./DevInfo/DevId/More",
        ] {
            assert_eq!(s.find(uri), None, "{uri}");
        }
        assert_eq!(s.find("./DevInfo"), Some(path(&["DevInfo"])));
    }

    #[test]
    fn by_key_finds_every_node_and_nothing_else() {
        let s = standard();
        for id in s.ids() {
            let key = s.node(id).unwrap().key();
            assert_eq!(s.by_key(key), Some(id));
            assert_eq!(key, uri_key(&uri(id)));
        }
        assert_eq!(s.by_key(uri_key("./DMAcc/srv1")), None);
    }

    #[test]
    fn fingerprints_tell_schemas_apart() {
        let s = standard();
        assert_eq!(s.fingerprint(), compiled().leak().fingerprint());
        assert_eq!(s.fingerprint(), {
            let mut bare = compiled();
            bare.drop_descriptions();
            bare.leak().fingerprint()
        });
        let fewer = compile(&standard_documents()[1..]).unwrap().leak();
        assert_ne!(s.fingerprint(), fewer.fingerprint());
        // The same names with another format.
        let chr = "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>A</NodeName><DFProperties>\
                   <AccessType><Get/></AccessType><DFFormat><chr/></DFFormat>\
                   <DFType><MIME>text/plain</MIME></DFType></DFProperties></Node></MgmtTree>";
        let one = compile(&[("a.xml", chr)]).unwrap().leak();
        let other = compile(&[("a.xml", chr.replace("chr", "int"))])
            .unwrap()
            .leak();
        assert_ne!(one.fingerprint(), other.fingerprint());
    }

    #[test]
    fn write_uri_has_no_depth_limit() {
        // As deep as DDFs may go: writing a URI keeps no chain of ancestors to size.
        let depth = crate::compiler::MAX_DEPTH;
        let mut inner = String::new();
        for i in (0..depth).rev() {
            inner = std::format!(
                "<Node><NodeName>N{i}</NodeName><DFProperties><AccessType><Get/></AccessType>\
                 <DFFormat><node/></DFFormat><DFType><DDFName/></DFType></DFProperties>\
                 {inner}</Node>"
            );
        }
        let text = std::format!("<MgmtTree><VerDTD>1.2</VerDTD>{inner}</MgmtTree>");
        let deep = compile(&[("deep.xml", text)]).unwrap().leak();
        let last = NodeId::try_from(depth).unwrap();
        let mut written = String::new();
        deep.write_uri(last, &mut written).unwrap();
        let expected: String = (0..depth).map(|i| std::format!("/N{i}")).collect();
        assert_eq!(written, std::format!(".{expected}"));
        assert_eq!(deep.find(&written), Some(last));
        assert_eq!(deep.max_depth(), depth);
    }

    #[test]
    fn unknown_ids_are_refused_without_panicking() {
        let s = standard();
        let past_end = NodeId::try_from(s.len()).unwrap();
        assert!(s.node(past_end).is_none());
        assert!(s.node(NO_NODE).is_none());
        assert_eq!(s.children(NO_NODE).count(), 0);
        assert_eq!(s.child(NO_NODE, "DevInfo"), None);
        assert_eq!(s.placeholder_child(past_end), None);
        assert!(s.document(NO_DOCUMENT).is_none());
        let mut out = String::new();
        assert!(s.write_uri(NO_NODE, &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn strings_are_pooled_once() {
        let s = standard();
        let StringOffsets::Narrow(offsets) = s.offsets else {
            panic!("the standard pool fits in 64 KiB");
        };
        let count = offsets.len() - 1;
        assert_eq!(offsets[0], 0);
        assert_eq!(usize::from(offsets[count]), s.strings.len());
        let pooled: Vec<&str> = (0..count)
            .map(|i| s.string(StrId::try_from(i).unwrap()))
            .collect();
        assert_eq!(pooled.concat(), s.strings);
        let mut distinct = pooled.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), pooled.len(), "a string is pooled twice");

        // Every string the schema gives out is a piece of the pool, and every piece is used.
        let pool = s.strings.as_bytes().as_ptr_range();
        let mut used = std::collections::BTreeSet::new();
        for node in s.ids().filter_map(|id| s.node(id)) {
            let strings = [
                Some(node.name()),
                Some(node.mime()),
                Some(node.title()),
                Some(node.description()),
                node.default_value(),
                node.acl(),
            ];
            for text in strings.into_iter().flatten() {
                assert!(
                    pool.start <= text.as_ptr() && text.as_ptr() <= pool.end,
                    "{text:?}"
                );
                used.insert(text);
            }
        }
        for d in s.documents() {
            used.extend([d.man(), d.model(), d.ver_dtd()]);
        }
        assert_eq!(used.len(), count);
    }

    #[test]
    fn titles_and_descriptions_follow_the_build_option() {
        let s = standard();
        let dmacc = s.node(s.find("./DMAcc").unwrap()).unwrap();
        assert!(s.descriptions());
        assert_eq!(dmacc.title(), "DM accounts");
        assert!(!dmacc.description().is_empty());

        let mut bare = compiled();
        bare.drop_descriptions();
        let bare = bare.leak();
        assert!(!bare.descriptions());
        assert!(bare
            .ids()
            .filter_map(|id| bare.node(id))
            .all(|n| n.title().is_empty() && n.description().is_empty()));
        assert!(bare.strings.len() < s.strings.len());
    }

    #[test]
    fn debug_shows_the_decoded_node() {
        let s = standard();
        let dmacc = s.node(s.find("./DMAcc").unwrap()).unwrap();
        let text = std::format!("{dmacc:?}");
        assert!(
            text.starts_with("NodeDef { name: \"DMAcc\", parent: 0, "),
            "{text}"
        );
        assert!(
            text.contains("format: Node, access: AccessSet(Get), "),
            "{text}"
        );
        assert!(text.contains("scope: Permanent, "), "{text}");
        assert!(text.contains("acl: Some(\"Exec=*\")"), "{text}");
        assert!(
            text.ends_with(&std::format!("key: {:#010x} }}", uri_key("DMAcc"))),
            "{text}"
        );
    }

    #[test]
    fn leaves_have_no_children() {
        let s = standard();
        let devid = path(&["DevInfo", "DevId"]);
        assert_eq!(s.children(devid).count(), 0);
        assert_eq!(s.child(devid, "x"), None);
    }

    #[test]
    fn documents_are_in_compilation_order() {
        let s = standard();
        let names: Vec<(NodeId, &str)> = s.documents().map(|d| (d.root(), d.ver_dtd())).collect();
        assert_eq!(names.len(), 5);
        assert_eq!(s.document(0).map(|d| d.root()), s.find("./CDMA"));
        assert_eq!(s.document(4).map(|d| d.root()), s.find("./FUMO"));
        assert!(s
            .documents()
            .all(|d| d.man() == "iotadm" && d.ver_dtd() == "1.2"));
    }
}

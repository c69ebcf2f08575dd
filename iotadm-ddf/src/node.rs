//! One node of a schema: [`NodeDef`], the packed record a compiled table stores per node,
//! and [`Node`], a view of one node together with the schema whose strings it names.
//!
//! A `NodeDef` holds node ids and string ids (all `u16`), one-byte codes and the node's
//! key; it is laid out for flash and decoded by constant-time accessors. Its strings live
//! in the schema's pool, so reading them goes through a [`Node`].

use core::fmt;

use crate::schema::Schema;
use crate::types::{AccessSet, Format, Occurrence, Scope};
use crate::NodeId;

/// Index of a string in a schema's string pool.
#[doc(hidden)]
pub type StrId = u16;

/// "No string": an absent `DefaultValue` or ACL.
#[doc(hidden)]
pub const NO_STRING: StrId = u16::MAX;

/// `NodeDef::flags`: bit 0 set for `Dynamic` scope, bit 1 set for `CIS` (names matched
/// ignoring case), bits 2..5 the occurrence kind (`OCCURRENCE_*`).
const FLAG_DYNAMIC: u8 = 1 << 0;
const FLAG_CASE_INSENSITIVE: u8 = 1 << 1;
const OCCURRENCE_SHIFT: u32 = 2;
const OCCURRENCE_ONE: u8 = 0;
const OCCURRENCE_ZERO_OR_ONE: u8 = 1;
const OCCURRENCE_ZERO_OR_MORE: u8 = 2;
const OCCURRENCE_ONE_OR_MORE: u8 = 3;
const OCCURRENCE_ZERO_OR_N: u8 = 4;
const OCCURRENCE_ONE_OR_N: u8 = 5;

/// One node of a compiled table, as its DDF document describes it.
///
/// 20 bytes a node: node ids (`u16`), the name's string id, the index of the node's other
/// strings in the schema's table of them, one-byte codes and the `u32` key. The layout is
/// private; the accessors decode it in constant time. The strings (name, MIME type,
/// default value, ACL, title, description) are read through a [`Node`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NodeDef {
    key: u32,
    name: StrId,
    parent: NodeId,
    first_child: NodeId,
    subtree_end: NodeId,
    /// The N of `ZeroOrN` and `OneOrN`, 0 for the other occurrences.
    occurrence_max: u16,
    /// The node's row in the schema's [`NodeStrings`] table.
    strings: u16,
    format: Format,
    access: AccessSet,
    /// Scope, case sense and occurrence kind; see [`FLAG_DYNAMIC`].
    flags: u8,
    document: u8,
}

// The flash budget is 32 bytes a node; the layout above takes 20, and growing it should be
// a deliberate decision, not a side effect.
const _: () = assert!(core::mem::size_of::<NodeDef>() <= 20);

/// A node's strings other than its name, one row of a schema's table: most nodes have the
/// same (a MIME type, no default, no ACL, no title), so nodes share rows rather than each
/// carrying five string ids.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeStrings {
    /// [`NO_STRING`] for none.
    pub default_value: StrId,
    pub mime: StrId,
    pub title: StrId,
    pub description: StrId,
    /// [`NO_STRING`] for none.
    pub acl: StrId,
}

impl NodeStrings {
    /// The row of a node whose row is missing: every string absent or empty.
    pub(crate) const NONE: NodeStrings = NodeStrings {
        default_value: NO_STRING,
        mime: NO_STRING,
        title: NO_STRING,
        description: NO_STRING,
        acl: NO_STRING,
    };
}

/// A node as generated code spells it, before [`NodeDef::new`] packs it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: StrId,
    pub parent: NodeId,
    pub first_child: NodeId,
    pub subtree_end: NodeId,
    pub format: Format,
    pub access: AccessSet,
    pub occurrence: Occurrence,
    pub scope: Scope,
    pub case_sensitive: bool,
    /// The node's row in the schema's [`NodeStrings`] table.
    pub strings: u16,
    pub document: u8,
    pub key: u32,
}

impl NodeDef {
    /// Packs `spec`; generated tables evaluate it at compile time for every node.
    #[doc(hidden)]
    pub const fn new(spec: NodeSpec) -> NodeDef {
        let (kind, occurrence_max) = match spec.occurrence {
            Occurrence::One => (OCCURRENCE_ONE, 0),
            Occurrence::ZeroOrOne => (OCCURRENCE_ZERO_OR_ONE, 0),
            Occurrence::ZeroOrMore => (OCCURRENCE_ZERO_OR_MORE, 0),
            Occurrence::OneOrMore => (OCCURRENCE_ONE_OR_MORE, 0),
            Occurrence::ZeroOrN(n) => (OCCURRENCE_ZERO_OR_N, n),
            Occurrence::OneOrN(n) => (OCCURRENCE_ONE_OR_N, n),
        };
        let mut flags = kind << OCCURRENCE_SHIFT;
        if matches!(spec.scope, Scope::Dynamic) {
            flags |= FLAG_DYNAMIC;
        }
        if !spec.case_sensitive {
            flags |= FLAG_CASE_INSENSITIVE;
        }
        NodeDef {
            key: spec.key,
            name: spec.name,
            parent: spec.parent,
            first_child: spec.first_child,
            subtree_end: spec.subtree_end,
            occurrence_max,
            strings: spec.strings,
            format: spec.format,
            access: spec.access,
            flags,
            document: spec.document,
        }
    }

    /// The stable key: [`uri_key`](crate::uri_key) of the node's schema URI. Unlike the
    /// id, it does not change when other nodes are added to or removed from the schema.
    pub const fn key(&self) -> u32 {
        self.key
    }

    /// The parent node; [`NO_NODE`](crate::NO_NODE) for the root.
    pub const fn parent(&self) -> NodeId {
        self.parent
    }

    /// The first child; [`NO_NODE`](crate::NO_NODE) when the node has none.
    pub const fn first_child(&self) -> NodeId {
        self.first_child
    }

    /// One past the last descendant: the subtree is `id .. subtree_end`.
    pub const fn subtree_end(&self) -> NodeId {
        self.subtree_end
    }

    /// `DFFormat`; [`Format::Node`] for interior nodes.
    pub const fn format(&self) -> Format {
        self.format
    }

    /// `AccessType`: the commands that may target the node.
    pub const fn access(&self) -> AccessSet {
        self.access
    }

    /// `Occurrence`.
    pub const fn occurrence(&self) -> Occurrence {
        match self.flags >> OCCURRENCE_SHIFT {
            OCCURRENCE_ONE => Occurrence::One,
            OCCURRENCE_ZERO_OR_ONE => Occurrence::ZeroOrOne,
            OCCURRENCE_ZERO_OR_MORE => Occurrence::ZeroOrMore,
            OCCURRENCE_ONE_OR_MORE => Occurrence::OneOrMore,
            OCCURRENCE_ZERO_OR_N => Occurrence::ZeroOrN(self.occurrence_max),
            // OCCURRENCE_ONE_OR_N, the only other kind `new` writes.
            _ => Occurrence::OneOrN(self.occurrence_max),
        }
    }

    /// `Scope`.
    pub const fn scope(&self) -> Scope {
        if self.flags & FLAG_DYNAMIC != 0 {
            Scope::Dynamic
        } else {
            Scope::Permanent
        }
    }

    /// `CaseSense`: whether the node name is matched case-sensitively.
    pub const fn case_sensitive(&self) -> bool {
        self.flags & FLAG_CASE_INSENSITIVE == 0
    }

    /// The describing document, an index into the schema's documents;
    /// [`NO_DOCUMENT`](crate::NO_DOCUMENT) for the root.
    pub const fn document(&self) -> u8 {
        self.document
    }

    /// Whether the node is interior (format `node`).
    pub const fn is_interior(&self) -> bool {
        matches!(self.format, Format::Node)
    }

    /// Whether the node is a leaf, which holds a value and has no children.
    pub const fn is_leaf(&self) -> bool {
        !self.is_interior()
    }

    pub(crate) const fn name_id(&self) -> StrId {
        self.name
    }

    pub(crate) const fn strings_row(&self) -> u16 {
        self.strings
    }
}

impl fmt::Debug for NodeDef {
    /// The decoded fields; strings appear as their ids, since the pool is the schema's.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeDef")
            .field("name", &self.name)
            .field("parent", &self.parent)
            .field("first_child", &self.first_child)
            .field("subtree_end", &self.subtree_end)
            .field("format", &self.format)
            .field("access", &self.access)
            .field("occurrence", &self.occurrence())
            .field("scope", &self.scope())
            .field("case_sensitive", &self.case_sensitive())
            .field("strings", &self.strings)
            .field("document", &self.document)
            .field("key", &format_args!("{:#010x}", self.key))
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for NodeDef {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "NodeDef {{ name: {=u16}, parent: {=u16}, format: {}, access: {}, occurrence: {}, \
             scope: {}, key: {=u32:#x} }}",
            self.name,
            self.parent,
            self.format,
            self.access,
            self.occurrence(),
            self.scope(),
            self.key,
        );
    }
}

/// One node of a [`Schema`]: its id, its packed [`NodeDef`] and the strings it names.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    schema: &'a Schema,
    id: NodeId,
    def: &'a NodeDef,
}

impl<'a> Node<'a> {
    pub(crate) const fn new(schema: &'a Schema, id: NodeId, def: &'a NodeDef) -> Node<'a> {
        Node { schema, id, def }
    }

    /// The node's id in its schema.
    pub const fn id(&self) -> NodeId {
        self.id
    }

    /// The packed record.
    pub const fn def(&self) -> &'a NodeDef {
        self.def
    }

    /// The schema the node belongs to.
    pub const fn schema(&self) -> &'a Schema {
        self.schema
    }

    /// The node name; empty for an unnamed placeholder `<x>`, `.` for the root.
    pub fn name(&self) -> &'a str {
        self.schema.string(self.def.name)
    }

    /// The node name as bytes (quicker to compare than [`name`](Self::name)).
    pub fn name_bytes(&self) -> &'a [u8] {
        self.schema.string_bytes(self.def.name)
    }

    /// `DefaultValue` (or `Value`): the value a new instance starts with.
    pub fn default_value(&self) -> Option<&'a str> {
        self.schema
            .optional_string(self.schema.node_strings(self.def).default_value)
    }

    /// `DFType`: the MIME type of a leaf, the MO identifier of an interior node.
    pub fn mime(&self) -> &'a str {
        self.schema.string(self.schema.node_strings(self.def).mime)
    }

    /// `DFTitle`, empty when absent or when the schema was built without titles
    /// ([`Schema::descriptions`]).
    pub fn title(&self) -> &'a str {
        self.schema.string(self.schema.node_strings(self.def).title)
    }

    /// `Description`, empty when absent or when the schema was built without descriptions
    /// ([`Schema::descriptions`]).
    pub fn description(&self) -> &'a str {
        self.schema
            .string(self.schema.node_strings(self.def).description)
    }

    /// The default ACL from `RTProperties/ACL`; `None` inherits the parent's.
    pub fn acl(&self) -> Option<&'a str> {
        self.schema
            .optional_string(self.schema.node_strings(self.def).acl)
    }

    /// Whether the node is an unnamed placeholder, named only when an instance is created.
    pub fn is_placeholder(&self) -> bool {
        self.schema.is_empty_string(self.def.name)
    }

    /// The next child of the same parent; [`NO_NODE`](crate::NO_NODE) for the last one.
    pub fn next_sibling(&self) -> NodeId {
        self.schema.next_sibling(self.id, self.def)
    }

    /// See [`NodeDef::key`].
    pub const fn key(&self) -> u32 {
        self.def.key()
    }

    /// See [`NodeDef::parent`].
    pub const fn parent(&self) -> NodeId {
        self.def.parent()
    }

    /// See [`NodeDef::first_child`].
    pub const fn first_child(&self) -> NodeId {
        self.def.first_child()
    }

    /// See [`NodeDef::subtree_end`].
    pub const fn subtree_end(&self) -> NodeId {
        self.def.subtree_end()
    }

    /// See [`NodeDef::format`].
    pub const fn format(&self) -> Format {
        self.def.format()
    }

    /// See [`NodeDef::access`].
    pub const fn access(&self) -> AccessSet {
        self.def.access()
    }

    /// See [`NodeDef::occurrence`].
    pub const fn occurrence(&self) -> Occurrence {
        self.def.occurrence()
    }

    /// See [`NodeDef::scope`].
    pub const fn scope(&self) -> Scope {
        self.def.scope()
    }

    /// See [`NodeDef::case_sensitive`].
    pub const fn case_sensitive(&self) -> bool {
        self.def.case_sensitive()
    }

    /// See [`NodeDef::document`].
    pub const fn document(&self) -> u8 {
        self.def.document()
    }

    /// See [`NodeDef::is_interior`].
    pub const fn is_interior(&self) -> bool {
        self.def.is_interior()
    }

    /// See [`NodeDef::is_leaf`].
    pub const fn is_leaf(&self) -> bool {
        self.def.is_leaf()
    }
}

impl fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeDef")
            .field("name", &self.name())
            .field("parent", &self.parent())
            .field("first_child", &self.first_child())
            .field("next_sibling", &self.next_sibling())
            .field("subtree_end", &self.subtree_end())
            .field("format", &self.format())
            .field("access", &self.access())
            .field("occurrence", &self.occurrence())
            .field("scope", &self.scope())
            .field("case_sensitive", &self.case_sensitive())
            .field("default_value", &self.default_value())
            .field("mime", &self.mime())
            .field("title", &self.title())
            .field("description", &self.description())
            .field("acl", &self.acl())
            .field("document", &self.document())
            .field("key", &format_args!("{:#010x}", self.key()))
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Node<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "NodeDef {{ name: {=str}, parent: {=u16}, format: {}, access: {}, occurrence: {}, \
             scope: {}, mime: {=str}, acl: {} }}",
            self.name(),
            self.parent(),
            self.format(),
            self.access(),
            self.occurrence(),
            self.scope(),
            self.mime(),
            self.acl(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_defs_are_small() {
        assert_eq!(core::mem::size_of::<NodeDef>(), 20);
        assert_eq!(core::mem::align_of::<NodeDef>(), 4);
    }

    #[test]
    fn packing_round_trips() {
        let occurrences = [
            Occurrence::One,
            Occurrence::ZeroOrOne,
            Occurrence::ZeroOrMore,
            Occurrence::OneOrMore,
            Occurrence::ZeroOrN(7),
            Occurrence::OneOrN(u16::MAX),
        ];
        for occurrence in occurrences {
            for scope in [Scope::Permanent, Scope::Dynamic] {
                for case_sensitive in [true, false] {
                    let def = NodeDef::new(NodeSpec {
                        name: 0,
                        parent: 3,
                        first_child: 4,
                        subtree_end: 9,
                        format: Format::Float,
                        access: AccessSet::EXEC.union(AccessSet::COPY),
                        occurrence,
                        scope,
                        case_sensitive,
                        strings: 7,
                        document: 200,
                        key: 0xdead_beef,
                    });
                    assert_eq!(def.occurrence(), occurrence);
                    assert_eq!(def.scope(), scope);
                    assert_eq!(def.case_sensitive(), case_sensitive);
                    assert_eq!((def.parent(), def.first_child()), (3, 4));
                    assert_eq!(def.subtree_end(), 9);
                    assert_eq!(def.format(), Format::Float);
                    assert_eq!(def.access(), AccessSet::EXEC.union(AccessSet::COPY));
                    assert_eq!(def.strings_row(), 7);
                    assert_eq!(def.document(), 200);
                    assert_eq!(def.key(), 0xdead_beef);
                    assert!(def.is_leaf() && !def.is_interior());
                }
            }
        }
    }
}

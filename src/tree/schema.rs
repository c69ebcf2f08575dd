//! The static shape of the management tree, compiled by `build.rs` from the DDF documents in
//! `ddf/` (and in the directories named by `IOTADM_DDF_DIRS`).
//!
//! [`NODES`] holds one [`NodeDef`] per node the DDF documents describe, in preorder, with
//! index 0 the root `.`. A node's descendants are the ids `id + 1 .. subtree_end`, its
//! children are linked through `first_child` and `next_sibling`, and every node knows its
//! `parent`. An unnamed placeholder (`<x>` in the DM specifications) has the empty name and
//! stands for every run-time node created in its place.
//!
//! The table is `static` data: nothing here allocates, and every lookup takes an id that may
//! be out of range and answers `None` (or writes nothing) instead of panicking. Everything a
//! DDF says about a node is kept, so the tree can serve the DDF back to a server by
//! serializing this table; values, ACL changes and the nodes created at run time belong to
//! the runtime tree, not here.
//!
//! The table is sized for flash: a [`NodeDef`] takes 24 bytes, and refers to its strings
//! (name, MIME type, default value, ACL, title, description) by `u16` ids into one pool
//! where each distinct string is stored once. Every accessor runs in constant time. A
//! build with `IOTADM_DDF_DESCRIPTIONS=0` leaves titles and descriptions out of the pool
//! (see [`DESCRIPTIONS`]).

use core::fmt;

/// Index of a node in [`NODES`].
pub type NodeId = u16;

/// "No node": the parent of the root, the end of a sibling chain, the first child of a leaf.
pub const NO_NODE: NodeId = u16::MAX;

/// The `document` of the synthesised root `.`, which no DDF document describes.
pub const NO_DOCUMENT: u8 = u8::MAX;

/// The format of a node value (DDF `DFFormat`, SyncML `Meta/Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Format {
    /// `b64`: Base64-encoded binary.
    B64,
    /// `bin`: binary.
    Bin,
    /// `bool`: `true` or `false`.
    Bool,
    /// `chr`: text.
    Chr,
    /// `int`: signed 32-bit integer in decimal.
    Int,
    /// `node`: an interior node, which has children and no value.
    Node,
    /// `null`: a leaf without a value.
    Null,
    /// `xml`: an XML document.
    Xml,
    /// `date`: an ISO 8601 date.
    Date,
    /// `time`: an ISO 8601 time.
    Time,
    /// `float`: a 32-bit IEEE 754 number.
    Float,
}

impl Format {
    /// Every format, in declaration order.
    pub const ALL: [Format; 11] = [
        Format::B64,
        Format::Bin,
        Format::Bool,
        Format::Chr,
        Format::Int,
        Format::Node,
        Format::Null,
        Format::Xml,
        Format::Date,
        Format::Time,
        Format::Float,
    ];

    /// The name used on the wire and in DDF documents, e.g. `"chr"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::B64 => "b64",
            Format::Bin => "bin",
            Format::Bool => "bool",
            Format::Chr => "chr",
            Format::Int => "int",
            Format::Node => "node",
            Format::Null => "null",
            Format::Xml => "xml",
            Format::Date => "date",
            Format::Time => "time",
            Format::Float => "float",
        }
    }

    /// The format named `name` (exactly, as the names are case-sensitive), if any.
    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the DM formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UnknownFormat;

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown format")
    }
}

impl core::str::FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::parse(s).ok_or(UnknownFormat)
    }
}

/// A set of DM commands: the DDF `AccessType` of a node, the commands that may target it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AccessSet(u8);

impl AccessSet {
    /// No command.
    pub const NONE: AccessSet = AccessSet(0);
    /// `Add`.
    pub const ADD: AccessSet = AccessSet(1 << 0);
    /// `Copy`.
    pub const COPY: AccessSet = AccessSet(1 << 1);
    /// `Delete`.
    pub const DELETE: AccessSet = AccessSet(1 << 2);
    /// `Exec`.
    pub const EXEC: AccessSet = AccessSet(1 << 3);
    /// `Get`.
    pub const GET: AccessSet = AccessSet(1 << 4);
    /// `Replace`.
    pub const REPLACE: AccessSet = AccessSet(1 << 5);
    /// Every command.
    pub const ALL: AccessSet = AccessSet(0b11_1111);

    /// Each single command with its name, in the order DDF documents and printouts use.
    pub const COMMANDS: [(AccessSet, &'static str); 6] = [
        (AccessSet::ADD, "Add"),
        (AccessSet::COPY, "Copy"),
        (AccessSet::DELETE, "Delete"),
        (AccessSet::EXEC, "Exec"),
        (AccessSet::GET, "Get"),
        (AccessSet::REPLACE, "Replace"),
    ];

    /// Whether every command of `other` is in `self`.
    pub const fn contains(self, other: AccessSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// The commands in `self` or in `other`.
    #[must_use]
    pub const fn union(self, other: AccessSet) -> AccessSet {
        AccessSet(self.0 | other.0)
    }

    /// The commands in both `self` and `other`.
    #[must_use]
    pub const fn intersection(self, other: AccessSet) -> AccessSet {
        AccessSet(self.0 & other.0)
    }

    /// Whether the set holds no command.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The single command named `name` (`"Add"` .. `"Replace"`), if any.
    pub fn from_command(name: &str) -> Option<AccessSet> {
        AccessSet::COMMANDS
            .into_iter()
            .find(|(_, n)| *n == name)
            .map(|(set, _)| set)
    }

    /// The names of the commands in the set, in [`AccessSet::COMMANDS`] order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        AccessSet::COMMANDS
            .into_iter()
            .filter(move |(set, _)| self.contains(*set))
            .map(|(_, name)| name)
    }
}

impl fmt::Display for AccessSet {
    /// `Add,Get,Replace`, in the fixed command order; `-` for the empty set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        for (i, name) in self.names().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

impl fmt::Debug for AccessSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessSet({self})")
    }
}

/// How many instances of a node may exist under one parent (DDF `Occurrence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Occurrence {
    /// Exactly one.
    One,
    /// At most one.
    ZeroOrOne,
    /// Any number.
    ZeroOrMore,
    /// At least one.
    OneOrMore,
    /// At most N.
    ZeroOrN(u16),
    /// At least one, at most N.
    OneOrN(u16),
}

impl Occurrence {
    /// The DDF element name, e.g. `"ZeroOrN"`.
    pub const fn name(self) -> &'static str {
        match self {
            Occurrence::One => "One",
            Occurrence::ZeroOrOne => "ZeroOrOne",
            Occurrence::ZeroOrMore => "ZeroOrMore",
            Occurrence::OneOrMore => "OneOrMore",
            Occurrence::ZeroOrN(_) => "ZeroOrN",
            Occurrence::OneOrN(_) => "OneOrN",
        }
    }

    /// The fewest instances required: 0 or 1.
    pub const fn min(self) -> u16 {
        match self {
            Occurrence::ZeroOrOne | Occurrence::ZeroOrMore | Occurrence::ZeroOrN(_) => 0,
            Occurrence::One | Occurrence::OneOrMore | Occurrence::OneOrN(_) => 1,
        }
    }

    /// The most instances allowed, `None` when unbounded.
    pub const fn max(self) -> Option<u16> {
        match self {
            Occurrence::One | Occurrence::ZeroOrOne => Some(1),
            Occurrence::ZeroOrMore | Occurrence::OneOrMore => None,
            Occurrence::ZeroOrN(n) | Occurrence::OneOrN(n) => Some(n),
        }
    }
}

/// Whether a node is built in or created and deleted at run time (DDF `Scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Scope {
    /// Built into the device; a server cannot delete it.
    Permanent,
    /// Created and deleted at run time.
    Dynamic,
}

impl Scope {
    /// The DDF element name, `"Permanent"` or `"Dynamic"`.
    pub const fn name(self) -> &'static str {
        match self {
            Scope::Permanent => "Permanent",
            Scope::Dynamic => "Dynamic",
        }
    }
}

/// Index of a string in the table's string pool.
type StrId = u16;

/// "No string": an absent `DefaultValue` or ACL.
const NO_STRING: StrId = u16::MAX;

/// The string `id` of the pool: `STRINGS[STRING_OFFSETS[id] .. STRING_OFFSETS[id + 1]]`.
/// The generated table only holds ids of the pool, cut at character boundaries; anything
/// else (which would be a bug in the generator) reads as the empty string.
const fn string(id: StrId) -> &'static str {
    let Some((_, [start, end, ..])) = STRING_OFFSETS.split_at_checked(id as usize) else {
        return "";
    };
    let Some((head, _)) = STRINGS.split_at_checked(*end as usize) else {
        return "";
    };
    match head.split_at_checked(*start as usize) {
        Some((_, s)) => s,
        None => "",
    }
}

/// The string `id`, `None` for [`NO_STRING`].
/// [`string`] as bytes, without the character-boundary checks of `str` slicing: for
/// comparing names, where only equality matters.
const fn string_bytes(id: StrId) -> &'static [u8] {
    let Some((_, [start, end, ..])) = STRING_OFFSETS.split_at_checked(id as usize) else {
        return &[];
    };
    let Some((head, _)) = STRINGS.as_bytes().split_at_checked(*end as usize) else {
        return &[];
    };
    match head.split_at_checked(*start as usize) {
        Some((_, s)) => s,
        None => &[],
    }
}

const fn optional_string(id: StrId) -> Option<&'static str> {
    if id == NO_STRING {
        None
    } else {
        Some(string(id))
    }
}

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

/// One node of the static tree, as its DDF document describes it.
///
/// The table is laid out for flash: 24 bytes a node, holding node ids and string ids (all
/// `u16`) and one-byte codes, with every string once in a shared pool. The layout is
/// private; the accessors decode it in constant time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NodeDef {
    name: StrId,
    parent: NodeId,
    first_child: NodeId,
    subtree_end: NodeId,
    /// The N of `ZeroOrN` and `OneOrN`, 0 for the other occurrences.
    occurrence_max: u16,
    /// [`NO_STRING`] for none.
    default_value: StrId,
    mime: StrId,
    title: StrId,
    description: StrId,
    /// [`NO_STRING`] for none.
    acl: StrId,
    format: Format,
    access: AccessSet,
    /// Scope, case sense and occurrence kind; see [`FLAG_DYNAMIC`].
    flags: u8,
    document: u8,
}

// The flash budget is 32 bytes a node; the layout above takes 24, and growing it should be
// a deliberate decision, not a side effect.
const _: () = assert!(core::mem::size_of::<NodeDef>() <= 24);

/// A node as the generated table spells it, before [`NodeDef::new`] packs it.
struct NodeSpec {
    name: StrId,
    parent: NodeId,
    first_child: NodeId,
    subtree_end: NodeId,
    format: Format,
    access: AccessSet,
    occurrence: Occurrence,
    scope: Scope,
    case_sensitive: bool,
    default_value: Option<StrId>,
    mime: StrId,
    title: StrId,
    description: StrId,
    acl: Option<StrId>,
    document: u8,
}

impl NodeDef {
    /// Packs `spec`; evaluated at compile time for every entry of [`NODES`].
    const fn new(spec: NodeSpec) -> NodeDef {
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
            name: spec.name,
            parent: spec.parent,
            first_child: spec.first_child,
            subtree_end: spec.subtree_end,
            occurrence_max,
            default_value: match spec.default_value {
                Some(id) => id,
                None => NO_STRING,
            },
            mime: spec.mime,
            title: spec.title,
            description: spec.description,
            acl: match spec.acl {
                Some(id) => id,
                None => NO_STRING,
            },
            format: spec.format,
            access: spec.access,
            flags,
            document: spec.document,
        }
    }

    /// The node name; empty for an unnamed placeholder `<x>`, `.` for the root.
    pub const fn name(&self) -> &'static str {
        string(self.name)
    }

    /// The node name as bytes (quicker to compare than [`name`](Self::name)).
    pub const fn name_bytes(&self) -> &'static [u8] {
        string_bytes(self.name)
    }

    /// The parent node; [`NO_NODE`] for the root.
    pub const fn parent(&self) -> NodeId {
        self.parent
    }

    /// The first child; [`NO_NODE`] when the node has none.
    pub const fn first_child(&self) -> NodeId {
        self.first_child
    }

    /// The next child of the same parent; [`NO_NODE`] for the last one.
    pub const fn next_sibling(&self) -> NodeId {
        // In preorder the node after this subtree is the next sibling, unless it lies past
        // the parent's subtree too.
        let Some((_, [parent, ..])) = NODES.split_at_checked(self.parent as usize) else {
            return NO_NODE;
        };
        if self.subtree_end < parent.subtree_end {
            self.subtree_end
        } else {
            NO_NODE
        }
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

    /// `DefaultValue` (or `Value`): the value a new instance starts with.
    pub const fn default_value(&self) -> Option<&'static str> {
        optional_string(self.default_value)
    }

    /// `DFType`: the MIME type of a leaf, the MO identifier of an interior node.
    pub const fn mime(&self) -> &'static str {
        string(self.mime)
    }

    /// `DFTitle`, empty when absent or when the build left titles out ([`DESCRIPTIONS`]).
    pub const fn title(&self) -> &'static str {
        string(self.title)
    }

    /// `Description`, empty when absent or when the build left descriptions out
    /// ([`DESCRIPTIONS`]).
    pub const fn description(&self) -> &'static str {
        string(self.description)
    }

    /// The default ACL from `RTProperties/ACL`; `None` inherits the parent's.
    pub const fn acl(&self) -> Option<&'static str> {
        optional_string(self.acl)
    }

    /// The describing document, an index into [`DOCUMENTS`]; [`NO_DOCUMENT`] for the root.
    pub const fn document(&self) -> u8 {
        self.document
    }

    /// Whether the node is an unnamed placeholder, named only when an instance is created.
    pub const fn is_placeholder(&self) -> bool {
        // An empty name: its pool offsets are equal (no need to slice the pool).
        match STRING_OFFSETS.split_at_checked(self.name as usize) {
            Some((_, [start, end, ..])) => *start == *end,
            _ => true,
        }
    }

    /// Whether the node is interior (format `node`).
    pub const fn is_interior(&self) -> bool {
        matches!(self.format, Format::Node)
    }

    /// Whether the node is a leaf, which holds a value and has no children.
    pub const fn is_leaf(&self) -> bool {
        !self.is_interior()
    }
}

impl fmt::Debug for NodeDef {
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
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for NodeDef {
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

/// One DDF document (`<MgmtTree>`) the table was compiled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DdfDocument {
    /// The first top-level `<Node>` of the document. A document with several top-level nodes
    /// owns every node whose `document` is its index; its top-level nodes are those whose
    /// parent belongs to another document, and their `<Path>` is the parent's URI.
    pub root: NodeId,
    /// `Man`, empty when absent.
    pub man: &'static str,
    /// `Mod`, empty when absent.
    pub model: &'static str,
    /// `VerDTD`.
    pub ver_dtd: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/ddf_nodes.rs"));

/// The node `id`, or `None` when `id` is out of range.
pub fn node(id: NodeId) -> Option<&'static NodeDef> {
    NODES.get(usize::from(id))
}

/// The children of `parent` in document order; none for a leaf or an unknown id.
pub fn children(parent: NodeId) -> impl Iterator<Item = NodeId> {
    let first = node(parent).map_or(NO_NODE, NodeDef::first_child);
    core::iter::successors(node(first).map(|_| first), |&id| {
        node(id)
            .map(NodeDef::next_sibling)
            .filter(|&next| node(next).is_some())
    })
}

/// The unnamed placeholder child of `parent`, if it has one (a parent has at most one).
pub fn placeholder_child(parent: NodeId) -> Option<NodeId> {
    children(parent).find(|&id| node(id).is_some_and(NodeDef::is_placeholder))
}

/// The child of `parent` that a URI segment `name` reaches: the child with exactly that
/// name, else a child whose `CaseSense` is `CIS` and whose name matches ignoring ASCII
/// case, else the placeholder child. `None` when nothing matches or `name` is empty.
pub fn child(parent: NodeId, name: &str) -> Option<NodeId> {
    if name.is_empty() {
        return None;
    }
    let mut folded = None;
    let mut placeholder = None;
    for id in children(parent) {
        let Some(def) = node(id) else { continue };
        let child_name = def.name();
        if child_name.is_empty() {
            placeholder = Some(id);
        } else if child_name == name {
            return Some(id);
        } else if folded.is_none() && !def.case_sensitive() && child_name.eq_ignore_ascii_case(name)
        {
            folded = Some(id);
        }
    }
    folded.or(placeholder)
}

/// Writes the URI of node `id` in the form of the DM specifications,
/// e.g. `./DMAcc/<x>/AppAuth/<x>/AAuthType`: placeholders print as `<x>`, the root as `.`.
/// An unknown id writes nothing and returns an error.
pub fn write_uri(id: NodeId, out: &mut impl fmt::Write) -> fmt::Result {
    // Ancestors below the root, innermost first; the compiler bounds the depth.
    let mut chain = [NO_NODE; MAX_SCHEMA_DEPTH];
    let mut len = 0;
    let mut cur = id;
    loop {
        let def = node(cur).ok_or(fmt::Error)?;
        if def.parent() == NO_NODE {
            break;
        }
        *chain.get_mut(len).ok_or(fmt::Error)? = cur;
        len += 1;
        cur = def.parent();
    }
    out.write_str(".")?;
    for &seg in chain.get(..len).unwrap_or_default().iter().rev() {
        let name = node(seg).map_or("", NodeDef::name);
        out.write_str("/")?;
        out.write_str(if name.is_empty() { "<x>" } else { name })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn uri(id: NodeId) -> String {
        let mut s = String::new();
        write_uri(id, &mut s).unwrap();
        s
    }

    fn find(path: &[&str]) -> NodeId {
        path.iter()
            .try_fold(0, |id, seg| child(id, seg))
            .unwrap_or_else(|| panic!("no node for {path:?}"))
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
            assert_eq!(f.as_str().parse::<Format>(), Ok(f));
            assert_eq!(std::format!("{f}"), f.as_str());
        }
        assert_eq!(Format::parse("Chr"), None);
        assert_eq!(Format::parse("string"), None);
        assert_eq!("".parse::<Format>(), Err(UnknownFormat));
    }

    #[test]
    fn access_set_prints_in_fixed_order() {
        let set = AccessSet::REPLACE
            .union(AccessSet::ADD)
            .union(AccessSet::GET);
        assert_eq!(std::format!("{set}"), "Add,Get,Replace");
        assert_eq!(std::format!("{}", AccessSet::NONE), "-");
        assert_eq!(
            std::format!("{}", AccessSet::ALL),
            "Add,Copy,Delete,Exec,Get,Replace"
        );
        assert!(set.contains(AccessSet::GET.union(AccessSet::ADD)));
        assert!(!set.contains(AccessSet::DELETE));
        assert!(set.contains(AccessSet::NONE));
        assert_eq!(set.intersection(AccessSet::GET), AccessSet::GET);
        assert_eq!(AccessSet::from_command("Exec"), Some(AccessSet::EXEC));
        assert_eq!(AccessSet::from_command("exec"), None);
    }

    #[test]
    fn occurrence_bounds() {
        assert_eq!((Occurrence::One.min(), Occurrence::One.max()), (1, Some(1)));
        assert_eq!(Occurrence::ZeroOrMore.max(), None);
        assert_eq!(Occurrence::OneOrN(4).max(), Some(4));
        assert_eq!(Occurrence::ZeroOrN(4).min(), 0);
        assert_eq!(Occurrence::OneOrN(4).name(), "OneOrN");
    }

    #[test]
    fn root_is_synthesised() {
        let root = node(0).unwrap();
        assert_eq!(root.name(), ".");
        assert_eq!(root.parent(), NO_NODE);
        assert_eq!(root.format(), Format::Node);
        assert_eq!(root.access(), AccessSet::ADD.union(AccessSet::GET));
        assert_eq!(root.acl(), Some("Add=*&Get=*"));
        assert_eq!(root.document(), NO_DOCUMENT);
        assert_eq!(usize::from(root.subtree_end()), NODES.len());
        assert_eq!(uri(0), ".");
    }

    #[test]
    fn links_are_consistent_preorder() {
        for (i, def) in NODES.iter().enumerate() {
            let id = NodeId::try_from(i).unwrap();
            assert!(def.subtree_end() > id && usize::from(def.subtree_end()) <= NODES.len());
            let kids: Vec<NodeId> = children(id).collect();
            // The sibling links agree with the parent links, which are stored.
            let by_parent: Vec<NodeId> = (0..)
                .zip(NODES.iter())
                .filter(|(_, n)| n.parent() == id)
                .map(|(k, _)| k)
                .collect();
            assert_eq!(kids, by_parent, "children of {}", uri(id));
            assert_eq!(
                def.first_child(),
                by_parent.first().copied().unwrap_or(NO_NODE)
            );
            for (k, next) in by_parent.iter().zip(by_parent.iter().skip(1)) {
                assert_eq!(node(*k).unwrap().next_sibling(), *next);
            }
            if let Some(&last) = by_parent.last() {
                assert_eq!(node(last).unwrap().next_sibling(), NO_NODE);
            }
            // Preorder: the first child follows its parent, each next child follows the
            // previous child's subtree, and the last child's subtree ends the parent's.
            let mut expect = id + 1;
            for &k in &kids {
                assert_eq!(k, expect, "child order under {}", uri(id));
                assert_eq!(node(k).unwrap().parent(), id);
                expect = node(k).unwrap().subtree_end();
            }
            assert_eq!(expect, def.subtree_end(), "subtree of {}", uri(id));
            if def.is_leaf() {
                assert!(kids.is_empty());
            }
            if id != 0 {
                assert!(def.parent() < id);
                assert!(usize::from(def.document()) < DOCUMENTS.len());
            }
            let depth = std::iter::successors(Some(id), |&n| {
                Some(node(n).unwrap().parent()).filter(|&p| p != NO_NODE)
            })
            .count()
                - 1;
            assert!(depth <= MAX_SCHEMA_DEPTH);
        }
    }

    #[test]
    fn child_prefers_named_then_placeholder() {
        let dmacc = find(&["DMAcc"]);
        let acc = child(dmacc, "srv1").unwrap();
        assert_eq!(Some(acc), placeholder_child(dmacc));
        assert_eq!(child(dmacc, "anything-else"), Some(acc));
        let app_auth = child(acc, "AppAuth").unwrap();
        assert_eq!(node(app_auth).unwrap().name(), "AppAuth");
        let ty = find(&["DMAcc", "x", "AppAuth", "CLCRED", "AAuthType"]);
        assert_eq!(uri(ty), "./DMAcc/<x>/AppAuth/<x>/AAuthType");
        assert_eq!(node(ty).unwrap().format(), Format::Chr);

        let devinfo = find(&["DevInfo"]);
        assert_eq!(placeholder_child(devinfo), None);
        assert_eq!(child(devinfo, "NoSuchNode"), None);
        // Names are case-sensitive unless the DDF says CIS.
        assert_eq!(child(devinfo, "devid"), None);
        assert_eq!(child(devinfo, ""), None);
    }

    #[test]
    fn unknown_ids_are_refused_without_panicking() {
        let past_end = NodeId::try_from(NODES.len()).unwrap();
        assert_eq!(node(past_end), None);
        assert_eq!(node(NO_NODE), None);
        assert_eq!(children(NO_NODE).count(), 0);
        assert_eq!(child(NO_NODE, "DevInfo"), None);
        assert_eq!(placeholder_child(past_end), None);
        let mut s = String::new();
        assert!(write_uri(NO_NODE, &mut s).is_err());
        assert!(s.is_empty());
    }

    #[test]
    fn node_defs_are_small() {
        assert_eq!(core::mem::size_of::<NodeDef>(), 24);
        assert_eq!(core::mem::align_of::<NodeDef>(), 2);
        std::println!(
            "static table: {} nodes, {} bytes of NodeDef ({} a node), {} bytes of strings, \
             {} bytes of string offsets",
            NODES.len(),
            core::mem::size_of_val(&NODES),
            core::mem::size_of::<NodeDef>(),
            STRINGS.len(),
            core::mem::size_of_val(&STRING_OFFSETS),
        );
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
                        default_value: None,
                        mime: 0,
                        title: 0,
                        description: 0,
                        acl: Some(0),
                        document: 200,
                    });
                    assert_eq!(def.occurrence(), occurrence);
                    assert_eq!(def.scope(), scope);
                    assert_eq!(def.case_sensitive(), case_sensitive);
                    assert_eq!((def.parent(), def.first_child()), (3, 4));
                    assert_eq!(def.subtree_end(), 9);
                    assert_eq!(def.format(), Format::Float);
                    assert_eq!(def.access(), AccessSet::EXEC.union(AccessSet::COPY));
                    assert_eq!(def.default_value(), None);
                    assert_eq!(def.acl(), Some(NODES[0].name()));
                    assert_eq!(def.document(), 200);
                }
            }
        }
    }

    #[test]
    fn strings_are_pooled_once() {
        let count = STRING_OFFSETS.len() - 1;
        assert_eq!(STRING_OFFSETS[0] as usize, 0);
        assert_eq!(STRING_OFFSETS[count] as usize, STRINGS.len());
        let pooled: Vec<&str> = (0..count)
            .map(|i| string(StrId::try_from(i).unwrap()))
            .collect();
        assert_eq!(pooled.concat(), STRINGS);
        let mut distinct = pooled.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), pooled.len(), "a string is pooled twice");

        // Every string the table gives out is a piece of the pool, and every piece is used.
        let pool = STRINGS.as_bytes().as_ptr_range();
        let mut used = std::collections::BTreeSet::new();
        for def in &NODES {
            let strings = [
                Some(def.name()),
                Some(def.mime()),
                Some(def.title()),
                Some(def.description()),
                def.default_value(),
                def.acl(),
            ];
            for s in strings.into_iter().flatten() {
                assert!(pool.start <= s.as_ptr() && s.as_ptr() <= pool.end, "{s:?}");
                used.insert(s);
            }
        }
        assert_eq!(used.len(), count);
    }

    #[test]
    fn bad_string_ids_read_as_nothing() {
        let past_end = StrId::try_from(STRING_OFFSETS.len()).unwrap();
        assert_eq!(string(past_end), "");
        assert_eq!(string(past_end - 1), "");
        assert_eq!(string(NO_STRING), "");
        assert_eq!(optional_string(NO_STRING), None);
        assert_eq!(optional_string(0), Some(NODES[0].name()));
    }

    #[test]
    fn titles_and_descriptions_follow_the_build_switch() {
        let dmacc = node(child(0, "DMAcc").unwrap()).unwrap();
        if DESCRIPTIONS {
            assert_eq!(dmacc.title(), "DM accounts");
            assert!(!dmacc.description().is_empty());
        } else {
            assert!(NODES
                .iter()
                .all(|n| n.title().is_empty() && n.description().is_empty()));
        }
    }

    #[test]
    fn debug_shows_the_decoded_node() {
        let dmacc = node(child(0, "DMAcc").unwrap()).unwrap();
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
    }

    #[test]
    fn leaves_have_no_children() {
        let devid = find(&["DevInfo", "DevId"]);
        assert_eq!(children(devid).count(), 0);
        assert_eq!(child(devid, "x"), None);
    }
}

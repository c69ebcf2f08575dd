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

/// One node of the static tree, as its DDF document describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NodeDef {
    /// The node name; empty for an unnamed placeholder `<x>`, `.` for the root.
    pub name: &'static str,
    /// The parent node; [`NO_NODE`] for the root.
    pub parent: NodeId,
    /// The first child; [`NO_NODE`] when the node has none.
    pub first_child: NodeId,
    /// The next child of the same parent; [`NO_NODE`] for the last one.
    pub next_sibling: NodeId,
    /// One past the last descendant: the subtree is `id .. subtree_end`.
    pub subtree_end: NodeId,
    /// `DFFormat`; [`Format::Node`] for interior nodes.
    pub format: Format,
    /// `AccessType`: the commands that may target the node.
    pub access: AccessSet,
    /// `Occurrence`.
    pub occurrence: Occurrence,
    /// `Scope`.
    pub scope: Scope,
    /// `CaseSense`: whether the node name is matched case-sensitively (`CS`, the default).
    pub case_sensitive: bool,
    /// `DefaultValue` (or `Value`): the value a new instance starts with.
    pub default_value: Option<&'static str>,
    /// `DFType`: the MIME type of a leaf, the `DDFName` (management object identifier,
    /// possibly empty) of an interior node.
    pub mime: &'static str,
    /// `DFTitle`, empty when absent.
    pub title: &'static str,
    /// `Description`, empty when absent.
    pub description: &'static str,
    /// The default ACL from `RTProperties/ACL`; `None` inherits the parent's.
    pub acl: Option<&'static str>,
    /// The describing document, an index into [`DOCUMENTS`]; [`NO_DOCUMENT`] for the root.
    pub document: u8,
}

impl NodeDef {
    /// The node name; empty for an unnamed placeholder `<x>`, `.` for the root.
    pub const fn name(&self) -> &'static str {
        self.name
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
        self.next_sibling
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
        self.occurrence
    }

    /// `Scope`.
    pub const fn scope(&self) -> Scope {
        self.scope
    }

    /// `CaseSense`: whether the node name is matched case-sensitively.
    pub const fn case_sensitive(&self) -> bool {
        self.case_sensitive
    }

    /// `DefaultValue` (or `Value`): the value a new instance starts with.
    pub const fn default_value(&self) -> Option<&'static str> {
        self.default_value
    }

    /// `DFType`: the MIME type of a leaf, the MO identifier of an interior node.
    pub const fn mime(&self) -> &'static str {
        self.mime
    }

    /// `DFTitle`, empty when absent.
    pub const fn title(&self) -> &'static str {
        self.title
    }

    /// `Description`, empty when absent.
    pub const fn description(&self) -> &'static str {
        self.description
    }

    /// The default ACL from `RTProperties/ACL`; `None` inherits the parent's.
    pub const fn acl(&self) -> Option<&'static str> {
        self.acl
    }

    /// The describing document, an index into [`DOCUMENTS`]; [`NO_DOCUMENT`] for the root.
    pub const fn document(&self) -> u8 {
        self.document
    }

    /// Whether the node is an unnamed placeholder, named only when an instance is created.
    pub const fn is_placeholder(&self) -> bool {
        self.name.is_empty()
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
    let first = node(parent).map_or(NO_NODE, |n| n.first_child);
    core::iter::successors(node(first).map(|_| first), |&id| {
        node(id)
            .map(|n| n.next_sibling)
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
        if def.is_placeholder() {
            placeholder = Some(id);
        } else if def.name == name {
            return Some(id);
        } else if folded.is_none() && !def.case_sensitive && def.name.eq_ignore_ascii_case(name) {
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
        if def.parent == NO_NODE {
            break;
        }
        *chain.get_mut(len).ok_or(fmt::Error)? = cur;
        len += 1;
        cur = def.parent;
    }
    out.write_str(".")?;
    for &seg in chain.get(..len).unwrap_or_default().iter().rev() {
        let name = node(seg).map_or("", |n| n.name);
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
        assert_eq!(root.name, ".");
        assert_eq!(root.parent, NO_NODE);
        assert_eq!(root.format, Format::Node);
        assert_eq!(root.access, AccessSet::ADD.union(AccessSet::GET));
        assert_eq!(root.acl, Some("Add=*&Get=*"));
        assert_eq!(root.document, NO_DOCUMENT);
        assert_eq!(usize::from(root.subtree_end), NODES.len());
        assert_eq!(uri(0), ".");
    }

    #[test]
    fn links_are_consistent_preorder() {
        for (i, def) in NODES.iter().enumerate() {
            let id = NodeId::try_from(i).unwrap();
            assert!(def.subtree_end > id && usize::from(def.subtree_end) <= NODES.len());
            let kids: Vec<NodeId> = children(id).collect();
            // Preorder: the first child follows its parent, each next child follows the
            // previous child's subtree, and the last child's subtree ends the parent's.
            let mut expect = id + 1;
            for &k in &kids {
                assert_eq!(k, expect, "child order under {}", uri(id));
                assert_eq!(node(k).unwrap().parent, id);
                expect = node(k).unwrap().subtree_end;
            }
            assert_eq!(expect, def.subtree_end, "subtree of {}", uri(id));
            if def.is_leaf() {
                assert!(kids.is_empty());
            }
            if id != 0 {
                assert!(def.parent < id);
                assert!(usize::from(def.document) < DOCUMENTS.len());
            }
            let depth = std::iter::successors(Some(id), |&n| {
                Some(node(n).unwrap().parent).filter(|&p| p != NO_NODE)
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
        assert_eq!(node(app_auth).unwrap().name, "AppAuth");
        let ty = find(&["DMAcc", "x", "AppAuth", "CLCRED", "AAuthType"]);
        assert_eq!(uri(ty), "./DMAcc/<x>/AppAuth/<x>/AAuthType");
        assert_eq!(node(ty).unwrap().format, Format::Chr);

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
    fn leaves_have_no_children() {
        let devid = find(&["DevInfo", "DevId"]);
        assert_eq!(children(devid).count(), 0);
        assert_eq!(child(devid, "x"), None);
    }
}

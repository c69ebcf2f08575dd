//! The DDF compiler: reads OMA DM 1.2 Device Description Framework documents
//! (`<MgmtTree>`), checks them, and gives the tree they describe as a [`Compiled`] value,
//! which becomes a [`Schema`](crate::Schema) at run time ([`Compiled::leak`]) or Rust
//! source for a build script ([`Compiled::to_rust`], [`Builder`]).
//!
//! Its error messages are what a vendor sees when a DDF is wrong, so each names the file,
//! the node (`./DMAcc/<x>/AppAuth/<x>/AAuthType`, placeholders as `<x>`) and the line.
//!
//! Beyond the DTD, the compiler holds DDF documents to the rules a schema relies on: one
//! description per node, at most one unnamed placeholder per parent and always `Dynamic`,
//! named nodes that occur at most once, leaves typed by `MIME` and interior nodes by
//! `DDFName`, defaults only on leaves and valid for their format, well-formed ACLs,
//! bounded depth and name length, and node keys that are unique.
//!
//! This module is `std` and reads no environment: what to compile is always an argument.

mod builder;
mod emit;
mod read;
mod table;
#[cfg(test)]
mod tests;

use std::borrow::ToOwned;
use std::collections::HashMap;
use std::fmt;
use std::format;
use std::string::String;
use std::vec;
use std::vec::Vec;

pub use builder::Builder;
pub use emit::Generate;

use crate::types::{AccessSet, Format, Occurrence, Scope};
use crate::uri_key;
use read::Cx;

/// Deepest node accepted, in URI segments below the root.
pub const MAX_DEPTH: usize = 24;
/// Longest node name accepted, in bytes.
pub const MAX_SEGMENT_LEN: usize = 64;
/// Most nodes in a schema, root included: ids are `u16` and `u16::MAX` means "no node".
pub const MAX_NODES: usize = u16::MAX as usize - 1;
/// Most DDF documents in a schema: the index is a `u8` and `u8::MAX` marks the root.
pub const MAX_DOCUMENTS: usize = u8::MAX as usize;
/// Most distinct strings in a schema: string ids are `u16` and `u16::MAX` means "none".
pub const MAX_STRINGS: usize = u16::MAX as usize;
/// The ACL of the synthesised root `.`, as OMA DM recommends.
pub const ROOT_ACL: &str = "Add=*&Get=*";
/// The only `VerDTD` this compiler reads.
pub const VER_DTD: &str = "1.2";

/// The standard DDF documents, as `(name, text)` in sorted order: CDMA, DMAcc, DevDetail,
/// DevInfo and FUMO, named `ddf/CDMA.xml` and so on.
pub fn standard_documents() -> &'static [(&'static str, &'static str)] {
    const STANDARD: [(&str, &str); 5] = [
        ("ddf/CDMA.xml", include_str!("../../ddf/CDMA.xml")),
        ("ddf/DMAcc.xml", include_str!("../../ddf/DMAcc.xml")),
        ("ddf/DevDetail.xml", include_str!("../../ddf/DevDetail.xml")),
        ("ddf/DevInfo.xml", include_str!("../../ddf/DevInfo.xml")),
        ("ddf/FUMO.xml", include_str!("../../ddf/FUMO.xml")),
    ];
    &STANDARD
}

/// Why a DDF document, or a schema, was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DdfError {
    /// The document, as the caller named it (e.g. `ddf/DMAcc.xml`); empty for a problem
    /// of the schema as a whole.
    pub file: String,
    /// The node concerned, as a URI with placeholders written `<x>`, if any.
    pub node: Option<String>,
    /// The line of the element concerned, if known.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DdfError {
    /// One line: `file: node URI: message (line N)`, each part when known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.file.is_empty() {
            write!(f, "{}: ", self.file)?;
        }
        if let Some(node) = &self.node {
            write!(f, "node {node}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

impl std::error::Error for DdfError {}

/// What a DDF says about one node, as a schema keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Props {
    /// `DFFormat`.
    pub format: Format,
    /// `AccessType`.
    pub access: AccessSet,
    /// `Occurrence`, `One` when absent.
    pub occurrence: Occurrence,
    /// `Scope`, `Dynamic` when absent.
    pub scope: Scope,
    /// `CaseSense`: `CS` (true) unless the DDF says `CIS`.
    pub case_sensitive: bool,
    /// `DefaultValue` or `Value`.
    pub default_value: Option<String>,
    /// `DFType`: `MIME` of a leaf, `DDFName` of an interior node.
    pub mime: String,
    /// `DFTitle`, whitespace collapsed; empty when absent.
    pub title: String,
    /// `Description`, whitespace collapsed; empty when absent.
    pub description: String,
    /// `RTProperties/ACL`; `None` inherits the parent's.
    pub acl: Option<String>,
}

impl Props {
    fn root() -> Props {
        Props {
            format: Format::Node,
            access: AccessSet::ADD.union(AccessSet::GET),
            occurrence: Occurrence::One,
            scope: Scope::Permanent,
            case_sensitive: true,
            default_value: None,
            mime: String::new(),
            title: String::new(),
            description: String::new(),
            acl: Some(ROOT_ACL.to_owned()),
        }
    }
}

/// One node of a compiled tree, in preorder; ids are indices into [`Compiled::nodes`] and
/// are the [`NodeId`](crate::NodeId)s of the schema built from it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompiledNode {
    /// `.` for the root, empty for a placeholder.
    pub name: String,
    /// URI with placeholders written `<x>`, e.g. `./DMAcc/<x>/ServerID`.
    pub uri: String,
    /// [`uri_key`] of [`uri`](Self::uri).
    pub key: u32,
    /// `None` for the root.
    pub parent: Option<usize>,
    /// `None` for a node without children.
    pub first_child: Option<usize>,
    /// `None` for the last child of its parent.
    pub next_sibling: Option<usize>,
    /// One past the last descendant.
    pub subtree_end: usize,
    /// What the DDF says.
    pub props: Props,
    /// Index into [`Compiled::documents`]; `None` for the root.
    pub document: Option<usize>,
    /// Line of the node's `<Node>` element in its document; `None` for the root.
    pub line: Option<u32>,
}

/// One DDF document of a compiled tree.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompiledDocument {
    /// The name the caller gave the document, e.g. `ddf/DMAcc.xml`.
    pub file: String,
    /// The first top-level node of the document.
    pub root: usize,
    /// `Man`, empty when absent.
    pub man: String,
    /// `Mod`, empty when absent.
    pub model: String,
    /// `VerDTD`.
    pub ver_dtd: String,
}

/// A compiled tree: every node in preorder, index 0 the root `.`, checked whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    nodes: Vec<CompiledNode>,
    documents: Vec<CompiledDocument>,
    /// Depth of the deepest node, in segments below the root.
    max_depth: usize,
    descriptions: bool,
}

impl Compiled {
    /// Every node, in preorder.
    pub fn nodes(&self) -> &[CompiledNode] {
        &self.nodes
    }

    /// The documents, in compilation order.
    pub fn documents(&self) -> &[CompiledDocument] {
        &self.documents
    }

    /// The node whose URI is exactly `uri` (placeholders written `<x>`).
    pub fn find(&self, uri: &str) -> Option<&CompiledNode> {
        self.nodes.iter().find(|n| n.uri == uri)
    }

    /// The nodes document `document` describes, in preorder.
    pub fn document_nodes(&self, document: usize) -> impl Iterator<Item = &CompiledNode> + '_ {
        self.nodes
            .iter()
            .filter(move |n| n.document == Some(document))
    }

    /// The top-level nodes of document `document`: its nodes whose parent belongs to
    /// another document (or is the root), in preorder.
    pub fn document_tops(&self, document: usize) -> impl Iterator<Item = &CompiledNode> + '_ {
        self.nodes.iter().filter(move |n| {
            n.document == Some(document)
                && n.parent
                    .and_then(|p| self.nodes.get(p))
                    .is_none_or(|p| p.document != Some(document))
        })
    }

    /// Depth of the deepest node, in URI segments below the root.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// Whether the nodes keep their titles and descriptions.
    pub fn descriptions(&self) -> bool {
        self.descriptions
    }

    /// Leaves every title and description out, for firmware that would rather not spend
    /// flash on them.
    pub fn drop_descriptions(&mut self) {
        for n in &mut self.nodes {
            n.props.title.clear();
            n.props.description.clear();
        }
        self.descriptions = false;
    }
}

/// Compiles `(name, text)` DDF documents, in the order given, into one tree.
///
/// ```
/// use iotadm_ddf::compiler::{compile, standard_documents};
///
/// let compiled = compile(standard_documents()).unwrap();
/// assert_eq!(compiled.nodes()[0].uri, ".");
/// assert!(compiled.find("./DMAcc/<x>/ServerID").is_some());
/// ```
pub fn compile<N: AsRef<str>, T: AsRef<str>>(sources: &[(N, T)]) -> Result<Compiled, DdfError> {
    let mut compiler = Compiler::new();
    for (name, text) in sources {
        compiler.add_document(name.as_ref(), text.as_ref())?;
    }
    compiler.finish()
}

/// A path segment of a top-level node's `<Path>`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Named(String),
    /// Written `<x>` (any `<...>`): the unnamed placeholder child.
    Placeholder,
}

fn path_uri(path: &[Seg]) -> String {
    let mut s = String::from(".");
    for seg in path {
        s.push('/');
        match seg {
            Seg::Named(n) => s.push_str(n),
            Seg::Placeholder => s.push_str("<x>"),
        }
    }
    s
}

fn child_uri(parent: &str, name: &str) -> String {
    format!("{parent}/{}", if name.is_empty() { "<x>" } else { name })
}

/// A node as read from a document, before it is placed in the tree.
#[derive(Debug)]
struct ParsedNode {
    name: String,
    line: u32,
    props: Props,
    children: Vec<ParsedNode>,
}

/// A top-level `<Node>` waiting for the node its `<Path>` names.
#[derive(Debug)]
struct Pending {
    document: usize,
    /// Whether this is the document's first top-level node, its `root`.
    first: bool,
    path: Vec<Seg>,
    node: ParsedNode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Root,
    Document(usize),
}

#[derive(Debug)]
struct TreeNode {
    name: String,
    props: Props,
    origin: Origin,
    line: u32,
    /// The first top-level node of its document.
    document_root: bool,
    children: Vec<TreeNode>,
}

impl TreeNode {
    /// Whether a path segment names this node: a named segment matches exactly, or
    /// ignoring ASCII case when the node's `CaseSense` is `CIS`.
    fn is(&self, seg: &Seg) -> bool {
        match seg {
            Seg::Placeholder => self.name.is_empty(),
            Seg::Named(n) => {
                !self.name.is_empty()
                    && (self.name == *n
                        || (!self.props.case_sensitive && self.name.eq_ignore_ascii_case(n)))
            }
        }
    }
}

/// Documents in, tree out: [`Compiler::add_document`] reads and checks each document on
/// its own, [`Compiler::finish`] places the documents' nodes in one tree and checks it
/// whole.
#[derive(Debug)]
pub struct Compiler {
    root: TreeNode,
    documents: Vec<CompiledDocument>,
    pending: Vec<Pending>,
    descriptions: bool,
    /// [`MAX_NODES`], lowered by the tests to keep them small.
    max_nodes: usize,
    /// [`MAX_STRINGS`], lowered by the tests to keep them small.
    max_strings: usize,
}

impl Default for Compiler {
    fn default() -> Self {
        Compiler::new()
    }
}

impl Compiler {
    /// A compiler holding only the root `.`, keeping titles and descriptions.
    pub fn new() -> Compiler {
        Compiler {
            root: TreeNode {
                name: ".".to_owned(),
                props: Props::root(),
                origin: Origin::Root,
                line: 0,
                document_root: false,
                children: Vec::new(),
            },
            documents: Vec::new(),
            pending: Vec::new(),
            descriptions: true,
            max_nodes: MAX_NODES,
            max_strings: MAX_STRINGS,
        }
    }

    /// Whether the tree keeps its titles and descriptions (the default). Leaving them out
    /// before [`finish`](Self::finish) also keeps them out of its string limit.
    pub fn descriptions(&mut self, keep: bool) -> &mut Compiler {
        self.descriptions = keep;
        self
    }

    /// Reads and checks one document; its nodes are placed by [`Compiler::finish`].
    pub fn add_document(&mut self, file: &str, text: &str) -> Result<(), DdfError> {
        let document = self.documents.len();
        if document >= MAX_DOCUMENTS {
            return Err(DdfError {
                file: file.to_owned(),
                node: None,
                line: None,
                message: format!("too many DDF documents (at most {MAX_DOCUMENTS})"),
            });
        }
        let read = Cx::read_document(file, text)?;
        self.documents.push(CompiledDocument {
            file: file.to_owned(),
            root: 0,
            man: read.man,
            model: read.model,
            ver_dtd: read.ver_dtd,
        });
        for (i, (path, node)) in read.tops.into_iter().enumerate() {
            self.pending.push(Pending {
                document,
                first: i == 0,
                path,
                node,
            });
        }
        Ok(())
    }

    /// Places every document's nodes under the nodes their `<Path>` names, which may come
    /// from a later document, checks the whole tree, and lays it out in preorder.
    pub fn finish(mut self) -> Result<Compiled, DdfError> {
        let mut count = 1;
        let mut pending = std::mem::take(&mut self.pending);
        loop {
            let before = pending.len();
            let mut waiting = Vec::new();
            for p in pending {
                let Some(parent) = find_mut(&mut self.root, &p.path) else {
                    waiting.push(p);
                    continue;
                };
                let parent_uri = path_uri(&p.path);
                let file = file_of(&self.documents, p.document);
                if parent.props.format != Format::Node {
                    return Err(DdfError {
                        file: file.to_owned(),
                        node: Some(child_uri(&parent_uri, &p.node.name)),
                        line: Some(p.node.line),
                        message: format!("Path {parent_uri} names a leaf"),
                    });
                }
                let mut place = Place {
                    documents: &self.documents,
                    document: p.document,
                    count: &mut count,
                    max_nodes: self.max_nodes,
                };
                place.attach(parent, &parent_uri, p.path.len(), p.node, p.first)?;
            }
            pending = waiting;
            if pending.is_empty() || pending.len() == before {
                break;
            }
        }
        if let Some(p) = pending.first() {
            return Err(self.unresolved(p));
        }
        let max_strings = self.max_strings;
        let mut compiled = self.layout();
        if !compiled.descriptions {
            compiled.drop_descriptions();
        }
        check_keys(&compiled)?;
        table::check_strings(&compiled, max_strings)?;
        Ok(compiled)
    }

    fn unresolved(&self, p: &Pending) -> DdfError {
        let mut cur = &self.root;
        let mut known = Vec::new();
        let mut message = format!("Path {}: no DDF describes it", path_uri(&p.path));
        for seg in &p.path {
            known.push(seg.clone());
            match cur.children.iter().find(|c| c.is(seg)) {
                Some(next) => cur = next,
                None => {
                    message = format!(
                        "Path {}: no DDF describes {}",
                        path_uri(&p.path),
                        path_uri(&known)
                    );
                    break;
                }
            }
        }
        DdfError {
            file: file_of(&self.documents, p.document).to_owned(),
            node: Some(child_uri(&path_uri(&p.path), &p.node.name)),
            line: Some(p.node.line),
            message,
        }
    }

    fn layout(self) -> Compiled {
        let mut nodes = Vec::new();
        let mut max_depth = 0;
        let mut roots: Vec<Option<usize>> = vec![None; self.documents.len()];
        let mut out = Layout {
            nodes: &mut nodes,
            roots: &mut roots,
            max_depth: &mut max_depth,
        };
        out.flatten(self.root, None, ".".to_owned(), 0);
        let documents = self
            .documents
            .into_iter()
            .zip(roots)
            .map(|(d, root)| CompiledDocument {
                root: root.unwrap_or(0),
                ..d
            })
            .collect();
        Compiled {
            nodes,
            documents,
            max_depth,
            descriptions: self.descriptions,
        }
    }
}

/// Keys stand in for node ids in stored data, so two nodes must never share one.
fn check_keys(compiled: &Compiled) -> Result<(), DdfError> {
    let mut seen: HashMap<u32, &str> = HashMap::new();
    for n in &compiled.nodes {
        if let Some(first) = seen.insert(n.key, &n.uri) {
            return Err(DdfError {
                file: n
                    .document
                    .map_or("", |d| file_of(&compiled.documents, d))
                    .to_owned(),
                node: Some(n.uri.clone()),
                line: n.line,
                message: format!(
                    "the node's key {:#010x} (the FNV-1a hash of its URI) is also the key of \
                     {first}; rename one of them",
                    n.key
                ),
            });
        }
    }
    Ok(())
}

fn file_of(documents: &[CompiledDocument], document: usize) -> &str {
    documents.get(document).map_or("", |d| d.file.as_str())
}

fn find_mut<'t>(root: &'t mut TreeNode, path: &[Seg]) -> Option<&'t mut TreeNode> {
    let mut cur = root;
    for seg in path {
        cur = cur.children.iter_mut().find(|c| c.is(seg))?;
    }
    Some(cur)
}

/// The tree being laid out.
struct Layout<'a> {
    nodes: &'a mut Vec<CompiledNode>,
    /// Per document, the id of its first top-level node.
    roots: &'a mut Vec<Option<usize>>,
    max_depth: &'a mut usize,
}

impl Layout<'_> {
    /// Appends `node` and its subtree in preorder; returns its id.
    fn flatten(
        &mut self,
        node: TreeNode,
        parent: Option<usize>,
        uri: String,
        depth: usize,
    ) -> usize {
        let id = self.nodes.len();
        *self.max_depth = (*self.max_depth).max(depth);
        let document = match node.origin {
            Origin::Document(d) => Some(d),
            Origin::Root => None,
        };
        if let Some(slot) = document
            .filter(|_| node.document_root)
            .and_then(|d| self.roots.get_mut(d))
        {
            *slot = Some(id);
        }
        self.nodes.push(CompiledNode {
            name: node.name,
            key: uri_key(&uri),
            uri: uri.clone(),
            parent,
            first_child: None,
            next_sibling: None,
            subtree_end: id + 1,
            props: node.props,
            document,
            line: document.map(|_| node.line),
        });
        let mut previous: Option<usize> = None;
        for child in node.children {
            let child_uri = child_uri(&uri, &child.name);
            let child_id = self.flatten(child, Some(id), child_uri, depth + 1);
            let link = match previous {
                Some(p) => self.nodes.get_mut(p).map(|n| &mut n.next_sibling),
                None => self.nodes.get_mut(id).map(|n| &mut n.first_child),
            };
            if let Some(link) = link {
                *link = Some(child_id);
            }
            previous = Some(child_id);
        }
        let end = self.nodes.len();
        if let Some(n) = self.nodes.get_mut(id) {
            n.subtree_end = end;
        }
        id
    }
}

/// Places the nodes of one document.
struct Place<'a> {
    documents: &'a [CompiledDocument],
    document: usize,
    count: &'a mut usize,
    max_nodes: usize,
}

impl Place<'_> {
    fn error(&self, uri: &str, line: u32, message: String) -> DdfError {
        DdfError {
            file: file_of(self.documents, self.document).to_owned(),
            node: Some(uri.to_owned()),
            line: Some(line),
            message,
        }
    }

    /// Checks `node` against its new siblings and the tree's limits, then adds it (and,
    /// recursively, its children) under `parent`, which sits `depth` segments deep.
    fn attach(
        &mut self,
        parent: &mut TreeNode,
        parent_uri: &str,
        depth: usize,
        node: ParsedNode,
        document_root: bool,
    ) -> Result<(), DdfError> {
        let uri = child_uri(parent_uri, &node.name);
        if depth + 1 > MAX_DEPTH {
            return Err(self.error(
                &uri,
                node.line,
                format!(
                    "the node is {} segments deep (at most {MAX_DEPTH})",
                    depth + 1
                ),
            ));
        }
        for sibling in &parent.children {
            let clash = if node.name.is_empty() {
                sibling.name.is_empty()
            } else {
                sibling.name == node.name
                    || ((!sibling.props.case_sensitive || !node.props.case_sensitive)
                        && sibling.name.eq_ignore_ascii_case(&node.name))
            };
            if !clash {
                continue;
            }
            let message = match sibling.origin {
                Origin::Document(d) if d == self.document && node.name.is_empty() => format!(
                    "a second unnamed placeholder under {parent_uri} (a parent has at most one; \
                     the first is at line {})",
                    sibling.line
                ),
                Origin::Document(d) if d == self.document => format!(
                    "duplicate sibling name \"{}\" (the first is at line {})",
                    sibling.name, sibling.line
                ),
                Origin::Document(d) => format!(
                    "already described by {}:{}",
                    file_of(self.documents, d),
                    sibling.line
                ),
                // The root is no one's sibling; kept for completeness.
                Origin::Root => "already described as the root".to_owned(),
            };
            return Err(self.error(&uri, node.line, message));
        }
        *self.count += 1;
        if *self.count > self.max_nodes {
            return Err(self.error(
                &uri,
                node.line,
                format!("too many nodes (at most {} with the root)", self.max_nodes),
            ));
        }
        parent.children.push(TreeNode {
            name: node.name,
            props: node.props,
            origin: Origin::Document(self.document),
            line: node.line,
            document_root,
            children: Vec::new(),
        });
        let Some(placed) = parent.children.last_mut() else {
            return Ok(());
        };
        for child in node.children {
            self.attach(placed, &uri, depth + 1, child, false)?;
        }
        Ok(())
    }
}

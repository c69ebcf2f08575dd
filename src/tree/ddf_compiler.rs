//! DDF compiler: reads OMA DM 1.2 Device Description Framework documents (`<MgmtTree>`),
//! checks them, and writes the static node table of `tree::schema` as Rust source.
//!
//! Plain `std` Rust on `roxmltree`, with no reference to the crate it sits in: `build.rs`
//! includes this file with `#[path]`, the host tool includes it for `iotadm ddf check`, and
//! the library compiles it only for its tests. Its error messages are what a vendor sees
//! when a DDF is wrong, so each names the file, the node (`./DMAcc/<x>/AppAuth/<x>/AAuthType`,
//! placeholders as `<x>`) and the line.
//!
//! Beyond the DTD, the compiler holds DDF documents to the rules the table relies on: one
//! description per node, at most one unnamed placeholder per parent and always `Dynamic`,
//! named nodes that occur at most once, leaves typed by `MIME` and interior nodes by
//! `DDFName`, defaults only on leaves and valid for their format, well-formed ACLs, and
//! bounded depth and name length.
// Each includer uses a different part: build.rs emits, the host tool only checks.
#![allow(dead_code)]

use std::borrow::ToOwned;
use std::collections::HashMap;
use std::fmt;
use std::format;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

/// Deepest node accepted, in URI segments below the root.
pub(crate) const MAX_DEPTH: usize = 24;
/// Longest node name accepted, in bytes.
pub(crate) const MAX_SEGMENT_LEN: usize = 64;
/// Most nodes in the table, root included: ids are `u16` and `u16::MAX` means "no node".
pub(crate) const MAX_NODES: usize = u16::MAX as usize - 1;
/// Most DDF documents: the index is a `u8` and `u8::MAX` marks the root.
pub(crate) const MAX_DOCUMENTS: usize = u8::MAX as usize;
/// Most distinct strings in the table: string ids are `u16` and `u16::MAX` means "none".
pub(crate) const MAX_STRINGS: usize = u16::MAX as usize;
/// The ACL of the synthesised root `.`, as OMA DM recommends.
pub(crate) const ROOT_ACL: &str = "Add=*&Get=*";
/// The only `VerDTD` this compiler reads.
pub(crate) const VER_DTD: &str = "1.2";

/// Why a DDF document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DdfError {
    /// The document, as the caller named it (e.g. `ddf/DMAcc.xml`).
    pub(crate) file: String,
    /// The node concerned, as a URI with placeholders written `<x>`, if any.
    pub(crate) node: Option<String>,
    /// The line of the element concerned, if known.
    pub(crate) line: Option<u32>,
    /// What is wrong.
    pub(crate) message: String,
}

impl fmt::Display for DdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
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

/// `DFFormat` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    B64,
    Bin,
    Bool,
    Chr,
    Int,
    Node,
    Null,
    Xml,
    Date,
    Time,
    Float,
}

/// Each format with its DDF element name and its variant name in the generated code.
const FORMATS: [(Format, &str, &str); 11] = [
    (Format::B64, "b64", "B64"),
    (Format::Bin, "bin", "Bin"),
    (Format::Bool, "bool", "Bool"),
    (Format::Chr, "chr", "Chr"),
    (Format::Int, "int", "Int"),
    (Format::Node, "node", "Node"),
    (Format::Null, "null", "Null"),
    (Format::Xml, "xml", "Xml"),
    (Format::Date, "date", "Date"),
    (Format::Time, "time", "Time"),
    (Format::Float, "float", "Float"),
];

impl Format {
    pub(crate) fn parse(name: &str) -> Option<Format> {
        FORMATS.iter().find(|f| f.1 == name).map(|f| f.0)
    }

    pub(crate) fn name(self) -> &'static str {
        FORMATS.iter().find(|f| f.0 == self).map_or("", |f| f.1)
    }

    /// Whether this is `node`, the format of interior nodes.
    pub(crate) fn is_node(self) -> bool {
        self == Format::Node
    }

    fn variant(self) -> &'static str {
        FORMATS.iter().find(|f| f.0 == self).map_or("", |f| f.2)
    }
}

/// `AccessType` commands, in the order of the `AccessSet` bits and of every printout.
pub(crate) const COMMANDS: [&str; 6] = ["Add", "Copy", "Delete", "Exec", "Get", "Replace"];
/// The `AccessSet` constants naming [`COMMANDS`] in the generated code.
const COMMAND_CONSTS: [&str; 6] = ["ADD", "COPY", "DELETE", "EXEC", "GET", "REPLACE"];

/// A set of [`COMMANDS`], bit `i` standing for `COMMANDS[i]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Access(pub(crate) u8);

impl Access {
    pub(crate) fn of(names: &[&str]) -> Access {
        Access(
            COMMANDS
                .iter()
                .enumerate()
                .filter(|(_, c)| names.contains(c))
                .fold(0, |bits, (i, _)| bits | 1 << i),
        )
    }

    pub(crate) fn names(self) -> impl Iterator<Item = &'static str> {
        COMMANDS
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & 1 << i != 0)
            .map(|(_, c)| *c)
    }

    fn rust(self) -> String {
        let mut consts = COMMAND_CONSTS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & 1 << i != 0)
            .map(|(_, c)| *c);
        let Some(first) = consts.next() else {
            return "AccessSet::NONE".to_owned();
        };
        let mut s = format!("AccessSet::{first}");
        for c in consts {
            s.push_str(&format!(".union(AccessSet::{c})"));
        }
        s
    }
}

/// `Occurrence` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Occurrence {
    One,
    ZeroOrOne,
    ZeroOrMore,
    OneOrMore,
    ZeroOrN(u16),
    OneOrN(u16),
}

impl Occurrence {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Occurrence::One => "One",
            Occurrence::ZeroOrOne => "ZeroOrOne",
            Occurrence::ZeroOrMore => "ZeroOrMore",
            Occurrence::OneOrMore => "OneOrMore",
            Occurrence::ZeroOrN(_) => "ZeroOrN",
            Occurrence::OneOrN(_) => "OneOrN",
        }
    }

    fn rust(self) -> String {
        match self {
            Occurrence::ZeroOrN(n) | Occurrence::OneOrN(n) => {
                format!("Occurrence::{}({n})", self.name())
            }
            _ => format!("Occurrence::{}", self.name()),
        }
    }
}

/// `Scope` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Permanent,
    Dynamic,
}

impl Scope {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scope::Permanent => "Permanent",
            Scope::Dynamic => "Dynamic",
        }
    }
}

/// What a DDF says about one node, as the table keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Props {
    pub(crate) format: Format,
    pub(crate) access: Access,
    pub(crate) occurrence: Occurrence,
    pub(crate) scope: Scope,
    pub(crate) case_sensitive: bool,
    pub(crate) default_value: Option<String>,
    /// `DFType`: `MIME` of a leaf, `DDFName` of an interior node.
    pub(crate) mime: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) acl: Option<String>,
}

impl Props {
    fn root() -> Props {
        Props {
            format: Format::Node,
            access: Access::of(&["Add", "Get"]),
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

    /// What a node already in the compiled-in tree is known by: enough to check against.
    fn declared(interior: bool, case_sensitive: bool) -> Props {
        Props {
            format: if interior { Format::Node } else { Format::Chr },
            access: Access::default(),
            occurrence: Occurrence::One,
            scope: Scope::Permanent,
            case_sensitive,
            default_value: None,
            mime: String::new(),
            title: String::new(),
            description: String::new(),
            acl: None,
        }
    }
}

/// A node already in the tree that DDF documents may attach to or clash with, such as the
/// compiled-in tree when `iotadm ddf check` looks at one vendor document.
#[derive(Debug, Clone)]
pub(crate) struct Declared {
    /// Empty for a placeholder.
    pub(crate) name: String,
    pub(crate) interior: bool,
    pub(crate) case_sensitive: bool,
    pub(crate) children: Vec<Declared>,
}

/// One node of the compiled table, in preorder; ids are indices into [`Schema::nodes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableNode {
    /// `.` for the root, empty for a placeholder.
    pub(crate) name: String,
    /// URI with placeholders written `<x>`.
    pub(crate) uri: String,
    pub(crate) parent: Option<usize>,
    pub(crate) first_child: Option<usize>,
    pub(crate) next_sibling: Option<usize>,
    pub(crate) subtree_end: usize,
    pub(crate) props: Props,
    /// Index into [`Schema::documents`]; `None` for the root and declared nodes.
    pub(crate) document: Option<usize>,
}

/// One DDF document of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableDocument {
    pub(crate) file: String,
    /// The first top-level node of the document.
    pub(crate) root: usize,
    pub(crate) man: String,
    pub(crate) model: String,
    pub(crate) ver_dtd: String,
}

/// The compiled tree: every node in preorder, index 0 the root `.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Schema {
    pub(crate) nodes: Vec<TableNode>,
    pub(crate) documents: Vec<TableDocument>,
    /// Depth of the deepest node, in segments below the root.
    pub(crate) max_depth: usize,
    /// Whether the nodes keep their titles and descriptions; see
    /// [`Schema::drop_descriptions`].
    pub(crate) descriptions: bool,
}

/// Compiles `(name, text)` DDF documents, in the order given, into one tree.
pub(crate) fn compile(sources: &[(String, String)]) -> Result<Schema, DdfError> {
    let mut compiler = Compiler::new();
    for (name, text) in sources {
        compiler.add_document(name, text)?;
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
    /// Whether this is the document's first top-level node, its `DdfDocument::root`.
    first: bool,
    path: Vec<Seg>,
    node: ParsedNode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Root,
    Declared,
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
    fn from_declared(d: Declared) -> TreeNode {
        TreeNode {
            props: Props::declared(d.interior, d.case_sensitive),
            name: d.name,
            origin: Origin::Declared,
            line: 0,
            document_root: false,
            children: d
                .children
                .into_iter()
                .map(TreeNode::from_declared)
                .collect(),
        }
    }

    fn count(&self) -> usize {
        1 + self.children.iter().map(TreeNode::count).sum::<usize>()
    }

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

/// Documents in, table out: [`Compiler::add_document`] reads and checks each document on
/// its own, [`Compiler::finish`] places the documents' nodes in one tree and checks it whole.
#[derive(Debug)]
pub(crate) struct Compiler {
    root: TreeNode,
    documents: Vec<TableDocument>,
    pending: Vec<Pending>,
    /// [`MAX_NODES`], lowered by the tests to keep them small.
    max_nodes: usize,
}

impl Default for Compiler {
    fn default() -> Self {
        Compiler::new()
    }
}

impl Compiler {
    /// A compiler holding only the root `.`.
    pub(crate) fn new() -> Compiler {
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
            max_nodes: MAX_NODES,
        }
    }

    /// A compiler whose tree already holds `children` under the root, for checking a
    /// document against a tree compiled earlier.
    pub(crate) fn with_existing(children: Vec<Declared>) -> Compiler {
        let mut c = Compiler::new();
        c.root.children = children.into_iter().map(TreeNode::from_declared).collect();
        c
    }

    /// Reads and checks one document; its nodes are placed by [`Compiler::finish`].
    pub(crate) fn add_document(&mut self, file: &str, text: &str) -> Result<(), DdfError> {
        let document = self.documents.len();
        let cx = Cx { file, xml: None };
        if document >= MAX_DOCUMENTS {
            return Err(cx.error(
                None,
                None,
                format!("too many DDF documents (at most {MAX_DOCUMENTS})"),
            ));
        }
        let options = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..roxmltree::ParsingOptions::default()
        };
        let xml = roxmltree::Document::parse_with_options(text, options)
            .map_err(|e| cx.error(None, None, format!("not well-formed XML: {e}")))?;
        let cx = Cx {
            file,
            xml: Some(&xml),
        };
        let top = xml.root_element();
        if !is_ddf(top) || top.tag_name().name() != "MgmtTree" {
            return Err(cx.at(
                None,
                top,
                format!(
                    "the root element is <{}>, expected <MgmtTree>",
                    top.tag_name().name()
                ),
            ));
        }
        let mut ver_dtd = None;
        let mut man = None;
        let mut model = None;
        let mut tops = Vec::new();
        for el in cx.elements(None, top)? {
            match el.tag_name().name() {
                "VerDTD" => {
                    cx.set_once(None, el, &mut ver_dtd, cx.text(None, el)?.trim().to_owned())?
                }
                "Man" => cx.set_once(None, el, &mut man, collapse(&cx.text(None, el)?))?,
                "Mod" => cx.set_once(None, el, &mut model, collapse(&cx.text(None, el)?))?,
                "Node" => tops.push(cx.parse_node(el, ".", None)?),
                other => {
                    return Err(cx.at(None, el, format!("unknown element <{other}> in <MgmtTree>")))
                }
            }
        }
        let ver_dtd = ver_dtd.ok_or_else(|| cx.at(None, top, "missing <VerDTD>".to_owned()))?;
        if ver_dtd != VER_DTD {
            return Err(cx.at(
                None,
                top,
                format!("unsupported VerDTD \"{ver_dtd}\" (expected {VER_DTD})"),
            ));
        }
        if tops.is_empty() {
            return Err(cx.at(None, top, "no <Node> in <MgmtTree>".to_owned()));
        }
        self.documents.push(TableDocument {
            file: file.to_owned(),
            root: 0,
            man: man.unwrap_or_default(),
            model: model.unwrap_or_default(),
            ver_dtd,
        });
        for (i, (path, node)) in tops.into_iter().enumerate() {
            self.pending.push(Pending {
                document,
                first: i == 0,
                path: path.unwrap_or_default(),
                node,
            });
        }
        Ok(())
    }

    /// Places every document's nodes under the nodes their `<Path>` names, which may come
    /// from a later document, checks the whole tree, and lays it out in preorder.
    pub(crate) fn finish(mut self) -> Result<Schema, DdfError> {
        let mut count = self.root.count();
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
                if !parent.props.format.is_node() {
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
        Ok(self.layout())
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

    fn layout(self) -> Schema {
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
            .map(|(d, root)| TableDocument {
                root: root.unwrap_or(0),
                ..d
            })
            .collect();
        Schema {
            nodes,
            documents,
            max_depth,
            descriptions: true,
        }
    }
}

fn file_of(documents: &[TableDocument], document: usize) -> &str {
    documents.get(document).map_or("", |d| d.file.as_str())
}

fn find_mut<'t>(root: &'t mut TreeNode, path: &[Seg]) -> Option<&'t mut TreeNode> {
    let mut cur = root;
    for seg in path {
        cur = cur.children.iter_mut().find(|c| c.is(seg))?;
    }
    Some(cur)
}

/// The table being laid out.
struct Layout<'a> {
    nodes: &'a mut Vec<TableNode>,
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
            Origin::Root | Origin::Declared => None,
        };
        if let Some(slot) = document
            .filter(|_| node.document_root)
            .and_then(|d| self.roots.get_mut(d))
        {
            *slot = Some(id);
        }
        self.nodes.push(TableNode {
            name: node.name,
            uri: uri.clone(),
            parent,
            first_child: None,
            next_sibling: None,
            subtree_end: id + 1,
            props: node.props,
            document,
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
    documents: &'a [TableDocument],
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
                Origin::Declared | Origin::Root => {
                    "already described by the compiled-in tree".to_owned()
                }
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

/// Whether an element belongs to the DDF vocabulary: no namespace, or the DDF one.
/// Elements of other namespaces are vendor extensions and are skipped.
fn is_ddf(el: roxmltree::Node<'_, '_>) -> bool {
    el.tag_name()
        .namespace()
        .is_none_or(|ns| ns.to_ascii_lowercase().starts_with("syncml:dmddf"))
}

/// Reading context: the document's name, and its text for line numbers.
struct Cx<'a, 'input> {
    file: &'a str,
    xml: Option<&'a roxmltree::Document<'input>>,
}

impl Cx<'_, '_> {
    fn error(&self, node: Option<&str>, line: Option<u32>, message: String) -> DdfError {
        DdfError {
            file: self.file.to_owned(),
            node: node.map(str::to_owned),
            line,
            message,
        }
    }

    fn line(&self, el: roxmltree::Node<'_, '_>) -> u32 {
        self.xml.map_or(0, |x| x.text_pos_at(el.range().start).row)
    }

    fn at(&self, node: Option<&str>, el: roxmltree::Node<'_, '_>, message: String) -> DdfError {
        self.error(node, Some(self.line(el)), message)
    }

    /// The DDF child elements of `el`; text other than whitespace is refused.
    fn elements<'a, 'i>(
        &self,
        node: Option<&str>,
        el: roxmltree::Node<'a, 'i>,
    ) -> Result<Vec<roxmltree::Node<'a, 'i>>, DdfError> {
        let mut out = Vec::new();
        for c in el.children() {
            if c.is_element() {
                if is_ddf(c) {
                    out.push(c);
                }
            } else if c.is_text() && !c.text().unwrap_or_default().trim().is_empty() {
                return Err(self.at(
                    node,
                    c,
                    format!(
                        "unexpected text \"{}\" in <{}>",
                        c.text().unwrap_or_default().trim(),
                        el.tag_name().name()
                    ),
                ));
            }
        }
        Ok(out)
    }

    /// The text of `el`, which must not contain elements.
    fn text(&self, node: Option<&str>, el: roxmltree::Node<'_, '_>) -> Result<String, DdfError> {
        let mut s = String::new();
        for c in el.children() {
            if c.is_element() {
                return Err(self.at(
                    node,
                    c,
                    format!(
                        "unexpected <{}> in <{}>",
                        c.tag_name().name(),
                        el.tag_name().name()
                    ),
                ));
            }
            if let Some(t) = c.text().filter(|_| c.is_text()) {
                s.push_str(t);
            }
        }
        Ok(s)
    }

    /// The one element inside `el` that names a value (`<DFFormat><chr/></DFFormat>`);
    /// `None` when `el` is empty.
    fn choice<'a, 'i>(
        &self,
        node: Option<&str>,
        el: roxmltree::Node<'a, 'i>,
    ) -> Result<Option<roxmltree::Node<'a, 'i>>, DdfError> {
        let items = self.elements(node, el)?;
        match items.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            [_, second, ..] => Err(self.at(
                node,
                *second,
                format!("<{}> holds more than one element", el.tag_name().name()),
            )),
        }
    }

    fn set_once<T>(
        &self,
        node: Option<&str>,
        el: roxmltree::Node<'_, '_>,
        slot: &mut Option<T>,
        value: T,
    ) -> Result<(), DdfError> {
        if slot.is_some() {
            return Err(self.at(
                node,
                el,
                format!("more than one <{}>", el.tag_name().name()),
            ));
        }
        *slot = Some(value);
        Ok(())
    }

    /// Reads a `<Node>` and its subtree; `parent_uri` is the URI of the node it sits in
    /// (for a top-level node, `.`; its own `<Path>` then decides).
    fn parse_node(
        &self,
        el: roxmltree::Node<'_, '_>,
        parent_uri: &str,
        parent_depth: Option<usize>,
    ) -> Result<(Option<Vec<Seg>>, ParsedNode), DdfError> {
        let top = parent_depth.is_none();
        // The name (and a top-level node's Path) come first: every message names the node.
        let find = |name: &str| {
            el.children()
                .find(|c| c.is_element() && is_ddf(*c) && c.tag_name().name() == name)
        };

        let path = match find("Path") {
            Some(p) if top => {
                let text = self.text(None, p)?;
                Some(parse_path(&text).map_err(|m| self.at(None, p, format!("bad Path: {m}")))?)
            }
            _ => None,
        };
        let parent_uri = path.as_deref().map_or(parent_uri.to_owned(), path_uri);
        let name_el = find("NodeName").ok_or_else(|| {
            self.at(
                Some(&parent_uri),
                el,
                "a child <Node> has no <NodeName>".to_owned(),
            )
        })?;
        let name = self.text(Some(&parent_uri), name_el)?.trim().to_owned();
        let uri = child_uri(&parent_uri, &name);
        let node = Some(uri.as_str());
        check_name(&name).map_err(|m| self.at(node, name_el, m))?;
        let items = self.elements(node, el)?;
        // Checked while reading, so that a deeply nested document cannot exhaust the stack.
        let depth = parent_depth.unwrap_or_else(|| path.as_ref().map_or(0, Vec::len)) + 1;
        if depth > MAX_DEPTH {
            return Err(self.at(
                node,
                el,
                format!("the node is {depth} segments deep (at most {MAX_DEPTH})"),
            ));
        }

        let mut seen = Slots::default();
        let mut children = Vec::new();
        for item in &items {
            let slot = match item.tag_name().name() {
                "NodeName" => &mut seen.name,
                "Path" if top => &mut seen.path,
                "Path" => {
                    return Err(self.at(
                        node,
                        *item,
                        "<Path> is only allowed on top-level nodes".to_owned(),
                    ))
                }
                "RTProperties" => &mut seen.rt,
                "DFProperties" => &mut seen.df,
                "Value" => &mut seen.value,
                "Node" => {
                    children.push(*item);
                    continue;
                }
                other => {
                    return Err(self.at(
                        node,
                        *item,
                        format!("unknown element <{other}> in <Node>"),
                    ))
                }
            };
            self.set_once(node, *item, slot, *item)?;
        }
        let df = seen
            .df
            .ok_or_else(|| self.at(node, el, "missing <DFProperties>".to_owned()))?;
        let mut props = self.parse_df(&uri, df)?;

        if let Some(value) = seen.value {
            if props.format.is_node() {
                return Err(self.at(
                    node,
                    value,
                    "an interior node cannot have a <Value>".to_owned(),
                ));
            }
            let value = self.text(node, value)?;
            match &props.default_value {
                Some(d) if *d != value => {
                    return Err(self.at(
                        node,
                        el,
                        format!("<Value> \"{value}\" disagrees with <DefaultValue> \"{d}\""),
                    ))
                }
                _ => props.default_value = Some(value),
            }
        }
        if let Some(rt) = seen.rt {
            self.parse_rt(&uri, &name, rt, &mut props)?;
        }

        let interior = props.format.is_node();
        if !interior {
            if let Some(child) = children.first() {
                return Err(self.at(
                    node,
                    *child,
                    format!(
                        "a leaf (DFFormat {}) cannot have child nodes",
                        props.format.name()
                    ),
                ));
            }
        }
        if let Some(default) = &props.default_value {
            check_default(props.format, default).map_err(|m| self.at(node, df, m))?;
        }
        if name.is_empty() && props.scope != Scope::Dynamic {
            return Err(self.at(
                node,
                df,
                format!(
                    "an unnamed placeholder must have Scope Dynamic, not {}",
                    props.scope.name()
                ),
            ));
        }
        if !name.is_empty() && !matches!(props.occurrence, Occurrence::One | Occurrence::ZeroOrOne)
        {
            return Err(self.at(
                node,
                df,
                format!(
                    "Occurrence {} needs an unnamed placeholder: a named node exists at most once",
                    props.occurrence.name()
                ),
            ));
        }

        let mut parsed_children = Vec::new();
        for child in children {
            parsed_children.push(self.parse_node(child, &uri, Some(depth))?.1);
        }
        Ok((
            path,
            ParsedNode {
                name,
                line: self.line(el),
                props,
                children: parsed_children,
            },
        ))
    }

    fn parse_df(&self, uri: &str, df: roxmltree::Node<'_, '_>) -> Result<Props, DdfError> {
        let node = Some(uri);
        let mut access = None;
        let mut default_value = None;
        let mut description = None;
        let mut format = None;
        let mut occurrence = None;
        let mut scope = None;
        let mut title = None;
        let mut df_type = None;
        let mut case_sense = None;
        for el in self.elements(node, df)? {
            match el.tag_name().name() {
                "AccessType" => {
                    let mut names = Vec::new();
                    for cmd in self.elements(node, el)? {
                        let name = cmd.tag_name().name();
                        if !COMMANDS.contains(&name) {
                            return Err(self.at(
                                node,
                                cmd,
                                format!("unknown AccessType element <{name}>"),
                            ));
                        }
                        if names.contains(&name) {
                            return Err(self.at(
                                node,
                                cmd,
                                format!("AccessType lists {name} twice"),
                            ));
                        }
                        self.text(node, cmd)?;
                        names.push(name);
                    }
                    self.set_once(node, el, &mut access, Access::of(&names))?;
                }
                "DefaultValue" => {
                    self.set_once(node, el, &mut default_value, self.text(node, el)?)?
                }
                "Description" => {
                    let text = collapse(&self.text(node, el)?);
                    self.set_once(node, el, &mut description, text)?
                }
                "DFTitle" => {
                    let text = collapse(&self.text(node, el)?);
                    self.set_once(node, el, &mut title, text)?
                }
                "DFFormat" => {
                    let f = self.parse_format(node, el, "DFFormat")?;
                    self.set_once(node, el, &mut format, f)?
                }
                "Occurrence" => {
                    let o = self.parse_occurrence(node, el)?;
                    self.set_once(node, el, &mut occurrence, o)?
                }
                "Scope" => {
                    let s = match self.choice(node, el)?.map(|c| (c, c.tag_name().name())) {
                        Some((c, "Permanent")) => self.text(node, c).map(|_| Scope::Permanent)?,
                        Some((c, "Dynamic")) => self.text(node, c).map(|_| Scope::Dynamic)?,
                        Some((c, other)) => {
                            return Err(self.at(node, c, format!("unknown Scope \"{other}\"")))
                        }
                        None => return Err(self.at(node, el, "empty <Scope>".to_owned())),
                    };
                    self.set_once(node, el, &mut scope, s)?
                }
                "DFType" => {
                    let t = self.parse_type(node, el, "DFType")?;
                    self.set_once(node, el, &mut df_type, t)?
                }
                "CaseSense" => {
                    let cs = match self.choice(node, el)?.map(|c| (c, c.tag_name().name())) {
                        Some((c, "CS")) => self.text(node, c).map(|_| true)?,
                        Some((c, "CIS")) => self.text(node, c).map(|_| false)?,
                        Some((c, other)) => {
                            return Err(self.at(node, c, format!("unknown CaseSense \"{other}\"")))
                        }
                        None => return Err(self.at(node, el, "empty <CaseSense>".to_owned())),
                    };
                    self.set_once(node, el, &mut case_sense, cs)?
                }
                other => {
                    return Err(self.at(
                        node,
                        el,
                        format!("unknown element <{other}> in <DFProperties>"),
                    ))
                }
            }
        }
        let missing = |what: &str| self.at(node, df, format!("missing <{what}> in <DFProperties>"));
        let format = format.ok_or_else(|| missing("DFFormat"))?;
        let access = access.ok_or_else(|| missing("AccessType"))?;
        let (type_element, mime) = df_type.ok_or_else(|| missing("DFType"))?;
        match (format, type_element) {
            (Format::Node, TypeElement::Mime) => {
                return Err(self.at(
                    node,
                    df,
                    "an interior node is typed by <DDFName> in <DFType>, not <MIME>".to_owned(),
                ))
            }
            (Format::Node, TypeElement::DdfName) => {}
            (_, TypeElement::DdfName) => {
                return Err(self.at(
                    node,
                    df,
                    "a leaf is typed by <MIME> in <DFType>, not <DDFName>".to_owned(),
                ))
            }
            (_, TypeElement::Mime) => check_mime(&mime).map_err(|m| self.at(node, df, m))?,
        }
        if format.is_node() && default_value.is_some() {
            return Err(self.at(
                node,
                df,
                "an interior node cannot have a <DefaultValue>".to_owned(),
            ));
        }
        Ok(Props {
            format,
            access,
            occurrence: occurrence.unwrap_or(Occurrence::One),
            scope: scope.unwrap_or(Scope::Dynamic),
            case_sensitive: case_sense.unwrap_or(true),
            default_value,
            mime,
            title: title.unwrap_or_default(),
            description: description.unwrap_or_default(),
            acl: None,
        })
    }

    fn parse_format(
        &self,
        node: Option<&str>,
        el: roxmltree::Node<'_, '_>,
        what: &str,
    ) -> Result<Format, DdfError> {
        let Some(f) = self.choice(node, el)? else {
            return Err(self.at(node, el, format!("empty <{what}>")));
        };
        self.text(node, f)?;
        let name = f.tag_name().name();
        Format::parse(name).ok_or_else(|| self.at(node, f, format!("unknown {what} \"{name}\"")))
    }

    fn parse_type(
        &self,
        node: Option<&str>,
        el: roxmltree::Node<'_, '_>,
        what: &str,
    ) -> Result<(TypeElement, String), DdfError> {
        let Some(t) = self.choice(node, el)? else {
            return Err(self.at(
                node,
                el,
                format!("empty <{what}>: expected <MIME> or <DDFName>"),
            ));
        };
        let value = self.text(node, t)?.trim().to_owned();
        match t.tag_name().name() {
            "MIME" => Ok((TypeElement::Mime, value)),
            "DDFName" => Ok((TypeElement::DdfName, value)),
            other => Err(self.at(
                node,
                t,
                format!("unknown element <{other}> in <{what}>: expected <MIME> or <DDFName>"),
            )),
        }
    }

    fn parse_occurrence(
        &self,
        node: Option<&str>,
        el: roxmltree::Node<'_, '_>,
    ) -> Result<Occurrence, DdfError> {
        let Some(o) = self.choice(node, el)? else {
            return Err(self.at(node, el, "empty <Occurrence>".to_owned()));
        };
        let name = o.tag_name().name();
        let text = self.text(node, o)?;
        let count = || {
            text.trim()
                .parse::<u16>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    self.at(
                        node,
                        o,
                        format!(
                            "Occurrence {name} needs a count from 1 to {}, not \"{}\"",
                            u16::MAX,
                            text.trim()
                        ),
                    )
                })
        };
        let fixed = |o: Occurrence| {
            if text.trim().is_empty() {
                Ok(o)
            } else {
                Err(self.at(node, el, format!("Occurrence {name} takes no count")))
            }
        };
        match name {
            "One" => fixed(Occurrence::One),
            "ZeroOrOne" => fixed(Occurrence::ZeroOrOne),
            "ZeroOrMore" => fixed(Occurrence::ZeroOrMore),
            "OneOrMore" => fixed(Occurrence::OneOrMore),
            "ZeroOrN" => count().map(Occurrence::ZeroOrN),
            "OneOrN" => count().map(Occurrence::OneOrN),
            other => Err(self.at(node, o, format!("unknown Occurrence \"{other}\""))),
        }
    }

    /// `RTProperties`: the default ACL is kept; the other properties are the device's to
    /// maintain, so they may be declared but must agree with `DFProperties` or stay empty.
    fn parse_rt(
        &self,
        uri: &str,
        name: &str,
        rt: roxmltree::Node<'_, '_>,
        props: &mut Props,
    ) -> Result<(), DdfError> {
        let node = Some(uri);
        let mut seen: Vec<&str> = Vec::new();
        for el in self.elements(node, rt)? {
            let prop = el.tag_name().name();
            if seen.contains(&prop) {
                return Err(self.at(node, el, format!("more than one <{prop}>")));
            }
            seen.push(prop);
            match prop {
                "ACL" => {
                    let acl = self.text(node, el)?.trim().to_owned();
                    if !acl.is_empty() {
                        check_acl(&acl).map_err(|m| self.at(node, el, format!("bad ACL: {m}")))?;
                        props.acl = Some(acl);
                    }
                }
                "Format" => {
                    if self.choice(node, el)?.is_some() {
                        let f = self.parse_format(node, el, "Format")?;
                        if f != props.format {
                            return Err(self.at(
                                node,
                                el,
                                format!(
                                    "RTProperties Format {} disagrees with DFFormat {}",
                                    f.name(),
                                    props.format.name()
                                ),
                            ));
                        }
                    }
                }
                "Name" => {
                    let rt_name = self.text(node, el)?.trim().to_owned();
                    if !rt_name.is_empty() && rt_name != name {
                        return Err(self.at(
                            node,
                            el,
                            format!("RTProperties Name \"{rt_name}\" disagrees with NodeName"),
                        ));
                    }
                }
                "Type" => {
                    if self.choice(node, el)?.is_some() {
                        let (_, t) = self.parse_type(node, el, "Type")?;
                        if !t.is_empty() && t != props.mime {
                            return Err(self.at(
                                node,
                                el,
                                format!(
                                    "RTProperties Type \"{t}\" disagrees with DFType \"{}\"",
                                    props.mime
                                ),
                            ));
                        }
                    }
                }
                "Size" | "Title" | "TStamp" | "VerNo" => {
                    if prop == "Size" && props.format.is_node() {
                        return Err(self.at(
                            node,
                            el,
                            "an interior node has no Size property".to_owned(),
                        ));
                    }
                    if !self.text(node, el)?.trim().is_empty() {
                        return Err(self.at(
                            node,
                            el,
                            format!(
                                "a default {prop} is not supported: the device maintains it \
                                 (leave <{prop}/> empty)"
                            ),
                        ));
                    }
                }
                other => {
                    return Err(self.at(
                        node,
                        el,
                        format!("unknown element <{other}> in <RTProperties>"),
                    ))
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeElement {
    Mime,
    DdfName,
}

/// The single-occurrence children of a `<Node>`.
#[derive(Default)]
struct Slots<'a, 'i> {
    name: Option<roxmltree::Node<'a, 'i>>,
    path: Option<roxmltree::Node<'a, 'i>>,
    rt: Option<roxmltree::Node<'a, 'i>>,
    df: Option<roxmltree::Node<'a, 'i>>,
    value: Option<roxmltree::Node<'a, 'i>>,
}

/// Runs of whitespace become one space, so indented prose in the XML costs no flash.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A node name: empty (a placeholder) or a usable URI segment of bounded length.
fn check_name(name: &str) -> Result<(), String> {
    if name.len() > MAX_SEGMENT_LEN {
        return Err(format!(
            "the name is {} bytes long (at most {MAX_SEGMENT_LEN})",
            name.len()
        ));
    }
    if name == "*" || (name.starts_with('<') && name.ends_with('>')) {
        return Err(format!(
            "NodeName \"{name}\" is not a placeholder: leave <NodeName/> empty for a node \
             named at run time"
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("\"{name}\" cannot be a node name"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '/' | '?' | '#' | '<' | '>') || c.is_control())
    {
        return Err(format!(
            "NodeName \"{}\" contains {c:?}, which cannot appear in a URI segment",
            name.escape_debug()
        ));
    }
    Ok(())
}

/// A `<Path>`: `.`, `./A/B`, `A/B` or `./A/B/`; a segment written `<x>` names a placeholder.
fn parse_path(text: &str) -> Result<Vec<Seg>, String> {
    let t = text.trim();
    let t = t.strip_suffix('/').unwrap_or(t);
    if t == "." || t.is_empty() {
        return Ok(Vec::new());
    }
    let rest = t.strip_prefix("./").unwrap_or(t);
    let mut segs = Vec::new();
    for seg in rest.split('/') {
        if seg.is_empty() {
            return Err(format!("\"{t}\" has an empty segment"));
        }
        if seg.starts_with('<') && seg.ends_with('>') {
            segs.push(Seg::Placeholder);
        } else {
            check_name(seg).map_err(|m| format!("\"{t}\": {m}"))?;
            segs.push(Seg::Named(seg.to_owned()));
        }
    }
    Ok(segs)
}

/// A leaf's MIME type: `type/subtype`, printable, without spaces.
fn check_mime(mime: &str) -> Result<(), String> {
    if mime.is_empty() {
        return Err(
            "a leaf needs a MIME type in <DFType>, e.g. <MIME>text/plain</MIME>".to_owned(),
        );
    }
    let ok = mime
        .split_once('/')
        .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty())
        && !mime.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(format!("\"{mime}\" is not a MIME type (type/subtype)"))
    }
}

/// A default value must be a value of the node's format.
fn check_default(format: Format, value: &str) -> Result<(), String> {
    let ok = match format {
        Format::Node => false,
        Format::Bool => value == "true" || value == "false",
        Format::Int => value.parse::<i32>().is_ok(),
        Format::Float => value.parse::<f32>().is_ok_and(f32::is_finite),
        Format::Null => value.is_empty(),
        Format::B64 => {
            let v: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            v.len().is_multiple_of(4)
                && v.trim_end_matches('=').len() + 2 >= v.len()
                && v.trim_end_matches('=')
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
        }
        Format::Bin | Format::Chr | Format::Xml | Format::Date | Format::Time => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "default value \"{value}\" is not a valid {} value",
            format.name()
        ))
    }
}

/// An ACL as OMA DM writes it: `Add=*&Get=srv1+srv2`.
fn check_acl(acl: &str) -> Result<(), String> {
    const ACL_COMMANDS: [&str; 5] = ["Add", "Delete", "Exec", "Get", "Replace"];
    let mut seen = Vec::new();
    for entry in acl.split('&') {
        let (command, ids) = entry
            .split_once('=')
            .ok_or_else(|| format!("entry \"{entry}\" has no '='"))?;
        if !ACL_COMMANDS.contains(&command) {
            return Err(format!(
                "unknown command \"{command}\" (expected one of {})",
                ACL_COMMANDS.join(", ")
            ));
        }
        if seen.contains(&command) {
            return Err(format!("{command} appears twice"));
        }
        seen.push(command);
        let ids: Vec<&str> = ids.split('+').collect();
        for id in &ids {
            if id.is_empty() {
                return Err(format!("{command} has an empty server identifier"));
            }
            if *id == "*" {
                if ids.len() > 1 {
                    return Err(format!("{command} mixes * with server identifiers"));
                }
            } else if let Some(c) = id
                .chars()
                .find(|c| matches!(c, '=' | '&' | '*' | '+') || c.is_whitespace() || c.is_control())
            {
                return Err(format!(
                    "server identifier \"{}\" contains {c:?}",
                    id.escape_debug()
                ));
            }
        }
    }
    Ok(())
}

impl Schema {
    /// Leaves every title and description out of the table, for firmware that would rather
    /// not spend flash on them (`IOTADM_DDF_DESCRIPTIONS=0`).
    pub(crate) fn drop_descriptions(&mut self) {
        for n in &mut self.nodes {
            n.props.title.clear();
            n.props.description.clear();
        }
        self.descriptions = false;
    }

    /// The table as Rust source for `tree::schema`: `MAX_SCHEMA_DEPTH`, `DESCRIPTIONS`, the
    /// string pool, `NODES` and `DOCUMENTS`, laid out as rustfmt would. The same input
    /// always gives the same text. Fails when the strings do not fit the table's string ids.
    pub(crate) fn to_rust(&self) -> Result<String, String> {
        self.to_rust_with(MAX_STRINGS)
    }

    fn to_rust_with(&self, max_strings: usize) -> Result<String, String> {
        let pool = StringPool::of(self, max_strings)?;
        let mut s = String::from(
            "// @generated by build.rs from the DDF documents below; edit those, not this file.\n",
        );
        for d in &self.documents {
            s.push_str(&format!("//   {}\n", d.file));
        }
        s.push_str("\n/// Depth of the deepest node, in URI segments below the root.\n");
        s.push_str(&format!(
            "pub const MAX_SCHEMA_DEPTH: usize = {};\n",
            self.max_depth
        ));
        s.push_str(
            "\n/// Whether the nodes keep their titles and descriptions: `false` when the build \
             ran\n/// with `IOTADM_DDF_DESCRIPTIONS=0`, which leaves them all empty.\n",
        );
        s.push_str(&format!(
            "pub const DESCRIPTIONS: bool = {};\n",
            self.descriptions
        ));
        s.push_str(&pool.to_rust()?);

        s.push_str(
            "\n/// Every node the DDF documents describe, in preorder; index 0 is the root `.`.\n",
        );
        s.push_str(&format!(
            "pub static NODES: [NodeDef; {}] = [\n",
            self.nodes.len()
        ));
        for (id, n) in self.nodes.iter().enumerate() {
            let p = &n.props;
            let string = |value: &str| pool.id(value).to_string();
            let optional = |value: Option<&str>| {
                value.map_or_else(|| "None".to_owned(), |v| format!("Some({})", pool.id(v)))
            };
            let fields = [
                ("name", string(&n.name)),
                ("parent", id_rust(n.parent)),
                ("first_child", id_rust(n.first_child)),
                ("subtree_end", n.subtree_end.to_string()),
                ("format", format!("Format::{}", p.format.variant())),
                ("access", p.access.rust()),
                ("occurrence", p.occurrence.rust()),
                ("scope", format!("Scope::{}", p.scope.name())),
                ("case_sensitive", p.case_sensitive.to_string()),
                ("default_value", optional(p.default_value.as_deref())),
                ("mime", string(&p.mime)),
                ("title", string(&p.title)),
                ("description", string(&p.description)),
                ("acl", optional(p.acl.as_deref())),
                (
                    "document",
                    n.document
                        .map_or_else(|| "NO_DOCUMENT".to_owned(), |d| d.to_string()),
                ),
            ];
            s.push_str(&struct_rust(
                &format!("{id}: {}", n.uri),
                ("NodeDef::new(NodeSpec {", "}),"),
                &fields,
            ));
        }
        s.push_str("];\n");

        s.push_str("\n/// The DDF documents the table was compiled from, in compilation order.\n");
        s.push_str(&format!(
            "pub static DOCUMENTS: [DdfDocument; {}] = [\n",
            self.documents.len()
        ));
        for (i, d) in self.documents.iter().enumerate() {
            let fields = [
                ("root", d.root.to_string()),
                ("man", format!("{:?}", d.man)),
                ("model", format!("{:?}", d.model)),
                ("ver_dtd", format!("{:?}", d.ver_dtd)),
            ];
            s.push_str(&struct_rust(
                &format!("{i}: {}", d.file),
                ("DdfDocument {", "},"),
                &fields,
            ));
        }
        s.push_str("];\n");
        Ok(s)
    }
}

/// The strings of a table, each once, numbered in the order the table first uses them:
/// every node name in preorder (so that a lookup by name reads one short stretch of the
/// pool), then each node's other strings.
#[derive(Debug)]
struct StringPool<'s> {
    strings: Vec<&'s str>,
    ids: HashMap<&'s str, usize>,
}

impl<'s> StringPool<'s> {
    fn of(schema: &'s Schema, max_strings: usize) -> Result<StringPool<'s>, String> {
        let mut pool = StringPool {
            strings: Vec::new(),
            ids: HashMap::new(),
        };
        for n in &schema.nodes {
            pool.intern(&n.name);
        }
        for n in &schema.nodes {
            let p = &n.props;
            for value in [
                Some(p.mime.as_str()),
                p.default_value.as_deref(),
                p.acl.as_deref(),
                Some(p.title.as_str()),
                Some(p.description.as_str()),
            ]
            .into_iter()
            .flatten()
            {
                pool.intern(value);
            }
        }
        if pool.strings.len() > max_strings {
            return Err(format!(
                "the node table holds {} distinct strings, more than the {max_strings} its \
                 string ids can number; build with IOTADM_DDF_DESCRIPTIONS=0 to leave titles \
                 and descriptions out",
                pool.strings.len()
            ));
        }
        Ok(pool)
    }

    fn intern(&mut self, value: &'s str) {
        if !self.ids.contains_key(value) {
            self.ids.insert(value, self.strings.len());
            self.strings.push(value);
        }
    }

    /// The id of a string of the table.
    fn id(&self, value: &str) -> usize {
        self.ids.get(value).copied().unwrap_or(usize::MAX)
    }

    /// `STRINGS`, one string a line with its id, and `STRING_OFFSETS`, in `u16` when the
    /// pool is small enough.
    fn to_rust(&self) -> Result<String, String> {
        let mut offsets = vec![0];
        let mut end = 0;
        for value in &self.strings {
            end += value.len();
            offsets.push(end);
        }
        let width = if end <= usize::from(u16::MAX) {
            "u16"
        } else if u32::try_from(end).is_ok() {
            "u32"
        } else {
            return Err(format!(
                "the node table's strings take {end} bytes, more than 4 GiB"
            ));
        };
        let mut s = String::from(
            "\n/// Every string of the table once, end to end: string `i` (a `StrId`) is\n\
             /// `STRINGS[STRING_OFFSETS[i] .. STRING_OFFSETS[i + 1]]`.\n\
             static STRINGS: &str = concat!(\n",
        );
        for (id, value) in self.strings.iter().enumerate() {
            s.push_str(&format!("    {value:?}, // {id}\n"));
        }
        s.push_str(");\n");
        s.push_str(&format!(
            "\n/// Where each string of `STRINGS` starts, then where the last one ends.\n\
             static STRING_OFFSETS: [{width}; {}] = [\n",
            offsets.len()
        ));
        let mut line = String::new();
        for offset in offsets {
            let item = format!("{offset},");
            if !line.is_empty() && 4 + line.len() + 1 + item.len() > 100 {
                s.push_str(&format!("    {line}\n"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&item);
        }
        if !line.is_empty() {
            s.push_str(&format!("    {line}\n"));
        }
        s.push_str("];\n");
        Ok(s)
    }
}

/// One array element: `// comment`, then `Head { field: value, .. }Tail` a field a line.
fn struct_rust(comment: &str, (head, tail): (&str, &str), fields: &[(&str, String)]) -> String {
    let mut s = format!("    // {comment}\n    {head}\n");
    for (field, value) in fields {
        let mut line = format!("        {field}: {value},");
        if value.contains(".union(") && (value.len() > 60 || line.len() > 100) {
            // Break a long method chain the way rustfmt does (its `chain_width` is 60).
            line = line.replace(".union(", "\n            .union(");
        }
        s.push_str(&line);
        s.push('\n');
    }
    s.push_str(&format!("    {tail}\n"));
    s
}

fn id_rust(id: Option<usize>) -> String {
    id.map_or_else(|| "NO_NODE".to_owned(), |i| i.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVINFO: &str = include_str!("../../ddf/DevInfo.xml");
    const DEVDETAIL: &str = include_str!("../../ddf/DevDetail.xml");
    const DMACC: &str = include_str!("../../ddf/DMAcc.xml");

    const LEAF: &str = "<AccessType><Get/></AccessType><DFFormat><chr/></DFFormat>\
                        <DFType><MIME>text/plain</MIME></DFType>";
    const INTERIOR: &str = "<AccessType><Get/></AccessType><DFFormat><node/></DFFormat>\
                            <Scope><Permanent/></Scope><DFType><DDFName/></DFType>";
    const PLACEHOLDER: &str = "<AccessType><Add/><Get/></AccessType><DFFormat><node/></DFFormat>\
                               <Occurrence><ZeroOrMore/></Occurrence><Scope><Dynamic/></Scope>\
                               <DFType><DDFName/></DFType>";

    fn node(name: &str, props: &str, children: &str) -> String {
        format!("<Node><NodeName>{name}</NodeName><DFProperties>{props}</DFProperties>{children}</Node>")
    }

    fn doc(nodes: &str) -> String {
        format!("<MgmtTree><VerDTD>1.2</VerDTD>{nodes}</MgmtTree>")
    }

    fn compile_all(docs: &[(&str, &str)]) -> Result<Schema, DdfError> {
        let sources: Vec<(String, String)> = docs
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect();
        compile(&sources)
    }

    fn standard() -> Result<Schema, DdfError> {
        compile_all(&[
            ("ddf/DMAcc.xml", DMACC),
            ("ddf/DevDetail.xml", DEVDETAIL),
            ("ddf/DevInfo.xml", DEVINFO),
        ])
    }

    /// The error for a one-document tree whose top-level node `A` holds `children`.
    fn error_under_a(children: &str) -> String {
        let text = doc(&node("A", INTERIOR, children));
        compile_all(&[("t.xml", &text)]).unwrap_err().to_string()
    }

    fn error_for_leaf(props: &str) -> String {
        error_under_a(&node("L", props, ""))
    }

    fn at<'s>(schema: &'s Schema, uri: &str) -> &'s TableNode {
        schema
            .nodes
            .iter()
            .find(|n| n.uri == uri)
            .unwrap_or_else(|| panic!("no node {uri}"))
    }

    #[test]
    fn compiles_the_standard_objects() {
        let s = standard().unwrap();
        assert_eq!(s.nodes.len(), 45);
        assert_eq!(s.max_depth, 7);
        let files: Vec<&str> = s.documents.iter().map(|d| d.file.as_str()).collect();
        assert_eq!(
            files,
            ["ddf/DMAcc.xml", "ddf/DevDetail.xml", "ddf/DevInfo.xml"]
        );
        for d in &s.documents {
            assert_eq!((d.ver_dtd.as_str(), d.man.as_str()), ("1.2", "iotadm"));
        }

        let root = &s.nodes[0];
        assert_eq!((root.name.as_str(), root.uri.as_str()), (".", "."));
        assert_eq!(root.props.acl.as_deref(), Some(ROOT_ACL));
        assert_eq!(root.props.access, Access::of(&["Add", "Get"]));

        let dmacc = at(&s, "./DMAcc");
        assert_eq!(dmacc.props.scope, Scope::Permanent);
        assert_eq!(dmacc.props.acl.as_deref(), Some("Exec=*"));
        let account = at(&s, "./DMAcc/<x>");
        assert_eq!(account.props.mime, "urn:oma:mo:oma-dm-dmacc:1.0");
        assert_eq!(account.props.occurrence, Occurrence::OneOrMore);
        assert_eq!(account.props.acl, None);
        assert_eq!(
            at(&s, "./DevInfo").props.mime,
            "urn:oma:mo:oma-dm-devinfo:1.0"
        );
        assert_eq!(at(&s, "./DevInfo").props.acl.as_deref(), Some("Get=*"));
        assert_eq!(
            at(&s, "./DevDetail").props.mime,
            "urn:oma:mo:oma-dm-devdetail:1.0"
        );
        assert_eq!(at(&s, "./DevDetail/LrgObj").props.format, Format::Bool);

        let secret = at(&s, "./DMAcc/<x>/AppAuth/<x>/AAuthSecret");
        assert_eq!(
            secret.props.access,
            Access::of(&["Add", "Delete", "Replace"])
        );
        let data = at(&s, "./DMAcc/<x>/AppAuth/<x>/AAuthData");
        assert_eq!(data.props.format, Format::Bin);
        assert!(!data.props.access.names().any(|c| c == "Get"));
        let port = at(&s, "./DMAcc/<x>/AppAddr/<x>/Port/<x>/PortNbr");
        assert_eq!(port.props.occurrence, Occurrence::One);
        assert_eq!(
            at(&s, "./DMAcc/<x>/AppAddr/<x>/AddrType")
                .props
                .default_value
                .as_deref(),
            Some("URI")
        );
        assert_eq!(
            at(&s, "./DMAcc/<x>/AppID").props.default_value.as_deref(),
            Some("w7")
        );
        for n in s.nodes.iter().filter(|n| n.name.is_empty()) {
            assert_eq!(n.props.scope, Scope::Dynamic, "{}", n.uri);
        }
        for n in s.nodes.iter().filter(|n| n.uri.starts_with("./DMAcc/")) {
            assert_eq!(n.props.scope, Scope::Dynamic, "{}", n.uri);
        }
        for n in s.nodes.iter().filter(|n| n.uri.starts_with("./Dev")) {
            assert_eq!(n.props.scope, Scope::Permanent, "{}", n.uri);
            assert_eq!(n.props.access, Access::of(&["Get"]), "{}", n.uri);
        }
    }

    #[test]
    fn valid_document_gives_the_expected_table() {
        let text = doc(&format!(
            "<Man>Acme</Man><Mod>X1</Mod>{}",
            node(
                "A",
                "<AccessType><Get/><Replace/></AccessType><Description>\n  Top\n  node  </Description>\
                 <DFFormat><node/></DFFormat><Scope><Permanent/></Scope><DFTitle>The A</DFTitle>\
                 <DFType><DDFName>com.acme/1.0/A</DDFName></DFType>",
                &format!(
                    "{}{}",
                    node(
                        "B",
                        "<AccessType><Get/></AccessType><DefaultValue>42</DefaultValue>\
                         <DFFormat><int/></DFFormat><Occurrence><ZeroOrOne/></Occurrence>\
                         <DFType><MIME>text/plain</MIME></DFType><CaseSense><CIS/></CaseSense>",
                        ""
                    ),
                    node(
                        "",
                        "<AccessType><Add/><Delete/><Get/></AccessType><DFFormat><node/></DFFormat>\
                         <Occurrence><ZeroOrN>5</ZeroOrN></Occurrence><Scope><Dynamic/></Scope>\
                         <DFType><DDFName/></DFType>",
                        &node("C", LEAF, "")
                    )
                )
            )
        ));
        let s = compile_all(&[("t.xml", &text)]).unwrap();
        type Links<'a> = (
            &'a str,
            &'a str,
            Option<usize>,
            Option<usize>,
            Option<usize>,
            usize,
        );
        let summary: Vec<Links> = s
            .nodes
            .iter()
            .map(|n| {
                (
                    n.name.as_str(),
                    n.uri.as_str(),
                    n.parent,
                    n.first_child,
                    n.next_sibling,
                    n.subtree_end,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (".", ".", None, Some(1), None, 5),
                ("A", "./A", Some(0), Some(2), None, 5),
                ("B", "./A/B", Some(1), None, Some(3), 3),
                ("", "./A/<x>", Some(1), Some(4), None, 5),
                ("C", "./A/<x>/C", Some(3), None, None, 5),
            ]
        );
        let a = &s.nodes[1].props;
        assert_eq!(a.access, Access::of(&["Get", "Replace"]));
        assert_eq!(a.description, "Top node");
        assert_eq!(a.title, "The A");
        assert_eq!(a.mime, "com.acme/1.0/A");
        assert_eq!(a.scope, Scope::Permanent);
        let b = &s.nodes[2].props;
        assert_eq!(
            (b.format, b.occurrence, b.scope, b.case_sensitive),
            (Format::Int, Occurrence::ZeroOrOne, Scope::Dynamic, false)
        );
        assert_eq!(b.default_value.as_deref(), Some("42"));
        assert_eq!(s.nodes[3].props.occurrence, Occurrence::ZeroOrN(5));
        // Defaults when DFProperties leaves them out: One, Dynamic, CS.
        let c = &s.nodes[4].props;
        assert_eq!(
            (c.occurrence, c.scope, c.case_sensitive),
            (Occurrence::One, Scope::Dynamic, true)
        );
        assert_eq!(
            s.nodes.iter().map(|n| n.document).collect::<Vec<_>>(),
            [None, Some(0), Some(0), Some(0), Some(0)]
        );
        assert_eq!(
            s.documents,
            [TableDocument {
                file: "t.xml".to_owned(),
                root: 1,
                man: "Acme".to_owned(),
                model: "X1".to_owned(),
                ver_dtd: "1.2".to_owned(),
            }]
        );

        let rust = s.to_rust().unwrap();
        assert!(rust.contains("pub const MAX_SCHEMA_DEPTH: usize = 3;\n"));
        assert!(rust.contains("pub const DESCRIPTIONS: bool = true;\n"));
        // Names first, then each node's other strings, each string once.
        assert!(rust.contains(
            "static STRINGS: &str = concat!(\n    \".\", // 0\n    \"A\", // 1\n    \
             \"B\", // 2\n    \"\", // 3\n    \"C\", // 4\n    \"Add=*&Get=*\", // 5\n    \
             \"com.acme/1.0/A\", // 6\n    \"The A\", // 7\n    \"Top node\", // 8\n    \
             \"text/plain\", // 9\n    \"42\", // 10\n);\n"
        ));
        assert!(rust.contains(
            "static STRING_OFFSETS: [u16; 12] = [\n    0, 1, 2, 3, 3, 4, 15, 29, 34, 42, 52, 54,\n];\n"
        ));
        assert!(rust.contains("pub static NODES: [NodeDef; 5] = [\n"));
        assert!(rust.contains(
            "    // 2: ./A/B\n    NodeDef::new(NodeSpec {\n        name: 2,\n        parent: 1,\n        \
             first_child: NO_NODE,\n        subtree_end: 3,\n        \
             format: Format::Int,\n        access: AccessSet::GET,\n        \
             occurrence: Occurrence::ZeroOrOne,\n        scope: Scope::Dynamic,\n        \
             case_sensitive: false,\n        default_value: Some(10),\n        \
             mime: 9,\n        title: 3,\n        description: 3,\n        \
             acl: None,\n        document: 0,\n    }),\n"
        ));
        assert!(rust.contains("occurrence: Occurrence::ZeroOrN(5),\n"));
        assert!(rust.contains(
            "access: AccessSet::ADD\n            .union(AccessSet::DELETE)\n            \
             .union(AccessSet::GET),\n"
        ));
        assert!(rust.contains(
            "    // 0: t.xml\n    DdfDocument {\n        root: 1,\n        man: \"Acme\",\n        \
             model: \"X1\",\n        ver_dtd: \"1.2\",\n    },\n"
        ));
        assert_eq!(
            rust,
            compile_all(&[("t.xml", &text)]).unwrap().to_rust().unwrap()
        );

        // Without titles and descriptions, their strings are gone from the pool.
        let mut bare = s.clone();
        bare.drop_descriptions();
        assert!(bare.nodes.iter().all(|n| n.props.title.is_empty()));
        let rust = bare.to_rust().unwrap();
        assert!(rust.contains("pub const DESCRIPTIONS: bool = false;\n"));
        assert!(!rust.contains("The A") && !rust.contains("Top node"));
        assert!(rust.contains("static STRING_OFFSETS: [u16; 10] = ["));
        assert_eq!(bare.nodes[1].props.mime, "com.acme/1.0/A");
    }

    #[test]
    fn strings_are_emitted_as_valid_literals() {
        let text = doc(&node(
            "A",
            "<AccessType><Get/></AccessType><Description>say \"hi\" \\ ok</Description>\
             <DFFormat><node/></DFFormat><DFType><DDFName/></DFType>",
            "",
        ));
        let rust = compile_all(&[("t.xml", &text)]).unwrap().to_rust().unwrap();
        assert!(rust.contains(r#"    "say \"hi\" \\ ok", // "#));
    }

    #[test]
    fn pools_each_string_once() {
        // Two leaves share a MIME type, a default value and an ACL; one's default value is
        // another's name.
        let leaf = |name: &str, default: &str| {
            node(
                name,
                &LEAF.replace(
                    "<DFFormat>",
                    &format!("<DefaultValue>{default}</DefaultValue><DFFormat>"),
                ),
                "",
            )
            .replace(
                "</DFProperties>",
                "</DFProperties><RTProperties><ACL>Get=*</ACL></RTProperties>",
            )
        };
        let text = doc(&node(
            "A",
            INTERIOR,
            &format!("{}{}", leaf("L1", "L2"), leaf("L2", "L2")),
        ));
        let rust = compile_all(&[("t.xml", &text)]).unwrap().to_rust().unwrap();
        for s in ["\"L2\"", "\"text/plain\"", "\"Get=*\""] {
            assert_eq!(rust.matches(&format!("    {s}, // ")).count(), 1, "{s}");
        }
        // ".", "A", "L1", "L2", "", "Add=*&Get=*", "text/plain", "Get=*"
        assert!(rust.contains("static STRING_OFFSETS: [u16; 9] = [\n"));
        assert_eq!(rust.matches("default_value: Some(3),\n").count(), 2);
        assert_eq!(rust.matches("acl: Some(7),\n").count(), 2);
    }

    #[test]
    fn sizes_string_offsets_to_the_pool() {
        let long = "d".repeat(40_000);
        let leaves = |first: &str, second: &str| {
            let with = |d: &str| {
                LEAF.replace(
                    "<DFFormat>",
                    &format!("<Description>{d}</Description><DFFormat>"),
                )
            };
            format!(
                "{}{}",
                node("L1", &with(first), ""),
                node("L2", &with(second), "")
            )
        };
        // 80,000 bytes of descriptions need 32-bit offsets...
        let text = doc(&node(
            "A",
            INTERIOR,
            &leaves(&long, &long.replace('d', "e")),
        ));
        let s = compile_all(&[("t.xml", &text)]).unwrap();
        assert!(s
            .to_rust()
            .unwrap()
            .contains("static STRING_OFFSETS: [u32; "));
        // ...unless they are left out, or are the same string.
        let mut bare = s.clone();
        bare.drop_descriptions();
        assert!(bare
            .to_rust()
            .unwrap()
            .contains("static STRING_OFFSETS: [u16; "));
        let text = doc(&node("A", INTERIOR, &leaves(&long, &long)));
        let s = compile_all(&[("t.xml", &text)]).unwrap();
        assert!(s
            .to_rust()
            .unwrap()
            .contains("static STRING_OFFSETS: [u16; "));
    }

    #[test]
    fn limits_the_number_of_strings() {
        let leaves: String = (0..3).map(|i| node(&format!("L{i}"), LEAF, "")).collect();
        let s = compile_all(&[("t.xml", &doc(&node("A", INTERIOR, &leaves)))]).unwrap();
        // ".", "A", "L0", "L1", "L2", "", "Add=*&Get=*", "text/plain"
        assert!(s.to_rust_with(8).is_ok());
        assert_eq!(
            s.to_rust_with(7).unwrap_err(),
            "the node table holds 8 distinct strings, more than the 7 its string ids can \
             number; build with IOTADM_DDF_DESCRIPTIONS=0 to leave titles and descriptions out"
        );
    }

    #[test]
    fn paths_attach_across_documents_in_any_order() {
        // The vendor document comes first but attaches under nodes of the later ones,
        // one of them below a placeholder.
        let vendor = format!(
            "<MgmtTree><VerDTD>1.2</VerDTD>{}{}</MgmtTree>",
            node("Acme", INTERIOR, &node("Color", LEAF, "")).replacen(
                "<NodeName>Acme</NodeName>",
                "<NodeName>Acme</NodeName><Path>./DevInfo/Ext</Path>",
                1
            ),
            node("Flag", LEAF, "").replacen(
                "<NodeName>Flag</NodeName>",
                "<NodeName>Flag</NodeName><Path>DMAcc/&lt;x&gt;/Ext/</Path>",
                1
            ),
        );
        let s = compile_all(&[
            ("ddf/Acme.xml", &vendor),
            ("ddf/DMAcc.xml", DMACC),
            ("ddf/DevDetail.xml", DEVDETAIL),
            ("ddf/DevInfo.xml", DEVINFO),
        ])
        .unwrap();
        assert_eq!(s.nodes.len(), 48);
        assert_eq!(at(&s, "./DevInfo/Ext/Acme/Color").document, Some(0));
        assert_eq!(at(&s, "./DMAcc/<x>/Ext/Flag").document, Some(0));
        assert_eq!(at(&s, "./DevInfo/Ext").document, Some(3));
        // Preorder keeps each subtree contiguous even when it came from two documents.
        let ext = s
            .nodes
            .iter()
            .position(|n| n.uri == "./DevInfo/Ext")
            .unwrap();
        assert_eq!(s.nodes[ext].subtree_end, ext + 3);
        assert_eq!(s.documents[0].root, ext + 1);
    }

    #[test]
    fn reports_file_node_and_line() {
        // Give AAuthType, and only it, a format DM does not have.
        let mut lines: Vec<String> = DMACC.lines().map(str::to_owned).collect();
        let name_line = lines
            .iter()
            .position(|l| l.contains("<NodeName>AAuthType</NodeName>"))
            .unwrap();
        let format_line = name_line
            + lines[name_line..]
                .iter()
                .position(|l| l.contains("<DFFormat><chr/></DFFormat>"))
                .unwrap();
        lines[format_line] = lines[format_line].replace("<chr/>", "<string/>");
        let broken = lines.join("\n");
        let err = compile_all(&[("ddf/DMAcc.xml", &broken)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "ddf/DMAcc.xml: node ./DMAcc/<x>/AppAuth/<x>/AAuthType: unknown DFFormat \
                 \"string\" (line {})",
                format_line + 1
            )
        );
        assert_eq!(err.file, "ddf/DMAcc.xml");
        assert_eq!(
            err.node.as_deref(),
            Some("./DMAcc/<x>/AppAuth/<x>/AAuthType")
        );
        assert_eq!(err.line, u32::try_from(format_line + 1).ok());
    }

    #[test]
    fn refuses_bad_formats() {
        assert_eq!(
            error_for_leaf("<AccessType/><DFType><MIME>text/plain</MIME></DFType>"),
            "t.xml: node ./A/L: missing <DFFormat> in <DFProperties> (line 1)"
        );
        assert_eq!(
            error_for_leaf("<AccessType/><DFFormat/><DFType><MIME>text/plain</MIME></DFType>"),
            "t.xml: node ./A/L: empty <DFFormat> (line 1)"
        );
        assert_eq!(
            error_for_leaf(
                "<AccessType/><DFFormat><chr/><int/></DFFormat><DFType><MIME>a/b</MIME></DFType>"
            ),
            "t.xml: node ./A/L: <DFFormat> holds more than one element (line 1)"
        );
        assert_eq!(
            error_for_leaf(
                "<AccessType/><DFFormat><Chr/></DFFormat><DFType><MIME>a/b</MIME></DFType>"
            ),
            "t.xml: node ./A/L: unknown DFFormat \"Chr\" (line 1)"
        );
    }

    #[test]
    fn refuses_leaves_with_children_and_interior_nodes_with_values() {
        assert_eq!(
            error_under_a(&node("L", LEAF, &node("M", LEAF, ""))),
            "t.xml: node ./A/L: a leaf (DFFormat chr) cannot have child nodes (line 1)"
        );
        assert_eq!(
            error_under_a(&node(
                "I",
                &INTERIOR.replace("<DFFormat>", "<DefaultValue>x</DefaultValue><DFFormat>"),
                ""
            )),
            "t.xml: node ./A/I: an interior node cannot have a <DefaultValue> (line 1)"
        );
        assert_eq!(
            error_under_a(&node("I", INTERIOR, "").replace("</Node>", "<Value>x</Value></Node>")),
            "t.xml: node ./A/I: an interior node cannot have a <Value> (line 1)"
        );
        assert_eq!(
            error_for_leaf(&LEAF.replace(
                "<DFFormat>",
                "<DefaultValue>a</DefaultValue><DefaultValue>b</DefaultValue><DFFormat>"
            )),
            "t.xml: node ./A/L: more than one <DefaultValue> (line 1)"
        );
        assert_eq!(
            error_under_a(
                &node(
                    "L",
                    &LEAF.replace("<DFFormat>", "<DefaultValue>a</DefaultValue><DFFormat>"),
                    ""
                )
                .replace("</Node>", "<Value>b</Value></Node>")
            ),
            "t.xml: node ./A/L: <Value> \"b\" disagrees with <DefaultValue> \"a\" (line 1)"
        );
    }

    #[test]
    fn refuses_bad_names() {
        assert_eq!(
            error_under_a(&node("a/b", LEAF, "")),
            "t.xml: node ./A/a/b: NodeName \"a/b\" contains '/', which cannot appear in a URI \
             segment (line 1)"
        );
        assert_eq!(
            error_under_a(&node("a?b", LEAF, "")),
            "t.xml: node ./A/a?b: NodeName \"a?b\" contains '?', which cannot appear in a URI \
             segment (line 1)"
        );
        assert_eq!(
            error_under_a(&node("..", LEAF, "")),
            "t.xml: node ./A/..: \"..\" cannot be a node name (line 1)"
        );
        assert_eq!(
            error_under_a(&node("*", PLACEHOLDER, "")),
            "t.xml: node ./A/*: NodeName \"*\" is not a placeholder: leave <NodeName/> empty for \
             a node named at run time (line 1)"
        );
        assert_eq!(
            error_under_a(&node("&lt;x&gt;", PLACEHOLDER, "")),
            "t.xml: node ./A/<x>: NodeName \"<x>\" is not a placeholder: leave <NodeName/> empty \
             for a node named at run time (line 1)"
        );
        assert_eq!(
            error_under_a("<Node><DFProperties/></Node>"),
            "t.xml: node ./A: a child <Node> has no <NodeName> (line 1)"
        );
        // Whitespace around a name is layout, not part of it; an all-blank name is empty.
        let text = doc(&node(
            "A",
            INTERIOR,
            &node("\n   ", PLACEHOLDER, &node(" B ", LEAF, "")),
        ));
        let s = compile_all(&[("t.xml", &text)]).unwrap();
        assert_eq!(s.nodes[3].uri, "./A/<x>/B");
    }

    #[test]
    fn refuses_duplicate_siblings_and_second_placeholders() {
        let text = format!(
            "<MgmtTree><VerDTD>1.2</VerDTD>\n{}\n</MgmtTree>",
            node(
                "A",
                INTERIOR,
                &format!("\n{}\n{}", node("B", LEAF, ""), node("B", LEAF, ""))
            )
        );
        assert_eq!(
            compile_all(&[("t.xml", &text)]).unwrap_err().to_string(),
            "t.xml: node ./A/B: duplicate sibling name \"B\" (the first is at line 3) (line 4)"
        );
        assert_eq!(
            error_under_a(&format!(
                "{}{}",
                node("", PLACEHOLDER, ""),
                node("", PLACEHOLDER, "")
            )),
            "t.xml: node ./A/<x>: a second unnamed placeholder under ./A (a parent has at most \
             one; the first is at line 1) (line 1)"
        );
        // Names differing only in case clash when either side matches case-insensitively.
        let cis = LEAF.replace("</DFType>", "</DFType><CaseSense><CIS/></CaseSense>");
        assert_eq!(
            error_under_a(&format!(
                "{}{}",
                node("Name", LEAF, ""),
                node("NAME", &cis, "")
            )),
            "t.xml: node ./A/NAME: duplicate sibling name \"Name\" (the first is at line 1) \
             (line 1)"
        );
        let text = doc(&node(
            "A",
            INTERIOR,
            &format!("{}{}", node("Name", LEAF, ""), node("NAME", LEAF, "")),
        ));
        assert!(compile_all(&[("t.xml", &text)]).is_ok());
    }

    #[test]
    fn refuses_bad_occurrences() {
        let occ = |o: &str| {
            LEAF.replace(
                "</DFFormat>",
                &format!("</DFFormat><Occurrence>{o}</Occurrence>"),
            )
        };
        assert_eq!(
            error_for_leaf(&occ("<Many/>")),
            "t.xml: node ./A/L: unknown Occurrence \"Many\" (line 1)"
        );
        assert_eq!(
            error_for_leaf(&occ("")),
            "t.xml: node ./A/L: empty <Occurrence> (line 1)"
        );
        assert_eq!(
            error_under_a(&node(
                "",
                &PLACEHOLDER.replace("<ZeroOrMore/>", "<ZeroOrN/>"),
                ""
            )),
            "t.xml: node ./A/<x>: Occurrence ZeroOrN needs a count from 1 to 65535, not \"\" \
             (line 1)"
        );
        assert_eq!(
            error_under_a(&node(
                "",
                &PLACEHOLDER.replace("<ZeroOrMore/>", "<OneOrN>0</OneOrN>"),
                ""
            )),
            "t.xml: node ./A/<x>: Occurrence OneOrN needs a count from 1 to 65535, not \"0\" \
             (line 1)"
        );
        assert_eq!(
            error_under_a(&node(
                "",
                &PLACEHOLDER.replace("<ZeroOrMore/>", "<OneOrN>70000</OneOrN>"),
                ""
            )),
            "t.xml: node ./A/<x>: Occurrence OneOrN needs a count from 1 to 65535, not \"70000\" \
             (line 1)"
        );
        assert_eq!(
            error_for_leaf(&occ("<One>2</One>")),
            "t.xml: node ./A/L: Occurrence One takes no count (line 1)"
        );
        assert_eq!(
            error_for_leaf(&occ("<OneOrMore/>")),
            "t.xml: node ./A/L: Occurrence OneOrMore needs an unnamed placeholder: a named node \
             exists at most once (line 1)"
        );
        assert_eq!(
            error_for_leaf(&occ("<ZeroOrN>3</ZeroOrN>")),
            "t.xml: node ./A/L: Occurrence ZeroOrN needs an unnamed placeholder: a named node \
             exists at most once (line 1)"
        );
        assert_eq!(
            error_for_leaf(&occ("<One/><ZeroOrOne/>")),
            "t.xml: node ./A/L: <Occurrence> holds more than one element (line 1)"
        );
    }

    #[test]
    fn placeholders_must_be_dynamic() {
        assert_eq!(
            error_under_a(&node(
                "",
                &PLACEHOLDER.replace("<Dynamic/>", "<Permanent/>"),
                ""
            )),
            "t.xml: node ./A/<x>: an unnamed placeholder must have Scope Dynamic, not Permanent \
             (line 1)"
        );
        // Scope defaults to Dynamic, so a placeholder may leave it out.
        let text = doc(&node(
            "A",
            INTERIOR,
            &node(
                "",
                &PLACEHOLDER.replace("<Scope><Dynamic/></Scope>", ""),
                "",
            ),
        ));
        assert!(compile_all(&[("t.xml", &text)]).is_ok());
        assert_eq!(
            error_for_leaf(&LEAF.replace("<DFType>", "<Scope><Always/></Scope><DFType>")),
            "t.xml: node ./A/L: unknown Scope \"Always\" (line 1)"
        );
    }

    #[test]
    fn refuses_bad_access_types() {
        assert_eq!(
            error_for_leaf(&LEAF.replace("<Get/>", "<Get/><Read/>")),
            "t.xml: node ./A/L: unknown AccessType element <Read> (line 1)"
        );
        assert_eq!(
            error_for_leaf(&LEAF.replace("<Get/>", "<Get/><Get/>")),
            "t.xml: node ./A/L: AccessType lists Get twice (line 1)"
        );
        assert_eq!(
            error_for_leaf(&LEAF.replace("<Get/>", "Get")),
            "t.xml: node ./A/L: unexpected text \"Get\" in <AccessType> (line 1)"
        );
        assert_eq!(
            error_for_leaf(&LEAF.replace("<AccessType><Get/></AccessType>", "")),
            "t.xml: node ./A/L: missing <AccessType> in <DFProperties> (line 1)"
        );
        // An empty AccessType is allowed: no command may target the node.
        let text = doc(&node(
            "A",
            INTERIOR,
            &node("L", &LEAF.replace("<Get/>", ""), ""),
        ));
        let s = compile_all(&[("t.xml", &text)]).unwrap();
        assert_eq!(s.nodes[2].props.access, Access(0));
        assert!(s.to_rust().unwrap().contains("access: AccessSet::NONE,"));
    }

    #[test]
    fn refuses_trees_too_deep_and_names_too_long() {
        // MAX_DEPTH nested nodes are fine, one more is not.
        let chain = |n: usize| {
            (0..n).rev().fold(String::new(), |inner, i| {
                node(&format!("N{i}"), INTERIOR, &inner)
            })
        };
        assert!(compile_all(&[("t.xml", &doc(&chain(MAX_DEPTH)))]).is_ok());
        let err = compile_all(&[("t.xml", &doc(&chain(MAX_DEPTH + 1)))]).unwrap_err();
        assert!(err
            .node
            .as_deref()
            .unwrap()
            .ends_with(&format!("/N{MAX_DEPTH}")));
        assert_eq!(
            err.message,
            format!(
                "the node is {} segments deep (at most {MAX_DEPTH})",
                MAX_DEPTH + 1
            )
        );
        // A Path counts towards the depth too.
        let deep = chain(MAX_DEPTH).replacen(
            "<NodeName>N0</NodeName>",
            "<NodeName>N0</NodeName><Path>./DevInfo</Path>",
            1,
        );
        let err = compile_all(&[("a.xml", DEVINFO), ("t.xml", &doc(&deep))]).unwrap_err();
        assert_eq!(err.file, "t.xml");
        assert!(err
            .message
            .starts_with(&format!("the node is {} segments deep", MAX_DEPTH + 1)));

        let long = "n".repeat(MAX_SEGMENT_LEN);
        assert!(
            compile_all(&[("t.xml", &doc(&node("A", INTERIOR, &node(&long, LEAF, ""))))]).is_ok()
        );
        let longer = "n".repeat(MAX_SEGMENT_LEN + 1);
        assert_eq!(
            error_under_a(&node(&longer, LEAF, "")),
            format!(
                "t.xml: node ./A/{longer}: the name is {} bytes long (at most {MAX_SEGMENT_LEN}) \
                 (line 1)",
                MAX_SEGMENT_LEN + 1
            )
        );
    }

    #[test]
    fn refuses_two_documents_describing_one_node() {
        let again = doc(&node("Man", LEAF, "").replacen(
            "<NodeName>Man</NodeName>",
            "<NodeName>Man</NodeName><Path>./DevInfo</Path>",
            1,
        ));
        let line = DEVINFO
            .lines()
            .position(|l| l.contains("<NodeName>Man</NodeName>"))
            .unwrap();
        // The <Node> element starts one line above its NodeName.
        assert_eq!(
            compile_all(&[("ddf/DevInfo.xml", DEVINFO), ("vendor.xml", &again)])
                .unwrap_err()
                .to_string(),
            format!("vendor.xml: node ./DevInfo/Man: already described by ddf/DevInfo.xml:{line} (line 1)")
        );
        assert_eq!(
            compile_all(&[("a.xml", DEVINFO), ("b.xml", DEVINFO)])
                .unwrap_err()
                .to_string(),
            "b.xml: node ./DevInfo: already described by a.xml:13 (line 13)"
        );
    }

    #[test]
    fn refuses_paths_to_nothing() {
        let under = |path: &str| {
            doc(&node("X", LEAF, "").replacen(
                "<NodeName>X</NodeName>",
                &format!("<NodeName>X</NodeName><Path>{path}</Path>"),
                1,
            ))
        };
        assert_eq!(
            compile_all(&[("a.xml", DEVINFO), ("t.xml", &under("./Vendor/MSFT/"))])
                .unwrap_err()
                .to_string(),
            "t.xml: node ./Vendor/MSFT/X: Path ./Vendor/MSFT: no DDF describes ./Vendor (line 1)"
        );
        assert_eq!(
            compile_all(&[("a.xml", DEVINFO), ("t.xml", &under("./DevInfo/&lt;x&gt;"))])
                .unwrap_err()
                .to_string(),
            "t.xml: node ./DevInfo/<x>/X: Path ./DevInfo/<x>: no DDF describes ./DevInfo/<x> \
             (line 1)"
        );
        assert_eq!(
            compile_all(&[("a.xml", DEVINFO), ("t.xml", &under("./DevInfo/DevId"))])
                .unwrap_err()
                .to_string(),
            "t.xml: node ./DevInfo/DevId/X: Path ./DevInfo/DevId names a leaf (line 1)"
        );
        assert_eq!(
            compile_all(&[("t.xml", &under("./A//B"))])
                .unwrap_err()
                .to_string(),
            "t.xml: bad Path: \"./A//B\" has an empty segment (line 1)"
        );
        assert_eq!(
            compile_all(&[("t.xml", &under("./A/../B"))])
                .unwrap_err()
                .to_string(),
            "t.xml: bad Path: \"./A/../B\": \"..\" cannot be a node name (line 1)"
        );
        assert_eq!(
            error_under_a(&node("B", LEAF, "").replacen(
                "<NodeName>B</NodeName>",
                "<NodeName>B</NodeName><Path>./A</Path>",
                1
            )),
            "t.xml: node ./A/B: <Path> is only allowed on top-level nodes (line 1)"
        );
    }

    #[test]
    fn refuses_bad_acls() {
        let with_acl = |acl: &str| {
            error_under_a(&node("L", LEAF, "").replacen(
                "<DFProperties>",
                &format!("<RTProperties><ACL>{acl}</ACL></RTProperties><DFProperties>"),
                1,
            ))
        };
        assert_eq!(
            with_acl("Get=*+srv1"),
            "t.xml: node ./A/L: bad ACL: Get mixes * with server identifiers (line 1)"
        );
        assert_eq!(
            with_acl("Copy=*"),
            "t.xml: node ./A/L: bad ACL: unknown command \"Copy\" (expected one of Add, Delete, \
             Exec, Get, Replace) (line 1)"
        );
        assert_eq!(
            with_acl("Get"),
            "t.xml: node ./A/L: bad ACL: entry \"Get\" has no '=' (line 1)"
        );
        assert_eq!(
            with_acl("Get=a b"),
            "t.xml: node ./A/L: bad ACL: server identifier \"a b\" contains ' ' (line 1)"
        );
        assert_eq!(
            with_acl("Get=srv1&amp;Get=srv2"),
            "t.xml: node ./A/L: bad ACL: Get appears twice (line 1)"
        );
        assert_eq!(
            with_acl("Get=srv1+"),
            "t.xml: node ./A/L: bad ACL: Get has an empty server identifier (line 1)"
        );
        let text = doc(&node("A", INTERIOR, "").replacen(
            "<DFProperties>",
            "<RTProperties><ACL>Add=srv1&amp;Replace=srv1+srv2&amp;Get=*</ACL></RTProperties>\
             <DFProperties>",
            1,
        ));
        let s = compile_all(&[("t.xml", &text)]).unwrap();
        assert_eq!(
            s.nodes[1].props.acl.as_deref(),
            Some("Add=srv1&Replace=srv1+srv2&Get=*")
        );
        // An empty ACL means "inherit".
        let text = doc(&node("A", INTERIOR, "").replacen(
            "<DFProperties>",
            "<RTProperties><ACL/></RTProperties><DFProperties>",
            1,
        ));
        assert_eq!(
            compile_all(&[("t.xml", &text)]).unwrap().nodes[1].props.acl,
            None
        );
    }

    #[test]
    fn checks_runtime_properties_against_the_description() {
        let rt = |inner: &str| {
            error_under_a(&node("L", LEAF, "").replacen(
                "<DFProperties>",
                &format!("<RTProperties>{inner}</RTProperties><DFProperties>"),
                1,
            ))
        };
        assert_eq!(
            rt("<Format><int/></Format>"),
            "t.xml: node ./A/L: RTProperties Format int disagrees with DFFormat chr (line 1)"
        );
        assert_eq!(
            rt("<Name>M</Name>"),
            "t.xml: node ./A/L: RTProperties Name \"M\" disagrees with NodeName (line 1)"
        );
        assert_eq!(
            rt("<Type><MIME>text/xml</MIME></Type>"),
            "t.xml: node ./A/L: RTProperties Type \"text/xml\" disagrees with DFType \
             \"text/plain\" (line 1)"
        );
        assert_eq!(
            rt("<Title>Hello</Title>"),
            "t.xml: node ./A/L: a default Title is not supported: the device maintains it \
             (leave <Title/> empty) (line 1)"
        );
        assert_eq!(
            rt("<ACL>Get=*</ACL><ACL>Get=*</ACL>"),
            "t.xml: node ./A/L: more than one <ACL> (line 1)"
        );
        assert_eq!(
            rt("<Owner/>"),
            "t.xml: node ./A/L: unknown element <Owner> in <RTProperties> (line 1)"
        );
        let text = doc(&node("A", INTERIOR, "").replacen(
            "<DFProperties>",
            "<RTProperties><Size/></RTProperties><DFProperties>",
            1,
        ));
        assert_eq!(
            compile_all(&[("t.xml", &text)]).unwrap_err().to_string(),
            "t.xml: node ./A: an interior node has no Size property (line 1)"
        );
        // Declaring support, with values that agree, is fine.
        let text = doc(&node("A", INTERIOR, &node("L", LEAF, "").replacen(
            "<DFProperties>",
            "<RTProperties><ACL>Get=*</ACL><Format><chr/></Format><Name>L</Name><Size/><Title/>\
             <TStamp/><Type><MIME>text/plain</MIME></Type><VerNo/></RTProperties><DFProperties>",
            1,
        )));
        assert_eq!(
            compile_all(&[("t.xml", &text)]).unwrap().nodes[2]
                .props
                .acl
                .as_deref(),
            Some("Get=*")
        );
    }

    #[test]
    fn checks_types_and_default_values() {
        assert_eq!(
            error_for_leaf(&LEAF.replace("<MIME>text/plain</MIME>", "<MIME/>")),
            "t.xml: node ./A/L: a leaf needs a MIME type in <DFType>, e.g. <MIME>text/plain</MIME> \
             (line 1)"
        );
        assert_eq!(
            error_for_leaf(&LEAF.replace("text/plain", "plain")),
            "t.xml: node ./A/L: \"plain\" is not a MIME type (type/subtype) (line 1)"
        );
        assert_eq!(
            error_for_leaf(&LEAF.replace("<MIME>text/plain</MIME>", "<DDFName/>")),
            "t.xml: node ./A/L: a leaf is typed by <MIME> in <DFType>, not <DDFName> (line 1)"
        );
        assert_eq!(
            error_under_a(&node(
                "I",
                &INTERIOR.replace("<DDFName/>", "<MIME>a/b</MIME>"),
                ""
            )),
            "t.xml: node ./A/I: an interior node is typed by <DDFName> in <DFType>, not <MIME> \
             (line 1)"
        );
        assert_eq!(
            error_for_leaf(&LEAF.replace("<DFType><MIME>text/plain</MIME></DFType>", "")),
            "t.xml: node ./A/L: missing <DFType> in <DFProperties> (line 1)"
        );
        let with_default = |format: &str, value: &str| {
            error_for_leaf(&LEAF.replace("<chr/>", format).replace(
                "<DFFormat>",
                &format!("<DefaultValue>{value}</DefaultValue><DFFormat>"),
            ))
        };
        assert_eq!(
            with_default("<bool/>", "yes"),
            "t.xml: node ./A/L: default value \"yes\" is not a valid bool value (line 1)"
        );
        assert_eq!(
            with_default("<int/>", "1.5"),
            "t.xml: node ./A/L: default value \"1.5\" is not a valid int value (line 1)"
        );
        assert_eq!(
            with_default("<int/>", "2147483648"),
            "t.xml: node ./A/L: default value \"2147483648\" is not a valid int value (line 1)"
        );
        assert_eq!(
            with_default("<float/>", "inf"),
            "t.xml: node ./A/L: default value \"inf\" is not a valid float value (line 1)"
        );
        assert_eq!(
            with_default("<b64/>", "abc"),
            "t.xml: node ./A/L: default value \"abc\" is not a valid b64 value (line 1)"
        );
        assert_eq!(
            with_default("<null/>", "x"),
            "t.xml: node ./A/L: default value \"x\" is not a valid null value (line 1)"
        );
        for (format, value) in [
            ("<bool/>", "false"),
            ("<int/>", "-7"),
            ("<float/>", "1.5e3"),
            ("<b64/>", "aGk="),
            ("<chr/>", ""),
        ] {
            let text = doc(&node(
                "A",
                INTERIOR,
                &node(
                    "L",
                    &LEAF.replace("<chr/>", format).replace(
                        "<DFFormat>",
                        &format!("<DefaultValue>{value}</DefaultValue><DFFormat>"),
                    ),
                    "",
                ),
            ));
            let s = compile_all(&[("t.xml", &text)]).unwrap();
            assert_eq!(s.nodes[2].props.default_value.as_deref(), Some(value));
        }
    }

    #[test]
    fn refuses_bad_documents() {
        let one = |text: &str| compile_all(&[("t.xml", text)]).unwrap_err().to_string();
        assert!(one("<MgmtTree><VerDTD>1.2</VerDTD>").starts_with("t.xml: not well-formed XML: "));
        assert_eq!(
            one("<SyncML/>"),
            "t.xml: the root element is <SyncML>, expected <MgmtTree> (line 1)"
        );
        assert_eq!(
            one(&doc(&node("A", INTERIOR, "")).replace("<VerDTD>1.2</VerDTD>", "")),
            "t.xml: missing <VerDTD> (line 1)"
        );
        assert_eq!(
            one(&doc(&node("A", INTERIOR, "")).replace("1.2", "1.1")),
            "t.xml: unsupported VerDTD \"1.1\" (expected 1.2) (line 1)"
        );
        assert_eq!(one(&doc("")), "t.xml: no <Node> in <MgmtTree> (line 1)");
        assert_eq!(
            one(&doc("<Vendor/>")),
            "t.xml: unknown element <Vendor> in <MgmtTree> (line 1)"
        );
        assert_eq!(
            error_for_leaf(&LEAF.replace("<DFFormat>", "<Ocurrence><One/></Ocurrence><DFFormat>")),
            "t.xml: node ./A/L: unknown element <Ocurrence> in <DFProperties> (line 1)"
        );
        assert_eq!(
            error_under_a(&node("L", LEAF, "").replace("</Node>", "<Child/></Node>")),
            "t.xml: node ./A/L: unknown element <Child> in <Node> (line 1)"
        );
        assert_eq!(
            error_under_a(
                &node("L", LEAF, "").replace("</DFProperties>", "</DFProperties><DFProperties/>")
            ),
            "t.xml: node ./A/L: more than one <DFProperties> (line 1)"
        );
        assert_eq!(
            error_under_a(&node("L", LEAF, "").replace("<NodeName>", "stray<NodeName>")),
            "t.xml: node ./A/L: unexpected text \"stray\" in <Node> (line 1)"
        );
        assert_eq!(
            error_under_a(&node("L", LEAF, "").replace("<DFProperties>", "<DFProperties>stray")),
            "t.xml: node ./A/L: unexpected text \"stray\" in <DFProperties> (line 1)"
        );
    }

    #[test]
    fn reads_real_world_layout() {
        // A DOCTYPE, comments, the DDF namespace and another vendor's extension elements.
        let text = "<?xml version=\"1.0\"?>\n\
            <!DOCTYPE MgmtTree PUBLIC \"-//OMA//DTD-DM-DDF 1.2//EN\" \"DM_DDF-V1_2.dtd\" \
            [<?oma-dm-ddf-ver supported-versions=\"1.2\"?>]>\n\
            <MgmtTree xmlns=\"syncml:dmddf1.2\" xmlns:V=\"urn:example:vendor\">\n\
              <!-- a comment -->\n  <VerDTD>1.2</VerDTD>\n\
              <Node><NodeName>A</NodeName><DFProperties><AccessType><Get/></AccessType>\
              <DFFormat><node/></DFFormat><DFType><DDFName/></DFType><V:Hint>x</V:Hint>\
              </DFProperties><V:Extra/></Node>\n\
            </MgmtTree>\n";
        let s = compile_all(&[("t.xml", text)]).unwrap();
        assert_eq!(s.nodes[1].uri, "./A");
        assert_eq!(s.nodes[1].props.title, "");
    }

    #[test]
    fn limits_the_table_size() {
        let leaves: String = (0..4).map(|i| node(&format!("L{i}"), LEAF, "")).collect();
        let text = doc(&node("A", INTERIOR, &leaves));
        let mut c = Compiler::new();
        c.max_nodes = 6;
        c.add_document("t.xml", &text).unwrap();
        assert_eq!(c.finish().unwrap().nodes.len(), 6);
        let mut c = Compiler::new();
        c.max_nodes = 5;
        c.add_document("t.xml", &text).unwrap();
        assert_eq!(
            c.finish().unwrap_err().to_string(),
            "t.xml: node ./A/L3: too many nodes (at most 5 with the root) (line 1)"
        );

        let mut c = Compiler::new();
        for i in 0..MAX_DOCUMENTS {
            c.add_document(
                &format!("{i}.xml"),
                &doc(&node(&format!("N{i}"), INTERIOR, "")),
            )
            .unwrap();
        }
        assert_eq!(
            c.add_document("last.xml", &doc(&node("Z", INTERIOR, "")))
                .unwrap_err()
                .to_string(),
            format!("last.xml: too many DDF documents (at most {MAX_DOCUMENTS})")
        );
        assert_eq!(c.finish().unwrap().documents.len(), MAX_DOCUMENTS);
    }

    #[test]
    fn checks_against_an_existing_tree() {
        let existing = || {
            vec![Declared {
                name: "DevInfo".to_owned(),
                interior: true,
                case_sensitive: true,
                children: vec![
                    Declared {
                        name: "Man".to_owned(),
                        interior: false,
                        case_sensitive: true,
                        children: Vec::new(),
                    },
                    Declared {
                        name: "Ext".to_owned(),
                        interior: true,
                        case_sensitive: true,
                        children: Vec::new(),
                    },
                ],
            }]
        };
        let at_path = |path: &str, name: &str| {
            doc(&node(name, LEAF, "").replacen(
                &format!("<NodeName>{name}</NodeName>"),
                &format!("<NodeName>{name}</NodeName><Path>{path}</Path>"),
                1,
            ))
        };
        let mut c = Compiler::with_existing(existing());
        c.add_document("v.xml", &at_path("./DevInfo/Ext", "Color"))
            .unwrap();
        let s = c.finish().unwrap();
        assert_eq!(at(&s, "./DevInfo/Ext/Color").document, Some(0));
        assert_eq!(at(&s, "./DevInfo/Man").document, None);

        // A Path may spell a CIS node in another case, and only a CIS node.
        let mut tree = existing();
        tree[0].case_sensitive = false;
        let mut c = Compiler::with_existing(tree);
        c.add_document("v.xml", &at_path("./devinfo/Ext", "Color"))
            .unwrap();
        assert_eq!(c.finish().unwrap().nodes.len(), 5);
        let mut c = Compiler::with_existing(existing());
        c.add_document("v.xml", &at_path("./devinfo/Ext", "Color"))
            .unwrap();
        assert_eq!(
            c.finish().unwrap_err().message,
            "Path ./devinfo/Ext: no DDF describes ./devinfo"
        );

        let mut c = Compiler::with_existing(existing());
        c.add_document("v.xml", &at_path("./DevInfo", "Man"))
            .unwrap();
        assert_eq!(
            c.finish().unwrap_err().to_string(),
            "v.xml: node ./DevInfo/Man: already described by the compiled-in tree (line 1)"
        );
        let mut c = Compiler::with_existing(existing());
        c.add_document("v.xml", &at_path("./DevInfo/Man", "X"))
            .unwrap();
        assert_eq!(
            c.finish().unwrap_err().to_string(),
            "v.xml: node ./DevInfo/Man/X: Path ./DevInfo/Man names a leaf (line 1)"
        );
    }
}

//! Tree exchange (TND §9, IOTA-DM SEC-3: the server learns the tree): walking a subtree
//! for `?list=Struct` and `?list=StructData`, serving the DDF of a subtree from the static
//! table (`?list=DDF`), and the window and walk that [`tnds`](super::tnds) (feature `tnds`)
//! writes TNDS with.
//!
//! `Struct` and `StructData` are OMA DM 1.2's own tree exchange (OMA-TS-DM_TND 1.2), which
//! every client answers; TNDS is a specification of its own (OMA-TS-DM_TNDS 1.2) that the DM
//! 1.2 enabler makes optional for clients, so only TNDS is left out with its feature. A
//! `?list=` the client does not serve is answered 406 (the TND's tree exchange: "Optional
//! feature not supported").
//!
//! Serialisations are written into a window of the caller's buffer: `offset` skips bytes
//! already sent, so a large document goes out in chunks without ever being held whole.

use core::fmt::{self, Write};

use embedded_storage::nor_flash::NorFlash;
use heapless::{String, Vec};

use super::{NodeHandle, NumBuf, Principal, Read, Tree};
use crate::codes::StatusCode;
use crate::limits::TREE_DEPTH;
use crate::schema::{AccessSet, Format, NodeId, Occurrence, Schema, ROOT};
use crate::tree::handler::Handlers;
use crate::tree::uri::{List, Query};

/// The MIME type of TNDS in XML; known without the feature `tnds` too, to refuse it.
pub const TNDS_XML: &str = "application/vnd.syncml.dmtnds+xml";
/// The MIME type of TNDS in WBXML (a nested WBXML document).
pub const TNDS_WBXML: &str = "application/vnd.syncml.dmtnds+wbxml";
/// The MIME type of a DDF document in XML.
pub const DDF_XML: &str = "application/vnd.syncml.dmddf+xml";

/// Copies the window `[offset, offset + out.len())` of a text written through it, and
/// counts the whole length.
struct Window<'o> {
    out: &'o mut [u8],
    offset: usize,
    pos: usize,
    written: usize,
}

impl Write for Window<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        let start = self.pos;
        self.pos += bytes.len();
        if self.pos <= self.offset || self.written >= self.out.len() {
            return Ok(());
        }
        let skip = self.offset.saturating_sub(start);
        let from = bytes.get(skip..).unwrap_or(&[]);
        let room = self.out.len() - self.written;
        let take = from.len().min(room);
        if let (Some(dst), Some(src)) = (
            self.out.get_mut(self.written..self.written + take),
            from.get(..take),
        ) {
            dst.copy_from_slice(src);
            self.written += take;
        }
        Ok(())
    }
}

/// A preorder walk of a subtree that holds no borrow of the tree between steps, so that
/// the caller may read values (which takes the tree mutably: handlers) at each node.
pub(super) struct Walk {
    /// The node and how many of its children were visited; empty before the root.
    stack: Vec<(NodeHandle, usize), TREE_DEPTH>,
    root: Option<NodeHandle>,
    prune: bool,
}

impl Walk {
    pub(super) fn new(root: NodeHandle, prune: bool) -> Self {
        Walk {
            stack: Vec::new(),
            root: Some(root),
            prune,
        }
    }

    /// The next node `who` may read and its depth below the root. Nodes `who` may not read
    /// are left out; with `prune` so are their subtrees, otherwise their children are still
    /// visited (a child may grant what its parent does not).
    pub(super) fn next<F: NorFlash, H: Handlers>(
        &mut self,
        tree: &Tree<'_, F, H>,
        who: Principal<'_>,
    ) -> Result<Option<(NodeHandle, usize)>, StatusCode> {
        if let Some(root) = self.root.take() {
            self.stack
                .push((root, 0))
                .map_err(|_| StatusCode::CommandFailed)?;
            if tree.readable(who, root) {
                return Ok(Some((root, 0)));
            }
        }
        while let Some((node, done)) = self.stack.last().copied() {
            let Some(child) = tree.children(node).nth(done) else {
                self.stack.pop();
                continue;
            };
            if let Some(top) = self.stack.last_mut() {
                top.1 += 1;
            }
            let depth = self.stack.len();
            let readable = tree.readable(who, child);
            if (readable || !self.prune)
                && tree.node(child).is_interior()
                && self.stack.push((child, 0)).is_err()
            {
                return Err(StatusCode::CommandFailed);
            }
            if readable {
                return Ok(Some((child, depth)));
            }
        }
        Ok(None)
    }
}

/// Writes XML character data, escaped.
pub(super) fn escape(out: &mut impl Write, s: &str) -> fmt::Result {
    let mut from = 0;
    for (i, c) in s.char_indices() {
        let rep = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            _ => continue,
        };
        out.write_str(s.get(from..i).unwrap_or(""))?;
        out.write_str(rep)?;
        from = i + c.len_utf8();
    }
    out.write_str(s.get(from..).unwrap_or(""))
}

/// Writes `<tag>text</tag>`, the text escaped.
pub(super) fn leaf(out: &mut impl Write, tag: &str, text: &str) -> fmt::Result {
    out.write_str("<")?;
    out.write_str(tag)?;
    out.write_str(">")?;
    escape(out, text)?;
    out.write_str("</")?;
    out.write_str(tag)?;
    out.write_str(">")
}

/// Writes the empty element `<tag/>`.
pub(super) fn empty(out: &mut impl Write, tag: &str) -> fmt::Result {
    out.write_str("<")?;
    out.write_str(tag)?;
    out.write_str("/>")
}

pub(super) fn format_element(out: &mut impl Write, format: Format) -> fmt::Result {
    empty(out, format.as_str())
}

impl<F: NorFlash, H: Handlers> Tree<'_, F, H> {
    /// Whether `who` may read `h` (access type and ACL).
    fn readable(&self, who: Principal<'_>, h: NodeHandle) -> bool {
        self.authorize(who, AccessSet::GET, h).is_ok()
    }

    /// Walks the subtree of `root` in preorder (the root first), calling `visit` with each
    /// node `who` may read and its depth below the root; stops early when `visit` says so.
    /// Nodes `who` may not read are left out; with `prune` so are their subtrees, otherwise
    /// their children are still visited (a child may grant what its parent does not).
    pub fn walk(
        &self,
        who: Principal<'_>,
        root: NodeHandle,
        prune: bool,
        mut visit: impl FnMut(NodeHandle, usize) -> bool,
    ) -> Result<(), StatusCode> {
        let mut walk = Walk::new(root, prune);
        while let Some((h, depth)) = walk.next(self, who)? {
            if !visit(h, depth) {
                break;
            }
        }
        Ok(())
    }

    /// Serves `?list=` on `uri` as a document (TNDS with the feature `tnds`, or DDF) into
    /// the window of `out` starting at `offset`. `?list=Struct` and `StructData` are lists of items, which the
    /// session builds with [`walk`](Self::walk); they are refused here with 406.
    pub fn get_listing(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        offset: usize,
        out: &mut [u8],
    ) -> Result<Read, StatusCode> {
        let parsed = self.parse_uri(uri)?;
        let h = self.find(&parsed)?;
        self.authorize(who, AccessSet::GET, h)?;
        let mut w = Window {
            out,
            offset,
            pos: 0,
            written: 0,
        };
        let mime = match parsed.query() {
            #[cfg(feature = "tnds")]
            Some(Query::List(List::Tnds(fields))) => {
                self.write_tnds(who, h, fields, &mut w)
                    .map_err(|_| StatusCode::CommandFailed)?;
                TNDS_XML
            }
            Some(Query::List(List::Ddf)) => {
                write_ddf(self.schema, h.def, &mut w).map_err(|_| StatusCode::CommandFailed)?;
                DDF_XML
            }
            _ => return Err(StatusCode::OptionalFeatureNotSupported),
        };
        Ok(Read {
            len: w.written,
            total: w.pos,
            format: Format::Xml,
            mime,
        })
    }
}

/// Writes the DDF of the static subtree at `root` (the document's header from the DDF
/// the node came from). For the root, every top-level object is a top-level node.
pub(crate) fn write_ddf(schema: &Schema, root: NodeId, w: &mut impl Write) -> fmt::Result {
    let def = schema.node(root).ok_or(fmt::Error)?;
    let first = if root == ROOT {
        def.first_child()
    } else {
        root
    };
    let doc = schema
        .node(first)
        .and_then(|d| schema.document(d.document()));
    w.write_str("<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>")?;
    if let Some(doc) = doc {
        leaf(w, "Man", doc.man())?;
        leaf(w, "Mod", doc.model())?;
    }
    if root == ROOT {
        for top in schema.children(ROOT) {
            write_ddf_subtree(schema, top, w)?;
        }
    } else {
        write_ddf_subtree(schema, root, w)?;
    }
    w.write_str("</MgmtTree>")
}

fn write_ddf_subtree(schema: &Schema, top: NodeId, w: &mut impl Write) -> fmt::Result {
    let end = schema.node(top).ok_or(fmt::Error)?.subtree_end();
    let mut open: Vec<NodeId, TREE_DEPTH> = Vec::new();
    for id in top..end {
        let node = schema.node(id).ok_or(fmt::Error)?;
        while open.last().is_some_and(|&o| node.parent() != o) {
            open.pop();
            w.write_str("</Node>")?;
        }
        w.write_str("<Node>")?;
        if node.is_placeholder() {
            w.write_str("<NodeName/>")?;
        } else {
            leaf(w, "NodeName", node.name())?;
        }
        if id == top {
            let mut parent: String<256> = String::new();
            schema.write_uri(node.parent(), &mut parent)?;
            leaf(w, "Path", &parent)?;
        }
        if let Some(acl) = node.acl() {
            w.write_str("<RTProperties>")?;
            leaf(w, "ACL", acl)?;
            w.write_str("</RTProperties>")?;
        }
        w.write_str("<DFProperties><AccessType>")?;
        for name in node.access().names() {
            empty(w, name)?;
        }
        w.write_str("</AccessType>")?;
        if let Some(default) = node.default_value() {
            leaf(w, "DefaultValue", default)?;
        }
        if !node.description().is_empty() {
            leaf(w, "Description", node.description())?;
        }
        w.write_str("<DFFormat>")?;
        format_element(w, node.format())?;
        w.write_str("</DFFormat><Occurrence>")?;
        let occurrence = node.occurrence();
        match occurrence {
            Occurrence::ZeroOrN(n) | Occurrence::OneOrN(n) => {
                let mut num = NumBuf::new();
                leaf(w, occurrence.name(), num.text(u64::from(n)))?;
            }
            other => empty(w, other.name())?,
        }
        w.write_str("</Occurrence><Scope>")?;
        empty(w, node.scope().name())?;
        w.write_str("</Scope>")?;
        if !node.title().is_empty() {
            leaf(w, "DFTitle", node.title())?;
        }
        w.write_str("<DFType>")?;
        leaf(
            w,
            if node.is_interior() {
                "DDFName"
            } else {
                "MIME"
            },
            node.mime(),
        )?;
        w.write_str("</DFType><CaseSense>")?;
        w.write_str(if node.case_sensitive() {
            "<CS/>"
        } else {
            "<CIS/>"
        })?;
        w.write_str("</CaseSense></DFProperties>")?;
        if node.is_interior() {
            open.push(id).map_err(|_| fmt::Error)?;
        } else {
            w.write_str("</Node>")?;
        }
    }
    for _ in open.iter() {
        w.write_str("</Node>")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cut_a_document_anywhere() {
        let text = "<a>hello &amp; world</a>";
        for offset in 0..text.len() {
            for size in 1..8 {
                let mut out = [0u8; 8];
                let mut w = Window {
                    out: &mut out[..size],
                    offset,
                    pos: 0,
                    written: 0,
                };
                w.write_str(&text[..5]).unwrap();
                w.write_str(&text[5..]).unwrap();
                assert_eq!(w.pos, text.len());
                let written = w.written;
                let end = (offset + size).min(text.len());
                assert_eq!(&out[..written], &text.as_bytes()[offset..end]);
            }
        }
    }

    #[test]
    fn the_ddf_served_compiles_back_to_the_same_table() {
        use crate::schema::STANDARD;
        let mut xml = std::string::String::new();
        write_ddf(&STANDARD, ROOT, &mut xml).unwrap();
        let served = iotadm_ddf::compiler::compile(&[("served.xml", xml.as_str())])
            .unwrap_or_else(|e| panic!("{e}\n{xml}"))
            .leak();
        assert_eq!(served.len(), STANDARD.len());
        for id in STANDARD.ids() {
            let (built, node) = (served.node(id).unwrap(), STANDARD.node(id).unwrap());
            assert_eq!(built.name(), node.name(), "node {id}");
            assert_eq!(built.key(), node.key(), "node {id}");
            assert_eq!(built.format(), node.format(), "node {id}");
            assert_eq!(built.access(), node.access(), "node {id}");
            assert_eq!(built.occurrence(), node.occurrence(), "node {id}");
            assert_eq!(built.scope(), node.scope(), "node {id}");
            assert_eq!(built.case_sensitive(), node.case_sensitive(), "node {id}");
            assert_eq!(built.default_value(), node.default_value(), "node {id}");
            assert_eq!(built.mime(), node.mime(), "node {id}");
            assert_eq!(built.title(), node.title(), "node {id}");
            assert_eq!(built.description(), node.description(), "node {id}");
            assert_eq!(built.acl(), node.acl(), "node {id}");
        }
        // And a subtree on its own, placed by its Path.
        let mut sub = std::string::String::new();
        let devid = STANDARD.find("./DevInfo/DevId").unwrap();
        write_ddf(&STANDARD, devid, &mut sub).unwrap();
        assert!(sub.contains("<Path>./DevInfo</Path>"), "{sub}");
    }
}

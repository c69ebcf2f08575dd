//! TNDS (OMA-TS-DM_TNDS 1.2), the serialised form of a subtree: writing one for
//! `?list=TNDS` (with the properties the query selects) and adding a whole subtree from
//! one (bulk provisioning, bootstrap). Behind the feature `tnds`; `?list=Struct`,
//! `StructData` and `DDF` in [`exchange`](super::exchange) do not need it.

use core::fmt::{self, Write};

use embedded_storage::nor_flash::NorFlash;
use heapless::{String, Vec};

use super::exchange::{escape, format_element, leaf, Walk};
use super::{NodeHandle, Principal, Tree, HAS_ACL, HAS_TITLE, ROOT_ACL};
use crate::codec::{Text, XmlEvent};
use crate::codes::StatusCode;
use crate::limits::{TREE_DEPTH, URI_LEN};
use crate::schema::{Format, Node};
use crate::tree::handler::Handlers;
use crate::tree::uri::{Property, TndsFields};

fn type_element(out: &mut impl Write, def: Node<'_>) -> fmt::Result {
    if def.mime().is_empty() {
        return Ok(());
    }
    out.write_str("<Type>")?;
    leaf(
        out,
        if def.is_interior() { "DDFName" } else { "MIME" },
        def.mime(),
    )?;
    out.write_str("</Type>")
}

impl<F: NorFlash, H: Handlers> Tree<'_, F, H> {
    /// Writes the subtree of `root` as a TNDS document.
    pub(super) fn write_tnds(
        &mut self,
        who: Principal<'_>,
        root: NodeHandle,
        fields: TndsFields,
        w: &mut impl Write,
    ) -> fmt::Result {
        w.write_str("<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>")?;
        // Open <Node> elements, closed as the walk climbs back.
        let mut open = 0usize;
        let mut walk = Walk::new(root, true);
        while let Some((h, depth)) = walk.next(self, who).map_err(|_| fmt::Error)? {
            while open > depth {
                w.write_str("</Node>")?;
                open -= 1;
            }
            self.write_tnds_node(who, h, depth == 0, fields, w)?;
            open = depth + 1;
        }
        for _ in 0..open {
            w.write_str("</Node>")?;
        }
        w.write_str("</MgmtTree>")
    }

    fn write_tnds_node(
        &mut self,
        who: Principal<'_>,
        h: NodeHandle,
        top: bool,
        fields: TndsFields,
        w: &mut impl Write,
    ) -> fmt::Result {
        let def = self.node(h);
        let name = core::str::from_utf8(self.name(h)).map_err(|_| fmt::Error)?;
        w.write_str("<Node>")?;
        if h.def == 0 {
            w.write_str("<NodeName/>")?;
        } else {
            leaf(w, "NodeName", name)?;
        }
        if top && h.def != 0 {
            let mut parent: String<256> = String::new();
            self.write_uri(self.parent(h), &mut parent)?;
            leaf(w, "Path", &parent)?;
        }
        // A leaf's value is read as Get reads it (the tree's, a handler's, a limit's), so it
        // is the same here as through Get and StructData; a value the reader may not see
        // (a handler refuses) is left out with its size.
        let mut path: String<URI_LEN> = String::new();
        let value = if def.is_leaf() && (fields.has(Property::Size) || fields.has_value()) {
            self.write_uri(h, &mut path)?;
            self.read(who, h, path.trim_start_matches("./"), 0, &mut [])
                .ok()
        } else {
            None
        };
        // Binary data travels in XML as Base64 (TND §7.7.2): the Format says how the Value
        // is written; the Size is the size of the data itself.
        let b64 = matches!(def.format(), Format::Bin) && value.is_some() && fields.has_value();
        w.write_str("<RTProperties>")?;
        if fields.has(Property::Acl) {
            let acl = match self.entry(h) {
                Some(e) if e.flags & HAS_ACL != 0 => {
                    core::str::from_utf8(self.state.acl(e)).unwrap_or("")
                }
                _ if h.def == 0 => def.acl().unwrap_or(ROOT_ACL),
                _ => def.acl().unwrap_or(""),
            };
            leaf(w, "ACL", acl)?;
        }
        if fields.has(Property::Format) {
            w.write_str("<Format>")?;
            format_element(w, if b64 { Format::B64 } else { def.format() })?;
            w.write_str("</Format>")?;
        }
        if let Some(v) = value.filter(|_| fields.has(Property::Size)) {
            write!(w, "<Size>{}</Size>", v.total)?;
        }
        if fields.has(Property::Title) {
            let title = match self.entry(h) {
                Some(e) if e.flags & HAS_TITLE != 0 => {
                    core::str::from_utf8(self.state.title(e)).unwrap_or("")
                }
                _ => def.title(),
            };
            if !title.is_empty() {
                leaf(w, "Title", title)?;
            }
        }
        if fields.has(Property::TStamp) {
            if let Some(t) = self.entry(h).map(|e| e.tstamp).filter(|t| *t != 0) {
                let s = crate::platform::format_tstamp(u64::from(t));
                leaf(w, "TStamp", core::str::from_utf8(&s).unwrap_or(""))?;
            }
        }
        if fields.has(Property::Type) {
            type_element(w, def)?;
        }
        if fields.has(Property::VerNo) {
            write!(w, "<VerNo>{}</VerNo>", self.entry(h).map_or(0, |e| e.verno))?;
        }
        w.write_str("</RTProperties>")?;
        if let Some(v) = value.filter(|_| fields.has_value()) {
            w.write_str("<Value>")?;
            self.write_value(who, h, path.trim_start_matches("./"), v.total, b64, w)?;
            w.write_str("</Value>")?;
        }
        Ok(())
    }

    /// Writes a leaf's value of `total` bytes, read a piece at a time: Base64 (`b64`) or
    /// escaped text.
    fn write_value(
        &mut self,
        who: Principal<'_>,
        h: NodeHandle,
        path: &str,
        total: usize,
        b64: bool,
        w: &mut impl Write,
    ) -> fmt::Result {
        use base64::Engine as _;
        // A multiple of 3, so that only the last piece is padded.
        let mut piece = [0u8; 48];
        let mut text = [0u8; 64];
        let mut at = 0;
        while at < total {
            let read = self
                .read(who, h, path, at, &mut piece)
                .map_err(|_| fmt::Error)?;
            let got = piece.get(..read.len).unwrap_or(&[]);
            if got.is_empty() {
                return Err(fmt::Error);
            }
            let used = if b64 {
                let n = base64::engine::general_purpose::STANDARD
                    .encode_slice(got, &mut text)
                    .map_err(|_| fmt::Error)?;
                w.write_str(
                    core::str::from_utf8(text.get(..n).unwrap_or(&[])).map_err(|_| fmt::Error)?,
                )?;
                got.len()
            } else {
                // A piece may end inside a character; the rest comes with the next one.
                let s = match core::str::from_utf8(got) {
                    Ok(s) => s,
                    Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
                        core::str::from_utf8(got.get(..e.valid_up_to()).unwrap_or(&[]))
                            .map_err(|_| fmt::Error)?
                    }
                    Err(_) => return Err(fmt::Error),
                };
                escape(w, s)?;
                s.len()
            };
            at += used;
        }
        Ok(())
    }

    /// Adds the nodes of a TNDS document under `base` (bulk provisioning), all or nothing.
    /// Each node is added as `Add` would add it, with its value and its ACL and title from
    /// `RTProperties`. Each value passes through `buf` on its way into the tree (decoded
    /// from Base64 for a binary leaf), so a value larger than `buf` is refused (413).
    pub fn add_tnds<'e>(
        &mut self,
        who: Principal<'_>,
        base: &str,
        events: impl Iterator<Item = XmlEvent<'e>>,
        now: Option<u64>,
        buf: &mut [u8],
    ) -> Result<usize, StatusCode> {
        let outer = self.in_atomic();
        if !outer {
            self.begin_atomic()?;
        }
        let result = self.add_tnds_inner(who, base, events, now, buf);
        if !outer {
            match result {
                Ok(_) => self.commit_atomic()?,
                Err(_) => {
                    let _ = self.rollback_atomic();
                }
            }
        }
        result
    }

    fn add_tnds_inner<'e>(
        &mut self,
        who: Principal<'_>,
        base: &str,
        events: impl Iterator<Item = XmlEvent<'e>>,
        now: Option<u64>,
        buf: &mut [u8],
    ) -> Result<usize, StatusCode> {
        let base = self.parse_uri(base)?;
        // The URI being built, and where each open node's segment starts in it.
        let mut uri: String<URI_LEN> = String::new();
        push_str(&mut uri, "./")?;
        push_str(&mut uri, base.path())?;
        let mut starts: Vec<usize, TREE_DEPTH> = Vec::new();
        let mut pending: Option<Pending<'e>> = None;
        // The element path inside the current node (RTProperties/Format/...).
        let mut inner: Vec<&'e str, 4> = Vec::new();
        let mut added = 0usize;
        let mut in_tree = false;
        for event in events {
            match event {
                XmlEvent::Start {
                    name: "MgmtTree", ..
                } if !in_tree => in_tree = true,
                XmlEvent::Start { name: "Node", .. } => {
                    if let Some(p) = pending.take() {
                        self.add_pending(who, &mut uri, &mut starts, p, now, buf)?;
                        added += 1;
                    }
                    inner.clear();
                    pending = Some(Pending::default());
                }
                XmlEvent::End if inner.is_empty() => {
                    // The end of a Node (or of MgmtTree).
                    if let Some(p) = pending.take() {
                        self.add_pending(who, &mut uri, &mut starts, p, now, buf)?;
                        added += 1;
                    }
                    if let Some(start) = starts.pop() {
                        uri.truncate(start);
                    }
                }
                XmlEvent::Start { name, .. } => {
                    if pending.is_some() {
                        inner.push(name).map_err(|_| StatusCode::BadRequest)?;
                        if let Some(p) = pending.as_mut() {
                            if let [.., "Format", f] = inner.as_slice() {
                                p.format = Format::parse(f);
                            }
                        }
                    } else if in_tree {
                        // VerDTD, Man, Mod at the top: skipped.
                        inner.push(name).map_err(|_| StatusCode::BadRequest)?;
                    }
                }
                XmlEvent::End => {
                    inner.pop();
                }
                XmlEvent::Text(t) => {
                    // A value is kept as written; names, paths and properties are read
                    // without the white space a document may lay them out with.
                    if let Some(p) = pending.as_mut() {
                        match inner.as_slice() {
                            ["NodeName"] => p.name = Some(t.trim()),
                            ["Path"] => p.path = Some(t.trim()),
                            ["Value"] => p.value = Some(t),
                            ["RTProperties", "ACL"] => p.acl = Some(t.trim()),
                            ["RTProperties", "Title"] => p.title = Some(t.trim()),
                            _ => {}
                        }
                    }
                }
            }
        }
        if !in_tree {
            return Err(StatusCode::BadRequest);
        }
        Ok(added)
    }

    /// Adds one node read from TNDS, then makes it the parent of what follows.
    fn add_pending(
        &mut self,
        who: Principal<'_>,
        uri: &mut String<URI_LEN>,
        starts: &mut Vec<usize, TREE_DEPTH>,
        p: Pending<'_>,
        now: Option<u64>,
        value_buf: &mut [u8],
    ) -> Result<(), StatusCode> {
        let start = uri.len();
        if let Some(path) = p.path {
            // A Path places the node (and its subtree) at an absolute parent.
            uri.clear();
            push_text(uri, &path)?;
        }
        let name = p.name.ok_or(StatusCode::IncompleteCommand)?;
        if name.is_empty() {
            // The root itself: nothing to add, its children follow.
            starts.push(start).map_err(|_| StatusCode::UriTooLong)?;
            return Ok(());
        }
        if !uri.ends_with('/') {
            push_str(uri, "/")?;
        }
        for b in name.bytes() {
            // Node names are escaped in URIs.
            if matches!(b, b'/' | b'?' | b'%') {
                write!(uri, "%{b:02X}").map_err(|_| StatusCode::UriTooLong)?;
            } else {
                uri.push(char::from(b))
                    .map_err(|_| StatusCode::UriTooLong)?;
            }
        }
        // A binary leaf's value is Base64 in a TNDS document (TND §7.7.2), whether its
        // Format says `b64` (how the value is written) or `bin` (what the node holds): the
        // tree keeps the bytes, as its own TNDS output writes them.
        let binary = self.format_at(uri) == Some(Format::Bin);
        let value = match p.value {
            Some(v) if binary => Some(crate::codec::b64::decode_text(v, value_buf)?),
            Some(v) => Some(
                v.copy_to(value_buf)
                    .ok_or(StatusCode::RequestEntityTooLarge)?,
            ),
            None => None,
        };
        let format = match p.format {
            Some(Format::Node) => None,
            Some(Format::B64) if binary => Some(Format::Bin),
            f => f,
        };
        match self.add(who, uri, value, format, now) {
            Ok(()) => {}
            // Interior nodes that exist already (e.g. an account's mandatory AppAddr) are
            // the places new children go.
            Err(StatusCode::AlreadyExists) if value.is_none() => {}
            Err(e) => return Err(e),
        }
        if let Some(acl) = p.acl {
            let mut buf = [0u8; 255];
            let acl = acl
                .copy_to(&mut buf)
                .ok_or(StatusCode::RequestEntityTooLarge)?;
            let h = self.find(&self.parse_uri(uri)?)?;
            self.replace_property(who, h, Property::Acl, acl, now)?;
        }
        if let Some(title) = p.title {
            let mut buf = [0u8; 255];
            let title = title
                .copy_to(&mut buf)
                .ok_or(StatusCode::RequestEntityTooLarge)?;
            let h = self.find(&self.parse_uri(uri)?)?;
            self.replace_property(who, h, Property::Title, title, now)?;
        }
        starts.push(start).map_err(|_| StatusCode::UriTooLong)?;
        Ok(())
    }
}

/// A node of TNDS input, until its children start.
#[derive(Default)]
struct Pending<'e> {
    name: Option<Text<'e>>,
    path: Option<Text<'e>>,
    value: Option<Text<'e>>,
    format: Option<Format>,
    acl: Option<Text<'e>>,
    title: Option<Text<'e>>,
}

fn push_str<const M: usize>(s: &mut String<M>, t: &str) -> Result<(), StatusCode> {
    s.push_str(t).map_err(|_| StatusCode::UriTooLong)
}

fn push_text<const M: usize>(s: &mut String<M>, t: &Text<'_>) -> Result<(), StatusCode> {
    for chunk in t.chunks() {
        let part = core::str::from_utf8(chunk.as_bytes()).map_err(|_| StatusCode::BadRequest)?;
        push_str(s, part)?;
    }
    Ok(())
}

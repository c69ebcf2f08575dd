//! Reading one DDF document: the XML walk and the checks that need nothing but the
//! document itself (names, formats, types, defaults, occurrences, ACLs, depth).
//!
//! Every check returns a [`DdfError`] naming the file, the node and the line; nothing here
//! knows about other documents or where the nodes will be placed.

use std::borrow::ToOwned;
use std::format;
use std::string::String;
use std::vec::Vec;

use super::{
    child_uri, path_uri, DdfError, ParsedNode, Props, Seg, MAX_DEPTH, MAX_SEGMENT_LEN, VER_DTD,
};
use crate::types::{AccessSet, Format, Occurrence, Scope};

/// What one document says at its top level.
pub(super) struct ReadDocument {
    pub(super) man: String,
    pub(super) model: String,
    pub(super) ver_dtd: String,
    /// Each top-level `<Node>`, with the path its `<Path>` names (empty for `.`).
    pub(super) tops: Vec<(Vec<Seg>, ParsedNode)>,
}

/// Whether an element belongs to the DDF vocabulary: no namespace, or the DDF one.
/// Elements of other namespaces are vendor extensions and are skipped.
fn is_ddf(el: roxmltree::Node<'_, '_>) -> bool {
    el.tag_name()
        .namespace()
        .is_none_or(|ns| ns.to_ascii_lowercase().starts_with("syncml:dmddf"))
}

/// Reading context: the document's name, and its text for line numbers.
pub(super) struct Cx<'a, 'input> {
    file: &'a str,
    xml: Option<&'a roxmltree::Document<'input>>,
}

impl Cx<'_, '_> {
    /// Reads and checks one document on its own.
    pub(super) fn read_document(file: &str, text: &str) -> Result<ReadDocument, DdfError> {
        let cx = Cx { file, xml: None };
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
                "Node" => {
                    let (path, node) = cx.parse_node(el, ".", None)?;
                    tops.push((path.unwrap_or_default(), node));
                }
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
        Ok(ReadDocument {
            man: man.unwrap_or_default(),
            model: model.unwrap_or_default(),
            ver_dtd,
            tops,
        })
    }

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
            if props.format == Format::Node {
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

        let interior = props.format == Format::Node;
        if !interior {
            if let Some(child) = children.first() {
                return Err(self.at(
                    node,
                    *child,
                    format!(
                        "a leaf (DFFormat {}) cannot have child nodes",
                        props.format.as_str()
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
                    let mut set = AccessSet::NONE;
                    for cmd in self.elements(node, el)? {
                        let name = cmd.tag_name().name();
                        let Some(one) = AccessSet::from_command(name) else {
                            return Err(self.at(
                                node,
                                cmd,
                                format!("unknown AccessType element <{name}>"),
                            ));
                        };
                        if set.contains(one) {
                            return Err(self.at(
                                node,
                                cmd,
                                format!("AccessType lists {name} twice"),
                            ));
                        }
                        self.text(node, cmd)?;
                        set = set.union(one);
                    }
                    self.set_once(node, el, &mut access, set)?;
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
        if format == Format::Node && default_value.is_some() {
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
                                    f.as_str(),
                                    props.format.as_str()
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
                    if prop == "Size" && props.format == Format::Node {
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
            format.as_str()
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

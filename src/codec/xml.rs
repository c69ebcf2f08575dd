//! XML reading for SyncML DM: a validating pass over the whole document (well-formedness,
//! references, limits) and a cursor the typed decoder walks afterwards.
//!
//! Elements are matched by local name; which vocabulary a name belongs to (SyncML, MetInf,
//! DDF) is decided by where it appears, the way libwbxml does, so MetInf elements are
//! understood with or without their `syncml:metinf` namespace. Namespace declarations are
//! parsed and kept where the model needs them (the root of embedded XML).
//!
//! The module is the `xml` feature's: a build without it reads WBXML only.

use super::error::{DecodeError, DecodeErrorKind as K};
use super::text::{
    find, find_byte, is_name_byte, is_ws, is_xml_name, local_name, parse_reference, Reference, Text,
};
use super::{Limits, Name};
use crate::limits::XML_DEPTH;

fn err(kind: K, offset: usize) -> DecodeError {
    DecodeError::new(kind, offset)
}

/// A parsed start tag.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StartTag<'a> {
    /// Qualified name as written.
    pub(crate) name: &'a [u8],
    /// Value of a default namespace declaration on this element.
    pub(crate) xmlns: Option<&'a [u8]>,
    /// `<x/>`.
    pub(crate) empty: bool,
    /// Position after the closing `>`.
    pub(crate) end: usize,
}

fn name_end(input: &[u8], pos: usize) -> Result<usize, DecodeError> {
    let rest = input.get(pos..).unwrap_or(&[]);
    let len = rest
        .iter()
        .position(|&b| !is_name_byte(b))
        .unwrap_or(rest.len());
    let first = rest.first().copied().unwrap_or(b' ');
    if len == 0 || first.is_ascii_digit() || first == b'-' || first == b'.' {
        return Err(if rest.is_empty() {
            err(K::Truncated, pos)
        } else {
            err(K::Syntax("expected a name"), pos)
        });
    }
    Ok(pos + len)
}

fn skip_ws(input: &[u8], mut pos: usize) -> usize {
    while input.get(pos).is_some_and(|&b| is_ws(b)) {
        pos += 1;
    }
    pos
}

/// Parses the start tag at `pos` (which holds `<`). Attribute values are checked when
/// `check` is given (the validating pass), and trusted otherwise (the cursor).
pub(crate) fn parse_start_tag<'a>(
    input: &'a [u8],
    pos: usize,
    check: Option<&TextCheck<'_>>,
) -> Result<StartTag<'a>, DecodeError> {
    let name_start = pos + 1;
    let name_stop = name_end(input, name_start)?;
    let name = input.get(name_start..name_stop).unwrap_or(&[]);
    let mut xmlns = None;
    let mut at = name_stop;
    loop {
        let before = at;
        at = skip_ws(input, at);
        match input.get(at) {
            None => return Err(err(K::Truncated, input.len())),
            Some(b'>') => {
                return Ok(StartTag {
                    name,
                    xmlns,
                    empty: false,
                    end: at + 1,
                })
            }
            Some(b'/') => {
                return match input.get(at + 1) {
                    Some(b'>') => Ok(StartTag {
                        name,
                        xmlns,
                        empty: true,
                        end: at + 2,
                    }),
                    None => Err(err(K::Truncated, input.len())),
                    Some(_) => Err(err(K::Syntax("expected '>' after '/'"), at + 1)),
                };
            }
            Some(_) if at == before => {
                return Err(err(K::Syntax("expected white space before attribute"), at))
            }
            Some(_) => {
                let attr_end = name_end(input, at)?;
                let attr = input.get(at..attr_end).unwrap_or(&[]);
                at = skip_ws(input, attr_end);
                match input.get(at) {
                    Some(b'=') => {}
                    None => return Err(err(K::Truncated, input.len())),
                    Some(_) => return Err(err(K::Syntax("expected '=' after attribute name"), at)),
                }
                at = skip_ws(input, at + 1);
                let quote = match input.get(at) {
                    Some(&q @ (b'"' | b'\'')) => q,
                    None => return Err(err(K::Truncated, input.len())),
                    Some(_) => return Err(err(K::Syntax("attribute value must be quoted"), at)),
                };
                let value_start = at + 1;
                let rest = input.get(value_start..).unwrap_or(&[]);
                let len = memchr::memchr(quote, rest).ok_or(err(K::Truncated, input.len()))?;
                let value = rest.get(..len).unwrap_or(&[]);
                if let Some(i) = memchr::memchr(b'<', value) {
                    return Err(err(K::Syntax("'<' in attribute value"), value_start + i));
                }
                if let Some(check) = check {
                    check_text(value, value_start, check)?;
                }
                if attr == b"xmlns" {
                    xmlns = Some(value);
                }
                at = value_start + len + 1;
            }
        }
    }
}

/// How the validating pass checks character data.
pub(crate) struct TextCheck<'l> {
    limits: &'l Limits,
    /// Whether the document holds, anywhere, a control character that is not white
    /// space. Nearly always it does not, and text is then only searched for references.
    controls: bool,
}

/// Whether `input` holds a control character other than tab, line feed and carriage
/// return. Blocks are tested without branches, which the compiler vectorises: one cheap
/// pass over the document spares a per-byte test of all its text.
fn has_controls(input: &[u8]) -> bool {
    let control = |b: u8| (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r');
    input
        .chunks(64)
        .any(|block| block.iter().fold(false, |any, &b| any | control(b)))
}

/// Checks character data: references and control characters.
fn check_text(text: &[u8], offset: usize, check: &TextCheck<'_>) -> Result<(), DecodeError> {
    let limits = check.limits;
    if text.len() > limits.max_string_len as usize {
        return Err(err(K::StringLimit, offset));
    }
    let next: fn(&[u8]) -> Option<usize> = if check.controls {
        find_special
    } else {
        |s| memchr::memchr(b'&', s)
    };
    let mut from = 0;
    while let Some(i) = next(text.get(from..).unwrap_or(&[])) {
        let at = from + i;
        let rest = text.get(at..).unwrap_or(&[]);
        match rest.first() {
            Some(b'&') => match parse_reference(rest) {
                Reference::Char(..) => {}
                Reference::Invalid => return Err(err(K::InvalidReference, offset + at)),
                Reference::Bare if limits.lenient => {}
                Reference::Bare => return Err(err(K::Syntax("bare '&' in text"), offset + at)),
            },
            Some(&b) if !is_ws(b) => {
                return Err(err(K::Syntax("control character in text"), offset + at))
            }
            _ => {}
        }
        from = at + 1;
    }
    Ok(())
}

/// Position of the first `&` or control character (white space included) in `s`.
fn find_special(s: &[u8]) -> Option<usize> {
    find_byte(s, |b| (b < 0x20) | (b == b'&'))
}

/// End of the construct starting at `pos` whose terminator is `close`.
fn skip_past(input: &[u8], pos: usize, close: &[u8]) -> Result<usize, DecodeError> {
    let rest = input.get(pos..).unwrap_or(&[]);
    match find(rest, close) {
        Some(i) => Ok(pos + i + close.len()),
        None => Err(err(K::Truncated, input.len())),
    }
}

/// Parses `</name>` at `pos`; returns the name and the position after `>`.
fn parse_end_tag(input: &[u8], pos: usize) -> Result<(&[u8], usize), DecodeError> {
    let name_start = pos + 2;
    let name_stop = name_end(input, name_start)?;
    let at = skip_ws(input, name_stop);
    match input.get(at) {
        Some(b'>') => Ok((input.get(name_start..name_stop).unwrap_or(&[]), at + 1)),
        None => Err(err(K::Truncated, input.len())),
        Some(_) => Err(err(K::Syntax("expected '>' in end tag"), at)),
    }
}

/// Skips a DOCTYPE declaration (with any internal subset) starting at `pos`.
fn skip_doctype(input: &[u8], mut pos: usize) -> Result<usize, DecodeError> {
    let mut in_subset = false;
    pos += 9;
    loop {
        match input.get(pos) {
            None => return Err(err(K::Truncated, input.len())),
            Some(&q @ (b'"' | b'\'')) => {
                let rest = input.get(pos + 1..).unwrap_or(&[]);
                let len = rest
                    .iter()
                    .position(|&b| b == q)
                    .ok_or(err(K::Truncated, input.len()))?;
                pos += len + 2;
            }
            Some(b'[') => {
                in_subset = true;
                pos += 1;
            }
            Some(b']') => {
                in_subset = false;
                pos += 1;
            }
            Some(b'<') if in_subset && input.get(pos..).is_some_and(|r| r.starts_with(b"<!--")) => {
                pos = skip_past(input, pos, b"-->")?;
            }
            Some(b'>') if !in_subset => return Ok(pos + 1),
            Some(_) => pos += 1,
        }
    }
}

/// Checks the XML declaration's encoding, if it names one.
fn check_declaration(decl: &[u8], offset: usize) -> Result<(), DecodeError> {
    let Some(i) = find(decl, b"encoding") else {
        return Ok(());
    };
    let rest = decl.get(i + 8..).unwrap_or(&[]);
    let rest = rest
        .get(
            rest.iter()
                .position(|&b| b == b'"' || b == b'\'')
                .map_or(0, |q| q + 1)..,
        )
        .unwrap_or(&[]);
    let value = rest
        .get(
            ..rest
                .iter()
                .position(|&b| b == b'"' || b == b'\'')
                .unwrap_or(0),
        )
        .unwrap_or(&[]);
    if value.eq_ignore_ascii_case(b"UTF-8")
        || value.eq_ignore_ascii_case(b"US-ASCII")
        || value.eq_ignore_ascii_case(b"UTF8")
    {
        Ok(())
    } else {
        Err(err(K::UnsupportedEncoding, offset))
    }
}

/// Validates the whole document and returns the position of the root element's `<`.
pub(crate) fn validate(input: &[u8], limits: &Limits) -> Result<usize, DecodeError> {
    if let Err(e) = core::str::from_utf8(input) {
        return Err(err(K::InvalidUtf8, e.valid_up_to()));
    }
    let check = TextCheck {
        limits,
        controls: has_controls(input),
    };
    let mut pos = if input.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    // Prolog: declaration, comments, PIs and one DOCTYPE before the root element.
    let root = loop {
        pos = skip_ws(input, pos);
        let rest = input.get(pos..).unwrap_or(&[]);
        if rest.is_empty() {
            return Err(err(K::NotSyncMl, pos));
        } else if rest.starts_with(b"<?") {
            let end = skip_past(input, pos, b"?>")?;
            if rest.starts_with(b"<?xml") && rest.get(5).is_some_and(|&b| is_ws(b)) {
                check_declaration(input.get(pos..end).unwrap_or(&[]), pos)?;
            }
            pos = end;
        } else if rest.starts_with(b"<!--") {
            pos = skip_past(input, pos, b"-->")?;
        } else if rest.starts_with(b"<!DOCTYPE") {
            pos = skip_doctype(input, pos)?;
        } else if rest.starts_with(b"<") {
            break pos;
        } else {
            return Err(err(K::Syntax("content before the root element"), pos));
        }
    };
    let max_depth = usize::from(limits.max_depth).min(XML_DEPTH);
    // Open elements, as (name start, name end) positions.
    let mut stack = [(0u32, 0u32); XML_DEPTH];
    let mut depth = 0usize;
    let mut elements: u32 = 0;
    loop {
        // Character data up to the next markup.
        let rest = input.get(pos..).unwrap_or(&[]);
        let lt = memchr::memchr(b'<', rest);
        let text_end = lt.map_or(input.len(), |i| pos + i);
        if text_end > pos {
            let text = input.get(pos..text_end).unwrap_or(&[]);
            if depth == 0 {
                if text.iter().all(|&b| is_ws(b)) {
                    pos = text_end;
                    if lt.is_none() {
                        break;
                    }
                    continue;
                }
                return Err(err(K::Syntax("content after the root element"), pos));
            }
            check_text(text, pos, &check)?;
        }
        if lt.is_none() {
            if depth > 0 {
                return Err(err(K::Truncated, input.len()));
            }
            break;
        }
        pos = text_end;
        let rest = input.get(pos..).unwrap_or(&[]);
        if rest.starts_with(b"</") {
            let (name, end) = parse_end_tag(input, pos)?;
            let open = depth.checked_sub(1).and_then(|d| stack.get(d)).copied();
            let Some((s, e)) = open else {
                return Err(err(K::Syntax("end tag without an open element"), pos));
            };
            if input.get(s as usize..e as usize) != Some(name) {
                return Err(err(K::MismatchedEndTag, pos));
            }
            depth -= 1;
            pos = end;
        } else if rest.starts_with(b"<!--") {
            pos = skip_past(input, pos, b"-->")?;
        } else if rest.starts_with(b"<?") {
            pos = skip_past(input, pos, b"?>")?;
        } else if rest.starts_with(b"<![CDATA[") {
            if depth == 0 {
                return Err(err(K::Syntax("content after the root element"), pos));
            }
            let end = skip_past(input, pos, b"]]>")?;
            if end - pos - 12 > limits.max_string_len as usize {
                return Err(err(K::StringLimit, pos));
            }
            pos = end;
        } else if rest.starts_with(b"<!") {
            return Err(err(K::Syntax("unexpected markup declaration"), pos));
        } else {
            if depth == 0 && elements > 0 {
                return Err(err(K::Syntax("content after the root element"), pos));
            }
            let tag = parse_start_tag(input, pos, Some(&check))?;
            elements += 1;
            if elements > limits.max_elements {
                return Err(err(K::ElementLimit, pos));
            }
            if depth >= max_depth {
                return Err(err(K::DepthLimit, pos));
            }
            if !tag.empty {
                let Some(slot) = stack.get_mut(depth) else {
                    return Err(err(K::DepthLimit, pos));
                };
                let name_start = pos + 1;
                *slot = (name_start as u32, (name_start + tag.name.len()) as u32);
                depth += 1;
            }
            pos = tag.end;
        }
    }
    Ok(root)
}

/// A position inside a validated XML document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(input: &'a [u8], pos: usize) -> Self {
        Cursor { input, pos }
    }

    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    /// The next child element, text run or the end of the current element (consumed).
    pub(crate) fn next_content(&mut self, trim: bool) -> Result<super::Content<'a>, DecodeError> {
        let input = self.input;
        loop {
            let start = self.pos;
            let rest = input.get(start..).unwrap_or(&[]);
            if rest.starts_with(b"</") {
                let (_, end) = parse_end_tag(input, start)?;
                self.pos = end;
                return Ok(super::Content::End);
            } else if rest.starts_with(b"<!--") && self.run_is_markup_only(start)? {
                self.pos = skip_past(input, start, b"-->")?;
            } else if rest.starts_with(b"<?") && self.run_is_markup_only(start)? {
                self.pos = skip_past(input, start, b"?>")?;
            } else if rest.starts_with(b"<") && !rest.starts_with(b"<!") && !rest.starts_with(b"<?")
            {
                let tag = parse_start_tag(input, start, None)?;
                self.pos = tag.end;
                let local = local_name(tag.name);
                if !is_xml_name(local) {
                    return Err(err(K::Syntax("expected a name"), start + 1));
                }
                return Ok(super::Content::Start {
                    name: Name::Local(local),
                    xmlns: tag.xmlns,
                    empty: tag.empty,
                    offset: start,
                });
            } else if rest.is_empty() {
                return Err(err(K::Truncated, start));
            } else {
                let end = self.text_end(start)?;
                self.pos = end;
                let raw = input.get(start..end).unwrap_or(&[]);
                return Ok(super::Content::Text {
                    text: Text::from_xml(raw, trim),
                    opaque: false,
                });
            }
        }
    }

    /// Whether the comment or PI at `pos` stands alone, rather than inside a text run that
    /// has character data or CDATA next to it (then it belongs to the run).
    fn run_is_markup_only(&self, pos: usize) -> Result<bool, DecodeError> {
        let end = self.text_end(pos)?;
        let run = self.input.get(pos..end).unwrap_or(&[]);
        Ok(Text::from_xml(run, false).bytes().all(is_ws) && find(run, b"<![CDATA[").is_none())
    }

    /// End of the text run starting at `pos`: the next start or end tag. CDATA sections,
    /// comments and PIs are part of the run.
    fn text_end(&self, mut pos: usize) -> Result<usize, DecodeError> {
        let input = self.input;
        loop {
            let rest = input.get(pos..).unwrap_or(&[]);
            let Some(lt) = memchr::memchr(b'<', rest) else {
                return Err(err(K::Truncated, input.len()));
            };
            pos += lt;
            let rest = input.get(pos..).unwrap_or(&[]);
            pos = if rest.starts_with(b"<![CDATA[") {
                skip_past(input, pos, b"]]>")?
            } else if rest.starts_with(b"<!--") {
                skip_past(input, pos, b"-->")?
            } else if rest.starts_with(b"<?") {
                skip_past(input, pos, b"?>")?
            } else {
                return Ok(pos);
            };
        }
    }

    /// Skips the rest of the current element, including its end tag. The document has
    /// been validated, so markup is only located, not parsed: from one `<` to the next.
    pub(crate) fn skip(&mut self) -> Result<(), DecodeError> {
        let input = self.input;
        let truncated = || err(K::Truncated, input.len());
        let mut depth = 1u32;
        let mut pos = self.pos;
        while depth > 0 {
            let lt = memchr::memchr(b'<', input.get(pos..).unwrap_or(&[])).ok_or_else(truncated)?;
            pos += lt;
            let rest = input.get(pos..).unwrap_or(&[]);
            pos = match rest.get(1) {
                Some(b'/') => {
                    depth -= 1;
                    pos + memchr::memchr(b'>', rest).ok_or_else(truncated)? + 1
                }
                Some(b'?') => skip_past(input, pos, b"?>")?,
                Some(b'!') if rest.starts_with(b"<!--") => skip_past(input, pos, b"-->")?,
                Some(b'!') => skip_past(input, pos, b"]]>")?,
                _ => {
                    let (end, empty) = start_tag_end(input, pos)?;
                    depth += u32::from(!empty);
                    end
                }
            };
        }
        self.pos = pos;
        Ok(())
    }
}

/// The end of the validated start tag at `pos`: the position after its `>` (the first
/// one outside a quoted attribute value) and whether it ends an empty element (`/>`).
fn start_tag_end(input: &[u8], pos: usize) -> Result<(usize, bool), DecodeError> {
    let truncated = || err(K::Truncated, input.len());
    let mut at = pos;
    loop {
        let rest = input.get(at..).unwrap_or(&[]);
        at += memchr::memchr3(b'>', b'"', b'\'', rest).ok_or_else(truncated)?;
        match input.get(at) {
            Some(&quote @ (b'"' | b'\'')) => {
                let value = input.get(at + 1..).unwrap_or(&[]);
                at += memchr::memchr(quote, value).ok_or_else(truncated)? + 2;
            }
            _ => return Ok((at + 1, input.get(at.wrapping_sub(1)) == Some(&b'/'))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Content;
    use super::*;

    fn check(doc: &str) -> Result<usize, DecodeError> {
        validate(doc.as_bytes(), &Limits::DEFAULT)
    }

    #[test]
    fn prolog_constructs_are_skipped() {
        let doc = "\u{FEFF}<?xml version=\"1.0\" encoding='utf-8'?>\n<!-- c -->\n<!DOCTYPE SyncML PUBLIC \"-//SYNCML//DTD SyncML 1.2//EN\" \"x.dtd\" [<!ENTITY x \"y\">]>\n<?pi x?><SyncML/>";
        assert_eq!(check(doc).unwrap(), doc.find("<SyncML").unwrap());
    }

    #[test]
    fn well_formedness_errors_name_their_offset() {
        let e = check("<a><b></a></b>").unwrap_err();
        assert_eq!((e.kind(), e.offset()), (K::MismatchedEndTag, 6));
        let e = check("<a x=\u{201D}1\u{201D}/>").unwrap_err();
        assert_eq!(e.kind(), K::Syntax("attribute value must be quoted"));
        assert_eq!(e.offset(), 5);
        let e = check("<a>&nbsp;</a>").unwrap_err();
        assert_eq!((e.kind(), e.offset()), (K::InvalidReference, 3));
        assert_eq!(check("<a>x").unwrap_err().kind(), K::Truncated);
        assert_eq!(
            check("<a/><b/>").unwrap_err().kind(),
            K::Syntax("content after the root element")
        );
        assert_eq!(
            check("<?xml version='1.0' encoding='ISO-8859-1'?><a/>")
                .unwrap_err()
                .kind(),
            K::UnsupportedEncoding
        );
        assert_eq!(
            validate(b"<a>\xff</a>", &Limits::DEFAULT)
                .unwrap_err()
                .kind(),
            K::InvalidUtf8
        );
        assert_eq!(
            check("<a>\u{1}</a>").unwrap_err().kind(),
            K::Syntax("control character in text")
        );
    }

    #[test]
    fn special_bytes_are_found_in_and_between_blocks() {
        assert_eq!(find_special(b""), None);
        assert_eq!(find_special(&[b'a'; 100]), None);
        for at in [0, 15, 16, 17, 31, 32, 47, 99] {
            for special in [b'&', b'\n', 0x01, 0x1F] {
                let mut text = [b'x'; 100];
                text[at] = special;
                text[99] = b'&';
                assert_eq!(find_special(&text), Some(at), "{special} at {at}");
            }
        }
        // Non-ASCII bytes are ordinary.
        assert_eq!(find_special("\u{e9}\u{4e2d}\u{1f600}&".as_bytes()), Some(9));
    }

    #[test]
    fn skipping_an_element_only_locates_its_markup() {
        let doc = "<r><a x='>' y=\"/\"><b/><c q='/>'>t</c><!-- </a> --><![CDATA[</a><a>]]>\
                   <?pi </a>?><d></d></a><e/></r>";
        let root = check(doc).unwrap();
        let mut c = Cursor::new(doc.as_bytes(), root);
        assert!(matches!(
            c.next_content(true).unwrap(),
            Content::Start { .. }
        ));
        assert!(matches!(
            c.next_content(true).unwrap(),
            Content::Start { empty: false, .. }
        ));
        c.skip().unwrap();
        assert_eq!(&doc[c.offset()..], "<e/></r>");
        assert_eq!(start_tag_end(b"<a x='/'/>", 0).unwrap(), (10, true));
        assert_eq!(start_tag_end(b"<a x=\"/>\">", 0).unwrap(), (10, false));
        assert_eq!(
            start_tag_end(b"<a x='", 0).unwrap_err().kind(),
            K::Truncated
        );
    }

    #[test]
    fn bare_ampersand_is_refused_unless_lenient() {
        let strict = Limits {
            lenient: false,
            ..Limits::DEFAULT
        };
        assert!(check("<a>MAXDT=15&DR=1</a>").is_ok());
        let e = validate(b"<a>MAXDT=15&DR=1</a>", &strict).unwrap_err();
        assert_eq!((e.kind(), e.offset()), (K::Syntax("bare '&' in text"), 11));
    }

    #[test]
    fn limits_are_enforced() {
        let shallow = Limits {
            max_depth: 2,
            ..Limits::DEFAULT
        };
        assert!(validate(b"<a><b/></a>", &shallow).is_ok());
        assert_eq!(
            validate(b"<a><b><c/></b></a>", &shallow)
                .unwrap_err()
                .kind(),
            K::DepthLimit
        );
        let few = Limits {
            max_elements: 2,
            ..Limits::DEFAULT
        };
        assert_eq!(
            validate(b"<a><b/><c/></a>", &few).unwrap_err().kind(),
            K::ElementLimit
        );
        let short = Limits {
            max_string_len: 3,
            ..Limits::DEFAULT
        };
        assert_eq!(
            validate(b"<a>abcd</a>", &short).unwrap_err().kind(),
            K::StringLimit
        );
        assert_eq!(
            validate(b"<a><![CDATA[abcd]]></a>", &short)
                .unwrap_err()
                .kind(),
            K::StringLimit
        );
        // Nesting deeper than the validator can track is refused, not overflowed.
        let deep = "<a>".repeat(XML_DEPTH + 1);
        let unlimited = Limits {
            max_depth: u16::MAX,
            ..Limits::DEFAULT
        };
        assert_eq!(
            validate(deep.as_bytes(), &unlimited).unwrap_err().kind(),
            K::DepthLimit
        );
    }
}

//! WBXML reading (WAP-192-WBXML 1.1-1.3) for SyncML DM: the document header, a validating
//! pass over the whole token stream, and a cursor the typed decoder walks afterwards.
//!
//! The validating pass checks everything the cursor relies on (every token complete, every
//! string terminated and UTF-8, every string-table reference in range, tags balanced,
//! limits kept), so the typed decoder never meets malformed input it did not see first.

use super::error::{DecodeError, DecodeErrorKind as K};
use super::text::{is_utf8, is_xml_name, local_name, Text};
use super::tokens::{global, public_id, Tag, CHARSET_US_ASCII, CHARSET_UTF8};
use super::wbxml_bytes::{mb, skip_attributes, table_string};
use super::{Content, Limits, Name};
use crate::limits::XML_DEPTH;

/// The public identifier of a WBXML document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PublicId<'a> {
    /// A well-known numeric id.
    Numeric(u32),
    /// A formal public identifier held in the string table.
    Literal(&'a [u8]),
}

/// The parsed WBXML document header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header<'a> {
    pub(crate) version: u8,
    pub(crate) public_id: PublicId<'a>,
    pub(crate) strtbl: &'a [u8],
    pub(crate) body: usize,
}

fn err(kind: K, offset: usize) -> DecodeError {
    DecodeError::new(kind, offset)
}

/// Parses the document header: version, public id, charset and string table.
pub(crate) fn parse_header(doc: &[u8]) -> Result<Header<'_>, DecodeError> {
    let version = *doc.first().ok_or(err(K::Truncated, 0))?;
    if !(0x01..=0x03).contains(&version) {
        return Err(err(K::UnsupportedVersion(version), 0));
    }
    let mut pos = 1;
    let (pid, n) = mb(doc, pos)?;
    pos += n;
    let mut literal_index = None;
    if pid == public_id::LITERAL {
        let (index, n) = mb(doc, pos)?;
        literal_index = Some((index, pos));
        pos += n;
    }
    let (charset, n) = mb(doc, pos)?;
    if !matches!(charset, CHARSET_UTF8 | CHARSET_US_ASCII | 0) {
        return Err(err(K::UnsupportedCharset(charset), pos));
    }
    pos += n;
    let (len, n) = mb(doc, pos)?;
    pos += n;
    let end = pos
        .checked_add(len as usize)
        .ok_or(err(K::Truncated, pos))?;
    let strtbl = doc.get(pos..end).ok_or(err(K::Truncated, doc.len()))?;
    if core::str::from_utf8(strtbl).is_err() {
        return Err(err(K::InvalidUtf8, pos));
    }
    let public_id = match literal_index {
        Some((index, at)) => {
            let fpi = table_string(strtbl, index).ok_or(err(K::StringTableIndex(index), at))?;
            PublicId::Literal(fpi)
        }
        None => PublicId::Numeric(pid),
    };
    Ok(Header {
        version,
        public_id,
        strtbl,
        body: end,
    })
}

/// Refuses documents whose public id is not a SyncML DTD (or "unknown", which leaves the
/// root element to decide).
pub(crate) fn check_syncml(header: &Header<'_>) -> Result<(), DecodeError> {
    let syncml = match header.public_id {
        PublicId::Literal(fpi) => fpi
            .get(..21)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"-//SYNCML//DTD SyncML")),
        PublicId::Numeric(id) => matches!(
            id,
            public_id::SYNCML_12 | public_id::SYNCML_11 | public_id::SYNCML_10 | public_id::UNKNOWN
        ),
    };
    if syncml {
        return Ok(());
    }
    let id = match header.public_id {
        PublicId::Numeric(id) => id,
        PublicId::Literal(_) => 0,
    };
    Err(err(K::UnsupportedPublicId(id), 1))
}

/// One token of the body, with tags resolved and attributes and PIs already skipped.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Token<'a> {
    SwitchPage(u8),
    End,
    /// A text token: STR_I, STR_T, ENTITY or OPAQUE.
    Text {
        opaque: bool,
    },
    Pi,
    Start {
        name: Name<'a>,
        content: bool,
    },
}

/// Decodes the token at `pos`; returns it and the position after it.
///
/// Tags without attributes and END, which make up most of a message, are decoded here;
/// the rest in [`next_token`].
#[inline(always)]
fn token_at<'a>(
    doc: &'a [u8],
    strtbl: &'a [u8],
    pos: usize,
    page: u8,
) -> Result<(Token<'a>, usize), DecodeError> {
    match doc.get(pos) {
        // Bit 7 clear (no attributes) and a token id above the global ones.
        Some(&byte) if byte & global::HAS_ATTRS == 0 && byte & 0x3F >= 5 => {
            match Tag::from_token(page, byte & 0x3F) {
                Some(tag) => Ok((
                    Token::Start {
                        name: Name::Tag(tag),
                        content: byte & global::HAS_CONTENT != 0,
                    },
                    pos + 1,
                )),
                None => next_token(doc, strtbl, pos, page),
            }
        }
        Some(&global::END) => Ok((Token::End, pos + 1)),
        _ => next_token(doc, strtbl, pos, page),
    }
}

/// Decodes the token at `pos`; returns it and the position after it.
pub(crate) fn next_token<'a>(
    doc: &'a [u8],
    strtbl: &'a [u8],
    pos: usize,
    page: u8,
) -> Result<(Token<'a>, usize), DecodeError> {
    let token = *doc.get(pos).ok_or(err(K::Truncated, pos))?;
    let after = pos + 1;
    Ok(match token {
        global::SWITCH_PAGE => {
            let page = *doc.get(after).ok_or(err(K::Truncated, after))?;
            (Token::SwitchPage(page), after + 1)
        }
        global::END => (Token::End, after),
        global::STR_I => {
            let rest = doc.get(after..).unwrap_or(&[]);
            let len = memchr::memchr(0, rest).ok_or(err(K::Truncated, doc.len()))?;
            (Token::Text { opaque: false }, after + len + 1)
        }
        global::STR_T => {
            let (index, n) = mb(doc, after)?;
            if table_string(strtbl, index).is_none() {
                return Err(err(K::StringTableIndex(index), after));
            }
            (Token::Text { opaque: false }, after + n)
        }
        global::ENTITY => {
            let (code, n) = mb(doc, after)?;
            if char::from_u32(code).is_none() {
                return Err(err(K::InvalidReference, after));
            }
            (Token::Text { opaque: false }, after + n)
        }
        global::OPAQUE => {
            let (len, n) = mb(doc, after)?;
            let end = (after + n)
                .checked_add(len as usize)
                .ok_or(err(K::Truncated, after))?;
            if end > doc.len() {
                return Err(err(K::Truncated, doc.len()));
            }
            (Token::Text { opaque: true }, end)
        }
        global::PI => (Token::Pi, skip_attributes(doc, strtbl, after)?),
        global::LITERAL | global::LITERAL_A | global::LITERAL_C | global::LITERAL_AC => {
            let (index, n) = mb(doc, after)?;
            let name = table_string(strtbl, index).ok_or(err(K::StringTableIndex(index), after))?;
            let local = local_name(name);
            if !is_xml_name(name) || !is_xml_name(local) {
                return Err(err(
                    K::Syntax("literal element name is not an XML name"),
                    after,
                ));
            }
            let mut next = after + n;
            if token & global::HAS_ATTRS != 0 {
                next = skip_attributes(doc, strtbl, next)?;
            }
            let content = token & global::HAS_CONTENT != 0;
            (
                Token::Start {
                    name: Name::Local(local),
                    content,
                },
                next,
            )
        }
        global::EXT_I_0
        | global::EXT_I_1
        | global::EXT_I_2
        | global::EXT_T_0
        | global::EXT_T_1
        | global::EXT_T_2
        | global::EXT_0
        | global::EXT_1
        | global::EXT_2 => {
            return Err(err(K::UnsupportedToken(token), pos));
        }
        _ => {
            let id = token & 0x3F;
            let tag =
                Tag::from_token(page, id).ok_or(err(K::UnknownTag { page, token: id }, pos))?;
            let mut next = after;
            if token & global::HAS_ATTRS != 0 {
                next = skip_attributes(doc, strtbl, next)?;
            }
            let content = token & global::HAS_CONTENT != 0;
            (
                Token::Start {
                    name: Name::Tag(tag),
                    content,
                },
                next,
            )
        }
    })
}

/// The validating pass over the whole body: afterwards the cursor can trust the structure.
/// Returns the position of the root element.
pub(crate) fn validate<'a>(
    doc: &'a [u8],
    header: &Header<'a>,
    limits: &Limits,
) -> Result<Cursor<'a>, DecodeError> {
    let strtbl = header.strtbl;
    let mut pos = header.body;
    let mut page = 0u8;
    let mut depth: u32 = 0;
    let mut elements: u32 = 0;
    let mut root = None;
    let mut closed = false;
    while pos < doc.len() {
        let (token, next) = token_at(doc, strtbl, pos, page)?;
        match token {
            Token::SwitchPage(p) => page = p,
            Token::Pi => {}
            Token::End => {
                depth = depth
                    .checked_sub(1)
                    .ok_or(err(K::Syntax("END without an open element"), pos))?;
                closed = depth == 0;
            }
            Token::Text { opaque } => {
                if depth == 0 {
                    return Err(err(K::UnexpectedText, pos));
                }
                if !opaque && doc.get(pos) == Some(&global::STR_I) {
                    let s = doc.get(pos + 1..next - 1).unwrap_or(&[]);
                    if !is_utf8(s) {
                        return Err(err(K::InvalidUtf8, pos + 1));
                    }
                }
                if next - pos > limits.max_string_len as usize + 6 {
                    return Err(err(K::StringLimit, pos));
                }
            }
            Token::Start { content, .. } => {
                if closed || (depth == 0 && root.is_some()) {
                    return Err(err(K::Syntax("content after the root element"), pos));
                }
                root.get_or_insert((pos, page));
                elements += 1;
                if elements > limits.max_elements {
                    return Err(err(K::ElementLimit, pos));
                }
                if depth >= u32::from(limits.max_depth).min(XML_DEPTH as u32) {
                    return Err(err(K::DepthLimit, pos));
                }
                if content {
                    depth += 1;
                } else if depth == 0 {
                    closed = true;
                }
            }
        }
        pos = next;
    }
    match root {
        Some((at, page)) if depth == 0 => Ok(Cursor {
            doc,
            strtbl,
            pos: at,
            page,
        }),
        Some(_) => Err(err(K::Truncated, doc.len())),
        None => Err(err(K::NotSyncMl, header.body)),
    }
}

/// A position inside a validated WBXML body, with the tag code page in force there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a> {
    doc: &'a [u8],
    strtbl: &'a [u8],
    pos: usize,
    page: u8,
}

/// A text token: the position after it, its bytes when they can be borrowed as they are
/// (STR_I, STR_T, OPAQUE; not ENTITY), and whether it is OPAQUE.
type TextToken<'a> = (usize, Option<&'a [u8]>, bool);

impl<'a> Cursor<'a> {
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    /// The next child element, text run or the end of the current element (consumed).
    ///
    /// A tag without attributes or END, most of what the decoders step through, is read
    /// here, inline in the caller; anything else in [`Cursor::next_other`], whose larger
    /// frame is then only paid for when needed.
    #[inline(always)]
    pub(crate) fn next_content(&mut self, trim: bool) -> Result<Content<'a>, DecodeError> {
        let start = self.pos;
        match self.doc.get(start) {
            Some(&byte) if byte & global::HAS_ATTRS == 0 && byte & 0x3F >= 5 => {
                if let Some(tag) = Tag::from_token(self.page, byte & 0x3F) {
                    self.pos = start + 1;
                    return Ok(Content::Start {
                        name: Name::Tag(tag),
                        xmlns: None,
                        empty: byte & global::HAS_CONTENT == 0,
                        offset: start,
                    });
                }
            }
            Some(&global::END) => {
                self.pos = start + 1;
                return Ok(Content::End);
            }
            _ => {}
        }
        self.next_other(trim)
    }

    #[inline(never)]
    fn next_other(&mut self, trim: bool) -> Result<Content<'a>, DecodeError> {
        loop {
            let start = self.pos;
            if is_text_token(self.doc.get(start)) {
                let (text, opaque) = self.text_run(trim)?;
                return Ok(Content::Text { text, opaque });
            }
            let (token, next) = token_at(self.doc, self.strtbl, start, self.page)?;
            self.pos = next;
            match token {
                Token::SwitchPage(p) => self.page = p,
                Token::Pi | Token::Text { .. } => {}
                Token::End => return Ok(Content::End),
                Token::Start { name, content } => {
                    return Ok(Content::Start {
                        name,
                        xmlns: None,
                        empty: !content,
                        offset: start,
                    });
                }
            }
        }
    }

    /// The text token at `pos`, or `None` when `pos` holds another token.
    fn text_token(&self, pos: usize) -> Result<Option<TextToken<'a>>, DecodeError> {
        let doc = self.doc;
        let after = pos + 1;
        let truncated = || err(K::Truncated, doc.len());
        Ok(Some(match doc.get(pos) {
            Some(&global::STR_I) => {
                let rest = doc.get(after..).unwrap_or(&[]);
                let len = memchr::memchr(0, rest).ok_or_else(truncated)?;
                (after + len + 1, rest.get(..len), false)
            }
            Some(&global::STR_T) => {
                let (index, n) = mb(doc, after)?;
                (after + n, table_string(self.strtbl, index), false)
            }
            Some(&global::ENTITY) => (after + mb(doc, after)?.1, None, false),
            Some(&global::OPAQUE) => {
                let (len, n) = mb(doc, after)?;
                let start = after + n;
                let end = start.checked_add(len as usize).ok_or_else(truncated)?;
                (end, Some(doc.get(start..end).ok_or_else(truncated)?), true)
            }
            _ => return Ok(None),
        }))
    }

    /// Reads the run of text tokens (and the page switches and processing instructions
    /// among them) at the cursor. Each token is read once: a run of one token (nearly
    /// every run) becomes a plain borrowed slice.
    fn text_run(&mut self, trim: bool) -> Result<(Text<'a>, bool), DecodeError> {
        let start = self.pos;
        let mut end = start;
        let mut count = 0u32;
        let mut all_opaque = true;
        let mut single = None;
        loop {
            if let Some((next, bytes, opaque)) = self.text_token(self.pos)? {
                count = count.saturating_add(1);
                all_opaque &= opaque;
                single = bytes;
                self.pos = next;
                end = next;
            } else if self.doc.get(self.pos) == Some(&global::SWITCH_PAGE) {
                let page = self.doc.get(self.pos + 1);
                self.page = *page.ok_or(err(K::Truncated, self.doc.len()))?;
                self.pos += 2;
            } else if self.doc.get(self.pos) == Some(&global::PI) {
                // As in XML, a processing instruction inside character data is part of
                // the run, not a break in it: text around it is one text, in both readers.
                self.pos = skip_attributes(self.doc, self.strtbl, self.pos + 1)?;
            } else {
                break;
            }
        }
        // The run ends with its last text token: a page switch after it belongs to what
        // follows (the cursor has taken it into account).
        let text = match single {
            Some(bytes) if count == 1 && trim => Text::from_bytes(super::text::trim_ws(bytes)),
            Some(bytes) if count == 1 => Text::from_bytes(bytes),
            _ => Text::from_wbxml(self.doc.get(..end).unwrap_or(&[]), start, trim),
        };
        Ok((text, all_opaque))
    }

    /// Skips the rest of the current element, including its end.
    pub(crate) fn skip(&mut self) -> Result<(), DecodeError> {
        let mut depth = 1u32;
        while depth > 0 {
            let (token, next) = token_at(self.doc, self.strtbl, self.pos, self.page)?;
            match token {
                Token::SwitchPage(p) => self.page = p,
                Token::End => depth -= 1,
                Token::Start { content: true, .. } => depth += 1,
                _ => {}
            }
            self.pos = next;
        }
        Ok(())
    }
}

fn is_text_token(byte: Option<&u8>) -> bool {
    matches!(
        byte,
        Some(&(global::STR_I | global::STR_T | global::ENTITY | global::OPAQUE))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text at the start of `body`, in a document with the string table `strtbl`.
    fn text_at(body: &[u8], strtbl: &[u8], trim: bool) -> (std::string::String, Cursor<'static>) {
        let mut doc = std::vec![0x02, 0x01, 0x6A, strtbl.len() as u8];
        doc.extend_from_slice(strtbl);
        let start = doc.len();
        doc.extend_from_slice(body);
        let doc: &'static [u8] = std::vec::Vec::leak(doc);
        let header = parse_header(doc).unwrap();
        let mut c = Cursor {
            doc,
            strtbl: header.strtbl,
            pos: start,
            page: 0,
        };
        match c.next_content(trim).unwrap() {
            Content::Text { text, .. } => (std::format!("{text}"), c),
            _ => panic!("not text"),
        }
    }

    #[test]
    fn a_text_run_is_each_of_its_tokens_once() {
        use global::{END, ENTITY, OPAQUE, STR_I, STR_T, SWITCH_PAGE};
        // One token of each kind, alone: borrowed as it is.
        assert_eq!(text_at(&[STR_I, b' ', b'a', 0, END], b"", true).0, "a");
        assert_eq!(text_at(&[STR_T, 3, END], b"xy\0zw\0", false).0, "zw");
        assert_eq!(text_at(&[OPAQUE, 2, 0, b'q', END], b"", false).0, "\0q");
        // A page switch inside or after the run is not part of the text.
        let (text, mut c) = text_at(&[STR_I, b' ', b'a', 0, SWITCH_PAGE, 1, END], b"", true);
        assert_eq!(text, "a");
        assert!(matches!(c.next_content(true).unwrap(), Content::End));
        assert_eq!(c.page, 1);
        // Several tokens concatenate.
        let run = [STR_I, b'a', 0, ENTITY, 0x81, 0x69, STR_T, 0, END];
        assert_eq!(text_at(&run, b"b\0", false).0, "a\u{E9}b");
    }

    #[test]
    fn header_with_literal_public_id_lacking_its_nul() {
        let mut doc = std::vec![0x02, 0x00, 0x00, 0x6A, 29];
        doc.extend_from_slice(b"-//SYNCML//DTD SyncML 1.1//EN");
        doc.push(0x6D);
        let h = parse_header(&doc).unwrap();
        assert_eq!(
            h.public_id,
            PublicId::Literal(b"-//SYNCML//DTD SyncML 1.1//EN")
        );
        assert_eq!(h.body, doc.len() - 1);
    }

    #[test]
    fn header_refuses_other_documents() {
        assert_eq!(
            parse_header(&[0x05]).unwrap_err().kind(),
            K::UnsupportedVersion(5)
        );
        let other = parse_header(&[0x02, 0x0B, 0x6A, 0]).unwrap();
        assert_eq!(
            check_syncml(&other).unwrap_err().kind(),
            K::UnsupportedPublicId(0x0B)
        );
        assert_eq!(
            parse_header(&[0x02, 0xA4, 0x01, 0x04, 0])
                .unwrap_err()
                .kind(),
            K::UnsupportedCharset(4)
        );
        assert_eq!(
            parse_header(&[0x02, 0xA4, 0x01, 0x6A, 5, b'a'])
                .unwrap_err()
                .kind(),
            K::Truncated
        );
        assert_eq!(
            parse_header(&[0x02, 0xA4]).unwrap_err().kind(),
            K::Truncated
        );
    }
}

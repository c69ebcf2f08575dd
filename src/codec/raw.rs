//! WBXML read token by token, for diagnostics: no check against the SyncML DTD, so a
//! message that lacks a required element, or has one where the DTD puts none, still
//! reads to its end. Only the byte format is checked (what a token is, how long it is),
//! with the same reader the decoder uses; the decoder is what a session trusts.

use super::error::{DecodeError, DecodeErrorKind as K};
use super::text::local_name;
use super::tokens::{global, page_namespace};
use super::wbxml::{self, next_token, Header, Token};
use super::wbxml_bytes::{mb, skip_attributes, table_string};

/// One token of a WBXML body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawToken<'a> {
    /// An element starts. Attributes, which SyncML does not use, are skipped.
    Start {
        /// Its name: a tag of the code page in force, a literal's name from the string
        /// table, or `None` for a token the code page does not define.
        tag: Option<&'a str>,
        /// The code page in force.
        page: u8,
        /// The token, without its attribute and content bits (0 for a literal).
        token: u8,
        /// The namespace of the code page, for the page's tags.
        namespace: &'static str,
        /// Whether content and an [`End`](RawToken::End) follow.
        content: bool,
    },
    /// The element opened last with content ends.
    End,
    /// Inline or string-table text (`STR_I`, `STR_T`), as its bytes.
    Text(&'a [u8]),
    /// A character entity (`ENTITY`).
    Entity(char),
    /// Opaque data (`OPAQUE`): a nested document or binary value.
    Opaque(&'a [u8]),
    /// A processing instruction, skipped.
    Pi,
}

/// The tokens of a WBXML document's body, in order; see [`raw_tokens`].
#[derive(Debug, Clone)]
pub struct RawTokens<'a> {
    doc: &'a [u8],
    header: Header<'a>,
    pos: usize,
    page: u8,
    /// Elements open: the document ends only when none is.
    depth: u32,
    failed: bool,
}

/// Reads a WBXML document's header and returns its body's tokens. Any public id is
/// taken: the tokens are read with the SyncML code pages whatever it says.
pub fn raw_tokens(input: &[u8]) -> Result<RawTokens<'_>, DecodeError> {
    let header = wbxml::parse_header(input)?;
    Ok(RawTokens {
        doc: input,
        pos: header.body,
        header,
        page: 0,
        depth: 0,
        failed: false,
    })
}

impl<'a> RawTokens<'a> {
    /// The byte offset of the next token.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// The token at `pos` (`None` for a page switch, which changes the page in force),
    /// and where the next one starts.
    fn read(&mut self, pos: usize) -> Result<(Option<RawToken<'a>>, usize), DecodeError> {
        let (doc, strtbl, page) = (self.doc, self.header.strtbl, self.page);
        let kind = *doc.get(pos).ok_or(DecodeError::new(K::Truncated, pos))?;
        let (token, next) = match next_token(doc, strtbl, pos, page) {
            Ok(t) => t,
            // A token the code page does not define is named by its number.
            Err(e) if matches!(e.kind(), K::UnknownTag { .. }) => {
                let mut next = pos + 1;
                if kind & global::HAS_ATTRS != 0 {
                    next = skip_attributes(doc, strtbl, next)?;
                }
                let start = RawToken::Start {
                    tag: None,
                    page,
                    token: kind & 0x3F,
                    namespace: page_namespace(page),
                    content: kind & global::HAS_CONTENT != 0,
                };
                return Ok((Some(start), next));
            }
            Err(e) => return Err(e),
        };
        let raw = match token {
            Token::SwitchPage(page) => {
                self.page = page;
                return Ok((None, next));
            }
            Token::Pi => RawToken::Pi,
            Token::End => RawToken::End,
            Token::Start { name, content } => {
                let (tag, number) = match name {
                    super::Name::Tag(t) => (Some(t.name()), t.token()),
                    super::Name::Local(n) => (core::str::from_utf8(local_name(n)).ok(), 0),
                };
                RawToken::Start {
                    tag,
                    page,
                    token: number,
                    namespace: page_namespace(page),
                    content,
                }
            }
            Token::Text { .. } => match kind {
                global::STR_I => RawToken::Text(doc.get(pos + 1..next - 1).unwrap_or(&[])),
                global::STR_T => {
                    let (index, _) = mb(doc, pos + 1)?;
                    RawToken::Text(table_string(strtbl, index).unwrap_or(&[]))
                }
                global::ENTITY => {
                    let (code, _) = mb(doc, pos + 1)?;
                    RawToken::Entity(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER))
                }
                _ => {
                    let (len, n) = mb(doc, pos + 1)?;
                    let start = pos + 1 + n;
                    RawToken::Opaque(doc.get(start..start + len as usize).unwrap_or(&[]))
                }
            },
        };
        Ok((Some(raw), next))
    }
}

impl<'a> Iterator for RawTokens<'a> {
    type Item = Result<RawToken<'a>, DecodeError>;

    /// The next token that is not a page switch; an error ends the tokens, and so does a
    /// document that ends inside an element.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed {
                return None;
            }
            if self.pos >= self.doc.len() {
                self.failed = true;
                return (self.depth > 0)
                    .then(|| Err(DecodeError::new(K::Truncated, self.doc.len())));
            }
            return match self.read(self.pos) {
                Ok((None, next)) => {
                    self.pos = next;
                    continue;
                }
                Ok((Some(token), next)) => {
                    match token {
                        RawToken::Start { content: true, .. } => self.depth += 1,
                        RawToken::End if self.depth == 0 => {
                            self.failed = true;
                            let e = K::Syntax("END without an open element");
                            return Some(Err(DecodeError::new(e, self.pos)));
                        }
                        RawToken::End => self.depth -= 1,
                        _ => {}
                    }
                    self.pos = next;
                    Some(Ok(token))
                }
                Err(e) => {
                    self.failed = true;
                    Some(Err(e))
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// SyncML 1.2, UTF-8, no string table: `<SyncML><SyncHdr><VerDTD>1.2</VerDTD>`, a
    /// `Format` on the MetInf page, an empty token SyncML does not define and one with an
    /// opaque value; no SyncBody, which the decoder requires.
    const DOC: &[u8] = &[
        0x02, 0xA4, 0x01, 0x6A, 0x00, // WBXML 1.2, SyncML 1.2, UTF-8, no string table
        0x6D, // SyncML
        0x6C, // SyncHdr
        0x71, 0x03, b'1', b'.', b'2', 0x00, 0x01, // VerDTD "1.2"
        0x00, 0x01, 0x47, 0x03, b'b', b'6', b'4', 0x00, 0x01, // MetInf page: Format "b64"
        0x00, 0x00, 0x3F, // back to SyncML: token 0x3F, undefined, empty
        0x01, // end of SyncHdr
        0x7E, 0xC3, 0x02, 0xAB, 0xCD, 0x01, // token 0x3E, undefined, with opaque content
        0x01, // end of SyncML
    ];

    #[test]
    fn a_message_the_decoder_refuses_reads_token_by_token() {
        assert!(crate::codec::parse_wbxml(DOC).is_err());
        let tokens: Vec<_> = raw_tokens(DOC).unwrap().collect::<Result<_, _>>().unwrap();
        assert!(matches!(
            tokens[0],
            RawToken::Start {
                tag: Some("SyncML"),
                content: true,
                ..
            }
        ));
        assert!(matches!(
            tokens[1],
            RawToken::Start {
                tag: Some("SyncHdr"),
                ..
            }
        ));
        assert!(matches!(
            tokens[2],
            RawToken::Start {
                tag: Some("VerDTD"),
                ..
            }
        ));
        assert_eq!(tokens[3], RawToken::Text(b"1.2"));
        assert_eq!(tokens[4], RawToken::End);
        assert!(matches!(
            tokens[5],
            RawToken::Start {
                tag: Some("Format"),
                page: 1,
                namespace: "syncml:metinf",
                ..
            }
        ));
        assert_eq!(tokens[6], RawToken::Text(b"b64"));
        let unknown = |token| RawToken::Start {
            tag: None,
            page: 0,
            token,
            namespace: "SYNCML:SYNCML1.2",
            content: token == 0x3E,
        };
        assert_eq!(tokens[8], unknown(0x3F));
        assert_eq!(tokens[9], RawToken::End);
        assert_eq!(tokens[10], unknown(0x3E));
        assert_eq!(tokens[11], RawToken::Opaque(&[0xAB, 0xCD]));
        assert_eq!(tokens[12..], [RawToken::End, RawToken::End]);
    }

    #[test]
    fn a_cut_document_ends_with_an_error_at_its_end() {
        let cut = &DOC[..DOC.len() - 8];
        let last = raw_tokens(cut).unwrap().last().unwrap();
        assert_eq!(
            last.map_err(|e| (e.kind(), e.offset())),
            Err((K::Truncated, cut.len()))
        );
        // An END too many is refused where it stands.
        let mut extra = DOC.to_vec();
        extra.push(0x01);
        let last = raw_tokens(&extra).unwrap().last().unwrap();
        assert_eq!(last.map_err(|e| e.offset()), Err(DOC.len()));
    }
}

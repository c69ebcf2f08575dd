//! SyncML DM messages in XML and WBXML, both directions.
//!
//! [`parse`] (or `parse_xml` / [`parse_wbxml`]) validates a whole message once and returns
//! a [`Message`] that borrows from the input: nothing is copied and nothing is allocated.
//! [`Message::encode`] writes a message into the caller's buffer in either encoding and
//! [`Message::encoded_len`] gives the exact size without writing, so a session can plan a
//! message within the peer's MaxMsgSize.
//!
//! XML is the `xml` feature's: a build without it reads and writes WBXML only, and answers
//! an XML message, or a request to write one, with
//! [`DecodeErrorKind::EncodingLeftOut`] or [`EncodeError::EncodingLeftOut`].
//!
//! Guarantees: no input makes the decoder panic, recurse without bound or read out of
//! bounds; every failure is a [`DecodeError`] naming the byte offset. Limits on nesting,
//! element count and string length are set with [`Limits`].
//!
//! This module knows nothing of trees or sessions.
//!
//! ```
//! use iotadm::codec::{self, Encoding};
//!
//! let xml = br#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>
//! <VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>
//! <Target><LocURI>IMEI:1</LocURI></Target><Source><LocURI>srv</LocURI></Source></SyncHdr>
//! <SyncBody><Get><CmdID>2</CmdID><Item><Target><LocURI>./DevInfo/Mod</LocURI></Target>
//! </Item></Get><Final/></SyncBody></SyncML>"#;
//! let msg = codec::parse(xml)?;
//! let get = msg.body.commands.first().unwrap();
//! assert_eq!(get.name(), "Get");
//!
//! // The same message in WBXML, then back: the model is unchanged.
//! let mut buf = [0u8; 256];
//! let n = msg.encode(Encoding::Wbxml, &mut buf)?;
//! assert_eq!(n, msg.encoded_len(Encoding::Wbxml)?);
//! assert_eq!(codec::parse(&buf[..n])?, msg);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod b64;
mod decode;
mod encode;
mod encoding;
mod error;
mod model;
mod raw;
mod text;
mod tokens;
pub(crate) mod wbxml;
mod wbxml_bytes;
#[cfg(feature = "xml")]
mod xml;

pub use b64::B64Error;
pub use encode::{EncodeOptions, Fill, ItemSource, Mark, MessageWriter};
pub use encoding::Encoding;
pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use model::{
    Alert, Chal, Command, Container, Cred, Data, Embedded, EmbeddedEvents, Exec, Item, ItemCommand,
    List, ListIter, Location, Message, MetInf, Meta, Results, Status, Sync, SyncBody, SyncHdr,
    XmlEvent,
};
pub use raw::{raw_tokens, RawToken, RawTokens};
pub use text::{Bytes, Chunk, Chunks, Text};
pub use tokens::{Tag, DDF_NAMESPACE, METINF_NAMESPACE, SYNCML_NAMESPACE};

use error::DecodeErrorKind as K;

/// Bounds on what a decoder accepts, so a hostile message cannot exhaust time or stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Deepest element nesting; capped at 64 whatever the setting. Atomic, Sequence and
    /// Sync may moreover nest at most 8 deep inside one another.
    pub max_depth: u16,
    /// Most elements in one message.
    pub max_elements: u32,
    /// Longest single string (a text token or run of character data), in bytes.
    pub max_string_len: u32,
    /// Read a bare `&` that does not start a reference as itself, as handsets do with
    /// server messages that forget to escape it, instead of refusing the message.
    pub lenient: bool,
}

impl Limits {
    /// Defaults that accept any real SyncML DM message, TNDS included.
    pub const DEFAULT: Limits = Limits {
        max_depth: 32,
        max_elements: 1 << 20,
        max_string_len: 16 << 20,
        lenient: true,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Decodes a message in either encoding: WBXML when the first byte is a WBXML version
/// (0x01-0x03), XML otherwise (without the `xml` feature, an XML message is refused with
/// [`DecodeErrorKind::EncodingLeftOut`]).
pub fn parse(input: &[u8]) -> Result<Message<'_>, DecodeError> {
    parse_with(input, &Limits::DEFAULT)
}

/// [`parse`] with explicit limits.
pub fn parse_with<'a>(input: &'a [u8], limits: &Limits) -> Result<Message<'a>, DecodeError> {
    match detect(input) {
        Some(Encoding::Wbxml) => parse_wbxml_with(input, limits),
        #[cfg(feature = "xml")]
        _ => parse_xml_with(input, limits),
        #[cfg(not(feature = "xml"))]
        Some(Encoding::Xml) => Err(DecodeError::new(K::EncodingLeftOut(Encoding::Xml), 0)),
        // Empty input: the WBXML reader says it is cut short.
        #[cfg(not(feature = "xml"))]
        None => parse_wbxml_with(input, limits),
    }
}

/// The encoding a message appears to be in, from its first byte.
pub fn detect(input: &[u8]) -> Option<Encoding> {
    match input.first()? {
        0x01..=0x03 => Some(Encoding::Wbxml),
        _ => Some(Encoding::Xml),
    }
}

/// Decodes an XML message.
#[cfg(feature = "xml")]
pub fn parse_xml(input: &[u8]) -> Result<Message<'_>, DecodeError> {
    parse_xml_with(input, &Limits::DEFAULT)
}

/// Decodes an XML message with explicit limits.
#[cfg(feature = "xml")]
pub fn parse_xml_with<'a>(input: &'a [u8], limits: &Limits) -> Result<Message<'a>, DecodeError> {
    if input.len() > u32::MAX as usize {
        return Err(DecodeError::new(K::StringLimit, 0));
    }
    #[cfg(any(feature = "defmt", feature = "log"))]
    return logged(decode_xml(input, limits));
    #[cfg(not(any(feature = "defmt", feature = "log")))]
    return decode_xml(input, limits);
}

#[cfg(feature = "xml")]
fn decode_xml<'a>(input: &'a [u8], limits: &Limits) -> Result<Message<'a>, DecodeError> {
    let root = xml::validate(input, limits)?;
    decode::message(Cursor::Xml(xml::Cursor::new(input, root)))
}

/// Decodes a WBXML message.
pub fn parse_wbxml(input: &[u8]) -> Result<Message<'_>, DecodeError> {
    parse_wbxml_with(input, &Limits::DEFAULT)
}

/// Decodes a WBXML message with explicit limits.
pub fn parse_wbxml_with<'a>(input: &'a [u8], limits: &Limits) -> Result<Message<'a>, DecodeError> {
    if input.len() > u32::MAX as usize {
        return Err(DecodeError::new(K::StringLimit, 0));
    }
    #[cfg(any(feature = "defmt", feature = "log"))]
    return logged(decode_wbxml(input, limits));
    #[cfg(not(any(feature = "defmt", feature = "log")))]
    return decode_wbxml(input, limits);
}

fn decode_wbxml<'a>(input: &'a [u8], limits: &Limits) -> Result<Message<'a>, DecodeError> {
    let header = wbxml::parse_header(input)?;
    wbxml::check_syncml(&header)?;
    let root = wbxml::validate(input, &header, limits)?;
    decode::message(Cursor::Wbxml(root))
}

/// A decoding's result, logged at debug level when it failed (the session says at its
/// own level what it does about it). Only with a logging feature: passing the result
/// through costs a copy of the message, which a build without logging does not make.
#[cfg(any(feature = "defmt", feature = "log"))]
fn logged<T>(result: Result<T, DecodeError>) -> Result<T, DecodeError> {
    if let Err(e) = &result {
        debug!(
            "codec: decode failed at byte {}: {:?}",
            e.offset(),
            e.kind()
        );
    }
    result
}

/// What the header of a WBXML message says, for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WbxmlInfo<'a> {
    /// Version byte: 0x01, 0x02 or 0x03 for WBXML 1.1, 1.2, 1.3.
    pub version: u8,
    /// Numeric public id (0x1201 for SyncML 1.2), or 0 when it is a string.
    pub public_id: u32,
    /// The public id when the document gives it as a string.
    pub literal_public_id: Option<&'a str>,
    /// Length of the string table in bytes.
    pub string_table_len: usize,
}

/// Reads the header of a WBXML message.
pub fn wbxml_info(input: &[u8]) -> Result<WbxmlInfo<'_>, DecodeError> {
    let header = wbxml::parse_header(input)?;
    let (public_id, literal_public_id) = match header.public_id {
        wbxml::PublicId::Numeric(id) => (id, None),
        wbxml::PublicId::Literal(fpi) => (0, core::str::from_utf8(fpi).ok()),
    };
    Ok(WbxmlInfo {
        version: header.version,
        public_id,
        literal_public_id,
        string_table_len: header.strtbl.len(),
    })
}

/// The name of an element as the decoder met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Name<'a> {
    /// A WBXML token (its code page says which vocabulary).
    Tag(Tag),
    /// An XML local name, or a WBXML literal.
    Local(&'a [u8]),
}

impl<'a> Name<'a> {
    /// The tag this name stands for in the vocabulary of `page`.
    pub(crate) fn resolve(self, page: u8) -> Option<Tag> {
        match self {
            Name::Tag(tag) => (tag.page() == page).then_some(tag),
            Name::Local(name) => Tag::from_name(page, name),
        }
    }

    /// The name as text.
    pub(crate) fn as_str(self) -> &'a str {
        match self {
            Name::Tag(tag) => tag.name(),
            // Validated input is UTF-8 throughout.
            Name::Local(name) => core::str::from_utf8(name).unwrap_or(""),
        }
    }
}

/// What a cursor finds next inside an element.
pub(crate) enum Content<'a> {
    Start {
        name: Name<'a>,
        /// A default namespace declared on the element (XML only; in WBXML the tag's code
        /// page says it).
        xmlns: Option<&'a [u8]>,
        empty: bool,
        offset: usize,
    },
    Text {
        text: Text<'a>,
        opaque: bool,
    },
    End,
}

/// A position in a validated message, in either encoding.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cursor<'a> {
    #[cfg(feature = "xml")]
    Xml(xml::Cursor<'a>),
    Wbxml(wbxml::Cursor<'a>),
}

impl<'a> Cursor<'a> {
    pub(crate) fn offset(&self) -> usize {
        match self {
            #[cfg(feature = "xml")]
            Cursor::Xml(c) => c.offset(),
            Cursor::Wbxml(c) => c.offset(),
        }
    }

    /// The next child element, text run or end of the current element.
    pub(crate) fn next_content(&mut self, trim: bool) -> Result<Content<'a>, DecodeError> {
        match self {
            #[cfg(feature = "xml")]
            Cursor::Xml(c) => c.next_content(trim),
            Cursor::Wbxml(c) => c.next_content(trim),
        }
    }

    /// Skips the rest of an element whose start was just read.
    pub(crate) fn skip_element(&mut self, empty: bool) -> Result<(), DecodeError> {
        if empty {
            return Ok(());
        }
        match self {
            #[cfg(feature = "xml")]
            Cursor::Xml(c) => c.skip(),
            Cursor::Wbxml(c) => c.skip(),
        }
    }

    /// Reads the content of a leaf element whose start was just read.
    pub(crate) fn leaf_text(&mut self, empty: bool, trim: bool) -> Result<Text<'a>, DecodeError> {
        if empty {
            return Ok(Text::empty());
        }
        let mut text = Text::empty();
        let mut seen = false;
        loop {
            let at = self.offset();
            match self.next_content(trim)? {
                Content::End => return Ok(text),
                Content::Text { text: t, .. } if !seen => {
                    text = t;
                    seen = true;
                }
                Content::Text { .. } => return Err(DecodeError::new(K::UnexpectedText, at)),
                Content::Start { offset, .. } => {
                    return Err(DecodeError::new(K::UnexpectedElement, offset))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WBXML message: SyncML 1.2, a header and an empty body.
    fn wbxml_message() -> [u8; 128] {
        let header = SyncHdr {
            ver_dtd: Text::new("1.2"),
            ver_proto: Text::new("DM/1.2"),
            session_id: Text::new("1"),
            msg_id: Text::new("1"),
            target: Location::new("IMEI:1"),
            source: Location::new("srv"),
            resp_uri: None,
            no_resp: false,
            cred: None,
            meta: None,
        };
        let mut buf = [0u8; 128];
        let options = EncodeOptions::new(Encoding::Wbxml);
        let writer = MessageWriter::new(&options, &header, &mut buf, 128).unwrap();
        let _ = writer.finish(true);
        buf
    }

    #[test]
    fn either_encoding_is_told_by_its_first_byte() {
        assert_eq!(detect(&wbxml_message()), Some(Encoding::Wbxml));
        assert_eq!(detect(b"<SyncML/>"), Some(Encoding::Xml));
        assert_eq!(detect(b""), None);
        assert!(parse(&wbxml_message()).is_ok());
    }

    /// Without XML, an XML message gets an answer that names its encoding, and input
    /// that is no message still gets the WBXML reader's.
    #[cfg(not(feature = "xml"))]
    #[test]
    fn an_xml_message_is_refused_by_a_build_without_xml() {
        let xml = b"<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr/><SyncBody/></SyncML>";
        let e = parse(xml).unwrap_err();
        assert_eq!(e.kind(), DecodeErrorKind::EncodingLeftOut(Encoding::Xml));
        assert_eq!(e.offset(), 0);
        assert_eq!(
            std::format!("{e}"),
            "XML messages are left out of this build at byte 0"
        );
        assert_eq!(
            parse_with(b" ", &Limits::DEFAULT).unwrap_err().kind(),
            DecodeErrorKind::EncodingLeftOut(Encoding::Xml)
        );
        assert_eq!(parse(b"").unwrap_err().kind(), DecodeErrorKind::Truncated);
    }
}

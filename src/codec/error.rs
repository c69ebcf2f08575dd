//! Decode and encode errors. A decode error names what went wrong and the byte offset in
//! the input where it was found, so a bad message can be diagnosed from a log line.

use core::fmt;

use super::encoding::Encoding;

/// Why a message could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended inside a token, an element or the header.
    Truncated,
    /// Text that is not valid UTF-8.
    InvalidUtf8,
    /// The input breaks the XML or WBXML syntax; the text says which rule.
    Syntax(&'static str),
    /// An XML end tag does not match the open element.
    MismatchedEndTag,
    /// An entity or character reference that is not defined or not a valid character.
    InvalidReference,
    /// The XML declaration names an encoding other than UTF-8.
    UnsupportedEncoding,
    /// The message is in an encoding this build leaves out: XML, in a build without the
    /// `xml` feature.
    EncodingLeftOut(Encoding),
    /// A WBXML version other than 1.1, 1.2 or 1.3.
    UnsupportedVersion(u8),
    /// A WBXML charset other than UTF-8 or US-ASCII.
    UnsupportedCharset(u32),
    /// A WBXML public identifier that is not a SyncML DTD.
    UnsupportedPublicId(u32),
    /// A WBXML token that SyncML DM never uses (extensions).
    UnsupportedToken(u8),
    /// A WBXML tag token that is not defined on its code page.
    UnknownTag {
        /// Code page in force.
        page: u8,
        /// The token, without attribute and content bits.
        token: u8,
    },
    /// A string-table reference outside the table.
    StringTableIndex(u32),
    /// The document is not a SyncML message (its root element is something else).
    NotSyncMl,
    /// An element that is not allowed where it appears.
    UnexpectedElement,
    /// Character data where only elements are allowed.
    UnexpectedText,
    /// A required element is absent; the text names it.
    MissingElement(&'static str),
    /// An element that may appear once appears again.
    DuplicateElement,
    /// Elements nest deeper than [`Limits::max_depth`](super::Limits::max_depth).
    DepthLimit,
    /// More elements than [`Limits::max_elements`](super::Limits::max_elements).
    ElementLimit,
    /// A string longer than [`Limits::max_string_len`](super::Limits::max_string_len).
    StringLimit,
}

/// A message could not be decoded: what went wrong and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DecodeError {
    kind: DecodeErrorKind,
    offset: usize,
}

impl DecodeError {
    pub(crate) const fn new(kind: DecodeErrorKind, offset: usize) -> Self {
        DecodeError { kind, offset }
    }

    /// What went wrong.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// Byte offset in the input where the problem was found.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeErrorKind::Truncated => f.write_str("input ends too early"),
            DecodeErrorKind::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            DecodeErrorKind::Syntax(why) => write!(f, "syntax error: {why}"),
            DecodeErrorKind::MismatchedEndTag => {
                f.write_str("end tag does not match the open element")
            }
            DecodeErrorKind::InvalidReference => {
                f.write_str("undefined entity or invalid character reference")
            }
            DecodeErrorKind::UnsupportedEncoding => f.write_str("XML encoding other than UTF-8"),
            DecodeErrorKind::EncodingLeftOut(e) => {
                write!(f, "{} messages are left out of this build", e.name())
            }
            DecodeErrorKind::UnsupportedVersion(v) => {
                write!(f, "unsupported WBXML version 0x{v:02x}")
            }
            DecodeErrorKind::UnsupportedCharset(c) => write!(f, "unsupported WBXML charset {c}"),
            DecodeErrorKind::UnsupportedPublicId(id) => {
                write!(f, "public id 0x{id:x} is not SyncML")
            }
            DecodeErrorKind::UnsupportedToken(t) => write!(f, "unsupported WBXML token 0x{t:02x}"),
            DecodeErrorKind::UnknownTag { page, token } => {
                write!(f, "unknown tag 0x{token:02x} on code page {page}")
            }
            DecodeErrorKind::StringTableIndex(i) => {
                write!(f, "string table index {i} out of range")
            }
            DecodeErrorKind::NotSyncMl => f.write_str("not a SyncML message"),
            DecodeErrorKind::UnexpectedElement => f.write_str("element not allowed here"),
            DecodeErrorKind::UnexpectedText => f.write_str("character data not allowed here"),
            DecodeErrorKind::MissingElement(name) => write!(f, "missing required element {name}"),
            DecodeErrorKind::DuplicateElement => {
                f.write_str("element repeated where it may appear once")
            }
            DecodeErrorKind::DepthLimit => f.write_str("elements nest too deep"),
            DecodeErrorKind::ElementLimit => f.write_str("too many elements"),
            DecodeErrorKind::StringLimit => f.write_str("string too long"),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

impl core::error::Error for DecodeError {}

/// Why a message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is too small; `required` bytes would have been needed.
    BufferTooSmall {
        /// The size of the whole encoded message.
        required: usize,
    },
    /// A value the target encoding cannot carry: binary data in XML, or an embedded element
    /// with no WBXML token. The text says which.
    Unrepresentable(&'static str),
    /// The encoding asked for is left out of this build: XML, in a build without the
    /// `xml` feature.
    EncodingLeftOut(Encoding),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { required } => {
                write!(f, "output buffer too small: {required} bytes needed")
            }
            EncodeError::Unrepresentable(what) => write!(f, "cannot encode {what}"),
            EncodeError::EncodingLeftOut(e) => {
                write!(f, "cannot encode {}: left out of this build", e.name())
            }
        }
    }
}

impl core::error::Error for EncodeError {}

//! Zero-copy text. A [`Text`] borrows the message it was decoded from and resolves XML
//! entity and character references, CDATA sections, line-end normalisation and WBXML
//! string-table references as it is read, so nothing is copied or allocated until the
//! caller asks for bytes in a buffer of its own. XML character data, and the scanning
//! helpers only the XML reader and writer use, are the `xml` feature's.

use core::fmt;

use super::wbxml_bytes::{read_mb_u32, skip_attributes, string_table, table_string};
use crate::codec::tokens::global;

/// A run of character data (or, for opaque data, bytes) borrowed from a message.
///
/// Texts built by the caller for encoding wrap a plain slice. Texts decoded from XML may
/// hold references (`&amp;`, `&#233;`), CDATA sections and comments; texts decoded from
/// WBXML may be split over several string, string-table, entity and opaque tokens. Either
/// way [`chunks`](Text::chunks) and [`bytes`](Text::bytes) yield the decoded content and
/// [`len`](Text::len) is its exact length. The length of XML text that holds references is
/// worked out when asked for, by reading the text; every other length is known at once.
#[derive(Clone, Copy)]
pub struct Text<'a>(Repr<'a>);

#[derive(Clone, Copy)]
enum Repr<'a> {
    /// Bytes that need no decoding.
    Raw(&'a [u8]),
    /// XML character data with references, CDATA, comments or carriage returns. Its
    /// decoded length is not kept: working it out costs a read of the text, and the lazy
    /// model builds a text each time it is read, mostly to write it out, not to measure it.
    /// `trim` drops white space at the ends of the decoded content, which the raw span's
    /// own trimming cannot see when it comes from a reference, a CDATA section or the far
    /// side of a comment.
    #[cfg(feature = "xml")]
    Xml { raw: &'a [u8], trim: bool },
    /// Several WBXML text tokens (rare: a string and an entity, say): the run starts at
    /// `start` of `doc`, which is the document up to the run's end. The string table is
    /// found again from the document's header when the text is read; keeping it, and the
    /// trimmed window, here would nearly double the size of every `Text`, which the
    /// decoders copy into every field of the model.
    Wbxml {
        doc: &'a [u8],
        start: u32,
        trim: bool,
    },
}

impl<'a> Text<'a> {
    /// Text from a string, for building messages.
    pub const fn new(s: &'a str) -> Self {
        Text(Repr::Raw(s.as_bytes()))
    }

    /// Text (or opaque data) from bytes, for building messages.
    pub const fn from_bytes(b: &'a [u8]) -> Self {
        Text(Repr::Raw(b))
    }

    /// The empty text.
    pub const fn empty() -> Self {
        Text(Repr::Raw(&[]))
    }

    /// Wraps XML character data (`raw` is the exact span between two tags), choosing the
    /// cheapest representation and trimming XML white space when `trim` is set.
    #[cfg(feature = "xml")]
    pub(crate) fn from_xml(raw: &'a [u8], trim: bool) -> Self {
        let raw = if trim { trim_ws(raw) } else { raw };
        if memchr::memchr3(b'&', b'<', b'\r', raw).is_none() {
            return Text(Repr::Raw(raw));
        }
        // Past the raw trim, decoded content can only start or end with white space where
        // the span starts with markup or a reference, or ends with one: only then is the
        // window worth its extra read of the text.
        let trim = trim
            && (matches!(raw.first(), Some(b'&' | b'<'))
                || matches!(raw.last(), Some(b';' | b'>')));
        Text(Repr::Xml { raw, trim })
    }

    /// Wraps a validated run of WBXML text tokens: `doc` is a document up to the end of
    /// the run, which starts at `start`.
    pub(crate) fn from_wbxml(doc: &'a [u8], start: usize, trim: bool) -> Self {
        Text(Repr::Wbxml {
            doc,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            trim,
        })
    }

    /// Length of the decoded content in bytes.
    pub fn len(&self) -> usize {
        match self.0 {
            Repr::Raw(b) => b.len(),
            _ => self.chunks().map(|c| c.as_bytes().len()).sum(),
        }
    }

    /// Whether the decoded content is empty.
    pub fn is_empty(&self) -> bool {
        match self.0 {
            Repr::Raw(b) => b.is_empty(),
            // Pieces are never empty: no piece means no content.
            _ => self.chunks().next().is_none(),
        }
    }

    /// The content as one borrowed slice, when it needs no decoding (the common case).
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self.0 {
            Repr::Raw(b) => Some(b),
            _ => None,
        }
    }

    /// The content as one borrowed string, when it needs no decoding and is UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        self.as_bytes().and_then(|b| core::str::from_utf8(b).ok())
    }

    /// The decoded content, piece by piece.
    pub fn chunks(&self) -> Chunks<'a> {
        let (state, trim) = match self.0 {
            Repr::Raw(b) => (ChunkState::Raw(b), false),
            #[cfg(feature = "xml")]
            Repr::Xml { raw, trim } => (
                ChunkState::Xml {
                    raw,
                    pos: 0,
                    cdata: false,
                },
                trim,
            ),
            Repr::Wbxml { doc, start, trim } => (
                ChunkState::Wbxml {
                    run: doc.get(start as usize..).unwrap_or(&[]),
                    strtbl: string_table(doc).unwrap_or(&[]),
                    pos: 0,
                },
                trim,
            ),
        };
        let all = Chunks {
            state,
            window: None,
        };
        if trim {
            all.trimmed()
        } else {
            all
        }
    }

    /// The decoded content, byte by byte.
    pub fn bytes(&self) -> Bytes<'a> {
        Bytes {
            chunks: self.chunks(),
            current: Chunk::Borrowed(&[]),
            index: 0,
        }
    }

    /// Copies the decoded content into `buf` and returns the filled part, or `None` when
    /// `buf` is too short.
    pub fn copy_to<'b>(&self, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let mut at = 0;
        for chunk in self.chunks() {
            let bytes = chunk.as_bytes();
            let end = at + bytes.len();
            buf.get_mut(at..end)?.copy_from_slice(bytes);
            at = end;
        }
        buf.get(..at)
    }

    /// Copies the decoded content into `buf` as a string; `None` when `buf` is too short or
    /// the content is not UTF-8.
    pub fn to_str<'b>(&self, buf: &'b mut [u8]) -> Option<&'b str> {
        if let Some(s) = self.as_str() {
            let out = buf.get_mut(..s.len())?;
            out.copy_from_slice(s.as_bytes());
            return core::str::from_utf8(out).ok();
        }
        core::str::from_utf8(self.copy_to(buf)?).ok()
    }

    /// Whether the decoded content equals `other`.
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        if let Some(b) = self.as_bytes() {
            return b == other;
        }
        self.len() == other.len() && self.bytes().eq(other.iter().copied())
    }

    /// Whether the decoded content equals `other`, ignoring ASCII case.
    pub fn eq_ignore_ascii_case(&self, other: &str) -> bool {
        self.len() == other.len()
            && self
                .bytes()
                .zip(other.bytes())
                .all(|(a, b)| a.eq_ignore_ascii_case(&b))
    }

    /// The content as a decimal number (surrounding white space allowed), or `None`.
    pub fn parse_u64(&self) -> Option<u64> {
        let mut value: u64 = 0;
        let mut digits = 0;
        let mut trailing = false;
        for b in self.bytes() {
            match b {
                b'0'..=b'9' if !trailing => {
                    value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
                    digits += 1;
                }
                b if is_ws(b) => trailing = digits > 0,
                _ => return None,
            }
        }
        (digits > 0).then_some(value)
    }

    /// The content as a decimal `u32` (surrounding white space allowed), or `None`.
    pub fn parse_u32(&self) -> Option<u32> {
        self.parse_u64().and_then(|v| u32::try_from(v).ok())
    }

    /// For data read from WBXML: the bytes of its first token when that token is OPAQUE,
    /// and the rest of the data after it.
    pub(crate) fn first_opaque_token(&self) -> Option<(&'a [u8], Text<'a>)> {
        match self.0 {
            Repr::Raw(b) => Some((b, Text::empty())),
            Repr::Wbxml { doc, start, .. } => {
                let start = start as usize;
                if doc.get(start) != Some(&global::OPAQUE) {
                    return None;
                }
                let (len, n) = read_mb_u32(doc, start + 1)?;
                let from = start + 1 + n;
                let end = from.checked_add(len as usize)?;
                Some((doc.get(from..end)?, Text::from_wbxml(doc, end, false)))
            }
            #[cfg(feature = "xml")]
            Repr::Xml { .. } => None,
        }
    }

    /// The same text without leading and trailing XML white space.
    pub fn trim(&self) -> Text<'a> {
        match self.0 {
            Repr::Raw(b) => Text(Repr::Raw(trim_ws(b))),
            #[cfg(feature = "xml")]
            Repr::Xml { raw, .. } => Text::from_xml(raw, true),
            Repr::Wbxml { doc, start, .. } => Text::from_wbxml(doc, start as usize, true),
        }
    }
}

impl Default for Text<'_> {
    fn default() -> Self {
        Text::empty()
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Text::new(s)
    }
}

impl PartialEq for Text<'_> {
    fn eq(&self, other: &Text<'_>) -> bool {
        match (self.as_bytes(), other.as_bytes()) {
            (Some(a), Some(b)) => a == b,
            _ => self.len() == other.len() && self.bytes().eq(other.bytes()),
        }
    }
}

impl Eq for Text<'_> {}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        self.eq_bytes(other.as_bytes())
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.eq_bytes(other.as_bytes())
    }
}

impl fmt::Display for Text<'_> {
    /// Writes the content; bytes that are not UTF-8 appear as U+FFFD.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.chunks() {
            for piece in chunk.as_bytes().utf8_chunks() {
                f.write_str(piece.valid())?;
                if !piece.invalid().is_empty() {
                    f.write_str("\u{FFFD}")?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for chunk in self.chunks() {
            for piece in chunk.as_bytes().utf8_chunks() {
                write!(f, "{}", piece.valid().escape_debug())?;
                for b in piece.invalid() {
                    write!(f, "\\x{b:02x}")?;
                }
            }
        }
        f.write_str("\"")
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Text<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self.as_str() {
            Some(s) => defmt::write!(f, "{=str}", s),
            None => defmt::write!(f, "<{=usize} bytes>", self.len()),
        }
    }
}

/// One piece of decoded text: a borrowed run, or a character decoded from a reference.
#[derive(Debug, Clone, Copy)]
pub enum Chunk<'a> {
    /// A run borrowed from the message.
    Borrowed(&'a [u8]),
    /// A character from a reference, UTF-8 encoded; `len` bytes of `bytes` are used.
    Char {
        /// The UTF-8 bytes.
        bytes: [u8; 4],
        /// How many of them.
        len: u8,
    },
}

impl Chunk<'_> {
    /// The bytes of this piece.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Chunk::Borrowed(b) => b,
            Chunk::Char { bytes, len } => bytes.get(..usize::from(*len)).unwrap_or(&[]),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Chunk::Borrowed(b) => b.is_empty(),
            Chunk::Char { len, .. } => *len == 0,
        }
    }

    fn from_char(c: char) -> Self {
        let mut bytes = [0; 4];
        let len = c.encode_utf8(&mut bytes).len() as u8;
        Chunk::Char { bytes, len }
    }

    /// The piece without its first `n` bytes.
    fn skip(self, n: usize) -> Self {
        match self {
            Chunk::Borrowed(b) => Chunk::Borrowed(b.get(n..).unwrap_or(&[])),
            Chunk::Char { bytes, len } => {
                let len = usize::from(len);
                let drop = n.min(len);
                // By hand rather than `rotate_left`, which would link a general memmove.
                let mut kept = [0; 4];
                for (to, from) in kept.iter_mut().zip(bytes.iter().skip(drop)) {
                    *to = *from;
                }
                Chunk::Char {
                    bytes: kept,
                    len: (len - drop) as u8,
                }
            }
        }
    }

    /// The first `n` bytes of the piece.
    fn take(self, n: usize) -> Self {
        match self {
            Chunk::Borrowed(b) => Chunk::Borrowed(b.get(..n).unwrap_or(b)),
            Chunk::Char { bytes, len } => Chunk::Char {
                bytes,
                len: len.min(u8::try_from(n).unwrap_or(u8::MAX)),
            },
        }
    }
}

/// Iterator over the decoded pieces of a [`Text`].
#[derive(Clone)]
pub struct Chunks<'a> {
    state: ChunkState<'a>,
    /// The part of the decoded content a trimmed text keeps; `None` keeps all of it. Most
    /// texts keep all, and pay one test per piece for the window.
    window: Option<Window>,
}

/// What is left of a window on decoded content.
#[derive(Clone, Copy)]
struct Window {
    /// Bytes still to drop from the front.
    skip: usize,
    /// Bytes still to yield after them.
    left: usize,
}

#[derive(Clone)]
enum ChunkState<'a> {
    Raw(&'a [u8]),
    #[cfg(feature = "xml")]
    Xml {
        raw: &'a [u8],
        pos: usize,
        cdata: bool,
    },
    Wbxml {
        run: &'a [u8],
        strtbl: &'a [u8],
        pos: usize,
    },
    Done,
}

impl<'a> ChunkState<'a> {
    /// The next decoded piece, before the window is applied; it may be empty (a comment).
    fn next_piece(&mut self) -> Option<Chunk<'a>> {
        match self {
            ChunkState::Raw(b) => {
                let b = *b;
                *self = ChunkState::Done;
                Some(Chunk::Borrowed(b))
            }
            #[cfg(feature = "xml")]
            ChunkState::Xml { raw, pos, cdata } => {
                let rest = raw.get(*pos..).unwrap_or(&[]);
                if rest.is_empty() {
                    *self = ChunkState::Done;
                    return None;
                }
                let (chunk, used, now_cdata) = next_xml_piece(rest, *cdata);
                *pos += used;
                *cdata = now_cdata;
                Some(chunk.unwrap_or(Chunk::Borrowed(&[])))
            }
            ChunkState::Wbxml { run, strtbl, pos } => match next_wbxml_piece(run, strtbl, *pos) {
                Some((chunk, used)) => {
                    *pos += used;
                    Some(chunk)
                }
                None => {
                    *self = ChunkState::Done;
                    None
                }
            },
            ChunkState::Done => None,
        }
    }
}

impl<'a> Chunks<'a> {
    /// The same pieces without leading and trailing white space: one pass finds the window
    /// of the content between them.
    fn trimmed(self) -> Self {
        let mut total = 0usize;
        let mut first = None;
        let mut end = 0usize;
        for chunk in self.clone() {
            let bytes = chunk.as_bytes();
            if let Some(i) = bytes.iter().position(|&b| !is_ws(b)) {
                first.get_or_insert(total + i);
                end = total + bytes.iter().rposition(|&b| !is_ws(b)).unwrap_or(i) + 1;
            }
            total += bytes.len();
        }
        match first {
            Some(first) => Chunks {
                window: Some(Window {
                    skip: first,
                    left: end - first,
                }),
                ..self
            },
            None => Chunks {
                state: ChunkState::Done,
                ..self
            },
        }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Chunk<'a>;

    fn next(&mut self) -> Option<Chunk<'a>> {
        loop {
            let Some(w) = &mut self.window else {
                let chunk = self.state.next_piece()?;
                if chunk.is_empty() {
                    continue;
                }
                return Some(chunk);
            };
            if w.left == 0 {
                return None;
            }
            let mut chunk = self.state.next_piece()?;
            let n = chunk.as_bytes().len();
            if w.skip >= n {
                w.skip -= n;
                continue;
            }
            if w.skip > 0 {
                chunk = chunk.skip(w.skip);
                w.skip = 0;
            }
            if chunk.as_bytes().len() > w.left {
                chunk = chunk.take(w.left);
            }
            w.left -= chunk.as_bytes().len();
            return Some(chunk);
        }
    }
}

/// Decodes the next piece of XML character data. Returns the piece (if any), the number
/// of raw bytes consumed and whether a CDATA section is open afterwards.
#[cfg(feature = "xml")]
fn next_xml_piece(rest: &[u8], cdata: bool) -> (Option<Chunk<'_>>, usize, bool) {
    if cdata {
        let end = find(rest, b"]]>").unwrap_or(rest.len());
        let section = rest.get(..end).unwrap_or(rest);
        return match memchr::memchr(b'\r', section) {
            Some(0) => (Some(Chunk::Borrowed(b"\n")), crlf_len(rest), true),
            Some(k) => (rest.get(..k).map(Chunk::Borrowed), k, true),
            None => (
                (!section.is_empty()).then_some(Chunk::Borrowed(section)),
                end.saturating_add(3).min(rest.len()),
                false,
            ),
        };
    }
    match rest.first() {
        Some(b'&') => match parse_reference(rest) {
            Reference::Char(c, used) => (Some(Chunk::from_char(c)), used, false),
            // Only a lenient decode lets a bare `&` through; it stands for itself.
            _ => (Some(Chunk::Borrowed(b"&")), 1, false),
        },
        Some(b'\r') => (Some(Chunk::Borrowed(b"\n")), crlf_len(rest), false),
        Some(b'<') => {
            if rest.starts_with(b"<![CDATA[") {
                (None, 9, true)
            } else if rest.starts_with(b"<!--") {
                let end = find(rest, b"-->").map_or(rest.len(), |e| e + 3);
                (None, end, false)
            } else if rest.starts_with(b"<?") {
                let end = find(rest, b"?>").map_or(rest.len(), |e| e + 2);
                (None, end, false)
            } else {
                (Some(Chunk::Borrowed(b"<")), 1, false)
            }
        }
        _ => {
            let end = memchr::memchr3(b'&', b'<', b'\r', rest).unwrap_or(rest.len());
            (rest.get(..end).map(Chunk::Borrowed), end, false)
        }
    }
}

#[cfg(feature = "xml")]
fn crlf_len(rest: &[u8]) -> usize {
    if rest.starts_with(b"\r\n") {
        2
    } else {
        1
    }
}

/// Decodes the WBXML text token at `pos` of a validated run.
fn next_wbxml_piece<'a>(run: &'a [u8], strtbl: &'a [u8], pos: usize) -> Option<(Chunk<'a>, usize)> {
    let token = *run.get(pos)?;
    let after = pos + 1;
    match token {
        global::STR_I => {
            let rest = run.get(after..)?;
            let end = memchr::memchr(0, rest)?;
            Some((Chunk::Borrowed(rest.get(..end)?), end + 2))
        }
        global::STR_T => {
            let (index, n) = read_mb_u32(run, after)?;
            Some((Chunk::Borrowed(table_string(strtbl, index)?), n + 1))
        }
        global::ENTITY => {
            let (code, n) = read_mb_u32(run, after)?;
            Some((Chunk::from_char(char::from_u32(code)?), n + 1))
        }
        // A page switch or a processing instruction inside text adds nothing to it.
        global::SWITCH_PAGE => Some((Chunk::Borrowed(&[]), 2)),
        global::PI => {
            let end = skip_attributes(run, strtbl, after).ok()?;
            Some((Chunk::Borrowed(&[]), end - pos))
        }
        global::OPAQUE => {
            let (len, n) = read_mb_u32(run, after)?;
            let start = after + n;
            let bytes = run.get(start..start.checked_add(len as usize)?)?;
            Some((Chunk::Borrowed(bytes), 1 + n + len as usize))
        }
        _ => None,
    }
}

/// Iterator over the decoded bytes of a [`Text`].
#[derive(Clone)]
pub struct Bytes<'a> {
    chunks: Chunks<'a>,
    current: Chunk<'a>,
    index: usize,
}

impl Iterator for Bytes<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        loop {
            if let Some(&b) = self.current.as_bytes().get(self.index) {
                self.index += 1;
                return Some(b);
            }
            self.current = self.chunks.next()?;
            self.index = 0;
        }
    }
}

/// What follows a `&` in XML character data.
#[cfg(feature = "xml")]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reference {
    /// A valid reference to this character, `usize` bytes long including `&` and `;`.
    Char(char, usize),
    /// Shaped like a reference but undefined or not a valid XML character.
    Invalid,
    /// Not shaped like a reference at all (a bare `&`).
    Bare,
}

/// Parses the reference at the start of `s` (which starts with `&`).
#[cfg(feature = "xml")]
pub(crate) fn parse_reference(s: &[u8]) -> Reference {
    let body = s.get(1..).unwrap_or(&[]);
    let Some(semi) = body.iter().take(32).position(|&b| b == b';') else {
        return Reference::Bare;
    };
    let Some(name) = body.get(..semi) else {
        return Reference::Bare;
    };
    let used = semi + 2;
    let code = match name {
        b"lt" => Some(u32::from(b'<')),
        b"gt" => Some(u32::from(b'>')),
        b"amp" => Some(u32::from(b'&')),
        b"quot" => Some(u32::from(b'"')),
        b"apos" => Some(u32::from(b'\'')),
        [b'#', b'x', hex @ ..] if !hex.is_empty() => parse_radix(hex, 16),
        [b'#', dec @ ..] if !dec.is_empty() => parse_radix(dec, 10),
        _ if !name.is_empty() && name.iter().all(|&b| is_name_byte(b)) => None,
        _ => return Reference::Bare,
    };
    match code.and_then(char::from_u32).filter(|&c| is_xml_char(c)) {
        Some(c) => Reference::Char(c, used),
        None => Reference::Invalid,
    }
}

#[cfg(feature = "xml")]
fn parse_radix(digits: &[u8], radix: u32) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, &b| {
        let d = char::from(b).to_digit(radix)?;
        acc.checked_mul(radix)?.checked_add(d)
    })
}

/// Whether `c` may appear in an XML 1.0 document.
#[cfg(feature = "xml")]
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// Bytes allowed in an XML name (non-ASCII bytes are allowed wholesale).
pub(crate) fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.') || b >= 0x80
}

/// Whether `name` is an XML name: name bytes only, and not starting with a digit, `-` or
/// `.`. Element names in the model are always XML names (local parts included), so that
/// the XML encoder can write any element the decoders produce.
pub(crate) fn is_xml_name(name: &[u8]) -> bool {
    match name.first() {
        None => false,
        Some(first) if first.is_ascii_digit() || matches!(first, b'-' | b'.') => false,
        Some(_) => name.iter().all(|&b| is_name_byte(b)),
    }
}

/// XML white space.
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The local part of a qualified name. Both readers match elements by it: an XML tag and a
/// WBXML literal name (which may carry a prefix, `syncml:metinf`) read alike.
pub(crate) fn local_name(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b':') {
        Some(i) => name.get(i + 1..).unwrap_or(name),
        None => name,
    }
}

/// `s` without leading and trailing XML white space.
pub(crate) fn trim_ws(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ws(b)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or(&[])
}

/// Position of the first byte of `s` for which `special` holds.
///
/// Text is nearly all ordinary characters, so it is tested in blocks with a branch-free
/// test per byte (`special` should use `|`, not `||`) that the compiler turns into vector
/// compares; only a block that holds a special byte is searched byte by byte.
#[cfg(feature = "xml")]
#[inline(always)]
pub(crate) fn find_byte(s: &[u8], special: impl Fn(u8) -> bool) -> Option<usize> {
    const BLOCK: usize = 16;
    let mut blocks = s.chunks_exact(BLOCK);
    let mut base = 0;
    for block in &mut blocks {
        if block.iter().fold(false, |any, &b| any | special(b)) {
            return block.iter().position(|&b| special(b)).map(|i| base + i);
        }
        base += BLOCK;
    }
    blocks
        .remainder()
        .iter()
        .position(|&b| special(b))
        .map(|i| base + i)
}

/// Whether `s` is UTF-8, with a quick answer for ASCII (most strings of a message).
#[inline]
pub(crate) fn is_utf8(s: &[u8]) -> bool {
    s.is_ascii() || core::str::from_utf8(s).is_ok()
}

/// Position of `needle` in `hay`.
#[cfg(feature = "xml")]
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(i) = memchr::memchr(first, hay.get(from..)?) {
        let at = from + i;
        if hay.get(at..)?.starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn decoded(t: &Text<'_>) -> String {
        String::from_utf8(t.bytes().collect()).unwrap()
    }

    #[cfg(feature = "xml")]
    #[test]
    fn xml_references_cdata_comments_and_line_ends_decode() {
        let t = Text::from_xml(
            b"a &amp; b &lt;&#233;&#x20AC;<![CDATA[<x>&amp;\r\n]]>z<!-- c -->\r!",
            false,
        );
        assert_eq!(decoded(&t), "a & b <é€<x>&amp;\nz\n!");
        assert_eq!(t.len(), decoded(&t).len());
        assert!(t.as_bytes().is_none());
    }

    #[cfg(feature = "xml")]
    #[test]
    fn plain_xml_text_is_borrowed() {
        let t = Text::from_xml(b"  ./DevInfo/Mod \n", true);
        assert_eq!(t.as_str(), Some("./DevInfo/Mod"));
    }

    #[cfg(feature = "xml")]
    #[test]
    fn bare_ampersand_stands_for_itself() {
        let t = Text::from_xml(b"MAXDT=15&DR=1", false);
        assert_eq!(decoded(&t), "MAXDT=15&DR=1");
        assert_eq!(t.len(), 13);
    }

    #[cfg(feature = "xml")]
    #[test]
    fn references_are_classified() {
        assert_eq!(parse_reference(b"&amp;x"), Reference::Char('&', 5));
        assert_eq!(parse_reference(b"&#65;"), Reference::Char('A', 5));
        assert_eq!(parse_reference(b"&#x41;"), Reference::Char('A', 6));
        assert_eq!(parse_reference(b"&nbsp;"), Reference::Invalid);
        assert_eq!(parse_reference(b"&#0;"), Reference::Invalid);
        assert_eq!(parse_reference(b"&#xD800;"), Reference::Invalid);
        assert_eq!(parse_reference(b"&#99999999999;"), Reference::Invalid);
        assert_eq!(parse_reference(b"&DR=1"), Reference::Bare);
        assert_eq!(parse_reference(b"& b;"), Reference::Bare);
        assert_eq!(parse_reference(b"&"), Reference::Bare);
    }

    #[test]
    fn wbxml_runs_concatenate_and_trim() {
        // A header with the string table "cd\0", then the run: STR_I " ab", STR_T 0 ("cd"),
        // ENTITY 0xE9, OPAQUE "x ".
        let header = [0x02, 0x01, 0x6A, 3, b'c', b'd', 0];
        let run = [
            3, b' ', b'a', b'b', 0, 0x83, 0, 2, 0x81, 0x69, 0xC3, 2, b'x', b' ',
        ];
        let doc = [&header[..], &run[..]].concat();
        let t = Text::from_wbxml(&doc, header.len(), false);
        assert_eq!(decoded(&t), " abcd\u{E9}x ");
        assert_eq!(t.len(), 9);
        let t = Text::from_wbxml(&doc, header.len(), true);
        assert_eq!(decoded(&t), "abcd\u{E9}x");
        assert_eq!(t.len(), 7);
        assert!(!t.is_empty());
        let mut buf = [0u8; 7];
        assert_eq!(t.to_str(&mut buf), Some("abcd\u{E9}x"));
        assert!(t.copy_to(&mut [0u8; 6]).is_none());
        // Only white space: empty once trimmed.
        let blank = [&header[..], &[3, b' ', 0, 3, b'\n', 0][..]].concat();
        assert!(Text::from_wbxml(&blank, header.len(), true).is_empty());
        assert_eq!(Text::from_wbxml(&blank, header.len(), false).len(), 2);
        // A Text is small: it is copied into every field of the model.
        assert!(core::mem::size_of::<Text<'_>>() <= 3 * core::mem::size_of::<usize>());
    }

    #[test]
    fn equality_compares_decoded_content() {
        #[cfg(feature = "xml")]
        {
            let a = Text::from_xml(b"x&amp;y", false);
            assert_eq!(a, Text::new("x&y"));
            assert_eq!(a, "x&y");
            assert_ne!(a, Text::new("x&amp;y"));
        }
        assert!(Text::new("SyncHdr").eq_ignore_ascii_case("synchdr"));
    }

    #[test]
    fn numbers_parse_with_white_space_and_refuse_garbage() {
        assert_eq!(Text::new(" 1226 ").parse_u32(), Some(1226));
        assert_eq!(Text::new("12 6").parse_u32(), None);
        assert_eq!(Text::new("").parse_u32(), None);
        assert_eq!(Text::new("99999999999").parse_u32(), None);
        assert_eq!(Text::new("-1").parse_u32(), None);
    }

    #[test]
    fn display_and_debug_show_the_content() {
        #[cfg(feature = "xml")]
        {
            let t = Text::from_xml(b"a&lt;b", false);
            assert_eq!(std::format!("{t}"), "a<b");
            assert_eq!(std::format!("{t:?}"), "\"a<b\"");
        }
        let bin = Text::from_bytes(&[0xff, b'a']);
        assert_eq!(std::format!("{bin:?}"), "\"\\xffa\"");
        let _: Vec<u8> = bin.bytes().collect();
    }
}

//! The encoder: one walk over the model writes XML or WBXML into the caller's buffer.
//!
//! Writing past the end of the buffer is not an error until the walk ends: the encoder
//! keeps counting, so a too-small buffer reports the exact size it needed, and
//! [`Message::encoded_len`] is the same walk over an empty buffer. Elements are written
//! in the order the SyncML DTD gives, whatever order they were decoded in. The XML side
//! (markup, escaping, indentation) is the `xml` feature's; without it the encoder writes
//! WBXML and refuses XML before it writes anything.

use super::decode::DDF_PUBLIC_ID;
use super::encoding::Encoding;
use super::error::EncodeError;
use super::model::{property, PROPERTIES, TNDS_WBXML, TNDS_XML};
use super::model::{
    Chal, Command, Cred, Data, Embedded, Item, List, ListIter, Location, Message, Meta, SyncHdr,
    XmlEvent,
};
#[cfg(feature = "xml")]
use super::text::find_byte;
use super::text::Text;
use super::tokens::{global, namespace_page, public_id, Tag, CHARSET_UTF8, PAGE_SYNCML};
#[cfg(feature = "xml")]
use super::tokens::{METINF_NAMESPACE, PAGE_METINF};
use crate::limits::EMBEDDED_DEPTH;

/// How to write a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EncodeOptions {
    /// XML or WBXML.
    pub encoding: Encoding,
    /// WBXML version byte: 0x01, 0x02 (the default: WBXML 1.2, which DM 1.2 uses) or 0x03.
    pub wbxml_version: u8,
    /// Start XML with `<?xml version="1.0" encoding="UTF-8"?>`.
    pub xml_declaration: bool,
    /// Indent XML, one element a line; for people, not for the air.
    pub indent: bool,
}

impl EncodeOptions {
    /// Compact output in `encoding`.
    pub const fn new(encoding: Encoding) -> Self {
        EncodeOptions {
            encoding,
            wbxml_version: 0x02,
            xml_declaration: true,
            indent: false,
        }
    }
}

/// Output that writes while the buffer lasts and counts always.
struct Out<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Out<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
        }
        self.len = end;
    }

    fn byte(&mut self, b: u8) {
        self.put(&[b]);
    }

    fn mb_u32(&mut self, v: u32) {
        let mut tmp = [0u8; 5];
        let mut i = tmp.len();
        let mut v = v;
        let mut last = true;
        loop {
            i -= 1;
            let cont = if last { 0 } else { 0x80 };
            if let Some(slot) = tmp.get_mut(i) {
                *slot = (v & 0x7F) as u8 | cont;
            }
            last = false;
            v >>= 7;
            if v == 0 || i == 0 {
                break;
            }
        }
        self.put(tmp.get(i..).unwrap_or(&[]));
    }
}

struct Encoder<'b> {
    out: Out<'b>,
    page: u8,
    /// WBXML, or XML; a build without XML writes WBXML only.
    #[cfg(feature = "xml")]
    wbxml: bool,
    /// Indent XML, `depth` levels at this point.
    #[cfg(feature = "xml")]
    indent: bool,
    #[cfg(feature = "xml")]
    depth: u16,
}

type Result<T = ()> = core::result::Result<T, EncodeError>;

impl<'b> Encoder<'b> {
    /// An encoder writing into `buf` in `options`' encoding; an encoding the build leaves
    /// out is refused here, before anything is written.
    fn new(buf: &'b mut [u8], options: &EncodeOptions) -> Result<Self> {
        let out = Out { buf, len: 0 };
        match options.encoding {
            Encoding::Wbxml => Ok(Encoder {
                out,
                page: PAGE_SYNCML,
                #[cfg(feature = "xml")]
                wbxml: true,
                #[cfg(feature = "xml")]
                indent: false,
                #[cfg(feature = "xml")]
                depth: 0,
            }),
            #[cfg(feature = "xml")]
            Encoding::Xml => Ok(Encoder {
                out,
                page: PAGE_SYNCML,
                wbxml: false,
                indent: options.indent,
                depth: 0,
            }),
            #[cfg(not(feature = "xml"))]
            Encoding::Xml => Err(EncodeError::EncodingLeftOut(Encoding::Xml)),
        }
    }

    /// Whether the output is WBXML.
    #[cfg(feature = "xml")]
    fn wbxml(&self) -> bool {
        self.wbxml
    }

    /// Whether the output is WBXML: the only encoding of a build without XML.
    #[cfg(not(feature = "xml"))]
    fn wbxml(&self) -> bool {
        true
    }
}

// The XML side of the encoder: each element writer below goes here first when the output
// is XML, and writes WBXML otherwise.
#[cfg(feature = "xml")]
impl Encoder<'_> {
    fn newline(&mut self) {
        if self.indent && self.out.len > 0 {
            self.out.byte(b'\n');
            for _ in 0..self.depth {
                self.out.put(b"  ");
            }
        }
    }

    fn xml_open(&mut self, name: &str, namespace: Option<&str>) {
        self.out.byte(b'<');
        self.out.put(name.as_bytes());
        if let Some(ns) = namespace {
            self.out.put(b" xmlns=\"");
            self.out.put(ns.as_bytes());
            self.out.byte(b'"');
        }
    }

    fn xml_close(&mut self, name: &str) {
        self.out.put(b"</");
        self.out.put(name.as_bytes());
        self.out.byte(b'>');
    }

    fn namespace_of(tag: Tag) -> Option<&'static str> {
        (tag.page() == PAGE_METINF).then_some(METINF_NAMESPACE)
    }

    /// Escaped XML character data.
    fn xml_text(&mut self, text: &Text<'_>) -> Result {
        for chunk in text.chunks() {
            let bytes = chunk.as_bytes();
            if core::str::from_utf8(bytes).is_err() {
                return Err(EncodeError::Unrepresentable(
                    "binary data in XML (send it as b64)",
                ));
            }
            let mut from = 0;
            // Jump from one byte that may need escaping to the next, a block at a time.
            let special = |b: u8| (b < 0x20) | (b == b'&') | (b == b'<') | (b == b'>');
            while let Some(i) = find_byte(bytes.get(from..).unwrap_or(&[]), special) {
                let at = from + i;
                let escape: &[u8] = match bytes.get(at).copied().unwrap_or(0) {
                    b'&' => b"&amp;",
                    b'<' => b"&lt;",
                    b'>' => b"&gt;",
                    b'\r' => b"&#13;",
                    b'\t' | b'\n' => {
                        self.out.put(bytes.get(from..=at).unwrap_or(&[]));
                        from = at + 1;
                        continue;
                    }
                    _ => {
                        return Err(EncodeError::Unrepresentable(
                            "control character in XML text",
                        ))
                    }
                };
                self.out.put(bytes.get(from..at).unwrap_or(&[]));
                self.out.put(escape);
                from = at + 1;
            }
            self.out.put(bytes.get(from..).unwrap_or(&[]));
        }
        Ok(())
    }
}

impl Encoder<'_> {
    fn switch_page(&mut self, page: u8) {
        if self.page != page {
            self.out.put(&[global::SWITCH_PAGE, page]);
            self.page = page;
        }
    }

    /// Starts an element with content.
    fn start(&mut self, tag: Tag) {
        #[cfg(feature = "xml")]
        if !self.wbxml {
            self.newline();
            self.xml_open(tag.name(), Self::namespace_of(tag));
            self.out.byte(b'>');
            self.depth = self.depth.saturating_add(1);
            return;
        }
        self.switch_page(tag.page());
        self.out.byte(tag.token() | global::HAS_CONTENT);
    }

    fn end(&mut self, tag: Tag) {
        #[cfg(feature = "xml")]
        if !self.wbxml {
            self.depth = self.depth.saturating_sub(1);
            self.newline();
            self.xml_close(tag.name());
            return;
        }
        // In WBXML an end names no element.
        let _ = tag;
        self.out.byte(global::END);
    }

    /// An element without content.
    fn empty(&mut self, tag: Tag) {
        #[cfg(feature = "xml")]
        if !self.wbxml {
            self.newline();
            self.xml_open(tag.name(), Self::namespace_of(tag));
            self.out.put(b"/>");
            return;
        }
        self.switch_page(tag.page());
        self.out.byte(tag.token());
    }

    fn flag(&mut self, tag: Tag, on: bool) {
        if on {
            self.empty(tag);
        }
    }

    /// A leaf element holding text.
    fn leaf(&mut self, tag: Tag, text: &Text<'_>) -> Result {
        self.leaf_as(tag, text, false)
    }

    fn opt_leaf(&mut self, tag: Tag, text: Option<Text<'_>>) -> Result {
        match text {
            Some(t) => self.leaf(tag, &t),
            None => Ok(()),
        }
    }

    fn leaf_as(&mut self, tag: Tag, text: &Text<'_>, opaque: bool) -> Result {
        if text.is_empty() {
            self.empty(tag);
            return Ok(());
        }
        #[cfg(feature = "xml")]
        if !self.wbxml {
            self.newline();
            self.xml_open(tag.name(), Self::namespace_of(tag));
            self.out.byte(b'>');
            self.xml_text(text)?;
            self.xml_close(tag.name());
            return Ok(());
        }
        self.switch_page(tag.page());
        self.out.byte(tag.token() | global::HAS_CONTENT);
        self.wbxml_text(text, opaque);
        self.out.byte(global::END);
        Ok(())
    }

    /// Text as one STR_I, or as OPAQUE when asked for or when it holds what a STR_I
    /// cannot carry: a NUL, or bytes that are not UTF-8.
    fn wbxml_text(&mut self, text: &Text<'_>, opaque: bool) {
        if !opaque {
            // Written as STR_I while checking it can be one (no NUL, UTF-8), in one pass;
            // text that cannot (rare) rewinds the output and goes again as OPAQUE.
            let start = self.out.len;
            self.out.byte(global::STR_I);
            let mut string = true;
            for chunk in text.chunks() {
                let bytes = chunk.as_bytes();
                string &= memchr::memchr(0, bytes).is_none() && core::str::from_utf8(bytes).is_ok();
                self.out.put(bytes);
            }
            if string {
                self.out.byte(0);
                return;
            }
            self.out.len = start;
        }
        let mut bytes = text.bytes();
        let first = bytes.next();
        if let Some(version @ 0x01..=0x03) = first {
            // Opaque data that starts like a WBXML document could be read back as a
            // nested TNDS document; its first byte goes in a token of its own so that
            // opaque data always reads back as opaque data.
            self.out.put(&[global::OPAQUE, 1, version]);
        }
        let skip = usize::from(matches!(first, Some(0x01..=0x03)));
        self.out.byte(global::OPAQUE);
        self.out
            .mb_u32(u32::try_from(text.len() - skip).unwrap_or(u32::MAX));
        let mut skip = skip;
        for chunk in text.chunks() {
            let b = chunk.as_bytes();
            self.out.put(b.get(skip..).unwrap_or(&[]));
            skip = skip.saturating_sub(b.len());
        }
    }
}

impl Message<'_> {
    /// Encodes the message into `buf` and returns the length written.
    pub fn encode(
        &self,
        encoding: Encoding,
        buf: &mut [u8],
    ) -> core::result::Result<usize, EncodeError> {
        self.encode_with(&EncodeOptions::new(encoding), buf)
    }

    /// The exact length [`encode`](Message::encode) would write.
    pub fn encoded_len(&self, encoding: Encoding) -> core::result::Result<usize, EncodeError> {
        self.encoded_len_with(&EncodeOptions::new(encoding))
    }

    /// The exact length [`encode_with`](Message::encode_with) would write.
    pub fn encoded_len_with(
        &self,
        options: &EncodeOptions,
    ) -> core::result::Result<usize, EncodeError> {
        match self.encode_with(options, &mut []) {
            Ok(n) | Err(EncodeError::BufferTooSmall { required: n }) => Ok(n),
            Err(e) => Err(e),
        }
    }

    /// Encodes the message with explicit options.
    pub fn encode_with(
        &self,
        options: &EncodeOptions,
        buf: &mut [u8],
    ) -> core::result::Result<usize, EncodeError> {
        let capacity = buf.len();
        let mut w = MessageWriter::start(options, &self.header, buf)?;
        for cmd in self.body.commands {
            command(&mut w.e, &cmd)?;
        }
        let len = w.end(self.body.is_final);
        if len > capacity {
            return Err(EncodeError::BufferTooSmall { required: len });
        }
        Ok(len)
    }
}

/// Writes a message command by command into a buffer, keeping every message within a
/// size limit: a command that would not fit (with room left to close the message) is
/// taken back, and the caller sends it in the next message. This is how a session splits
/// a package over messages at the peer's MaxMsgSize.
pub struct MessageWriter<'b> {
    e: Encoder<'b>,
    limit: usize,
}

/// A place in a message being written ([`MessageWriter::mark`]), to take back what was
/// written after it ([`MessageWriter::rewind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    len: usize,
    page: u8,
    #[cfg(feature = "xml")]
    depth: u16,
}

/// Where the items of [`MessageWriter::push_items`] come from: one at a time, each built
/// only when the writer asks for it.
///
/// The writer is done with an item before it asks for the next, so an item may borrow
/// from the source (a URI read into a buffer the source owns, say) and the next one can
/// reuse the same bytes.
pub trait ItemSource {
    /// The next item, or `None` when there are no more. The writer asks again only after
    /// the last item went in: the first that does not fit ends the command.
    fn next_item(&mut self) -> Option<Item<'_>>;
}

impl<'a> ItemSource for ListIter<'a, Item<'a>> {
    fn next_item(&mut self) -> Option<Item<'_>> {
        self.next()
    }
}

/// How many of its items from an [`ItemSource`] a command needs for
/// [`MessageWriter::push_items`] to write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Fill {
    /// Every item the source has, or the command is not written: a command whose items
    /// mean something only together (a Status with the choices a user made).
    All,
    /// As many as fit, in order, but at least one: a listing the next message resumes.
    AtLeastOne,
}

/// [`MessageWriter::trailer`] for an encoder where it stands.
fn trailer_of(e: &Encoder<'_>) -> usize {
    #[cfg(feature = "xml")]
    if !e.wbxml {
        return if e.indent {
            // `<Final/>` two deep, `</SyncBody>` one deep, `</SyncML>`, each on a line of
            // its own, and the last line's end.
            28 + (1 + 4) + (1 + 2) + 1 + 1
        } else {
            28
        };
    }
    let switch = if e.page == PAGE_SYNCML { 0 } else { 2 };
    switch + 3
}

impl<'b> MessageWriter<'b> {
    /// Bytes the end of the message takes from where the writer stands: `Final` (after a
    /// page switch back to SyncML in WBXML) and the closing tags, with their indentation.
    /// Exact, so that a small MaxMsgSize loses nothing to a guess: 3 to 5 bytes in WBXML,
    /// 28 in compact XML.
    fn trailer(&self) -> usize {
        trailer_of(&self.e)
    }

    fn start(
        options: &EncodeOptions,
        header: &SyncHdr<'_>,
        buf: &'b mut [u8],
    ) -> core::result::Result<Self, EncodeError> {
        let mut e = Encoder::new(buf, options)?;
        let dtd = DtdVersion::of(header);
        if e.wbxml() {
            let version = options.wbxml_version.clamp(0x01, 0x03);
            e.out.byte(version);
            e.out.mb_u32(dtd.public_id());
            e.out.mb_u32(CHARSET_UTF8);
            e.out.byte(0); // no string table
            e.start(Tag::SYNC_ML);
        }
        #[cfg(feature = "xml")]
        if !e.wbxml {
            if options.xml_declaration {
                e.out.put(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
            }
            e.newline();
            e.xml_open("SyncML", Some(dtd.namespace()));
            e.out.byte(b'>');
            e.depth = 1;
        }
        sync_hdr(&mut e, header)?;
        e.start(Tag::SYNC_BODY);
        Ok(MessageWriter {
            e,
            limit: usize::MAX,
        })
    }

    /// Starts a message in `buf` with `header`, never to exceed `limit` bytes (nor
    /// `buf`). Fails when not even the header and the end of the message fit.
    pub fn new(
        options: &EncodeOptions,
        header: &SyncHdr<'_>,
        buf: &'b mut [u8],
        limit: usize,
    ) -> core::result::Result<Self, EncodeError> {
        let limit = limit.min(buf.len());
        let mut w = MessageWriter::start(options, header, buf)?;
        w.limit = limit;
        let required = w.e.out.len + w.trailer();
        if required > limit {
            return Err(EncodeError::BufferTooSmall { required });
        }
        Ok(w)
    }

    /// Adds `cmd` if it fits; returns whether it did. A command that does not fit, or
    /// cannot be encoded, leaves the message as it was.
    pub fn push(&mut self, cmd: &Command<'_>) -> core::result::Result<bool, EncodeError> {
        let mark = self.mark();
        match command(&mut self.e, cmd) {
            Ok(()) if self.e.out.len + self.trailer() <= self.limit => Ok(true),
            Ok(()) => {
                self.rewind(mark);
                Ok(false)
            }
            Err(err) => {
                self.rewind(mark);
                Err(err)
            }
        }
    }

    /// Adds `cmd` with its own items and then items from `source`, built one at a time as
    /// the writer asks for them, so no list of items need sit in memory; returns how many
    /// items from `source` went in, or `None` when the command was not written.
    ///
    /// Items are the last children of every command that has them, so the command is
    /// written up to its items, then each item from `source` in turn while it fits with
    /// room left to close the command and the message; the first that does not fit is
    /// taken back, and no more are asked for. `fill` says how many the command needs to be
    /// written at all. The bytes are those [`push`](Self::push) writes for the same command
    /// with all the items in its list.
    ///
    /// When the command is not written (too few items fit, or one cannot be encoded) the
    /// message is left as it was. A container (Atomic, Sequence, Sync) has no items and is
    /// refused with [`EncodeError::Unrepresentable`].
    ///
    /// ```
    /// use iotadm::codec::{
    ///     Command, Data, EncodeOptions, Encoding, Fill, Item, ItemSource, List, Location,
    ///     MessageWriter, Results, SyncHdr, Text,
    /// };
    ///
    /// /// Nodes `./N/0` to `./N/9`, each URI written only when the writer asks for it.
    /// struct Nodes {
    ///     next: u8,
    ///     uri: [u8; 5],
    /// }
    ///
    /// impl ItemSource for Nodes {
    ///     fn next_item(&mut self) -> Option<Item<'_>> {
    ///         let digit = b'0' + self.next;
    ///         if digit > b'9' {
    ///             return None;
    ///         }
    ///         self.next += 1;
    ///         self.uri = *b"./N/0";
    ///         self.uri[4] = digit;
    ///         let uri = core::str::from_utf8(&self.uri).ok()?;
    ///         Some(Item {
    ///             source: Some(Location::new(uri)),
    ///             data: Some(Data::Text(Text::new("x"))),
    ///             ..Item::default()
    ///         })
    ///     }
    /// }
    ///
    /// let header = SyncHdr {
    ///     ver_dtd: Text::new("1.2"),
    ///     ver_proto: Text::new("DM/1.2"),
    ///     session_id: Text::new("1"),
    ///     msg_id: Text::new("2"),
    ///     target: Location::new("srv"),
    ///     source: Location::new("IMEI:1"),
    ///     resp_uri: None,
    ///     no_resp: false,
    ///     cred: None,
    ///     meta: None,
    /// };
    /// let results = Command::Results(Results {
    ///     cmd_id: Text::new("3"),
    ///     msg_ref: Some(Text::new("1")),
    ///     cmd_ref: Some(Text::new("4")),
    ///     cmd: None,
    ///     meta: None,
    ///     target_refs: List::empty(),
    ///     source_refs: List::empty(),
    ///     items: List::empty(),
    /// });
    /// let mut buf = [0u8; 1024];
    /// let options = EncodeOptions::new(Encoding::Wbxml);
    /// let mut w = MessageWriter::new(&options, &header, &mut buf, 160)?;
    /// let mut nodes = Nodes { next: 0, uri: [0; 5] };
    /// let sent = w.push_items(&results, Fill::AtLeastOne, &mut nodes)?;
    /// // Some went into this message; the rest wait for the next.
    /// assert!(matches!(sent, Some(n) if n > 0 && n < 10));
    /// assert!(w.finish(false) <= 160);
    /// # Ok::<(), iotadm::codec::EncodeError>(())
    /// ```
    pub fn push_items(
        &mut self,
        cmd: &Command<'_>,
        fill: Fill,
        source: &mut dyn ItemSource,
    ) -> core::result::Result<Option<usize>, EncodeError> {
        let mark = self.mark();
        let pushed = self.command_with(cmd, fill, source);
        if !matches!(pushed, Ok(Some(_))) {
            self.rewind(mark);
        }
        pushed
    }

    /// [`push_items`](Self::push_items) without the rewind of a command not written.
    fn command_with(
        &mut self,
        cmd: &Command<'_>,
        fill: Fill,
        source: &mut dyn ItemSource,
    ) -> core::result::Result<Option<usize>, EncodeError> {
        let Some(own) = command_head(&mut self.e, cmd)? else {
            return Err(EncodeError::Unrepresentable(
                "items in a command of commands",
            ));
        };
        items(&mut self.e, own)?;
        // The bytes the command's end tag takes here: the same after every item, as items
        // leave the depth and (in WBXML, where END has no page) the page of no concern.
        let open = self.mark();
        self.e.end(cmd.tag());
        let close = self.e.out.len - open.len;
        self.rewind(open);
        let limit = self.limit;
        let fits = |e: &Encoder<'_>| e.out.len + close + trailer_of(e) <= limit;
        if !fits(&self.e) {
            return Ok(None);
        }
        let mut count = 0;
        while let Some(it) = source.next_item() {
            let before = self.mark();
            item(&mut self.e, &it)?;
            if !fits(&self.e) {
                self.rewind(before);
                if fill == Fill::All {
                    return Ok(None);
                }
                break;
            }
            count += 1;
        }
        if fill == Fill::AtLeastOne && count == 0 {
            return Ok(None);
        }
        self.e.end(cmd.tag());
        Ok(Some(count))
    }

    /// Where the message stands, to go back to with [`rewind`](Self::rewind).
    pub fn mark(&self) -> Mark {
        Mark {
            len: self.e.out.len,
            page: self.e.page,
            #[cfg(feature = "xml")]
            depth: self.e.depth,
        }
    }

    /// Takes back everything written since `mark`, a mark of this writer: the commands
    /// written after it are as if never pushed. (A command the writer refused is taken
    /// back already.)
    pub fn rewind(&mut self, mark: Mark) {
        self.e.out.len = mark.len;
        self.e.page = mark.page;
        #[cfg(feature = "xml")]
        {
            self.e.depth = mark.depth;
        }
    }

    /// Bytes a command may still take.
    pub fn room(&self) -> usize {
        self.limit.saturating_sub(self.e.out.len + self.trailer())
    }

    /// Bytes written so far.
    pub fn written(&self) -> usize {
        self.e.out.len
    }

    /// Closes the message (with `Final` if it ends its package) and returns its length.
    #[must_use]
    pub fn finish(self, is_final: bool) -> usize {
        self.end(is_final)
    }

    fn end(mut self, is_final: bool) -> usize {
        let e = &mut self.e;
        e.flag(Tag::FINAL, is_final);
        e.end(Tag::SYNC_BODY);
        e.end(Tag::SYNC_ML);
        #[cfg(feature = "xml")]
        if e.indent {
            e.out.byte(b'\n');
        }
        e.out.len
    }
}

impl Command<'_> {
    /// The bytes this command takes in a message of `encoding` (give or take a code-page
    /// switch of two bytes in WBXML).
    pub fn encoded_len(&self, encoding: Encoding) -> core::result::Result<usize, EncodeError> {
        let mut e = Encoder::new(&mut [], &EncodeOptions::new(encoding))?;
        command(&mut e, self)?;
        Ok(e.out.len)
    }
}

/// The SyncML DTD version a header declares, which picks the namespace and public id.
#[derive(Clone, Copy)]
enum DtdVersion {
    V10,
    V11,
    V12,
}

impl DtdVersion {
    fn of(header: &SyncHdr<'_>) -> Self {
        if header.ver_dtd == "1.1" {
            DtdVersion::V11
        } else if header.ver_dtd == "1.0" {
            DtdVersion::V10
        } else {
            DtdVersion::V12
        }
    }

    #[cfg(feature = "xml")]
    fn namespace(self) -> &'static str {
        match self {
            DtdVersion::V10 => "SYNCML:SYNCML1.0",
            DtdVersion::V11 => "SYNCML:SYNCML1.1",
            DtdVersion::V12 => "SYNCML:SYNCML1.2",
        }
    }

    fn public_id(self) -> u32 {
        match self {
            DtdVersion::V10 => public_id::SYNCML_10,
            DtdVersion::V11 => public_id::SYNCML_11,
            DtdVersion::V12 => public_id::SYNCML_12,
        }
    }
}

fn sync_hdr(e: &mut Encoder<'_>, h: &SyncHdr<'_>) -> Result {
    e.start(Tag::SYNC_HDR);
    e.leaf(Tag::VER_DTD, &h.ver_dtd)?;
    e.leaf(Tag::VER_PROTO, &h.ver_proto)?;
    e.leaf(Tag::SESSION_ID, &h.session_id)?;
    e.leaf(Tag::MSG_ID, &h.msg_id)?;
    location(e, Tag::TARGET, &h.target)?;
    location(e, Tag::SOURCE, &h.source)?;
    e.opt_leaf(Tag::RESP_URI, h.resp_uri)?;
    e.flag(Tag::NO_RESP, h.no_resp);
    opt_cred(e, h.cred)?;
    opt_meta(e, h.meta)?;
    e.end(Tag::SYNC_HDR);
    Ok(())
}

fn location(e: &mut Encoder<'_>, tag: Tag, l: &Location<'_>) -> Result {
    e.start(tag);
    e.leaf(Tag::LOC_URI, &l.uri)?;
    e.opt_leaf(Tag::LOC_NAME, l.name)?;
    e.end(tag);
    Ok(())
}

fn opt_location(e: &mut Encoder<'_>, tag: Tag, l: Option<Location<'_>>) -> Result {
    match l {
        Some(l) => location(e, tag, &l),
        None => Ok(()),
    }
}

fn opt_cred(e: &mut Encoder<'_>, cred: Option<Cred<'_>>) -> Result {
    if let Some(c) = cred {
        e.start(Tag::CRED);
        opt_meta(e, c.meta)?;
        e.leaf(Tag::DATA, &c.data)?;
        e.end(Tag::CRED);
    }
    Ok(())
}

fn opt_chal(e: &mut Encoder<'_>, chal: Option<Chal<'_>>) -> Result {
    if let Some(c) = chal {
        e.start(Tag::CHAL);
        opt_meta(e, c.meta)?;
        e.end(Tag::CHAL);
    }
    Ok(())
}

fn opt_meta(e: &mut Encoder<'_>, meta: Option<Meta<'_>>) -> Result {
    opt_meta_typed(e, meta, None)
}

/// Writes `Meta`, with its `Type` replaced by `type_` when given.
fn opt_meta_typed(e: &mut Encoder<'_>, meta: Option<Meta<'_>>, type_: Option<&str>) -> Result {
    let Some(meta) = meta else {
        return Ok(());
    };
    let mut properties = meta.properties();
    if let (Some(t), Some(slot)) = (type_, property(&mut properties, Tag::TYPE)) {
        *slot = Some(Text::new(t));
    }
    let emi = meta.emi();
    if properties.iter().all(Option::is_none) && emi.is_empty() {
        e.empty(Tag::META);
        return Ok(());
    }
    e.start(Tag::META);
    for (tag, value) in PROPERTIES.into_iter().zip(properties) {
        e.opt_leaf(tag, value)?;
    }
    for emi in emi {
        e.leaf(Tag::EMI, &emi)?;
    }
    e.end(Tag::META);
    Ok(())
}

fn texts<'a>(e: &mut Encoder<'_>, tag: Tag, list: List<'a, Text<'a>>) -> Result {
    for t in list {
        e.leaf(tag, &t)?;
    }
    Ok(())
}

fn items<'a>(e: &mut Encoder<'_>, list: List<'a, Item<'a>>) -> Result {
    for it in list {
        item(e, &it)?;
    }
    Ok(())
}

fn commands<'a>(e: &mut Encoder<'_>, list: List<'a, Command<'a>>) -> Result {
    let iter: ListIter<'a, Command<'a>> = list.iter();
    for cmd in iter {
        command(e, &cmd)?;
    }
    Ok(())
}

fn command(e: &mut Encoder<'_>, cmd: &Command<'_>) -> Result {
    if let Some(own) = command_head(e, cmd)? {
        items(e, own)?;
    }
    e.end(cmd.tag());
    Ok(())
}

/// Opens `cmd` and writes every child that comes before its items, which the SyncML DTD
/// puts last in each command that has them; returns those items, for the caller to write
/// before it closes the command. A container (Atomic, Sequence, Sync) has no items: its
/// commands are written here and the answer is `None`.
fn command_head<'c>(e: &mut Encoder<'_>, cmd: &Command<'c>) -> Result<Option<List<'c, Item<'c>>>> {
    e.start(cmd.tag());
    e.leaf(Tag::CMD_ID, &cmd.cmd_id())?;
    let own = match cmd {
        Command::Add(c)
        | Command::Copy(c)
        | Command::Delete(c)
        | Command::Get(c)
        | Command::Replace(c) => {
            e.flag(Tag::NO_RESP, c.no_resp);
            opt_cred(e, c.cred)?;
            opt_meta(e, c.meta)?;
            c.items
        }
        Command::Alert(c) => {
            e.flag(Tag::NO_RESP, c.no_resp);
            opt_cred(e, c.cred)?;
            e.opt_leaf(Tag::DATA, c.data)?;
            e.opt_leaf(Tag::CORRELATOR, c.correlator)?;
            c.items
        }
        Command::Exec(c) => {
            e.flag(Tag::NO_RESP, c.no_resp);
            opt_cred(e, c.cred)?;
            opt_meta(e, c.meta)?;
            e.opt_leaf(Tag::CORRELATOR, c.correlator)?;
            c.items
        }
        Command::Atomic(c) | Command::Sequence(c) => {
            e.flag(Tag::NO_RESP, c.no_resp);
            opt_meta(e, c.meta)?;
            commands(e, c.commands)?;
            return Ok(None);
        }
        Command::Sync(c) => {
            e.flag(Tag::NO_RESP, c.no_resp);
            opt_cred(e, c.cred)?;
            opt_location(e, Tag::TARGET, c.target)?;
            opt_location(e, Tag::SOURCE, c.source)?;
            opt_meta(e, c.meta)?;
            commands(e, c.commands)?;
            return Ok(None);
        }
        Command::Status(c) => {
            e.opt_leaf(Tag::MSG_REF, c.msg_ref)?;
            e.opt_leaf(Tag::CMD_REF, c.cmd_ref)?;
            e.opt_leaf(Tag::CMD, c.cmd)?;
            texts(e, Tag::TARGET_REF, c.target_refs)?;
            texts(e, Tag::SOURCE_REF, c.source_refs)?;
            opt_cred(e, c.cred)?;
            opt_chal(e, c.chal)?;
            e.opt_leaf(Tag::DATA, c.data)?;
            c.items
        }
        Command::Results(c) => {
            e.opt_leaf(Tag::MSG_REF, c.msg_ref)?;
            e.opt_leaf(Tag::CMD_REF, c.cmd_ref)?;
            e.opt_leaf(Tag::CMD, c.cmd)?;
            opt_meta(e, c.meta)?;
            texts(e, Tag::TARGET_REF, c.target_refs)?;
            texts(e, Tag::SOURCE_REF, c.source_refs)?;
            c.items
        }
    };
    Ok(Some(own))
}

fn item(e: &mut Encoder<'_>, it: &Item<'_>) -> Result {
    e.start(Tag::ITEM);
    opt_location(e, Tag::TARGET, it.target)?;
    opt_location(e, Tag::SOURCE, it.source)?;
    // TNDS in a WBXML message travels as a WBXML document, and is typed so (with the
    // feature `tnds`; without it the client has no TNDS to send).
    let nested = match &it.data {
        Some(Data::Xml(x)) => cfg!(feature = "tnds") && e.wbxml() && is_document(x),
        _ => false,
    };
    let tnds_as_wbxml = nested
        && it
            .meta
            .and_then(|m| m.type_())
            .is_some_and(|t| t.eq_ignore_ascii_case(TNDS_XML));
    opt_meta_typed(e, it.meta, tnds_as_wbxml.then_some(TNDS_WBXML))?;
    match &it.data {
        None => {}
        Some(Data::Text(t)) => e.leaf_as(Tag::DATA, t, false)?,
        Some(Data::Opaque(t)) => e.leaf_as(Tag::DATA, t, true)?,
        Some(Data::Xml(x)) if nested => {
            e.start(Tag::DATA);
            nested_document(e, x)?;
            e.end(Tag::DATA);
        }
        Some(Data::Xml(x)) => {
            e.start(Tag::DATA);
            embedded(e, x)?;
            e.end(Tag::DATA);
        }
    }
    e.flag(Tag::MORE_DATA, it.more_data);
    e.end(Tag::ITEM);
    Ok(())
}

/// Whether embedded XML is one element with nothing around it, so that it can travel as a
/// document of its own. Anything else is written inline, on the code pages of its elements.
fn is_document(x: &Embedded<'_>) -> bool {
    let mut depth = 0u32;
    let mut roots = 0u32;
    for event in x.events() {
        match event {
            XmlEvent::Start { .. } => {
                if depth == 0 {
                    roots += 1;
                }
                depth += 1;
            }
            XmlEvent::End => depth = depth.saturating_sub(1),
            XmlEvent::Text(_) if depth == 0 => return false,
            XmlEvent::Text(_) => {}
        }
    }
    roots == 1 && depth == 0
}

/// Embedded XML in a WBXML message: an OPAQUE token holding a WBXML document of its own
/// (public id `-//OMA//DTD-DM-DDF 1.2//EN` from the string table), as libwbxml writes TNDS.
fn nested_document(e: &mut Encoder<'_>, x: &Embedded<'_>) -> Result {
    fn document(e: &mut Encoder<'_>, x: &Embedded<'_>) -> Result {
        e.out.byte(0x02);
        e.out.put(&[0x00, 0x00]); // public id: string table index 0
        e.out.mb_u32(CHARSET_UTF8);
        e.out
            .mb_u32(u32::try_from(DDF_PUBLIC_ID.len() + 1).unwrap_or(u32::MAX));
        e.out.put(DDF_PUBLIC_ID);
        e.out.byte(0);
        e.page = PAGE_SYNCML;
        embedded(e, x)
    }
    let mut counter = Encoder::new(&mut [], &EncodeOptions::new(Encoding::Wbxml))?;
    document(&mut counter, x)?;
    e.out.byte(global::OPAQUE);
    e.out
        .mb_u32(u32::try_from(counter.out.len).unwrap_or(u32::MAX));
    let outer_page = e.page;
    document(e, x)?;
    e.page = outer_page;
    Ok(())
}

fn embedded(e: &mut Encoder<'_>, x: &Embedded<'_>) -> Result {
    #[cfg(feature = "xml")]
    if !e.wbxml {
        return embedded_xml(e, x);
    }
    embedded_wbxml(e, x)
}

/// Embedded XML as WBXML tokens, on the code pages of its elements.
fn embedded_wbxml(e: &mut Encoder<'_>, x: &Embedded<'_>) -> Result {
    // The code pages of the open elements, for the token lookups of their children.
    let mut pages = [PAGE_SYNCML; EMBEDDED_DEPTH];
    let mut depth = 0usize;
    let mut events = x.events().peekable();
    while let Some(event) = events.next() {
        match event {
            XmlEvent::Start { name, namespace } => {
                let empty = events.next_if(|ev| *ev == XmlEvent::End).is_some();
                // The root inherits the SyncML namespace of `Data`.
                let inherited = depth
                    .checked_sub(1)
                    .and_then(|d| pages.get(d))
                    .copied()
                    .unwrap_or(PAGE_SYNCML);
                let page = match namespace {
                    Some(ns) => namespace_page(ns.as_bytes()),
                    None => Some(inherited),
                };
                let tag = page.and_then(|p| Tag::from_token_name(p, name)).ok_or(
                    EncodeError::Unrepresentable("embedded element without a WBXML token"),
                )?;
                e.switch_page(tag.page());
                e.out.byte(if empty {
                    tag.token()
                } else {
                    tag.token() | global::HAS_CONTENT
                });
                if !empty {
                    let Some(p) = pages.get_mut(depth) else {
                        return Err(EncodeError::Unrepresentable("embedded XML nested too deep"));
                    };
                    *p = page.unwrap_or(inherited);
                    depth += 1;
                }
            }
            XmlEvent::Text(t) => e.wbxml_text(&t, false),
            XmlEvent::End => {
                depth = depth
                    .checked_sub(1)
                    .ok_or(EncodeError::Unrepresentable("unbalanced embedded XML"))?;
                e.out.byte(global::END);
            }
        }
    }
    if depth != 0 {
        return Err(EncodeError::Unrepresentable("unbalanced embedded XML"));
    }
    Ok(())
}

/// Embedded XML as XML, laid out as the rest of the message.
#[cfg(feature = "xml")]
fn embedded_xml(e: &mut Encoder<'_>, x: &Embedded<'_>) -> Result {
    // The names of the open elements, for their end tags.
    let mut names: [&str; EMBEDDED_DEPTH] = [""; EMBEDDED_DEPTH];
    let mut depth = 0usize;
    let mut events = x.events().peekable();
    // Indentation never goes next to text: it would become part of it.
    let mut after_text = false;
    while let Some(event) = events.next() {
        let text = matches!(event, XmlEvent::Text(_));
        match event {
            XmlEvent::Start { name, namespace } => {
                let empty = events.next_if(|ev| *ev == XmlEvent::End).is_some();
                if !after_text {
                    e.newline();
                }
                e.xml_open(name, namespace);
                e.out.put(if empty { b"/>" } else { b">" });
                if !empty {
                    let Some(n) = names.get_mut(depth) else {
                        return Err(EncodeError::Unrepresentable("embedded XML nested too deep"));
                    };
                    *n = name;
                    depth += 1;
                    e.depth = e.depth.saturating_add(1);
                }
            }
            XmlEvent::Text(t) => e.xml_text(&t)?,
            XmlEvent::End => {
                depth = depth
                    .checked_sub(1)
                    .ok_or(EncodeError::Unrepresentable("unbalanced embedded XML"))?;
                e.depth = e.depth.saturating_sub(1);
                if !after_text {
                    e.newline();
                }
                e.xml_close(names.get(depth).copied().unwrap_or(""));
            }
        }
        after_text = text;
    }
    if depth != 0 {
        return Err(EncodeError::Unrepresentable("unbalanced embedded XML"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::model::{Alert, ItemCommand, MetInf, Results, Status};
    use std::vec::Vec;

    fn header() -> SyncHdr<'static> {
        SyncHdr {
            ver_dtd: Text::new("1.2"),
            ver_proto: Text::new("DM/1.2"),
            session_id: Text::new("7"),
            msg_id: Text::new("2"),
            target: Location::new("http://127.0.0.1/dm"),
            source: Location::new("IMEI:001"),
            resp_uri: None,
            no_resp: false,
            cred: None,
            meta: None,
        }
    }

    const INT: MetInf<'static> = MetInf {
        format: Some(Text::new("int")),
        type_: Some(Text::new("text/plain")),
        ..MetInf::EMPTY
    };

    /// Items that move between code pages (what `Meta` holds is on MetInf's), with and
    /// without data; the fourth ends on the MetInf page.
    fn sample_items() -> Vec<Item<'static>> {
        let uris = ["./A", "./A/Bee", "./A/Bee/C", "./A/D", "./A/D/Eee", "./A/F"];
        uris.iter()
            .enumerate()
            .map(|(i, uri)| Item {
                source: Some(Location::new(uri)),
                meta: (i % 2 == 1).then_some(Meta::new(&INT)),
                data: (i != 3).then_some(Data::Text(Text::new("va<lue&"))),
                more_data: i == 4,
                ..Item::default()
            })
            .collect()
    }

    /// One command of each kind that carries items, holding `items`.
    fn kinds<'a>(items: &'a [Item<'a>]) -> [Command<'a>; 4] {
        const REFS: [Text<'static>; 2] = [Text::new("./A"), Text::new("./B")];
        let list = List::new(items);
        [
            Command::Results(Results {
                cmd_id: Text::new("3"),
                msg_ref: Some(Text::new("1")),
                cmd_ref: Some(Text::new("5")),
                cmd: None,
                meta: Some(Meta::new(&INT)),
                target_refs: List::new(&REFS),
                source_refs: List::empty(),
                items: list,
            }),
            Command::Status(Status {
                cmd_id: Text::new("4"),
                msg_ref: Some(Text::new("1")),
                cmd_ref: Some(Text::new("6")),
                cmd: Some(Text::new("Alert")),
                target_refs: List::empty(),
                source_refs: List::new(&REFS),
                cred: None,
                chal: None,
                data: Some(Text::new("200")),
                items: list,
            }),
            Command::Replace(ItemCommand {
                cmd_id: Text::new("5"),
                no_resp: true,
                cred: None,
                meta: Some(Meta::new(&INT)),
                items: list,
            }),
            Command::Alert(Alert {
                cmd_id: Text::new("6"),
                no_resp: false,
                cred: None,
                data: Some(Text::new("1226")),
                correlator: Some(Text::new("c1")),
                items: list,
            }),
        ]
    }

    fn options(encoding: Encoding, indent: bool) -> EncodeOptions {
        EncodeOptions {
            indent,
            ..EncodeOptions::new(encoding)
        }
    }

    /// Every encoding and layout the build writes.
    const STYLES: [(Encoding, bool); 1 + 2 * cfg!(feature = "xml") as usize] = [
        #[cfg(feature = "xml")]
        (Encoding::Xml, false),
        #[cfg(feature = "xml")]
        (Encoding::Xml, true),
        (Encoding::Wbxml, false),
    ];

    /// The message `write` makes in a writer limited to `limit` bytes.
    fn message(
        options: &EncodeOptions,
        limit: usize,
        write: impl FnOnce(&mut MessageWriter<'_>),
    ) -> Vec<u8> {
        let mut buf = [0u8; 4096];
        let mut w = MessageWriter::new(options, &header(), &mut buf, limit).unwrap();
        write(&mut w);
        let n = w.finish(true);
        assert!(n <= limit, "{n} bytes over the limit of {limit}");
        buf[..n].to_vec()
    }

    /// The trailer the writer counts is the end it writes, on either code page.
    #[test]
    fn the_trailer_is_what_finishing_writes() {
        for (encoding, indent) in STYLES {
            let opts = options(encoding, indent);
            for cmds in [&kinds(&sample_items()[..1])[..], &[]] {
                let mut buf = [0u8; 4096];
                let mut w = MessageWriter::new(&opts, &header(), &mut buf, 4096).unwrap();
                for c in cmds {
                    w.push(c).unwrap();
                }
                let (before, trailer) = (w.written(), w.trailer());
                assert_eq!(w.finish(true), before + trailer, "{encoding:?} {indent}");
            }
        }
    }

    /// The smallest limit under which `push` takes `cmd` into an empty message.
    fn least_limit(options: &EncodeOptions, cmd: &Command<'_>) -> usize {
        let mut buf = [0u8; 4096];
        (1..buf.len())
            .find(|&limit| {
                MessageWriter::new(options, &header(), &mut buf, limit)
                    .is_ok_and(|mut w| w.push(cmd).unwrap())
            })
            .unwrap()
    }

    /// A source that counts how often it was asked.
    struct Counted<'a> {
        items: ListIter<'a, Item<'a>>,
        asked: usize,
    }

    impl ItemSource for Counted<'_> {
        fn next_item(&mut self) -> Option<Item<'_>> {
            self.asked += 1;
            self.items.next()
        }
    }

    #[test]
    fn items_one_at_a_time_write_what_push_writes_with_the_whole_list() {
        let all = sample_items();
        for (encoding, indent) in STYLES {
            let opts = options(encoding, indent);
            for split in [0, 2, all.len()] {
                let (own, produced) = all.split_at(split);
                for (whole, head) in kinds(&all).iter().zip(kinds(own)) {
                    let pushed = message(&opts, 4096, |w| assert!(w.push(whole).unwrap()));
                    let streamed = message(&opts, 4096, |w| {
                        let mut source = List::new(produced).iter();
                        let sent = w.push_items(&head, Fill::All, &mut source).unwrap();
                        assert_eq!(sent, Some(produced.len()));
                    });
                    assert_eq!(
                        streamed,
                        pushed,
                        "{encoding:?} indent {indent}, {} with {split} items of its own",
                        whole.name()
                    );
                    assert_eq!(
                        crate::codec::parse(&streamed)
                            .unwrap()
                            .body
                            .commands
                            .first(),
                        Some(*whole)
                    );
                }
            }
        }
    }

    /// At every limit, as many items go in as `push` fits with a list cut to that many,
    /// and the bytes are the same; an item that does not fit is taken back whole, code
    /// page included, so a command written after it is what it would be without it.
    #[test]
    fn as_many_as_fit_go_in_and_the_one_that_does_not_is_taken_back() {
        let all = sample_items();
        let after = Command::Alert(Alert {
            cmd_id: Text::new("9"),
            no_resp: false,
            cred: None,
            data: Some(Text::new("1222")),
            correlator: None,
            items: List::empty(),
        });
        for (encoding, indent) in STYLES {
            let opts = options(encoding, indent);
            let full = message(&opts, 4096, |w| {
                w.push(&kinds(&all)[0]).unwrap();
                w.push(&after).unwrap();
            })
            .len();
            let mut counts = Vec::new();
            let least = least_limit(&opts, &kinds(&all[..1])[0]);
            for limit in least - 1..=full + 48 {
                // `push` of the longest prefix that fits, then the Alert if it fits too.
                let mut expect = None;
                let pushed = message(&opts, limit, |w| {
                    for k in (1..=all.len()).rev() {
                        if w.push(&kinds(&all[..k])[0]).unwrap() {
                            expect = Some(k);
                            break;
                        }
                    }
                    w.push(&after).unwrap();
                });
                let mut source = Counted {
                    items: List::new(&all).iter(),
                    asked: 0,
                };
                let streamed = message(&opts, limit, |w| {
                    let sent = w
                        .push_items(&kinds(&[])[0], Fill::AtLeastOne, &mut source)
                        .unwrap();
                    assert_eq!(sent, expect, "{encoding:?} indent {indent}, limit {limit}");
                    w.push(&after).unwrap();
                });
                assert_eq!(
                    streamed, pushed,
                    "{encoding:?} indent {indent}, limit {limit}"
                );
                crate::codec::parse(&streamed).unwrap();
                let sent = expect.unwrap_or(0);
                // Asked once more than taken, unless the source ran dry.
                assert_eq!(source.asked, (sent + 1).min(all.len() + 1));
                counts.push(sent);
            }
            assert_eq!(counts.first(), Some(&0), "the smallest limit fits no item");
            assert_eq!(counts.last(), Some(&all.len()));
            for k in 1..all.len() {
                assert!(counts.contains(&k), "{encoding:?}: no limit fits {k} items");
            }
        }
    }

    #[test]
    fn all_or_none_leaves_the_message_as_it_was() {
        let all = sample_items();
        for (encoding, indent) in STYLES {
            let opts = options(encoding, indent);
            let status = |items| kinds(items)[1];
            let least = least_limit(&opts, &status(&all));
            let whole = message(&opts, least, |w| assert!(w.push(&status(&all)).unwrap()));
            // One byte short of room for the whole Status: nothing of it goes in, and the
            // first item is written in the same message as if it had never been tried.
            let limit = least - 1;
            let alone = message(&opts, limit, |w| {
                assert!(w.push(&status(&all[..1])).unwrap());
            });
            let after_none = message(&opts, limit, |w| {
                let before = w.written();
                let mut source = List::new(&all).iter();
                let sent = w.push_items(&status(&[]), Fill::All, &mut source).unwrap();
                assert_eq!(sent, None);
                assert_eq!(w.written(), before);
                assert!(w.push(&status(&all[..1])).unwrap());
            });
            assert_eq!(after_none, alone, "{encoding:?} indent {indent}");
            // With room for all, all go in.
            let fits = message(&opts, least, |w| {
                let mut source = List::new(&all).iter();
                let sent = w.push_items(&status(&[]), Fill::All, &mut source);
                assert_eq!(sent.unwrap(), Some(all.len()));
            });
            assert_eq!(fits, whole);
            // A command with no items to add is written when it fits, in either mode only
            // when `AtLeastOne` has something.
            message(&opts, 4096, |w| {
                let mut none = List::<Item<'_>>::empty().iter();
                let sent = w.push_items(&status(&[]), Fill::All, &mut none);
                assert_eq!(sent.unwrap(), Some(0));
                let mut none = List::<Item<'_>>::empty().iter();
                let before = w.written();
                let sent = w.push_items(&status(&[]), Fill::AtLeastOne, &mut none);
                assert_eq!(sent.unwrap(), None);
                assert_eq!(w.written(), before);
            });
        }
    }

    #[cfg(feature = "xml")]
    #[test]
    fn a_command_that_fails_to_encode_leaves_the_message_as_it_was() {
        let binary = [Item {
            data: Some(Data::Opaque(Text::from_bytes(&[0xff, 0x00]))),
            ..Item::default()
        }];
        let good = sample_items();
        let opts = options(Encoding::Xml, false);
        let clean = message(&opts, 4096, |w| {
            assert!(w.push(&kinds(&good)[0]).unwrap());
        });
        let after_errors = message(&opts, 4096, |w| {
            assert!(w.push(&kinds(&binary)[2]).is_err());
            let mut source = List::new(&binary).iter();
            let sent = w.push_items(&kinds(&good[..2])[2], Fill::AtLeastOne, &mut source);
            assert!(matches!(sent, Err(EncodeError::Unrepresentable(_))));
            assert!(w.push(&kinds(&good)[0]).unwrap());
        });
        assert_eq!(after_errors, clean);
    }

    #[test]
    fn a_container_takes_no_items() {
        let inner = [Command::Alert(Alert {
            cmd_id: Text::new("2"),
            no_resp: false,
            cred: None,
            data: Some(Text::new("1222")),
            correlator: None,
            items: List::empty(),
        })];
        let atomic = Command::Atomic(super::super::model::Container {
            cmd_id: Text::new("1"),
            no_resp: false,
            meta: None,
            commands: List::new(&inner),
        });
        let items = sample_items();
        let opts = options(Encoding::Wbxml, false);
        let empty = message(&opts, 4096, |_| {});
        let after = message(&opts, 4096, |w| {
            let mut source = List::new(&items).iter();
            let sent = w.push_items(&atomic, Fill::All, &mut source);
            assert!(matches!(sent, Err(EncodeError::Unrepresentable(_))));
        });
        assert_eq!(after, empty);
    }

    #[test]
    fn multibyte_integers_are_written_most_significant_first() {
        let mut buf = [0u8; 8];
        for (v, expect) in [
            (0x6Au32, &[0x6A][..]),
            (0x1201, &[0xA4, 0x01]),
            (0x0FD3, &[0x9F, 0x53]),
            (300, &[0x82, 0x2C]),
            (0, &[0x00]),
            (u32::MAX, &[0x8F, 0xFF, 0xFF, 0xFF, 0x7F]),
        ] {
            let mut out = Out {
                buf: &mut buf,
                len: 0,
            };
            out.mb_u32(v);
            let n = out.len;
            assert_eq!(&buf[..n], expect, "{v}");
        }
    }

    #[cfg(feature = "xml")]
    #[test]
    fn xml_text_escapes_what_it_must_and_refuses_controls() {
        fn escaped(text: &str) -> core::result::Result<std::string::String, EncodeError> {
            let mut buf = [0u8; 256];
            let mut e = Encoder::new(&mut buf, &EncodeOptions::new(Encoding::Xml))?;
            e.xml_text(&Text::new(text))?;
            let n = e.out.len;
            Ok(std::string::String::from_utf8(buf[..n].to_vec()).unwrap())
        }
        assert_eq!(
            escaped("a&b<c>d\re\tf\ng").unwrap(),
            "a&amp;b&lt;c&gt;d&#13;e\tf\ng"
        );
        // Specials on both sides of a 16-byte block boundary, and at the ends.
        let long = "&0123456789abcd<>0123456789abcdef\n&";
        assert_eq!(
            escaped(long).unwrap(),
            "&amp;0123456789abcd&lt;&gt;0123456789abcdef\n&amp;"
        );
        assert_eq!(
            escaped("caf\u{e9} \u{1f600}").unwrap(),
            "caf\u{e9} \u{1f600}"
        );
        assert!(matches!(
            escaped("0123456789abcdef0123\u{1}"),
            Err(EncodeError::Unrepresentable(_))
        ));
    }

    /// Without XML, every way to write a message or measure a command in XML is refused
    /// with the encoding named, before a byte is written.
    #[cfg(not(feature = "xml"))]
    #[test]
    fn xml_is_refused_by_a_build_without_xml() {
        let refused = Err(EncodeError::EncodingLeftOut(Encoding::Xml));
        let xml = EncodeOptions {
            indent: true,
            ..EncodeOptions::new(Encoding::Xml)
        };
        let mut buf = [0u8; 4096];
        assert_eq!(
            MessageWriter::new(&xml, &header(), &mut buf, 4096).map(|w| w.written()),
            refused
        );
        assert_eq!(buf, [0u8; 4096]);
        let items = sample_items();
        let cmds = kinds(&items);
        let msg = Message {
            header: header(),
            body: super::super::model::SyncBody {
                commands: List::new(&cmds),
                is_final: true,
            },
        };
        assert_eq!(msg.encode(Encoding::Xml, &mut buf), refused);
        assert_eq!(msg.encode_with(&xml, &mut buf), refused);
        assert_eq!(msg.encoded_len(Encoding::Xml), refused);
        assert_eq!(buf, [0u8; 4096]);
        for cmd in cmds {
            assert_eq!(cmd.encoded_len(Encoding::Xml), refused);
        }
        // WBXML is written as ever.
        assert!(msg.encode(Encoding::Wbxml, &mut buf).is_ok());
        assert_eq!(
            std::format!("{}", EncodeError::EncodingLeftOut(Encoding::Xml)),
            "cannot encode XML: left out of this build"
        );
    }

    /// TNDS goes into a WBXML message as a nested document typed `+wbxml` with the
    /// feature `tnds`; without it, embedded XML is written inline like any other.
    #[cfg(feature = "xml")]
    #[test]
    fn tnds_is_a_nested_document_only_with_its_feature() {
        let xml = "<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD>\
            <VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>\
            <Target><LocURI>a</LocURI></Target><Source><LocURI>b</LocURI></Source></SyncHdr>\
            <SyncBody><Add><CmdID>1</CmdID><Item><Target><LocURI>./DMAcc</LocURI></Target>\
            <Meta><Type xmlns='syncml:metinf'>application/vnd.syncml.dmtnds+xml</Type></Meta>\
            <Data><MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD></MgmtTree></Data>\
            </Item></Add><Final/></SyncBody></SyncML>";
        let msg = crate::codec::parse(xml.as_bytes()).unwrap();
        let mut buf = [0u8; 512];
        let n = msg.encode(Encoding::Wbxml, &mut buf).unwrap();
        let out = &buf[..n];
        let has = |needle: &[u8]| out.windows(needle.len()).any(|w| w == needle);
        assert_eq!(has(DDF_PUBLIC_ID), cfg!(feature = "tnds"));
        assert_eq!(has(TNDS_WBXML.as_bytes()), cfg!(feature = "tnds"));
    }

    #[test]
    fn overflow_is_counted_not_written() {
        let mut buf = [0u8; 3];
        let mut out = Out {
            buf: &mut buf,
            len: 0,
        };
        out.put(b"ab");
        out.put(b"cd");
        out.put(b"e");
        assert_eq!(out.len, 5);
        assert_eq!(&buf, b"ab\0");
    }
}

//! The encoder: one walk over the model writes XML or WBXML into the caller's buffer.
//!
//! Writing past the end of the buffer is not an error until the walk ends: the encoder
//! keeps counting, so a too-small buffer reports the exact size it needed, and
//! [`Message::encoded_len`] is the same walk over an empty buffer. Elements are written
//! in the order the SyncML DTD gives, whatever order they were decoded in.

use super::decode::DDF_PUBLIC_ID;
use super::error::EncodeError;
use super::model::{
    Chal, Command, Cred, Data, Embedded, Item, List, ListIter, Location, Message, Meta, SyncHdr,
    XmlEvent,
};
use super::model::{TNDS_WBXML, TNDS_XML};
use super::text::{find_byte, Text};
use super::tokens::{
    global, namespace_page, public_id, Tag, CHARSET_UTF8, METINF_NAMESPACE, PAGE_METINF,
    PAGE_SYNCML,
};

/// A message encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Encoding {
    /// XML (`application/vnd.syncml.dm+xml`).
    Xml,
    /// WBXML (`application/vnd.syncml.dm+wbxml`).
    Wbxml,
}

impl Encoding {
    /// The HTTP content type of a DM message in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Xml => "application/vnd.syncml.dm+xml",
            Encoding::Wbxml => "application/vnd.syncml.dm+wbxml",
        }
    }
}

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

/// Deepest embedded XML the XML encoder can close again.
const MAX_EMBEDDED_DEPTH: usize = 32;

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
    wbxml: bool,
    page: u8,
    indent: bool,
    depth: u16,
}

type Result<T = ()> = core::result::Result<T, EncodeError>;

impl Encoder<'_> {
    fn newline(&mut self) {
        if self.indent && self.out.len > 0 {
            self.out.byte(b'\n');
            for _ in 0..self.depth {
                self.out.put(b"  ");
            }
        }
    }

    fn switch_page(&mut self, page: u8) {
        if self.page != page {
            self.out.put(&[global::SWITCH_PAGE, page]);
            self.page = page;
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

    fn namespace_of(tag: Tag) -> Option<&'static str> {
        (tag.page() == PAGE_METINF).then_some(METINF_NAMESPACE)
    }

    /// Starts an element with content.
    fn start(&mut self, tag: Tag) {
        self.start_ns(tag, Self::namespace_of(tag));
    }

    fn start_ns(&mut self, tag: Tag, namespace: Option<&str>) {
        if self.wbxml {
            self.switch_page(tag.page());
            self.out.byte(tag.token() | global::HAS_CONTENT);
        } else {
            self.newline();
            self.xml_open(tag.name(), namespace);
            self.out.byte(b'>');
        }
        self.depth = self.depth.saturating_add(1);
    }

    fn end(&mut self, tag: Tag) {
        self.depth = self.depth.saturating_sub(1);
        if self.wbxml {
            self.out.byte(global::END);
        } else {
            self.newline();
            self.out.put(b"</");
            self.out.put(tag.name().as_bytes());
            self.out.byte(b'>');
        }
    }

    /// An element without content.
    fn empty(&mut self, tag: Tag) {
        if self.wbxml {
            self.switch_page(tag.page());
            self.out.byte(tag.token());
        } else {
            self.newline();
            self.xml_open(tag.name(), Self::namespace_of(tag));
            self.out.put(b"/>");
        }
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
        if self.wbxml {
            self.switch_page(tag.page());
            self.out.byte(tag.token() | global::HAS_CONTENT);
            self.wbxml_text(text, opaque);
            self.out.byte(global::END);
        } else {
            self.newline();
            self.xml_open(tag.name(), Self::namespace_of(tag));
            self.out.byte(b'>');
            self.xml_text(text)?;
            self.out.put(b"</");
            self.out.put(tag.name().as_bytes());
            self.out.byte(b'>');
        }
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

impl<'b> MessageWriter<'b> {
    /// Bytes the end of a message may take: `Final` (with a page switch) and the closing
    /// tags, with indentation.
    const TRAILER: usize = 48;

    fn start(
        options: &EncodeOptions,
        header: &SyncHdr<'_>,
        buf: &'b mut [u8],
    ) -> core::result::Result<Self, EncodeError> {
        let mut e = Encoder {
            out: Out { buf, len: 0 },
            wbxml: options.encoding == Encoding::Wbxml,
            page: PAGE_SYNCML,
            indent: options.indent && options.encoding == Encoding::Xml,
            depth: 0,
        };
        let dtd = DtdVersion::of(header);
        if e.wbxml {
            let version = options.wbxml_version.clamp(0x01, 0x03);
            e.out.byte(version);
            e.out.mb_u32(dtd.public_id());
            e.out.mb_u32(CHARSET_UTF8);
            e.out.byte(0); // no string table
            e.start(Tag::SYNC_ML);
        } else {
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
        let required = w.e.out.len + Self::TRAILER;
        if required > limit {
            return Err(EncodeError::BufferTooSmall { required });
        }
        Ok(w)
    }

    /// Adds `cmd` if it fits; returns whether it did. A command that does not fit leaves
    /// the message as it was.
    pub fn push(&mut self, cmd: &Command<'_>) -> core::result::Result<bool, EncodeError> {
        let (len, page, depth) = (self.e.out.len, self.e.page, self.e.depth);
        command(&mut self.e, cmd)?;
        if self.e.out.len + Self::TRAILER > self.limit {
            self.e.out.len = len;
            self.e.page = page;
            self.e.depth = depth;
            return Ok(false);
        }
        Ok(true)
    }

    /// Bytes a command may still take.
    pub fn room(&self) -> usize {
        self.limit.saturating_sub(self.e.out.len + Self::TRAILER)
    }

    /// Bytes written so far.
    pub fn written(&self) -> usize {
        self.e.out.len
    }

    /// Closes the message (with `Final` if it ends its package) and returns its length.
    pub fn finish(self, is_final: bool) -> usize {
        self.end(is_final)
    }

    fn end(mut self, is_final: bool) -> usize {
        let e = &mut self.e;
        e.flag(Tag::FINAL, is_final);
        e.end(Tag::SYNC_BODY);
        e.end(Tag::SYNC_ML);
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
        let mut e = Encoder {
            out: Out {
                buf: &mut [],
                len: 0,
            },
            wbxml: encoding == Encoding::Wbxml,
            page: PAGE_SYNCML,
            indent: false,
            depth: 0,
        };
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
    let mut m = meta.to_metinf();
    if let Some(t) = type_ {
        m.type_ = Some(Text::new(t));
    }
    let fields = [
        (Tag::FORMAT, m.format),
        (Tag::TYPE, m.type_),
        (Tag::MARK, m.mark),
        (Tag::SIZE, m.size),
        (Tag::VERSION, m.version),
        (Tag::NEXT_NONCE, m.next_nonce),
        (Tag::MAX_MSG_SIZE, m.max_msg_size),
        (Tag::MAX_OBJ_SIZE, m.max_obj_size),
    ];
    if fields.iter().all(|(_, v)| v.is_none()) && m.emi.is_empty() {
        e.empty(Tag::META);
        return Ok(());
    }
    e.start(Tag::META);
    for (tag, value) in fields {
        e.opt_leaf(tag, value)?;
    }
    for emi in m.emi {
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
    let tag = cmd.tag();
    e.start(tag);
    e.leaf(Tag::CMD_ID, &cmd.cmd_id())?;
    match cmd {
        Command::Add(c)
        | Command::Copy(c)
        | Command::Delete(c)
        | Command::Get(c)
        | Command::Replace(c) => {
            e.flag(Tag::NO_RESP, c.no_resp);
            opt_cred(e, c.cred)?;
            opt_meta(e, c.meta)?;
            items(e, c.items)?;
        }
        Command::Alert(c) => {
            e.flag(Tag::NO_RESP, c.no_resp);
            opt_cred(e, c.cred)?;
            e.opt_leaf(Tag::DATA, c.data)?;
            e.opt_leaf(Tag::CORRELATOR, c.correlator)?;
            items(e, c.items)?;
        }
        Command::Exec(c) => {
            e.flag(Tag::NO_RESP, c.no_resp);
            opt_cred(e, c.cred)?;
            opt_meta(e, c.meta)?;
            e.opt_leaf(Tag::CORRELATOR, c.correlator)?;
            items(e, c.items)?;
        }
        Command::Atomic(c) | Command::Sequence(c) => {
            e.flag(Tag::NO_RESP, c.no_resp);
            opt_meta(e, c.meta)?;
            commands(e, c.commands)?;
        }
        Command::Sync(c) => {
            e.flag(Tag::NO_RESP, c.no_resp);
            opt_cred(e, c.cred)?;
            opt_location(e, Tag::TARGET, c.target)?;
            opt_location(e, Tag::SOURCE, c.source)?;
            opt_meta(e, c.meta)?;
            commands(e, c.commands)?;
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
            items(e, c.items)?;
        }
        Command::Results(c) => {
            e.opt_leaf(Tag::MSG_REF, c.msg_ref)?;
            e.opt_leaf(Tag::CMD_REF, c.cmd_ref)?;
            e.opt_leaf(Tag::CMD, c.cmd)?;
            opt_meta(e, c.meta)?;
            texts(e, Tag::TARGET_REF, c.target_refs)?;
            texts(e, Tag::SOURCE_REF, c.source_refs)?;
            items(e, c.items)?;
        }
    }
    e.end(tag);
    Ok(())
}

fn item(e: &mut Encoder<'_>, it: &Item<'_>) -> Result {
    e.start(Tag::ITEM);
    opt_location(e, Tag::TARGET, it.target)?;
    opt_location(e, Tag::SOURCE, it.source)?;
    // TNDS in a WBXML message travels as a WBXML document, and is typed so.
    let nested = match &it.data {
        Some(Data::Xml(x)) => e.wbxml && is_document(x),
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
    let mut counter = Encoder {
        out: Out {
            buf: &mut [],
            len: 0,
        },
        wbxml: true,
        page: PAGE_SYNCML,
        indent: false,
        depth: 0,
    };
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
    // Open elements: their names (for XML end tags) and code pages (for WBXML lookups).
    let mut names: [&str; MAX_EMBEDDED_DEPTH] = [""; MAX_EMBEDDED_DEPTH];
    let mut pages = [PAGE_SYNCML; MAX_EMBEDDED_DEPTH];
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
                if e.wbxml {
                    let tag = page.and_then(|p| Tag::from_token_name(p, name)).ok_or(
                        EncodeError::Unrepresentable("embedded element without a WBXML token"),
                    )?;
                    e.switch_page(tag.page());
                    e.out.byte(if empty {
                        tag.token()
                    } else {
                        tag.token() | global::HAS_CONTENT
                    });
                } else {
                    e.newline();
                    e.xml_open(name, namespace);
                    e.out.put(if empty { b"/>" } else { b">" });
                }
                if !empty {
                    let (Some(n), Some(p)) = (names.get_mut(depth), pages.get_mut(depth)) else {
                        return Err(EncodeError::Unrepresentable("embedded XML nested too deep"));
                    };
                    *n = name;
                    *p = page.unwrap_or(inherited);
                    depth += 1;
                    e.depth = e.depth.saturating_add(1);
                }
            }
            XmlEvent::Text(t) => {
                if e.wbxml {
                    e.wbxml_text(&t, false);
                } else {
                    e.xml_text(&t)?;
                }
            }
            XmlEvent::End => {
                depth = depth
                    .checked_sub(1)
                    .ok_or(EncodeError::Unrepresentable("unbalanced embedded XML"))?;
                e.depth = e.depth.saturating_sub(1);
                if e.wbxml {
                    e.out.byte(global::END);
                } else {
                    e.newline();
                    e.out.put(b"</");
                    e.out
                        .put(names.get(depth).copied().unwrap_or("").as_bytes());
                    e.out.byte(b'>');
                }
            }
        }
    }
    if depth != 0 {
        return Err(EncodeError::Unrepresentable("unbalanced embedded XML"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn xml_text_escapes_what_it_must_and_refuses_controls() {
        fn escaped(text: &str) -> core::result::Result<std::string::String, EncodeError> {
            let mut buf = [0u8; 256];
            let mut e = Encoder {
                out: Out {
                    buf: &mut buf,
                    len: 0,
                },
                wbxml: false,
                page: PAGE_SYNCML,
                indent: false,
                depth: 0,
            };
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

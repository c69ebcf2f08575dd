//! Writing the queue into a client message: each entry becomes a command if it fits the
//! room left under the server's MaxMsgSize. Results read their data from the tree only
//! now, in windows the size of that room; a value larger than the room goes out in
//! chunks (`MoreData`, `Meta/Size` on the first), one chunk to a message. Without the
//! feature `large-objects` a value goes whole or not at all, and a Get of one that cannot
//! is refused (413).
//!
//! Commands of many items (a Struct listing, the DevInfo `Replace`, a Status with the
//! choices a user made) give the writer their items one at a time through
//! [`ItemSource`]s, each item built (its URI and value read into scratch) only when the
//! writer asks for it: no list of items sits on the stack, and a listing fills the message
//! item by item.

use super::queue::{Answer, Entry, Queue, ResultsEntry, ResultsKind, StatusEntry};
use super::{Error, GenericAlert};
use crate::codec::{
    Alert, Command, Data, EncodeError, Encoding, Fill, Item, ItemCommand, ItemSource, List,
    Location, Mark, MessageWriter, MetInf, Meta, Results, Status, Text,
};
use crate::codes::AlertCode;
use crate::decimal::Decimal;
use crate::limits::{ALERTS, UI_MAX_CHOICES};
use crate::schema::Format;
use crate::tree::{Handlers, NodeHandle, Principal, Tree};
use base64::Engine as _;
use embedded_storage::nor_flash::NorFlash;
use heapless::Vec;

/// DevInfo leaves the client sends.
const DEVINFO_LEAVES: usize = 16;
/// Nodes of a Struct listing one walk of the tree finds. The nodes after them take a walk
/// from the root again: fewer make more walks, more make a larger frame under the writer.
const BATCH: usize = 8;
/// Bytes a Results command may need beyond its data and what its form without data
/// measures (which has `Meta/Size` and `MoreData` already): the data's own framing, a
/// WBXML token and length. Data that grows when written (escaped in XML) is caught by
/// trying again with less.
const RESULTS_SLACK: usize = 8;
/// Sizes a Results chunk is tried at, each half the last, before the message ends without
/// it; without large objects the value is tried whole only.
const RESULTS_TRIES: usize = if cfg!(feature = "large-objects") {
    6
} else {
    1
};

/// Where the command runner's responses go: the message being written. A trait object,
/// so that the runner needs none of the lifetimes of what writing borrows from the
/// session.
pub(crate) trait Sink<F, H> {
    /// Writes queue entries while they fit; whether the queue emptied (else the message
    /// is full).
    fn flush(
        &mut self,
        tree: &mut Tree<'_, F, H>,
        queue: &mut Queue,
        scratch: &mut [u8],
    ) -> Result<bool, Error>;

    /// Where the message stands.
    fn mark(&self) -> SinkMark;

    /// Takes back what was written since `mark`.
    fn rewind(&mut self, mark: SinkMark);

    /// Bytes a command may still take.
    fn room(&self) -> usize;

    /// Whether a value of `total` bytes read as `format` goes whole into one Results at
    /// `uri` in a message that holds nothing else, through `scratch` bytes: without large
    /// objects nothing larger can be sent (OMA-TS-DM_Protocol 1.2 §7).
    #[cfg(not(feature = "large-objects"))]
    fn fits_alone(&self, uri: &str, total: usize, format: Format, scratch: usize) -> bool;

    /// Commands written to this message so far.
    fn written(&self) -> usize;
}

/// A place in the message being written, with the counts that go with it.
#[derive(Clone, Copy)]
pub(crate) struct SinkMark {
    writer: Mark,
    cmd_id: u32,
    written: usize,
    asked_next: bool,
}

/// The message being written and what writing queue entries into it takes from the
/// session.
pub(crate) struct MessageSink<'x, 'b> {
    pub(crate) writer: &'x mut MessageWriter<'b>,
    pub(crate) server_id: &'x str,
    pub(crate) encoding: Encoding,
    /// `MsgRef` of the statuses: the server message they answer.
    pub(crate) msg_ref: &'x str,
    /// Our `MsgID`.
    pub(crate) msg_id: u32,
    /// The last `CmdID` written.
    pub(crate) cmd_id: u32,
    pub(crate) alerts: &'x [GenericAlert<'x>],
    pub(crate) alert_refs: &'x mut Vec<(u32, u32), { ALERTS }>,
    pub(crate) server_uri: &'x str,
    pub(crate) device_id: &'x str,
    /// Commands written to this message.
    pub(crate) written: usize,
    /// Alert 1222 went into this message.
    pub(crate) asked_next: bool,
    /// Bytes a command may take in a message that holds nothing else: this message's room
    /// when it began, its header written.
    #[cfg(not(feature = "large-objects"))]
    pub(crate) alone_room: usize,
}

/// Bytes a Results takes besides its data and its URI, counted generously (tags, CmdID,
/// MsgRef, CmdRef, Meta with Format, Type and Size, in XML): only to refuse a Get whose
/// value cannot go out without large objects.
#[cfg(not(feature = "large-objects"))]
const RESULTS_FRAME: usize = 320;

impl<F: NorFlash, H: Handlers> Sink<F, H> for MessageSink<'_, '_> {
    fn flush(
        &mut self,
        tree: &mut Tree<'_, F, H>,
        queue: &mut Queue,
        scratch: &mut [u8],
    ) -> Result<bool, Error> {
        Emit {
            tree,
            queue,
            scratch,
            out: self,
        }
        .all()
    }

    fn mark(&self) -> SinkMark {
        SinkMark {
            writer: self.writer.mark(),
            cmd_id: self.cmd_id,
            written: self.written,
            asked_next: self.asked_next,
        }
    }

    fn rewind(&mut self, mark: SinkMark) {
        self.writer.rewind(mark.writer);
        self.cmd_id = mark.cmd_id;
        self.written = mark.written;
        self.asked_next = mark.asked_next;
    }

    fn room(&self) -> usize {
        self.writer.room()
    }

    #[cfg(not(feature = "large-objects"))]
    fn fits_alone(&self, uri: &str, total: usize, format: Format, scratch: usize) -> bool {
        // Binary goes as Base64 in XML, through half of scratch (see `results_value`).
        let b64 = self.encoding == Encoding::Xml && format == Format::Bin;
        let (sent, read_room) = if b64 {
            (total.div_ceil(3).saturating_mul(4), scratch / 2 / 4 * 3)
        } else {
            (total, scratch)
        };
        let frame = RESULTS_FRAME.saturating_add(uri.len());
        total <= read_room && sent.saturating_add(frame) <= self.alone_room
    }

    fn written(&self) -> usize {
        self.written
    }
}

/// Writing queue entries into one message: the message and its counts (`out`), with the
/// tree the entries read and the queue they come from.
pub(crate) struct Emit<'s, 'e, 't, 'x, 'b, F, H> {
    pub(crate) tree: &'e mut Tree<'t, F, H>,
    pub(crate) queue: &'s mut Queue,
    pub(crate) scratch: &'s mut [u8],
    pub(crate) out: &'s mut MessageSink<'x, 'b>,
}

impl<F: NorFlash, H: Handlers> Emit<'_, '_, '_, '_, '_, F, H> {
    /// Writes `cmd` if it fits.
    fn push(&mut self, cmd: &Command<'_>) -> Result<bool, Error> {
        let fits = self.out.writer.push(cmd)?;
        Ok(self.count(fits))
    }

    /// Counts a command when it went in; returns whether it did.
    fn count(&mut self, written: bool) -> bool {
        if written {
            self.out.cmd_id += 1;
            self.out.written += 1;
        }
        written
    }

    /// Writes queue entries until one does not fit; whether the queue is empty.
    ///
    /// Each kind of entry is written by a function kept out of line: their commands are
    /// large (a few hundred bytes each), and inlined into one frame they would all be on
    /// the stack at once, under the command runner.
    pub(crate) fn all(&mut self) -> Result<bool, Error> {
        while let Some(entry) = self.queue.front().copied() {
            let done = match entry {
                Entry::Status(s) if s.code == 0 => true,
                Entry::Status(s) => self.status(&s)?,
                Entry::Results(r) => self.results(r)?,
                Entry::Open(code) => self.alert(AlertCode::from(code), None, None)?,
                Entry::NextMessage => {
                    let done = self.alert(
                        AlertCode::NextMessage,
                        Some(self.out.server_uri),
                        Some(self.out.device_id),
                    )?;
                    self.out.asked_next |= done;
                    done
                }
                #[cfg(feature = "large-objects")]
                Entry::NoEndOfData(span) => {
                    let mut uri = heapless::String::<256>::new();
                    let _ = uri.push_str(self.queue.str(span));
                    self.alert(AlertCode::NoEndOfData, Some(&uri), None)?
                }
                Entry::Generic(i) => self.generic(usize::from(i))?,
                Entry::DevInfo { next } => self.devinfo(next)?,
            };
            if !done {
                return Ok(false);
            }
            self.queue.pop();
        }
        Ok(true)
    }

    /// A Status, with the user's answer to an alert as its items.
    #[inline(never)]
    fn status(&mut self, e: &StatusEntry) -> Result<bool, Error> {
        let q = &*self.queue;
        let id = Decimal::new(u64::from(self.out.cmd_id + 1));
        let code = Decimal::new(u64::from(e.code));
        let targets = [Text::new(q.str(e.target))];
        let sources = [Text::new(q.str(e.source))];
        let status = Command::Status(Status {
            cmd_id: Text::new(id.as_str()),
            msg_ref: Some(Text::new(self.out.msg_ref)),
            cmd_ref: Some(Text::new(q.str(e.cmd_ref))),
            cmd: Some(Text::new(e.cmd.name())),
            target_refs: List::new(if e.target.is_empty() { &[] } else { &targets }),
            source_refs: List::new(if e.source.is_empty() { &[] } else { &sources }),
            cred: None,
            chal: None,
            data: Some(Text::new(code.as_str())),
            items: List::empty(),
        });
        let mut answer = AnswerItems {
            queue: q,
            answer: e.answer,
            next: 0,
            num: Decimal::new(0),
        };
        // An answer means something only whole: all its items, or the Status waits.
        let mut pushed = self
            .out
            .writer
            .push_items(&status, Fill::All, &mut answer)?;
        if pushed.is_none() && self.out.written == 0 {
            // Not even alone in a message: without the references it may fit (the DTD
            // makes them optional; MsgRef and CmdRef name the command).
            let Command::Status(mut bare) = status else {
                return Ok(false);
            };
            bare.target_refs = List::empty();
            bare.source_refs = List::empty();
            answer.next = 0;
            pushed = self
                .out
                .writer
                .push_items(&Command::Status(bare), Fill::All, &mut answer)?;
        }
        Ok(self.count(pushed.is_some()))
    }

    /// An Alert of the client's own (1200/1201, 1222, 1225).
    #[inline(never)]
    fn alert(
        &mut self,
        code: AlertCode,
        target: Option<&str>,
        source: Option<&str>,
    ) -> Result<bool, Error> {
        let id = Decimal::new(u64::from(self.out.cmd_id + 1));
        let number = Decimal::new(u64::from(u16::from(code)));
        let item = [Item {
            target: target.map(Location::new),
            source: source.map(Location::new),
            ..Item::default()
        }];
        let has_item = target.is_some() || source.is_some();
        let mut alert = Alert {
            cmd_id: Text::new(id.as_str()),
            no_resp: false,
            cred: None,
            data: Some(Text::new(number.as_str())),
            correlator: None,
            items: List::new(if has_item { &item } else { &[] }),
        };
        if self.push(&Command::Alert(alert))? {
            return Ok(true);
        }
        // Alert 1222 names the parties only for good measure: alone in a message that
        // cannot hold them, it goes without.
        if code == AlertCode::NextMessage && self.out.written == 0 {
            alert.items = List::empty();
            return self.push(&Command::Alert(alert));
        }
        Ok(false)
    }

    /// A Generic Alert (1226).
    #[inline(never)]
    fn generic(&mut self, index: usize) -> Result<bool, Error> {
        let Some(a) = self.out.alerts.get(index).copied() else {
            return Ok(true);
        };
        let id = Decimal::new(u64::from(self.out.cmd_id + 1));
        let meta = MetInf {
            type_: Some(Text::new(a.alert_type)),
            format: Some(Text::new(a.format)),
            mark: a.mark.map(Text::new),
            ..MetInf::default()
        };
        let item = [Item {
            source: a.source.map(Location::new),
            target: a.target.map(Location::new),
            meta: Some(Meta::new(&meta)),
            data: Some(Data::Text(Text::new(a.data))),
            more_data: false,
        }];
        let alert = Command::Alert(Alert {
            cmd_id: Text::new(id.as_str()),
            no_resp: false,
            cred: None,
            data: Some(Text::new("1226")),
            correlator: a.correlator.map(Text::new),
            items: List::new(&item),
        });
        let fits = self.push(&alert)?;
        if fits {
            if let Some(slot) = self.out.alert_refs.get_mut(index) {
                *slot = (self.out.msg_id, self.out.cmd_id);
            }
        }
        Ok(fits)
    }

    /// `Replace` of the `./DevInfo` leaves, from leaf `next` on: the client's identity and
    /// capabilities, all in one message, or when a small MaxMsgSize cannot hold them, in
    /// as many messages as it takes.
    #[inline(never)]
    fn devinfo(&mut self, next: u8) -> Result<bool, Error> {
        let Some(leaves) = devinfo_leaves(self.tree) else {
            return Ok(true);
        };
        let total = leaves.len();
        let id = Decimal::new(u64::from(self.out.cmd_id + 1));
        let replace = Command::Replace(ItemCommand {
            cmd_id: Text::new(id.as_str()),
            no_resp: false,
            cred: None,
            meta: None,
            items: List::empty(),
        });
        let mut items = LeafItems {
            tree: self.tree,
            scratch: self.scratch,
            leaves,
            next: usize::from(next),
        };
        let mut pushed = None;
        if next == 0 {
            pushed = self
                .out
                .writer
                .push_items(&replace, Fill::All, &mut items)?;
        }
        if pushed.is_none() && (next > 0 || self.out.written == 0) {
            items.next = usize::from(next);
            pushed = self
                .out
                .writer
                .push_items(&replace, Fill::AtLeastOne, &mut items)?;
        }
        let Some(sent) = pushed else {
            return Ok(false);
        };
        self.count(true);
        let done = usize::from(next) + sent;
        if done < total {
            if let Some(Entry::DevInfo { next }) = self.queue.front_mut() {
                *next = u8::try_from(done).unwrap_or(u8::MAX);
            }
            return Ok(false);
        }
        Ok(true)
    }

    fn results(&mut self, e: ResultsEntry) -> Result<bool, Error> {
        match e.kind {
            ResultsKind::Struct { data } => self.results_struct(e, data),
            ResultsKind::Value | ResultsKind::Listing => self.results_value(e),
        }
    }

    /// Results of a value or a listing, in chunks when it does not fit.
    #[inline(never)]
    fn results_value(&mut self, e: ResultsEntry) -> Result<bool, Error> {
        let who = Principal::Server(self.out.server_id);
        let listing = e.kind == ResultsKind::Listing;
        let q: &Queue = self.queue;
        let uri = q.str(e.uri);
        let cmd_ref = q.str(e.cmd_ref);
        let id = Decimal::new(u64::from(self.out.cmd_id + 1));
        let probe = if listing {
            self.tree.get_listing(who, uri, 0, &mut [])
        } else {
            self.tree.get(who, uri, 0, &mut [])
        };
        let Ok(probe) = probe else {
            // Gone since the Get ran (a handler changed its mind): nothing to send.
            return Ok(true);
        };
        let total = probe.total;
        let start = e.progress as usize;
        // Binary goes as b64 in XML only; a build without XML never takes this way.
        let xml = cfg!(feature = "xml") && self.out.encoding == Encoding::Xml;
        let b64 = xml && probe.format == Format::Bin;
        let format = if b64 { "b64" } else { probe.format.as_str() };
        let sent_total = if b64 { total.div_ceil(3) * 4 } else { total };
        let size = Decimal::new(u64::from(u32::try_from(sent_total).unwrap_or(u32::MAX)));
        let value = ValueHead {
            id: id.as_str(),
            msg_ref: self.out.msg_ref,
            cmd_ref,
            uri,
            format,
            mime: probe.mime,
        };
        // What the Results takes without its data.
        let base = value.put(
            Put::Measure(self.out.encoding),
            Some(size.as_str()),
            Data::Text(Text::empty()),
            true,
        )?;
        let room = self.out.writer.room().saturating_sub(base + RESULTS_SLACK);
        let remaining = total.saturating_sub(start);
        let (read_cap, out_cap) = if b64 {
            let half = self.scratch.len() / 2;
            (half.min(room / 4 * 3) / 3 * 3, half)
        } else {
            (self.scratch.len().min(room), 0)
        };
        let mut want = remaining.min(read_cap);
        // Without large objects a value goes whole or not at all: in the next message, or,
        // when it does not fit a message of its own either (the Get checked that it did;
        // it grew since), never.
        #[cfg(not(feature = "large-objects"))]
        if want < remaining {
            return Ok(self.out.written == 0);
        }
        for _ in 0..RESULTS_TRIES {
            if want == 0 && remaining > 0 {
                return Ok(false);
            }
            let (head, tail) = self.scratch.split_at_mut(self.scratch.len() - out_cap);
            let window = head.get_mut(..want).unwrap_or(&mut []);
            let read = if listing {
                self.tree.get_listing(who, uri, start, window)
            } else {
                self.tree.get(who, uri, start, window)
            };
            let Ok(read) = read else {
                return Ok(true);
            };
            let mut len = read.len;
            let mut raw = head.get(..len).unwrap_or(&[]);
            let more = start + len < total;
            if !b64 && more && xml {
                // Text chunks end on a character boundary.
                if let Err(err) = core::str::from_utf8(raw) {
                    if err.error_len().is_none() && err.valid_up_to() > 0 {
                        len = err.valid_up_to();
                        raw = raw.get(..len).unwrap_or(&[]);
                    }
                }
            }
            let data: &[u8] = if b64 {
                match base64::engine::general_purpose::STANDARD.encode_slice(raw, tail) {
                    Ok(n) => tail.get(..n).unwrap_or(&[]),
                    Err(_) => return Ok(true),
                }
            } else {
                raw
            };
            let first = start == 0;
            let size = (first && more).then(|| size.as_str());
            let put = Put::Write(&mut *self.out.writer);
            // Counted here rather than by `count`: `uri` still borrows the queue.
            if value.put(put, size, data_of(data), more)? > 0 {
                self.out.cmd_id += 1;
                self.out.written += 1;
                let progress = u32::try_from(start + len).unwrap_or(u32::MAX);
                if let Some(Entry::Results(r)) = self.queue.front_mut() {
                    r.progress = progress;
                }
                // After a chunk the message ends: the next chunk waits for the server.
                return Ok(!more);
            }
            want /= 2;
        }
        Ok(!cfg!(feature = "large-objects") && self.out.written == 0)
    }

    /// `?list=Struct` / `StructData`: an item per node, as many as the message takes,
    /// resumed where the last message stopped.
    #[inline(never)]
    fn results_struct(&mut self, e: ResultsEntry, data: bool) -> Result<bool, Error> {
        let q: &Queue = self.queue;
        let uri = q.str(e.uri);
        let path = uri.split_once('?').map_or(uri, |(path, _)| path);
        let Ok(root) = self.tree.parse_uri(path).and_then(|u| self.tree.find(&u)) else {
            return Ok(true);
        };
        let id = Decimal::new(u64::from(self.out.cmd_id + 1));
        let cmd = results_cmd(id.as_str(), self.out.msg_ref, q.str(e.cmd_ref), &[]);
        let mut nodes = StructItems {
            tree: self.tree,
            who: Principal::Server(self.out.server_id),
            root,
            data,
            scratch: self.scratch,
            start: e.progress as usize,
            next: e.progress as usize,
            batch_at: e.progress as usize,
            batch: Vec::new(),
            more: true,
            meta: MetInf::default(),
            bare_first: false,
            first_had_value: false,
            ended: false,
        };
        let mut pushed = self
            .out
            .writer
            .push_items(&cmd, Fill::AtLeastOne, &mut nodes)?;
        // An item that does not fit even a message holding nothing else would stop the
        // listing for good: its value goes, as one too large for scratch does (the server
        // can Get it on its own, in chunks).
        if pushed.is_none() && self.out.written == 0 && nodes.first_had_value {
            nodes.restart_bare();
            pushed = self
                .out
                .writer
                .push_items(&cmd, Fill::AtLeastOne, &mut nodes)?;
        }
        // A source that ran dry ends the listing, whether or not it had items left for
        // this message (none, or a node whose URI is larger than scratch).
        let done = nodes.ended;
        let sent = pushed.unwrap_or(0);
        if self.count(pushed.is_some()) {
            let progress = u32::try_from(sent).map_or(u32::MAX, |n| e.progress.saturating_add(n));
            if let Some(Entry::Results(r)) = self.queue.front_mut() {
                r.progress = progress;
            }
        }
        Ok(done)
    }
}

/// What every Results of one value shares, chunk after chunk.
struct ValueHead<'c> {
    id: &'c str,
    msg_ref: &'c str,
    cmd_ref: &'c str,
    uri: &'c str,
    format: &'c str,
    mime: &'c str,
}

/// What [`ValueHead::put`] does with the Results it builds.
enum Put<'w, 'b> {
    /// Measures it in this encoding.
    Measure(Encoding),
    /// Writes it into the message if it fits.
    Write(&'w mut MessageWriter<'b>),
}

impl ValueHead<'_> {
    /// Builds the Results of one chunk and measures or writes it: the bytes it takes, or
    /// took in the message (none when it did not fit). Measuring and writing share this
    /// so that they see the same command, built in one place in the image.
    #[inline(never)]
    fn put(
        &self,
        put: Put<'_, '_>,
        size: Option<&str>,
        data: Data<'_>,
        more: bool,
    ) -> Result<usize, EncodeError> {
        let meta = MetInf {
            format: Some(Text::new(self.format)),
            type_: (!self.mime.is_empty()).then(|| Text::new(self.mime)),
            size: size.map(Text::new),
            ..MetInf::default()
        };
        let item = [Item {
            target: None,
            source: Some(Location::new(self.uri)),
            meta: Some(Meta::new(&meta)),
            data: Some(data),
            more_data: more,
        }];
        let cmd = results_cmd(self.id, self.msg_ref, self.cmd_ref, &item);
        match put {
            Put::Measure(encoding) => cmd.encoded_len(encoding),
            Put::Write(writer) => {
                let before = writer.written();
                let fits = writer.push(&cmd)?;
                Ok(if fits { writer.written() - before } else { 0 })
            }
        }
    }
}

/// A Results for `e` carrying `items`.
fn results_cmd<'c>(
    id: &'c str,
    msg_ref: &'c str,
    cmd_ref: &'c str,
    items: &'c [Item<'c>],
) -> Command<'c> {
    Command::Results(Results {
        cmd_id: Text::new(id),
        msg_ref: Some(Text::new(msg_ref)),
        cmd_ref: Some(Text::new(cmd_ref)),
        cmd: None,
        meta: None,
        target_refs: List::new(&[]),
        source_refs: List::new(&[]),
        items: List::new(items),
    })
}

/// A `Meta` with only `Format`, one constant for each format: items that carry nothing
/// else need no `MetInf` of their own on the stack.
fn format_only(format: Format) -> &'static MetInf<'static> {
    const fn only(name: &'static str) -> MetInf<'static> {
        MetInf {
            format: Some(Text::new(name)),
            ..MetInf::EMPTY
        }
    }
    match format {
        Format::B64 => &const { only(Format::B64.as_str()) },
        Format::Bin => &const { only(Format::Bin.as_str()) },
        Format::Bool => &const { only(Format::Bool.as_str()) },
        Format::Chr => &const { only(Format::Chr.as_str()) },
        Format::Int => &const { only(Format::Int.as_str()) },
        Format::Node => &const { only(Format::Node.as_str()) },
        Format::Null => &const { only(Format::Null.as_str()) },
        Format::Xml => &const { only(Format::Xml.as_str()) },
        Format::Date => &const { only(Format::Date.as_str()) },
        Format::Time => &const { only(Format::Time.as_str()) },
        Format::Float => &const { only(Format::Float.as_str()) },
    }
}

/// Text where the bytes are UTF-8, opaque where not.
fn data_of(bytes: &[u8]) -> Data<'_> {
    match core::str::from_utf8(bytes) {
        Ok(s) => Data::Text(Text::new(s)),
        Err(_) => Data::Opaque(Text::from_bytes(bytes)),
    }
}

/// Writes the URI of `h` at the start of `scratch`, then (with `value`) its value; returns
/// the end of each and the node's format. `None` when the URI does not fit.
fn lay_out<F: NorFlash, H: Handlers>(
    tree: &mut Tree<'_, F, H>,
    who: Principal<'_>,
    h: NodeHandle,
    value: bool,
    scratch: &mut [u8],
) -> Option<(usize, usize, Format)> {
    let format = tree.schema().node(h.def()).map_or(Format::Node, |n| {
        if n.is_interior() {
            Format::Node
        } else {
            n.format()
        }
    });
    let mut w = SliceWriter {
        buf: scratch,
        len: 0,
    };
    tree.write_uri(h, &mut w).ok()?;
    let uri_len = w.len;
    let (uri, tail) = scratch.split_at_mut_checked(uri_len)?;
    let uri = core::str::from_utf8(uri).ok()?;
    let value_len = if value {
        match tree.read(who, h, uri, 0, tail) {
            Ok(r) if r.len == r.total => r.len,
            // Too large for a listing item: the server can Get it on its own.
            _ => 0,
        }
    } else {
        0
    };
    Some((uri_len, uri_len + value_len, format))
}

/// The URI and the value [`lay_out`] wrote into `scratch`.
fn laid_out(scratch: &[u8], uri_end: usize, value_end: usize) -> (&str, &[u8]) {
    let uri = scratch.get(..uri_end).unwrap_or(&[]);
    let value = scratch.get(uri_end..value_end).unwrap_or(&[]);
    (core::str::from_utf8(uri).unwrap_or(""), value)
}

/// The items of a Status: the text a user typed, or the numbers of the choices picked.
struct AnswerItems<'q> {
    queue: &'q Queue,
    answer: Answer,
    /// The next byte of the answer's span to send.
    next: usize,
    /// The last choice sent, as text.
    num: Decimal,
}

impl ItemSource for AnswerItems<'_> {
    fn next_item(&mut self) -> Option<Item<'_>> {
        let text = match self.answer {
            Answer::None => return None,
            Answer::Text(span) if self.next == 0 => {
                self.next = 1;
                self.queue.str(span)
            }
            Answer::Text(_) => return None,
            Answer::Choices(span) => {
                // The picks were checked against the alert's choices when stored.
                let n = loop {
                    let n = *self.queue.get(span).get(self.next)?;
                    self.next += 1;
                    if (1..=UI_MAX_CHOICES).contains(&usize::from(n)) {
                        break n;
                    }
                };
                self.num = Decimal::new(u64::from(n));
                self.num.as_str()
            }
        };
        Some(Item {
            data: Some(Data::Text(Text::new(text))),
            ..Item::default()
        })
    }
}

/// The leaves right under `./DevInfo` the device may read; `None` without a DevInfo.
#[inline(never)]
fn devinfo_leaves<F: NorFlash, H: Handlers>(
    tree: &Tree<'_, F, H>,
) -> Option<Vec<NodeHandle, DEVINFO_LEAVES>> {
    let root = tree
        .parse_uri("./DevInfo")
        .and_then(|u| tree.find(&u))
        .ok()?;
    let mut leaves = Vec::new();
    let schema = tree.schema();
    let _ = tree.walk(Principal::Device, root, true, |h, depth| {
        let leaf = schema.node(h.def()).is_some_and(|n| n.is_leaf());
        if depth == 1 && leaf {
            let _ = leaves.push(h);
        }
        true
    });
    Some(leaves)
}

/// The items of the DevInfo `Replace`: each leaf's URI and value, read into scratch when
/// the writer asks for the leaf.
struct LeafItems<'x, 't, F, H> {
    tree: &'x mut Tree<'t, F, H>,
    scratch: &'x mut [u8],
    leaves: Vec<NodeHandle, DEVINFO_LEAVES>,
    next: usize,
}

impl<F: NorFlash, H: Handlers> ItemSource for LeafItems<'_, '_, F, H> {
    fn next_item(&mut self) -> Option<Item<'_>> {
        let (uri_end, value_end, format) = loop {
            let &h = self.leaves.get(self.next)?;
            self.next += 1;
            // A leaf whose URI does not fit scratch is left out.
            if let Some(laid) = lay_out(self.tree, Principal::Device, h, true, self.scratch) {
                break laid;
            }
        };
        let (uri, value) = laid_out(self.scratch, uri_end, value_end);
        Some(Item {
            source: Some(Location::new(uri)),
            meta: Some(Meta::new(format_only(format))),
            data: Some(data_of(value)),
            ..Item::default()
        })
    }
}

/// The items of a Struct listing from node `start` of the walk on: each node's URI (and
/// with `data` a leaf's value) read into scratch when the writer asks for the node.
struct StructItems<'x, 't, 'w, F, H> {
    tree: &'x mut Tree<'t, F, H>,
    who: Principal<'w>,
    root: NodeHandle,
    data: bool,
    scratch: &'x mut [u8],
    /// The listing's first node in this message (the nodes sent before).
    start: usize,
    /// The node the next item is for, counted in walk order.
    next: usize,
    /// Where `batch` starts, counted in walk order.
    batch_at: usize,
    /// Nodes from `batch_at` on, found by one walk.
    batch: Vec<NodeHandle, BATCH>,
    /// Nodes may follow the batch: the last walk stopped with the batch full (or there was
    /// none yet).
    more: bool,
    /// The `Meta` of the item last given.
    meta: MetInf<'static>,
    /// The first item goes without its value.
    bare_first: bool,
    /// The first item given carried a value.
    first_had_value: bool,
    /// Asked for an item past the last.
    ended: bool,
}

impl<F: NorFlash, H: Handlers> StructItems<'_, '_, '_, F, H> {
    /// Starts the listing again at `start`, this time with the first item's value left out.
    fn restart_bare(&mut self) {
        self.next = self.start;
        self.bare_first = true;
        self.ended = false;
    }

    /// The node at `next`, walking the tree again when it is not in the batch.
    fn node(&mut self) -> Option<NodeHandle> {
        let past = self.batch_at.saturating_add(self.batch.len());
        if self.next < self.batch_at || (self.next >= past && self.more) {
            self.batch_at = self.next;
            self.more = struct_batch(self.tree, self.who, self.root, self.next, &mut self.batch);
        }
        self.batch
            .get(self.next.checked_sub(self.batch_at)?)
            .copied()
    }
}

impl<F: NorFlash, H: Handlers> ItemSource for StructItems<'_, '_, '_, F, H> {
    fn next_item(&mut self) -> Option<Item<'_>> {
        let first = self.next == self.start;
        let Some(h) = self.node() else {
            self.ended = true;
            return None;
        };
        let def = self.tree.schema().node(h.def());
        let leaf = def.is_some_and(|n| n.is_leaf());
        let bare = first && self.bare_first;
        let value = self.data && leaf && !bare;
        // Out of scratch even for the URI: the listing ends here.
        let Some((uri_end, value_end, format)) =
            lay_out(self.tree, self.who, h, value, self.scratch)
        else {
            self.ended = true;
            return None;
        };
        self.next += 1;
        let with_data = self.data && format != Format::Node && !bare;
        if first {
            self.first_had_value = with_data;
        }
        let mime = def.map_or("", |n| n.mime());
        self.meta = MetInf {
            format: Some(Text::new(format.as_str())),
            type_: (!mime.is_empty()).then(|| Text::new(mime)),
            ..MetInf::default()
        };
        let (uri, value) = laid_out(self.scratch, uri_end, value_end);
        Some(Item {
            source: Some(Location::new(uri)),
            meta: Some(Meta::new(&self.meta)),
            data: with_data.then(|| data_of(value)),
            ..Item::default()
        })
    }
}

/// Fills `batch` with the nodes of the walk of `root` from the `skip`th on; returns whether
/// more follow. A walk cut short (too deep) gives what it found.
#[inline(never)]
fn struct_batch<F: NorFlash, H: Handlers>(
    tree: &Tree<'_, F, H>,
    who: Principal<'_>,
    root: NodeHandle,
    skip: usize,
    batch: &mut Vec<NodeHandle, BATCH>,
) -> bool {
    batch.clear();
    let mut seen = 0;
    let mut more = false;
    let _ = tree.walk(who, root, true, |h, _| {
        if seen < skip {
            seen += 1;
            true
        } else if batch.push(h).is_ok() {
            true
        } else {
            more = true;
            false
        }
    });
    more
}

/// `fmt::Write` into a byte slice.
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::queue::{Cmd, Span};
    use super::super::test_support::{blank_tree, TestTree};
    use super::*;
    use crate::codec::{EncodeOptions, SyncHdr};
    use std::string::{String, ToString};
    use std::vec::Vec as StdVec;
    use std::{format, vec};

    /// The encodings the build writes.
    const ENCODINGS: [Encoding; 1 + cfg!(feature = "xml") as usize] = [
        #[cfg(feature = "xml")]
        Encoding::Xml,
        Encoding::Wbxml,
    ];

    /// A tree with its DevInfo filled in, `./DevInfo/Mod` set to `model`.
    fn tree(model: &str) -> TestTree {
        let mut tree = blank_tree();
        for (leaf, value) in [
            ("DevId", "IMEI:490154203237518"),
            ("Man", "iotadm"),
            ("Mod", model),
            ("DmV", "1.2"),
            ("Lang", "en-US"),
        ] {
            let uri = format!("./DevInfo/{leaf}");
            tree.replace(Principal::Device, &uri, value.as_bytes(), None, None)
                .unwrap();
        }
        tree
    }

    /// What a message carried: each command's name and its items' source URIs and data.
    type Sent = StdVec<(&'static str, StdVec<(String, Option<String>)>)>;

    /// Writes one message of the queue under `limit`; whether the queue emptied, and what
    /// the message carried.
    fn message(
        tree: &mut TestTree,
        queue: &mut Queue,
        encoding: Encoding,
        limit: usize,
    ) -> (bool, Sent) {
        let header = SyncHdr {
            ver_dtd: Text::new("1.2"),
            ver_proto: Text::new("DM/1.2"),
            session_id: Text::new("1"),
            msg_id: Text::new("2"),
            target: Location::new("http://127.0.0.1/dm"),
            source: Location::new("IMEI:490154203237518"),
            resp_uri: None,
            no_resp: false,
            cred: None,
            meta: None,
        };
        let mut buf = vec![0u8; 16 * 1024];
        let options = EncodeOptions::new(encoding);
        let mut writer = MessageWriter::new(&options, &header, &mut buf, limit).unwrap();
        let mut scratch = [0u8; 1024];
        let mut alert_refs = Vec::new();
        let mut out = MessageSink {
            writer: &mut writer,
            server_id: "srv",
            encoding,
            msg_ref: "1",
            msg_id: 2,
            cmd_id: 0,
            alerts: &[],
            alert_refs: &mut alert_refs,
            server_uri: "http://127.0.0.1/dm",
            device_id: "IMEI:490154203237518",
            written: 0,
            asked_next: false,
            #[cfg(not(feature = "large-objects"))]
            alone_room: limit,
        };
        let mut emit = Emit {
            tree,
            queue,
            scratch: &mut scratch,
            out: &mut out,
        };
        let done = emit.all().unwrap();
        let n = writer.finish(done);
        assert!(n <= limit, "{n} bytes over {limit}");
        let msg = crate::codec::parse(&buf[..n]).unwrap();
        let sent = msg
            .body
            .commands
            .into_iter()
            .map(|cmd| {
                let items = match cmd {
                    Command::Results(c) => c.items,
                    Command::Replace(c) => c.items,
                    Command::Status(c) => c.items,
                    _ => List::empty(),
                };
                let items = items
                    .into_iter()
                    .map(|i| {
                        let uri = i.source.map(|l| l.uri.to_string()).unwrap_or_default();
                        (uri, i.data.and_then(|d| d.content()).map(|t| t.to_string()))
                    })
                    .collect();
                (cmd.name(), items)
            })
            .collect();
        (done, sent)
    }

    fn queue_listing(uri: &str) -> Queue {
        let mut queue = Queue::new();
        let entry = ResultsEntry {
            cmd_ref: queue.store(b"4").unwrap(),
            uri: queue.store(uri.as_bytes()).unwrap(),
            kind: ResultsKind::Struct { data: true },
            progress: 0,
        };
        queue.push(Entry::Results(entry)).unwrap();
        queue
    }

    /// A listing's items over as many messages as `limit` makes of it.
    fn listing(
        tree: &mut TestTree,
        uri: &str,
        encoding: Encoding,
        limit: usize,
    ) -> StdVec<StdVec<(String, Option<String>)>> {
        let mut queue = queue_listing(uri);
        let mut messages = StdVec::new();
        loop {
            let (done, sent) = message(tree, &mut queue, encoding, limit);
            assert!(sent.len() <= 1, "one Results a message");
            let items = sent.into_iter().flat_map(|(_, items)| items).collect();
            messages.push(items);
            if done {
                return messages;
            }
            assert!(messages.len() < 500, "the listing never ends");
        }
    }

    #[test]
    fn a_struct_listing_resumes_where_the_last_message_stopped() {
        let mut tree = tree("test-handset");
        let whole = listing(&mut tree, ".", Encoding::Wbxml, 16 * 1024);
        assert_eq!(whole.len(), 1);
        let whole = &whole[0];
        // More nodes than one walk of the tree gathers, in one Results.
        assert!(whole.len() > 2 * BATCH, "{} nodes", whole.len());
        assert_eq!(whole[0].0, ".");
        assert!(whole.contains(&("./DevInfo/Mod".into(), Some("test-handset".into()))));
        for encoding in ENCODINGS {
            let mut most = 0;
            for limit in (600..1600).step_by(97) {
                let messages = listing(&mut tree, ".", encoding, limit);
                assert!(
                    messages.iter().all(|items| !items.is_empty()),
                    "{encoding:?} at {limit}: a message without an item"
                );
                assert_eq!(&messages.concat(), whole, "{encoding:?} at {limit}");
                most = most.max(messages.len());
            }
            assert!(most > 2, "{encoding:?}: {most} messages at most");
        }
    }

    #[test]
    fn a_listing_item_no_message_can_carry_goes_without_its_value() {
        let model = "m".repeat(400);
        let mut tree = tree(&model);
        let whole = listing(&mut tree, "./DevInfo", Encoding::Wbxml, 16 * 1024).concat();
        let mod_item = ("./DevInfo/Mod".into(), Some(model.clone()));
        assert!(whole.contains(&mod_item));
        // Too small for the value and the header together, large enough for the rest.
        let messages = listing(&mut tree, "./DevInfo", Encoding::Wbxml, 400);
        let expected: StdVec<_> = whole
            .iter()
            .map(|(uri, data)| {
                let data = if *uri == mod_item.0 {
                    None
                } else {
                    data.clone()
                };
                (uri.clone(), data)
            })
            .collect();
        assert_eq!(messages.concat(), expected);
        // The item went alone: the message before it was full, or it came first.
        let alone = messages
            .iter()
            .find(|items| items.iter().any(|(uri, _)| *uri == mod_item.0))
            .unwrap();
        assert_eq!(alone[0].0, mod_item.0);
    }

    #[test]
    fn devinfo_goes_whole_or_in_parts_when_one_message_cannot_hold_it() {
        let mut tree = tree("test-handset");
        let leaves: StdVec<(String, Option<String>)> = [
            ("DevId", "IMEI:490154203237518"),
            ("Man", "iotadm"),
            ("Mod", "test-handset"),
            ("DmV", "1.2"),
            ("Lang", "en-US"),
        ]
        .iter()
        .map(|(leaf, v)| (format!("./DevInfo/{leaf}"), Some(String::from(*v))))
        .collect();
        for encoding in ENCODINGS {
            let (mut whole, mut parts) = (false, false);
            // From a limit that holds the header.
            let least = if encoding == Encoding::Xml { 330 } else { 110 };
            for limit in least..1200 {
                let mut queue = Queue::new();
                queue.push(Entry::DevInfo { next: 0 }).unwrap();
                let mut got = StdVec::new();
                let mut messages = 0;
                loop {
                    let (done, sent) = message(&mut tree, &mut queue, encoding, limit);
                    messages += 1;
                    if sent.is_empty() {
                        // Not even one leaf fits: nothing is sent, the entry waits.
                        assert!(!done && messages == 1, "{encoding:?} at {limit}");
                        assert!(!whole && !parts, "{encoding:?}: fit a smaller limit");
                        break;
                    }
                    let [(name, items)] = &sent[..] else {
                        panic!("{encoding:?} at {limit}: {sent:?}")
                    };
                    assert_eq!(*name, "Replace");
                    assert!(!items.is_empty());
                    got.extend(items.iter().cloned());
                    if done {
                        break;
                    }
                    assert!(messages < 6, "{encoding:?} at {limit}: no progress");
                }
                if got.is_empty() {
                    continue;
                }
                // Whole in one message as soon as it fits one.
                if messages == 1 {
                    whole = true;
                } else {
                    assert!(!whole, "{encoding:?} at {limit}: split though it fits");
                    parts = true;
                }
                let mut expected = leaves.clone();
                expected.sort();
                got.sort();
                assert_eq!(got, expected, "{encoding:?} at {limit}");
            }
            assert!(whole && parts, "{encoding:?}: {whole} {parts}");
        }
    }

    #[test]
    fn choices_go_as_their_numbers_all_of_them_or_none() {
        let mut tree = tree("test-handset");
        let status = |queue: &mut Queue, answer: fn(Span) -> Answer, bytes: &[u8]| {
            let span = queue.store(bytes).unwrap();
            let entry = StatusEntry {
                cmd_ref: queue.store(b"7").unwrap(),
                cmd: Cmd::Alert,
                code: 200,
                target: Span::EMPTY,
                source: Span::EMPTY,
                answer: answer(span),
            };
            queue.push(Entry::Status(entry)).unwrap();
        };
        let none = |_| Answer::None;
        // How the answer is kept, its bytes, and the items it makes.
        type Case = (fn(Span) -> Answer, &'static [u8], &'static [&'static str]);
        let cases: [Case; 3] = [
            (Answer::Choices, &[1, 3, 12, 16], &["1", "3", "12", "16"]),
            (Answer::Text, b"typed & sent", &["typed & sent"]),
            (none, b"", &[]),
        ];
        for encoding in ENCODINGS {
            for (answer, bytes, expected) in cases {
                let mut gone = false;
                for limit in 350..800 {
                    let mut queue = Queue::new();
                    status(&mut queue, answer, bytes);
                    let (done, sent) = message(&mut tree, &mut queue, encoding, limit);
                    if !done {
                        assert!(!gone && sent.is_empty(), "{encoding:?} at {limit}");
                        continue;
                    }
                    gone = true;
                    let [("Status", items)] = &sent[..] else {
                        panic!("{encoding:?} at {limit}: {sent:?}")
                    };
                    let got: StdVec<_> = items.iter().map(|(_, d)| d.clone().unwrap()).collect();
                    assert_eq!(got, expected, "{encoding:?} at {limit}");
                }
                assert!(gone, "{encoding:?}: never fits");
            }
        }
    }

    #[test]
    fn format_only_metas_name_their_format_and_nothing_else() {
        for f in Format::ALL {
            let meta = format_only(f);
            assert_eq!(
                meta.format.and_then(|t| t.as_bytes()),
                Some(f.as_str().as_bytes())
            );
            assert_eq!(
                *meta,
                MetInf {
                    format: meta.format,
                    ..MetInf::default()
                }
            );
        }
    }
}

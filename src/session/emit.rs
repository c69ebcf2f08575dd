//! Writing the queue into a client message: each entry becomes a command if it fits the
//! room left under the server's MaxMsgSize. Results read their data from the tree only
//! now, in windows the size of that room; a value larger than the room goes out in
//! chunks (`MoreData`, `Meta/Size` on the first), one chunk to a message.

use base64::Engine as _;
use embedded_storage::nor_flash::NorFlash;
use heapless::Vec;

use super::exec::MAX_CHOICES;
use super::queue::{Answer, Entry, Queue, ResultsEntry, ResultsKind, StatusEntry};
use super::{Error, GenericAlert};
use crate::codec::{
    Alert, Command, Data, Encoding, Item, ItemCommand, List, Location, MessageWriter, MetInf, Meta,
    Results, Status, Text,
};
use crate::tree::{schema, Format, Handlers, NodeHandle, Principal, Tree};

/// Nodes a Struct Results gathers at a time.
const BATCH: usize = 16;
/// Bytes a Results command may need beyond its data: `Meta/Size` and `MoreData`.
const RESULTS_SLACK: usize = 40;

/// A number as text, without a buffer to lend.
pub(crate) struct Num {
    buf: [u8; 10],
    start: usize,
}

impl Num {
    pub(crate) fn new(mut n: u32) -> Num {
        let mut buf = [0u8; 10];
        let mut start = buf.len();
        // Digits from the last; u32::MAX has ten, so the loop stays in the buffer.
        for slot in buf.iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            start -= 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Num { buf, start }
    }

    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(self.buf.get(self.start..).unwrap_or(&[])).unwrap_or("")
    }
}

/// What writing one message needs.
pub(crate) struct Emit<'s, 'e, 'w, 'b, F, H, const N: usize, const A: usize, const R: usize> {
    pub(crate) tree: &'e mut Tree<F, H, N, A, R>,
    pub(crate) queue: &'s mut Queue,
    pub(crate) writer: &'w mut MessageWriter<'b>,
    pub(crate) server_id: &'s str,
    pub(crate) encoding: Encoding,
    /// `MsgRef` of the statuses: the server message they answer.
    pub(crate) msg_ref: &'s str,
    /// Our `MsgID`.
    pub(crate) msg_id: u32,
    /// The last `CmdID` written.
    pub(crate) cmd_id: u32,
    pub(crate) scratch: &'s mut [u8],
    pub(crate) alerts: &'s [GenericAlert<'s>],
    pub(crate) alert_refs: &'s mut Vec<(u32, u32), { super::MAX_ALERTS }>,
    /// `Target` and `Source` of the client's alerts.
    pub(crate) server_uri: &'s str,
    pub(crate) device_id: &'s str,
    /// Commands written to this message.
    pub(crate) written: usize,
    /// Alert 1222 went into this message.
    pub(crate) asked_next: bool,
}

impl<F: NorFlash, H: Handlers, const N: usize, const A: usize, const R: usize>
    Emit<'_, '_, '_, '_, F, H, N, A, R>
{
    /// Writes `cmd` if it fits.
    fn push(&mut self, cmd: &Command<'_>) -> Result<bool, Error> {
        let fits = self.writer.push(cmd)?;
        if fits {
            self.cmd_id += 1;
            self.written += 1;
        }
        Ok(fits)
    }

    /// Writes queue entries until one does not fit; whether the queue is empty.
    ///
    /// Each kind of entry is written by a function kept out of line: their commands and
    /// item lists are large, and inlined into one frame they would all be on the stack at
    /// once, under the command runner.
    pub(crate) fn all(&mut self) -> Result<bool, Error> {
        while let Some(entry) = self.queue.front().copied() {
            let done = match entry {
                Entry::Status(s) if s.code == 0 => true,
                Entry::Status(s) => self.status(&s)?,
                Entry::Results(r) => self.results(r)?,
                Entry::Open(code) => self.alert(code, None, None)?,
                Entry::NextMessage => {
                    let done = self.alert(1222, Some(self.server_uri), Some(self.device_id))?;
                    self.asked_next |= done;
                    done
                }
                Entry::NoEndOfData(span) => {
                    let mut uri = heapless::String::<256>::new();
                    let _ = uri.push_str(self.queue.str(span));
                    self.alert(1225, Some(&uri), None)?
                }
                Entry::Generic(i) => self.generic(usize::from(i))?,
                Entry::DevInfo => self.devinfo()?,
            };
            if !done {
                return Ok(false);
            }
            self.queue.pop();
        }
        Ok(true)
    }

    #[inline(never)]
    fn status(&mut self, e: &StatusEntry) -> Result<bool, Error> {
        let q = &*self.queue;
        let id = Num::new(self.cmd_id + 1);
        let code = Num::new(u32::from(e.code));
        let targets = [Text::new(q.str(e.target))];
        let sources = [Text::new(q.str(e.source))];
        let nums: [Num; MAX_CHOICES] = core::array::from_fn(|i| Num::new(i as u32 + 1));
        let mut items: Vec<Item<'_>, MAX_CHOICES> = Vec::new();
        match e.answer {
            Answer::None => {}
            Answer::Text(span) => {
                let _ = items.push(Item {
                    data: Some(Data::Text(Text::new(q.str(span)))),
                    ..Item::default()
                });
            }
            Answer::Choices(span) => {
                for &n in q.get(span) {
                    if let Some(num) = nums.get(usize::from(n).saturating_sub(1)) {
                        let _ = items.push(Item {
                            data: Some(Data::Text(Text::new(num.as_str()))),
                            ..Item::default()
                        });
                    }
                }
            }
        }
        let status = Command::Status(Status {
            cmd_id: Text::new(id.as_str()),
            msg_ref: Some(Text::new(self.msg_ref)),
            cmd_ref: Some(Text::new(q.str(e.cmd_ref))),
            cmd: Some(Text::new(e.cmd.name())),
            target_refs: List::new(if e.target.is_empty() { &[] } else { &targets }),
            source_refs: List::new(if e.source.is_empty() { &[] } else { &sources }),
            cred: None,
            chal: None,
            data: Some(Text::new(code.as_str())),
            items: List::new(&items),
        });
        let fits = self.writer.push(&status)?;
        if fits {
            self.cmd_id += 1;
            self.written += 1;
        }
        Ok(fits)
    }

    /// An Alert of the client's own (1200/1201, 1222, 1225).
    #[inline(never)]
    fn alert(
        &mut self,
        code: u16,
        target: Option<&str>,
        source: Option<&str>,
    ) -> Result<bool, Error> {
        let id = Num::new(self.cmd_id + 1);
        let code = Num::new(u32::from(code));
        let item = [Item {
            target: target.map(Location::new),
            source: source.map(Location::new),
            ..Item::default()
        }];
        let has_item = target.is_some() || source.is_some();
        let alert = Command::Alert(Alert {
            cmd_id: Text::new(id.as_str()),
            no_resp: false,
            cred: None,
            data: Some(Text::new(code.as_str())),
            correlator: None,
            items: List::new(if has_item { &item } else { &[] }),
        });
        self.push(&alert)
    }

    /// A Generic Alert (1226).
    #[inline(never)]
    fn generic(&mut self, index: usize) -> Result<bool, Error> {
        let Some(a) = self.alerts.get(index).copied() else {
            return Ok(true);
        };
        let id = Num::new(self.cmd_id + 1);
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
            if let Some(slot) = self.alert_refs.get_mut(index) {
                *slot = (self.msg_id, self.cmd_id);
            }
        }
        Ok(fits)
    }

    /// `Replace` of the `./DevInfo` leaves: the client's identity and capabilities.
    #[inline(never)]
    fn devinfo(&mut self) -> Result<bool, Error> {
        let Ok(root) = self
            .tree
            .parse_uri("./DevInfo")
            .and_then(|u| self.tree.find(&u))
        else {
            return Ok(true);
        };
        let mut leaves: Vec<NodeHandle, BATCH> = Vec::new();
        let _ = self.tree.walk(Principal::Device, root, true, |h, depth| {
            let leaf = schema::node(h.def()).is_some_and(|n| n.is_leaf());
            if depth == 1 && leaf {
                let _ = leaves.push(h);
            }
            true
        });
        let mut layout: Vec<(usize, usize, usize, Format), BATCH> = Vec::new();
        let mut pos = 0;
        for &h in &leaves {
            let Some((uri_end, value_end, format)) =
                lay_out(self.tree, Principal::Device, h, true, self.scratch, pos)
            else {
                continue;
            };
            let _ = layout.push((pos, uri_end, value_end, format));
            pos = value_end;
        }
        let scratch = &*self.scratch;
        let mut items: Vec<Item<'_>, BATCH> = Vec::new();
        for &(start, uri_end, value_end, format) in &layout {
            let uri =
                core::str::from_utf8(scratch.get(start..uri_end).unwrap_or(&[])).unwrap_or("");
            let value = scratch.get(uri_end..value_end).unwrap_or(&[]);
            let _ = items.push(Item {
                source: Some(Location::new(uri)),
                meta: Some(Meta::new(format_only(format))),
                data: Some(data_of(value)),
                ..Item::default()
            });
        }
        let id = Num::new(self.cmd_id + 1);
        let replace = Command::Replace(ItemCommand {
            cmd_id: Text::new(id.as_str()),
            no_resp: false,
            cred: None,
            meta: None,
            items: List::new(&items),
        });
        let fits = self.writer.push(&replace)?;
        if fits {
            self.cmd_id += 1;
            self.written += 1;
        }
        Ok(fits)
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
        let who = Principal::Server(self.server_id);
        let listing = e.kind == ResultsKind::Listing;
        let q: &Queue = self.queue;
        let uri = q.str(e.uri);
        let cmd_ref = q.str(e.cmd_ref);
        let id = Num::new(self.cmd_id + 1);
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
        let b64 = self.encoding == Encoding::Xml && probe.format == Format::Bin;
        let format = if b64 { "b64" } else { probe.format.as_str() };
        let sent_total = if b64 { total.div_ceil(3) * 4 } else { total };
        let size = Num::new(u32::try_from(sent_total).unwrap_or(u32::MAX));
        // What the Results takes without its data.
        let base = {
            let meta = MetInf {
                format: Some(Text::new(format)),
                type_: (!probe.mime.is_empty()).then(|| Text::new(probe.mime)),
                size: Some(Text::new(size.as_str())),
                ..MetInf::default()
            };
            let item = [Item {
                target: None,
                source: Some(Location::new(uri)),
                meta: Some(Meta::new(&meta)),
                data: Some(Data::Text(Text::empty())),
                more_data: true,
            }];
            results_cmd(id.as_str(), self.msg_ref, cmd_ref, &item).encoded_len(self.encoding)?
        };
        let room = self.writer.room().saturating_sub(base + RESULTS_SLACK);
        let remaining = total.saturating_sub(start);
        let (read_cap, out_cap) = if b64 {
            let half = self.scratch.len() / 2;
            (half.min(room / 4 * 3) / 3 * 3, half)
        } else {
            (self.scratch.len().min(room), 0)
        };
        let mut want = remaining.min(read_cap);
        for _ in 0..6 {
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
            if !b64 && more && self.encoding == Encoding::Xml {
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
            let meta = MetInf {
                format: Some(Text::new(format)),
                type_: (!probe.mime.is_empty()).then(|| Text::new(probe.mime)),
                size: (first && more).then(|| Text::new(size.as_str())),
                ..MetInf::default()
            };
            let item = [Item {
                target: None,
                source: Some(Location::new(uri)),
                meta: Some(Meta::new(&meta)),
                data: Some(data_of(data)),
                more_data: more,
            }];
            let cmd = results_cmd(id.as_str(), self.msg_ref, cmd_ref, &item);
            if self.writer.push(&cmd)? {
                self.cmd_id += 1;
                self.written += 1;
                let progress = u32::try_from(start + len).unwrap_or(u32::MAX);
                if let Some(Entry::Results(r)) = self.queue.front_mut() {
                    r.progress = progress;
                }
                // After a chunk the message ends: the next chunk waits for the server.
                return Ok(!more);
            }
            want /= 2;
        }
        Ok(false)
    }

    /// `?list=Struct` / `StructData`: an item per node, resumed where the last message
    /// stopped.
    #[inline(never)]
    fn results_struct(&mut self, e: ResultsEntry, data: bool) -> Result<bool, Error> {
        let who = Principal::Server(self.server_id);
        let q: &Queue = self.queue;
        let path = q.str(e.uri).split('?').next().unwrap_or("");
        let cmd_ref = q.str(e.cmd_ref);
        let Ok(root) = self.tree.parse_uri(path).and_then(|u| self.tree.find(&u)) else {
            return Ok(true);
        };
        let mut progress = e.progress as usize;
        let outcome = loop {
            let mut batch: Vec<NodeHandle, BATCH> = Vec::new();
            let mut seen = 0;
            let mut more = false;
            // A walk cut short (too deep) sends what it found.
            let _ = self.tree.walk(who, root, true, |h, _| {
                if seen < progress {
                    seen += 1;
                    true
                } else if batch.push(h).is_ok() {
                    true
                } else {
                    more = true;
                    false
                }
            });
            if batch.is_empty() {
                break true;
            }
            let mut layout: Vec<(usize, usize, usize, Format), BATCH> = Vec::new();
            let mut pos = 0;
            for &h in &batch {
                let leaf = schema::node(h.def()).is_some_and(|n| n.is_leaf());
                match lay_out(self.tree, who, h, data && leaf, self.scratch, pos) {
                    Some((uri_end, value_end, format)) => {
                        let _ = layout.push((pos, uri_end, value_end, format));
                        pos = value_end;
                    }
                    // Out of scratch: what was laid out goes first.
                    None => break,
                }
            }
            if layout.is_empty() {
                break true;
            }
            let scratch = &*self.scratch;
            let metas: Vec<MetInf<'_>, BATCH> = layout
                .iter()
                .zip(batch.iter())
                .map(|(&(_, _, _, f), h)| {
                    let mime = schema::node(h.def()).map_or("", |n| n.mime());
                    MetInf {
                        format: Some(Text::new(f.as_str())),
                        type_: (!mime.is_empty()).then(|| Text::new(mime)),
                        ..MetInf::default()
                    }
                })
                .collect();
            let mut items: Vec<Item<'_>, BATCH> = Vec::new();
            for (&(start, uri_end, value_end, format), meta) in layout.iter().zip(metas.iter()) {
                let uri =
                    core::str::from_utf8(scratch.get(start..uri_end).unwrap_or(&[])).unwrap_or("");
                let value = scratch.get(uri_end..value_end).unwrap_or(&[]);
                let with_data = data && format != Format::Node;
                let _ = items.push(Item {
                    source: Some(Location::new(uri)),
                    meta: Some(Meta::new(meta)),
                    data: with_data.then(|| data_of(value)),
                    ..Item::default()
                });
            }
            let mut n = items.len();
            let mut sent = 0;
            let id = Num::new(self.cmd_id + 1);
            while n > 0 {
                let cmd = results_cmd(
                    id.as_str(),
                    self.msg_ref,
                    cmd_ref,
                    items.get(..n).unwrap_or(&[]),
                );
                if self.writer.push(&cmd)? {
                    self.cmd_id += 1;
                    self.written += 1;
                    sent = n;
                    break;
                }
                // An item that does not fit even a message holding nothing else would stop
                // the listing for good: its value goes, as one too large for scratch does
                // (the server can Get it on its own, in chunks).
                let first = items.first_mut().filter(|_| n == 1 && self.written == 0);
                if first.and_then(|i| i.data.take()).is_some() {
                    continue;
                }
                n /= 2;
            }
            if sent == 0 {
                break false;
            }
            progress += sent;
            if !more && sent == batch.len() {
                break true;
            }
        };
        if let Some(Entry::Results(r)) = self.queue.front_mut() {
            r.progress = u32::try_from(progress).unwrap_or(u32::MAX);
        }
        Ok(outcome)
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

/// Text where the bytes are UTF-8, opaque where not.
/// A `Meta` with only `Format`, one constant for each format: items that carry nothing
/// else need no `MetInf` of their own on the stack.
fn format_only(format: Format) -> &'static MetInf<'static> {
    const fn only(name: &'static str) -> MetInf<'static> {
        MetInf {
            format: Some(Text::new(name)),
            type_: None,
            mark: None,
            size: None,
            next_nonce: None,
            version: None,
            max_msg_size: None,
            max_obj_size: None,
            emi: List::new(&[]),
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

fn data_of(bytes: &[u8]) -> Data<'_> {
    match core::str::from_utf8(bytes) {
        Ok(s) => Data::Text(Text::new(s)),
        Err(_) => Data::Opaque(Text::from_bytes(bytes)),
    }
}

/// Writes the URI of `h` into `scratch` at `pos`, then (with `value`) its value; returns
/// the end of each and the node's format. `None` when scratch is full.
fn lay_out<F: NorFlash, H: Handlers, const N: usize, const A: usize, const R: usize>(
    tree: &mut Tree<F, H, N, A, R>,
    who: Principal<'_>,
    h: NodeHandle,
    value: bool,
    scratch: &mut [u8],
    pos: usize,
) -> Option<(usize, usize, Format)> {
    let format = schema::node(h.def()).map_or(Format::Node, |n| {
        if n.is_interior() {
            Format::Node
        } else {
            n.format()
        }
    });
    let (_, rest) = scratch.split_at_mut_checked(pos)?;
    let mut w = SliceWriter { buf: rest, len: 0 };
    tree.write_uri(h, &mut w).ok()?;
    let uri_len = w.len;
    let (uri, tail) = rest.split_at_mut_checked(uri_len)?;
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
    Some((pos + uri_len, pos + uri_len + value_len, format))
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
    use super::*;

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

    #[test]
    fn numbers_read_as_decimal() {
        for n in [0, 7, 10, 1226, 65_535, u32::MAX] {
            assert_eq!(Num::new(n).as_str(), std::format!("{n}"));
        }
    }
}

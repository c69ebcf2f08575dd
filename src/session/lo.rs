//! Values arriving from the server: whole, or as a large object in chunks over several
//! messages (OMA-TS-DM_Protocol 1.2 §7, `MoreData`; the feature `large-objects`). Chunks
//! stream into the tree (or the node's handler) as they come; nothing holds the whole
//! object. A value sent as `b64` to a `bin` node is decoded on the way, chunk boundaries
//! and line breaks included. A whole value too large for scratch streams the same way,
//! with or without the feature: that is the tree's streamed write, not the protocol's.

use embedded_storage::nor_flash::NorFlash;
use heapless::String;

use crate::codec::b64::B64Stream;
use crate::codec::Text;
#[cfg(feature = "large-objects")]
use crate::codec::{Item, Meta};
use crate::codes::StatusCode;
use crate::limits::LO_PATH_LEN;
#[cfg(feature = "large-objects")]
use crate::limits::URI_LEN;
use crate::platform::Clock;
use crate::schema::Format;
#[cfg(feature = "large-objects")]
use crate::tree::UriLimits;
use crate::tree::{Handlers, Principal, Tree, Uri, WriteTicket};

/// What storing a value needs from the command that carries it. The command runner
/// lends these from its own state, so that this module does not depend on the runner.
pub(crate) struct Intake<'a, 't, F, H> {
    /// The tree the value goes into.
    pub(crate) tree: &'a mut Tree<'t, F, H>,
    /// Time, for node timestamps.
    pub(crate) clock: &'a dyn Clock,
    /// The server that sends the value.
    pub(crate) server_id: &'a str,
    /// The largest object the session accepts.
    #[cfg(feature = "large-objects")]
    pub(crate) max_obj_size: u32,
    /// The session's slot for a large object being received.
    #[cfg(feature = "large-objects")]
    pub(crate) lo: &'a mut Option<Incoming>,
    /// Room to copy or decode a value into.
    pub(crate) scratch: &'a mut [u8],
}

/// A value being written in pieces: a large object, or a whole value streamed.
pub(crate) struct Incoming {
    ticket: WriteTicket,
    /// An `Add` (else a `Replace`): a chunk of the other kind does not continue it.
    #[cfg(feature = "large-objects")]
    create: bool,
    /// `Meta/Size` of the first chunk: bytes as transmitted.
    declared: u64,
    /// Bytes transmitted so far.
    received: u64,
    /// Decoding `b64` into a `bin` node.
    b64: Option<B64Stream>,
    /// An `Add` that created nodes to write into: the length of the path of the topmost
    /// one, removed again if the object is not stored.
    created: Option<u16>,
}

impl Incoming {
    /// Whether an item of this command kind and target continues this object. Out of
    /// line: its URI buffer stays off the stack of the command that asks.
    #[cfg(feature = "large-objects")]
    #[inline(never)]
    pub(crate) fn continues(&self, create: bool, target: Text<'_>, limits: &UriLimits) -> bool {
        let mut buf = [0u8; URI_LEN];
        let same = target
            .to_str(&mut buf)
            .and_then(|t| Uri::parse(t, limits).ok())
            .is_some_and(|u| u.query().is_none() && u.path() == self.ticket.path());
        self.create == create && same
    }

    /// The node being written, normalised (without `./`).
    #[cfg(feature = "large-objects")]
    pub(crate) fn path(&self) -> &str {
        self.ticket.path()
    }

    /// Drops the object: nothing of it is stored.
    pub(crate) fn abandon<F: NorFlash, H: Handlers>(
        self,
        tree: &mut Tree<'_, F, H>,
        who: Principal<'_>,
        now: Option<u64>,
    ) {
        let created = self.created_path();
        let _ = tree.end_write(who, self.ticket, false, now);
        undo_create(tree, created.as_deref(), now);
    }

    /// The path of the topmost node the `Add` created, to remove if the object fails.
    fn created_path(&self) -> Option<String<LO_PATH_LEN>> {
        let top = self.ticket.path().get(..usize::from(self.created?))?;
        let mut path = String::new();
        path.push_str(top).ok()?;
        Some(path)
    }

    /// Writes one chunk of data.
    fn feed<F: NorFlash, H: Handlers>(
        &mut self,
        tree: &mut Tree<'_, F, H>,
        text: Text<'_>,
    ) -> Result<(), StatusCode> {
        self.received = self.received.saturating_add(text.len() as u64);
        if self.received > self.declared {
            return Err(StatusCode::SizeMismatch);
        }
        for chunk in text.chunks() {
            let bytes = chunk.as_bytes();
            match self.b64.as_mut() {
                None => tree.write_chunk(&mut self.ticket, bytes)?,
                Some(b64) => {
                    b64.feed(bytes, |decoded| tree.write_chunk(&mut self.ticket, decoded))?
                }
            }
        }
        Ok(())
    }

    /// Stores the object after its last chunk: 424 if it is not the size announced.
    fn finish<F: NorFlash, H: Handlers>(
        mut self,
        tree: &mut Tree<'_, F, H>,
        who: Principal<'_>,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let complete = self.received == self.declared;
        let tail = match self.b64.as_mut() {
            Some(b64) => b64.finish().map_err(StatusCode::from),
            None => Ok(()),
        };
        if !complete || tail.is_err() {
            self.abandon(tree, who, now);
            return Err(if complete {
                StatusCode::BadRequest
            } else {
                StatusCode::SizeMismatch
            });
        }
        let created = self.created_path();
        let stored = tree.end_write(who, self.ticket, true, now);
        if stored.is_err() {
            undo_create(tree, created.as_deref(), now);
        }
        stored
    }
}

/// Removes the nodes an `Add` created for an object that was not stored: the chunked
/// command is all or nothing. Done as the device, which any ACL lets undo a change.
fn undo_create<F: NorFlash, H: Handlers>(
    tree: &mut Tree<'_, F, H>,
    created: Option<&str>,
    now: Option<u64>,
) {
    if let Some(path) = created {
        let _ = tree.delete(Principal::Device, path, now);
    }
}

/// The length of the path of the first node of `uri` that does not exist yet, or `None`
/// when every node on the way does.
fn first_missing<F: NorFlash, H: Handlers>(tree: &Tree<'_, F, H>, uri: &str) -> Option<u16> {
    let parsed = Uri::parse(uri, tree.limits()).ok()?;
    let path = parsed.path();
    let mut end = 0usize;
    for segment in parsed.segments() {
        end = if end == 0 {
            segment.raw().len()
        } else {
            end.saturating_add(1).saturating_add(segment.raw().len())
        };
        let prefix = path.get(..end)?;
        let exists = Uri::parse(prefix, tree.limits())
            .ok()
            .is_some_and(|u| tree.find(&u).is_ok());
        if !exists {
            return u16::try_from(end).ok();
        }
    }
    None
}

/// Starts writing `uri`: the object's bytes as transmitted are `declared`.
fn begin<F: NorFlash, H: Handlers>(
    x: &mut Intake<'_, '_, F, H>,
    uri: &str,
    create: bool,
    format: Option<Format>,
    declared: u64,
) -> Result<Incoming, StatusCode> {
    let decode = format == Some(Format::B64) && x.tree.format_at(uri) == Some(Format::Bin);
    // Decoded, the size is known only at the end; the session checks the transmitted size.
    let (total, format) = if decode {
        (None, Some(Format::Bin))
    } else {
        (Some(declared), format)
    };
    let missing = if create {
        first_missing(x.tree, uri)
    } else {
        None
    };
    let who = Principal::Server(x.server_id);
    let ticket = match x.tree.begin_write(who, uri, create, total, format) {
        Ok(ticket) => ticket,
        Err(code) => {
            // The node may have been created before the write was refused.
            let path = Uri::parse(uri, x.tree.limits()).map(|u| u.path());
            let top = missing.and_then(|n| path.ok()?.get(..usize::from(n)));
            undo_create(x.tree, top, x.clock.unix_time());
            return Err(code);
        }
    };
    Ok(Incoming {
        ticket,
        #[cfg(feature = "large-objects")]
        create,
        declared,
        received: 0,
        b64: decode.then(B64Stream::default),
        created: missing,
    })
}

/// One chunk of a large object (`MoreData` on all but the last): 213 while more is to
/// come, then the outcome of storing the whole.
#[cfg(feature = "large-objects")]
pub(crate) fn chunk<F: NorFlash, H: Handlers>(
    x: &mut Intake<'_, '_, F, H>,
    uri: &str,
    create: bool,
    format: Option<Format>,
    meta: Option<Meta<'_>>,
    item: &Item<'_>,
    continues: bool,
) -> Result<StatusCode, StatusCode> {
    let text = match item.data {
        None => Text::empty(),
        Some(d) => d.content().ok_or(StatusCode::UnsupportedMediaType)?,
    };
    if !continues {
        // The first chunk announces the size.
        let size = meta
            .and_then(|m| m.size())
            .and_then(|s| s.parse_u64())
            .ok_or(StatusCode::IncompleteCommand)?;
        if size > u64::from(x.max_obj_size) {
            return Err(StatusCode::RequestEntityTooLarge);
        }
        start(x, uri, create, format, size)?;
    }
    let now = x.clock.unix_time();
    let who = Principal::Server(x.server_id);
    let Some(lo) = x.lo.as_mut() else {
        return Err(StatusCode::CommandFailed);
    };
    if let Err(code) = lo.feed(x.tree, text) {
        end(x.lo, x.tree, who, now, false)?;
        return Err(code);
    }
    if item.more_data {
        return Ok(StatusCode::ChunkedItemAccepted);
    }
    end(x.lo, x.tree, who, now, true)?;
    Ok(StatusCode::Ok)
}

/// Starts the object the first chunk announces, in the session's slot for it. Out of
/// line, as [`end`] is: the object is built and moved only in these frames, not in the
/// frame of every chunk.
#[cfg(feature = "large-objects")]
#[inline(never)]
fn start<F: NorFlash, H: Handlers>(
    x: &mut Intake<'_, '_, F, H>,
    uri: &str,
    create: bool,
    format: Option<Format>,
    size: u64,
) -> Result<(), StatusCode> {
    *x.lo = Some(begin(x, uri, create, format, size)?);
    Ok(())
}

/// Ends the object in `slot`: stores it (`store`) or drops what was written of it.
#[cfg(feature = "large-objects")]
#[inline(never)]
fn end<F: NorFlash, H: Handlers>(
    slot: &mut Option<Incoming>,
    tree: &mut Tree<'_, F, H>,
    who: Principal<'_>,
    now: Option<u64>,
    store: bool,
) -> Result<(), StatusCode> {
    let lo = slot.take().ok_or(StatusCode::CommandFailed)?;
    if store {
        lo.finish(tree, who, now)
    } else {
        lo.abandon(tree, who, now);
        Ok(())
    }
}

/// A value in one item: stored straight from the message when it lies there in one piece,
/// else copied to scratch, else streamed like a large object.
#[inline(never)]
pub(crate) fn whole<F: NorFlash, H: Handlers>(
    x: &mut Intake<'_, '_, F, H>,
    uri: &str,
    create: bool,
    format: Option<Format>,
    text: Text<'_>,
) -> Result<(), StatusCode> {
    let who = Principal::Server(x.server_id);
    let now = x.clock.unix_time();
    let decode = format == Some(Format::B64) && x.tree.format_at(uri) == Some(Format::Bin);
    // Base64 for a binary node is stored decoded (TND §7.7.2); one that decodes into
    // scratch is stored whole like any value, a larger one streams.
    let (bytes, format) = if decode {
        match crate::codec::b64::decode_text(text, x.scratch) {
            Ok(b) => (Some(b), Some(Format::Bin)),
            Err(crate::codec::B64Error::TooLong) => (None, format),
            Err(e) => return Err(e.into()),
        }
    } else if let Some(b) = text.as_bytes() {
        (Some(b), format)
    } else {
        (text.copy_to(x.scratch).map(|b| -> &[u8] { b }), format)
    };
    match bytes {
        Some(value) if create => x.tree.add(who, uri, Some(value), format, now),
        Some(value) => x.tree.replace(who, uri, value, format, now),
        None => {
            let mut lo = begin(x, uri, create, format, text.len() as u64)?;
            match lo.feed(x.tree, text) {
                Ok(()) => lo.finish(x.tree, who, now),
                Err(code) => {
                    lo.abandon(x.tree, who, now);
                    Err(code)
                }
            }
        }
    }
}

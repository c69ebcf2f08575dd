//! Values that arrive in pieces (large objects, staged in the arena or streamed to a
//! handler), Exec, and Copy.

use super::*;
use crate::limits::LO_PATH_LEN;

impl<F: NorFlash, H: Handlers> Tree<'_, F, H> {
    /// Starts a large-object write of `total` bytes (when known) into the leaf at `uri`,
    /// as `Add` (`create`) or `Replace`. A handler that keeps the value gets the chunks as
    /// they come; a value the tree keeps is gathered in the arena and stored at the end.
    pub fn begin_write(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        create: bool,
        total: Option<u64>,
        format: Option<Format>,
    ) -> Result<WriteTicket, StatusCode> {
        let parsed = self.parse_uri(uri)?;
        if parsed.query().is_some() {
            return Err(StatusCode::CommandNotAllowed);
        }
        let mut path: String<LO_PATH_LEN> = String::new();
        path.push_str(parsed.path())
            .map_err(|_| StatusCode::UriTooLong)?;
        let existing = self.find(&parsed);
        let h = match (existing, create) {
            (Ok(h), false) => {
                self.authorize(who, AccessSet::REPLACE, h)?;
                h
            }
            (Ok(h), true) if self.addable(h) => h,
            (Ok(_), true) => return Err(StatusCode::AlreadyExists),
            (Err(e), false) => return Err(e),
            (Err(_), true) => {
                // Create the node now, empty; the value comes with the last chunk.
                self.add(who, uri, None, None, None)?;
                self.find(&parsed)?
            }
        };
        let def = self.node(h);
        if def.is_interior() {
            return Err(StatusCode::CommandNotAllowed);
        }
        if format.is_some_and(|f| f != def.format()) {
            return Err(StatusCode::UnsupportedMediaType);
        }
        let node = NodeRef {
            def: h.def,
            path: &path,
            server: who.server(),
        };
        let to_handler = self.handler_stores(h.def, &path, who);
        if let Some(handler) = self.handler_for(h.def) {
            handler.allow_change(&node)?;
            if to_handler {
                handler.begin_write(&node, total)?;
            }
        }
        if !to_handler {
            let total = total.ok_or(StatusCode::IncompleteCommand)?;
            let total = usize::try_from(total).map_err(|_| StatusCode::RequestEntityTooLarge)?;
            // The entry's other bytes (name, ACL, title) go in the same record.
            let others = self
                .entry(h)
                .map_or(0, |e| e.blob_len() - e.value_len as usize);
            if total
                > Store::<F>::payload_room(self.scratch.len()).saturating_sub(RECORD_FIXED + others)
            {
                return Err(StatusCode::RequestEntityTooLarge);
            }
            // Make room now: nothing may move the staged bytes until they are stored.
            self.state.compact_arena();
            if self.state.used + others + total > self.state.arena.len() {
                return Err(StatusCode::DeviceFull);
            }
        }
        Ok(WriteTicket {
            h,
            path,
            server_len: 0,
            to_handler,
            written: 0,
            total,
        })
    }

    /// Writes the next chunk of a large-object write.
    pub fn write_chunk(
        &mut self,
        ticket: &mut WriteTicket,
        chunk: &[u8],
    ) -> Result<(), StatusCode> {
        let end = ticket
            .written
            .checked_add(chunk.len() as u64)
            .ok_or(StatusCode::RequestEntityTooLarge)?;
        if ticket.total.is_some_and(|t| end > t) {
            return Err(StatusCode::SizeMismatch);
        }
        if ticket.to_handler {
            let node = NodeRef {
                def: ticket.h.def,
                path: &ticket.path,
                server: None,
            };
            let handler = self
                .handler_for(ticket.h.def)
                .ok_or(StatusCode::CommandFailed)?;
            handler.write_chunk(&node, ticket.written, chunk)?;
        } else {
            let at = self.state.used + ticket.written as usize;
            let dst = self
                .state
                .arena
                .get_mut(at..at + chunk.len())
                .ok_or(StatusCode::DeviceFull)?;
            dst.copy_from_slice(chunk);
        }
        ticket.written = end;
        Ok(())
    }

    /// Ends a large-object write: stores the value (`commit`), or drops it. A size that
    /// does not match the announced one is status 424 and nothing is stored.
    pub fn end_write(
        &mut self,
        who: Principal<'_>,
        ticket: WriteTicket,
        commit: bool,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let complete = ticket.total.is_none_or(|t| t == ticket.written);
        let keep = commit && complete;
        if ticket.to_handler {
            let node = NodeRef {
                def: ticket.h.def,
                path: &ticket.path,
                server: who.server(),
            };
            let handler = self
                .handler_for(ticket.h.def)
                .ok_or(StatusCode::CommandFailed)?;
            handler.end_write(&node, keep)?;
        } else if keep {
            self.commit_staged(who, &ticket, now)?;
        }
        let _ = ticket.server_len;
        if commit && !complete {
            return Err(StatusCode::SizeMismatch);
        }
        Ok(())
    }

    /// Stores a value that came in chunks into the tree's arena: checked as one that came
    /// whole would be. Out of line: what storing it takes is not on the stack of a write
    /// that goes to a handler.
    #[inline(never)]
    pub(super) fn commit_staged(
        &mut self,
        who: Principal<'_>,
        ticket: &WriteTicket,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let start = self.state.used;
        let len = ticket.written as usize;
        let staged = self.state.arena.get(start..start + len).unwrap_or(&[]);
        if !value::is_valid_value(self.node(ticket.h).format(), staged) {
            return Err(StatusCode::BadRequest);
        }
        self.check_identity(ticket.h.def, ticket.h.ctx, staged)?;
        // A value that came in chunks gets the same check as one that came whole.
        let node = NodeRef {
            def: ticket.h.def,
            path: &ticket.path,
            server: who.server(),
        };
        if let Some(handler) = nearest_handler(self.schema, &mut self.handlers, ticket.h.def) {
            handler.check(&node, staged)?;
        }
        let change = Change {
            create: Some(0),
            staged: Some(len),
            ..Change::default()
        };
        self.change_node(ticket.h, &change, now)?;
        Ok(())
    }

    /// `Exec`.
    pub fn exec(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        data: &[u8],
        correlator: Option<&str>,
    ) -> Result<ExecOutcome, StatusCode> {
        let parsed = self.parse_uri(uri)?;
        if parsed.query().is_some() {
            return Err(StatusCode::CommandNotAllowed);
        }
        let h = self.find(&parsed)?;
        self.authorize(who, AccessSet::EXEC, h)?;
        let node = NodeRef {
            def: h.def,
            path: parsed.path(),
            server: who.server(),
        };
        let handler = self
            .handler_for(h.def)
            .ok_or(StatusCode::CommandNotAllowed)?;
        handler.allow_change(&node)?;
        handler.exec(&node, data, correlator)
    }

    /// `Copy` of a leaf: the target gets the source's value (created if missing). The
    /// value passes through `buf`, so a value larger than it is refused (413).
    pub fn copy(
        &mut self,
        who: Principal<'_>,
        source: &str,
        target: &str,
        now: Option<u64>,
        buf: &mut [u8],
    ) -> Result<(), StatusCode> {
        self.transaction(|t| t.copy_inner(who, source, target, now, buf))
    }

    /// [`copy`](Self::copy), inside its transaction.
    pub(super) fn copy_inner(
        &mut self,
        who: Principal<'_>,
        source: &str,
        target: &str,
        now: Option<u64>,
        value: &mut [u8],
    ) -> Result<(), StatusCode> {
        let src = self.parse_uri(source)?;
        if src.query().is_some() {
            return Err(StatusCode::CommandNotAllowed);
        }
        let sh = self.find(&src)?;
        self.authorize(who, AccessSet::GET, sh)?;
        if self.node(sh).is_interior() {
            return Err(StatusCode::CommandNotAllowed);
        }
        let read = self.read(who, sh, src.path(), 0, value)?;
        if read.total > read.len {
            return Err(StatusCode::RequestEntityTooLarge);
        }
        let value = value.get(..read.len).unwrap_or(&[]);
        let dst = self.parse_uri(target)?;
        match self.find(&dst) {
            Ok(_) => self.replace(who, target, value, None, now),
            Err(_) => self.add(who, target, Some(value), None, now),
        }
    }
}

/// A large-object write in progress; see [`Tree::begin_write`].
#[derive(Debug)]
#[must_use = "a write in progress is ended with Tree::end_write"]
pub struct WriteTicket {
    h: NodeHandle,
    path: String<LO_PATH_LEN>,
    server_len: usize,
    to_handler: bool,
    written: u64,
    total: Option<u64>,
}

impl WriteTicket {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The announced size, if any.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// The normalised path of the node written (without `./`).
    pub fn path(&self) -> &str {
        &self.path
    }
}

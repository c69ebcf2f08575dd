//! Running the server's commands against the tree, in order, and queueing their Status and
//! Results. Execution stops between items when the queue needs writing out first (it is
//! full, or a change would overtake a Results not yet read); [`Cursor`] says where to go
//! on. An Atomic runs whole, so that its statuses can still be rewritten when it fails.

use embedded_storage::nor_flash::NorFlash;

use super::emit::Sink;
#[cfg(feature = "large-objects")]
use super::lo::Incoming;
use super::lo::{self, Intake};
use super::queue::{Answer, Cmd, Entry, Queue, ResultsEntry, ResultsKind, Span, StatusEntry};
use super::{Config, Env, Error};
use crate::codec::{Command, Container, Data, Item, List, Location, Meta, Text};
use crate::codes::{AlertCode, StatusCode};
use crate::limits::{QUEUE_ARENA, QUEUE_LEN, UI_MAX_CHOICES, UI_OPTIONS_LEN, URI_LEN};
use crate::schema::Format;
use crate::tree::uri::{List as ListQuery, Query};
use crate::tree::{ExecOutcome, Handlers, Principal};
use crate::ui::{UiAnswer, UiKind, UiOptions, UiRequest};

/// The `Format` of an item's (or its command's) `Meta`: `None` when it names none, 415
/// when it names one the tree does not know.
pub(crate) fn format_of(meta: Option<Meta<'_>>) -> Result<Option<Format>, StatusCode> {
    let Some(f) = meta.and_then(|m| m.format()) else {
        return Ok(None);
    };
    let mut b = [0u8; 8];
    f.trim()
        .to_str(&mut b)
        .and_then(Format::parse)
        .map(Some)
        .ok_or(StatusCode::UnsupportedMediaType)
}

/// The URI of an item's `Target` or `Source`, decoded into `buf`: 412 when the item has
/// none, 414 when it does not fit.
pub(crate) fn uri_of<'b>(
    loc: Option<Location<'_>>,
    buf: &'b mut [u8; URI_LEN],
) -> Result<&'b str, StatusCode> {
    loc.ok_or(StatusCode::IncompleteCommand)?
        .uri
        .to_str(buf)
        .ok_or(StatusCode::UriTooLong)
}

/// Whether an item's `Meta/Type` is TNDS, in either form: without the feature `tnds` no
/// TNDS is read, and one that came as a nested WBXML document is opaque data, which must
/// not become a node's value (415, OMA-TS-DM_RepPro 1.2: unsupported media type).
#[cfg(not(feature = "tnds"))]
fn is_tnds(meta: Option<Meta<'_>>) -> bool {
    meta.and_then(|m| m.type_()).is_some_and(|t| {
        let t = t.trim();
        t.eq_ignore_ascii_case(crate::tree::TNDS_XML)
            || t.eq_ignore_ascii_case(crate::tree::TNDS_WBXML)
    })
}

/// Where execution of a held message resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Cursor {
    /// The top-level command.
    top: u16,
    /// Inside a Sequence: the command within it.
    inner: u16,
    /// The next item of the current command.
    item: u16,
    /// The Sequence's own Status is queued.
    opened: bool,
}

/// Whether to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Done,
    Pause,
}

/// How a command went, for its container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Verdict {
    /// A status was a failure (an Atomic rolls back).
    failed: bool,
    /// The user said No to a 1101 (the rest of a Sequence is skipped).
    declined: bool,
}

impl Verdict {
    fn of(code: StatusCode) -> Verdict {
        Verdict {
            failed: !code.is_success(),
            declined: code == StatusCode::NotModified,
        }
    }

    fn merge(&mut self, other: Verdict) {
        self.failed |= other.failed;
        self.declined |= other.declined;
    }

    fn is_success(self) -> bool {
        !self.failed && !self.declined
    }
}

/// What became of the commands of an Atomic, counted in status units (one per item, one
/// per container) in the order they ran, to write their statuses again after a failure.
#[derive(Debug, Clone, Copy, Default)]
struct AtomicRun {
    /// Units run or answered so far.
    units: usize,
    /// The first failure: where, how many units it answers, and its code.
    failure: Option<(usize, usize, StatusCode)>,
    /// The failure is a user's No (a Sequence around the Atomic skips its rest).
    declined: bool,
    /// The rollback failed too (516).
    rollback_failed: bool,
}

impl AtomicRun {
    /// Notes a failure (the first one counts).
    fn fail(&mut self, at: usize, span: usize, code: StatusCode) {
        self.failure.get_or_insert((at, span, code));
    }

    /// The code of unit `unit` once the Atomic failed: what had run was rolled back (216;
    /// a Sequence keeps 200: it has nothing of its own to roll back), the failure keeps
    /// its code, and what came after it never ran (215).
    fn code_at(&self, unit: usize, sequence: bool) -> StatusCode {
        let (at, span, code) = self
            .failure
            .unwrap_or((self.units, 0, StatusCode::AtomicFailed));
        if unit < at {
            if sequence {
                StatusCode::Ok
            } else {
                StatusCode::AtomicRollBackOk
            }
        } else if unit < at + span {
            code
        } else {
            StatusCode::NotExecuted
        }
    }
}

/// Whether an Atomic can run now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Room {
    Fits,
    /// In the next message.
    Wait,
}

/// How a command may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// May stop between items.
    Pausable,
    /// Inside an Atomic: runs whole, changes nothing it cannot roll back.
    Atomic,
}

/// A command over items, whatever its element.
#[derive(Clone, Copy)]
struct View<'m> {
    cmd: Cmd,
    cmd_id: Text<'m>,
    no_resp: bool,
    meta: Option<Meta<'m>>,
    items: List<'m, Item<'m>>,
    correlator: Option<Text<'m>>,
}

impl<'m> View<'m> {
    fn of(cmd: &Command<'m>) -> Option<View<'m>> {
        let (kind, c) = match cmd {
            Command::Add(c) => (Cmd::Add, c),
            Command::Copy(c) => (Cmd::Copy, c),
            Command::Delete(c) => (Cmd::Delete, c),
            Command::Get(c) => (Cmd::Get, c),
            Command::Replace(c) => (Cmd::Replace, c),
            Command::Exec(e) => {
                return Some(View {
                    cmd: Cmd::Exec,
                    cmd_id: e.cmd_id,
                    no_resp: e.no_resp,
                    meta: e.meta,
                    items: e.items,
                    correlator: e.correlator,
                })
            }
            _ => return None,
        };
        Some(View {
            cmd: kind,
            cmd_id: c.cmd_id,
            no_resp: c.no_resp,
            meta: c.meta,
            items: c.items,
            correlator: None,
        })
    }

    /// Whether the command changes the tree.
    fn changes(&self) -> bool {
        !matches!(self.cmd, Cmd::Get)
    }
}

/// The name a Status gives a command.
pub(crate) fn cmd_of(cmd: &Command<'_>) -> Cmd {
    match cmd {
        Command::Add(_) => Cmd::Add,
        Command::Alert(_) => Cmd::Alert,
        Command::Atomic(_) => Cmd::Atomic,
        Command::Copy(_) => Cmd::Copy,
        Command::Delete(_) => Cmd::Delete,
        Command::Exec(_) => Cmd::Exec,
        Command::Get(_) => Cmd::Get,
        Command::Replace(_) => Cmd::Replace,
        Command::Results(_) => Cmd::Results,
        Command::Sequence(_) => Cmd::Sequence,
        Command::Sync(_) => Cmd::Sync,
        _ => Cmd::Other,
    }
}

/// Everything a command needs, borrowed from the session for one run.
pub(crate) struct Runner<'s, 'e, 't, F, H> {
    pub(crate) env: &'s mut Env<'e, 't, F, H>,
    pub(crate) queue: &'s mut Queue,
    #[cfg(feature = "large-objects")]
    pub(crate) lo: &'s mut Option<Incoming>,
    pub(crate) server_id: &'s str,
    pub(crate) cfg: &'s Config,
    pub(crate) server_max_obj: Option<u32>,
    pub(crate) scratch: &'s mut [u8],
    /// The user cancelled: everything left in the package gets 215.
    pub(crate) cancelled: &'s mut bool,
    /// The server sent Alert 1223.
    pub(crate) aborted: &'s mut bool,
    /// The message being built, which the queue is written into.
    pub(crate) sink: &'s mut dyn Sink<F, H>,
}

impl<'t, F: NorFlash, H: Handlers> Runner<'_, '_, 't, F, H> {
    /// What storing a value takes from this runner's state.
    fn intake(&mut self) -> Intake<'_, 't, F, H> {
        Intake {
            tree: self.env.tree,
            clock: self.env.clock,
            server_id: self.server_id,
            #[cfg(feature = "large-objects")]
            max_obj_size: self.cfg.max_obj_size,
            #[cfg(feature = "large-objects")]
            lo: self.lo,
            scratch: self.scratch,
        }
    }
}

impl<F: NorFlash, H: Handlers> Runner<'_, '_, '_, F, H> {
    fn now(&self) -> Option<u64> {
        self.env.clock.unix_time()
    }

    /// Runs `commands` from `cursor`; with `deny`, answers each with that code instead
    /// (the server failed to authenticate). Returns where to resume, or `None` when every
    /// command is answered.
    pub(crate) fn run(
        &mut self,
        commands: List<'_, Command<'_>>,
        mut cur: Cursor,
        deny: Option<StatusCode>,
    ) -> Result<Option<Cursor>, Error> {
        for cmd in commands.iter().skip(usize::from(cur.top)) {
            if *self.aborted {
                return Ok(None);
            }
            let flow = match cmd {
                Command::Status(_) => Flow::Done,
                _ if deny.is_some() || *self.cancelled => {
                    let code = deny.unwrap_or(StatusCode::NotExecuted);
                    match cmd {
                        // A container of any size is answered a command at a time.
                        Command::Sequence(c) | Command::Atomic(c) => {
                            self.skip_container(&c, cmd_of(&cmd), code, &mut cur)?
                        }
                        _ => self.answer_whole(&cmd, code, Mode::Pausable)?,
                    }
                }
                Command::Sequence(seq) => self.sequence(&seq, &mut cur)?,
                _ => self.step(&cmd, &mut cur)?.0,
            };
            if flow == Flow::Pause {
                return Ok(Some(cur));
            }
            cur = Cursor {
                top: cur.top.saturating_add(1),
                ..Cursor::default()
            };
        }
        Ok(None)
    }

    /// Answers a command with `code` without running it: its own Status and, for an Atomic
    /// or Sequence, one for every command inside, since the server expects a Status for
    /// each command it sent, nested ones included. Inside an Atomic the room was reserved
    /// up front, and the queue must not be written out before the Atomic settles.
    fn answer_whole(
        &mut self,
        cmd: &Command<'_>,
        code: StatusCode,
        mode: Mode,
    ) -> Result<Flow, Error> {
        let (units, bytes) = (units(cmd), id_bytes(cmd));
        if mode == Mode::Pausable && !self.make_room(units, bytes, false)? {
            return Ok(Flow::Pause);
        }
        // A container whose statuses could never be queued together keeps only its own.
        let whole = units <= QUEUE_LEN && bytes <= QUEUE_ARENA;
        self.answer_tree(cmd, code, whole)?;
        Ok(Flow::Done)
    }

    /// Queues `code` for `cmd` and, with `nested`, for every command inside it.
    fn answer_tree(
        &mut self,
        cmd: &Command<'_>,
        code: StatusCode,
        nested: bool,
    ) -> Result<(), Error> {
        let (no_resp, inner) = match cmd {
            Command::Sequence(c) | Command::Atomic(c) => (c.no_resp, Some(c.commands)),
            Command::Alert(a) => (a.no_resp, None),
            _ => (View::of(cmd).is_some_and(|v| v.no_resp), None),
        };
        if !no_resp {
            self.answer_plain(cmd.cmd_id(), cmd_of(cmd), code)?;
        }
        for c in inner.into_iter().flatten().filter(|_| nested) {
            self.answer_tree(&c, code, nested)?;
        }
        Ok(())
    }

    /// Answers a top-level Atomic or Sequence and everything inside it with `code`,
    /// pausing between its commands when the message is full (`cur` says where).
    fn skip_container(
        &mut self,
        c: &Container<'_>,
        kind: Cmd,
        code: StatusCode,
        cur: &mut Cursor,
    ) -> Result<Flow, Error> {
        if !cur.opened {
            if !self.make_room(1, c.cmd_id.len(), false)? {
                return Ok(Flow::Pause);
            }
            if !c.no_resp {
                self.answer_plain(c.cmd_id, kind, code)?;
            }
            cur.opened = true;
        }
        for cmd in c.commands.iter().skip(usize::from(cur.inner)) {
            if self.answer_whole(&cmd, code, Mode::Pausable)? == Flow::Pause {
                return Ok(Flow::Pause);
            }
            cur.inner = cur.inner.saturating_add(1);
        }
        Ok(Flow::Done)
    }

    /// Whether an Atomic can run now. Its statuses go straight into the message after
    /// everything queued before it, so the queue is written out first; an Atomic whose
    /// statuses would likely not fit in what is left of a message that holds other
    /// commands waits for the next message (its answer must be one message, DM RepPro
    /// 1.2 §6.6.2).
    fn room_for(&mut self, cmd: &Command<'_>) -> Result<Room, Error> {
        if !self.make_room(QUEUE_LEN, QUEUE_ARENA, true)? {
            return Ok(Room::Wait);
        }
        if self.sink.written() > 0 && self.sink.room() < atomic_answer_bound(cmd) {
            return Ok(Room::Wait);
        }
        Ok(Room::Fits)
    }

    /// Runs a command of the package or of a Sequence in it: an Atomic whole, once the
    /// message has room for its statuses; anything else item by item from `cur.item`.
    fn step(&mut self, cmd: &Command<'_>, cur: &mut Cursor) -> Result<(Flow, Verdict), Error> {
        let Command::Atomic(atomic) = cmd else {
            return self.command(cmd, &mut cur.item);
        };
        Ok(match self.room_for(cmd)? {
            Room::Fits => match self.atomic(atomic)? {
                Some(v) => (Flow::Done, v),
                None => (Flow::Pause, Verdict::default()),
            },
            Room::Wait => (Flow::Pause, Verdict::default()),
        })
    }

    /// A Sequence at the top level: in order, pausable, the rest skipped after a No.
    fn sequence(&mut self, seq: &Container<'_>, cur: &mut Cursor) -> Result<Flow, Error> {
        if !cur.opened {
            if !self.make_room(2, seq.cmd_id.len() + 4, false)? {
                return Ok(Flow::Pause);
            }
            if !seq.no_resp {
                self.answer_plain(seq.cmd_id, Cmd::Sequence, StatusCode::Ok)?;
            }
            cur.opened = true;
        }
        let mut skipping = false;
        for cmd in seq.commands.iter().skip(usize::from(cur.inner)) {
            let flow = if skipping || *self.cancelled {
                self.answer_whole(&cmd, StatusCode::NotExecuted, Mode::Pausable)?
            } else {
                match cmd {
                    Command::Sequence(_) | Command::Sync(_) => {
                        self.answer_whole(&cmd, StatusCode::CommandNotAllowed, Mode::Pausable)?
                    }
                    _ => {
                        let (flow, v) = self.step(&cmd, cur)?;
                        skipping |= v.declined;
                        flow
                    }
                }
            };
            if flow == Flow::Pause {
                return Ok(Flow::Pause);
            }
            if *self.aborted {
                return Ok(Flow::Done);
            }
            cur.inner = cur.inner.saturating_add(1);
            cur.item = 0;
        }
        Ok(Flow::Done)
    }

    /// An Atomic: every command inside, in one tree transaction, its statuses written
    /// straight into the message as they come (nothing of them waits in the queue, so an
    /// Atomic of any size is answered as long as its statuses fit a message). On any
    /// failure the tree rolls back and the statuses are written again by rule: the Atomic
    /// 507, what had run 216, the command that failed its code, what never ran 215
    /// (OMA-TS-DM_RepPro 1.2 §6.6.2). Statuses that do not fit the message: the Atomic is
    /// rolled back and waits for the next message, or, alone in a message already, is
    /// answered 517. `None`: it waits.
    fn atomic(&mut self, atomic: &Container<'_>) -> Result<Option<Verdict>, Error> {
        let start = self.sink.mark();
        let alone = self.sink.written() == 0;
        let mut run = AtomicRun::default();
        // A large object in flight cannot share the transaction.
        #[cfg(feature = "large-objects")]
        self.abort_lo();
        let fit = if self.env.tree.begin_atomic().is_err() {
            run.fail(0, 0, StatusCode::CommandFailed);
            true
        } else {
            // The Atomic's own Status comes first: 200 unless the statuses are replayed.
            let fit = self.own_status(atomic, StatusCode::Ok)?
                && self.atomic_body(atomic.commands, &mut run)?;
            let failed = run.failure.is_some() || *self.cancelled || *self.aborted || !fit;
            let settled = if failed {
                self.env.tree.rollback_atomic()
            } else {
                self.env.tree.commit_atomic()
            };
            match settled {
                Ok(()) if !failed => return Ok(Some(Verdict::default())),
                Ok(()) => {}
                Err(_) if failed => run.rollback_failed = true,
                Err(_) => run.fail(run.units, 0, StatusCode::AtomicFailed),
            }
            fit
        };
        // Answered again by rule, from the top of the Atomic's statuses.
        self.queue.clear();
        self.sink.rewind(start);
        if fit {
            let code = if run.rollback_failed {
                StatusCode::AtomicRollBackFailed
            } else {
                StatusCode::AtomicFailed
            };
            let mut unit = 0;
            if self.own_status(atomic, code)? && self.replay(atomic.commands, &run, &mut unit)? {
                return Ok(Some(Verdict {
                    failed: true,
                    declined: run.declined,
                }));
            }
            self.queue.clear();
            self.sink.rewind(start);
        }
        if !alone {
            // Not all of it fits after what this message holds: it runs again, first in
            // the next message.
            return Ok(None);
        }
        // Not even alone in a message.
        self.own_status(atomic, StatusCode::AtomicResponseTooLarge)?;
        Ok(Some(Verdict {
            failed: true,
            declined: false,
        }))
    }

    /// Writes the Atomic's own Status with `code` (none with NoResp: its statuses inside
    /// still go, they settle what happened); whether it fit.
    fn own_status(&mut self, atomic: &Container<'_>, code: StatusCode) -> Result<bool, Error> {
        if atomic.no_resp {
            return Ok(true);
        }
        self.answer_plain(atomic.cmd_id, Cmd::Atomic, code)?;
        self.sink.flush(self.env.tree, self.queue, self.scratch)
    }

    /// The commands inside an Atomic (and inside a Sequence within it), each status
    /// written out as soon as it is known; after the first failure nothing more runs.
    /// Whether every status fit the message.
    fn atomic_body(
        &mut self,
        commands: List<'_, Command<'_>>,
        run: &mut AtomicRun,
    ) -> Result<bool, Error> {
        for cmd in commands {
            let stopped = run.failure.is_some() || *self.cancelled || *self.aborted;
            let at = run.units;
            match cmd {
                _ if stopped => {
                    self.answer_whole(&cmd, StatusCode::NotExecuted, Mode::Atomic)?;
                    run.units += units(&cmd);
                }
                // Nested Atomics and Gets have no place in an Atomic (a Get's Results
                // could not be rolled back).
                Command::Atomic(_) | Command::Get(_) | Command::Sync(_) => {
                    self.answer_whole(&cmd, StatusCode::CommandFailed, Mode::Atomic)?;
                    run.units += units(&cmd);
                    run.fail(at, units(&cmd), StatusCode::CommandFailed);
                }
                Command::Sequence(seq) => {
                    if !seq.no_resp {
                        self.answer_plain(seq.cmd_id, Cmd::Sequence, StatusCode::Ok)?;
                    }
                    run.units += 1;
                    if !self.sink.flush(self.env.tree, self.queue, self.scratch)? {
                        return Ok(false);
                    }
                    if !self.atomic_body(seq.commands, run)? {
                        return Ok(false);
                    }
                    continue;
                }
                Command::Alert(alert) => {
                    let code = self.alert(&alert)?;
                    run.units += 1;
                    let v = Verdict::of(code);
                    if !v.is_success() || *self.cancelled {
                        run.declined |= v.declined;
                        run.fail(at, 1, code);
                    } else if *self.aborted {
                        // The server ended the session (1223): what follows never runs.
                        run.fail(run.units, 0, code);
                    }
                }
                _ => self.atomic_items(&cmd, run)?,
            }
            if !self.sink.flush(self.env.tree, self.queue, self.scratch)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The items of one command inside an Atomic; after one fails the rest get 215.
    fn atomic_items(&mut self, cmd: &Command<'_>, run: &mut AtomicRun) -> Result<(), Error> {
        let Some(view) = View::of(cmd) else {
            // Results and the like have no business in a server package to a DM client.
            self.answer_whole(cmd, StatusCode::BadRequest, Mode::Atomic)?;
            run.fail(run.units, 1, StatusCode::BadRequest);
            run.units += 1;
            return Ok(());
        };
        if view.items.is_empty() {
            self.answer_whole(cmd, StatusCode::IncompleteCommand, Mode::Atomic)?;
            run.fail(run.units, 1, StatusCode::IncompleteCommand);
            run.units += 1;
            return Ok(());
        }
        for it in view.items.iter() {
            let code = if run.failure.is_some() {
                if !view.no_resp {
                    self.answer_plain(view.cmd_id, view.cmd, StatusCode::NotExecuted)?;
                }
                StatusCode::NotExecuted
            } else {
                self.item(&view, &it, Mode::Atomic)?
            };
            if run.failure.is_none() && !Verdict::of(code).is_success() {
                run.fail(run.units, 1, code);
            }
            run.units += 1;
            // One status at a time: the queue never holds an Atomic's statuses.
            if !self.sink.flush(self.env.tree, self.queue, self.scratch)? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Writes the statuses of a failed Atomic's commands again, by rule (see
    /// [`Runner::atomic`]), walking them in the order they ran; whether they all fit.
    fn replay(
        &mut self,
        commands: List<'_, Command<'_>>,
        run: &AtomicRun,
        unit: &mut usize,
    ) -> Result<bool, Error> {
        for cmd in commands {
            let (no_resp, inner, items) = match cmd {
                Command::Atomic(c) | Command::Sequence(c) => (c.no_resp, Some(c.commands), None),
                Command::Sync(c) => (c.no_resp, None, None),
                Command::Alert(a) => (a.no_resp, None, None),
                ref other => match View::of(other) {
                    Some(v) => (v.no_resp, None, Some(v.items)),
                    None => (false, None, None),
                },
            };
            let kind = cmd_of(&cmd);
            match items.filter(|i| !i.is_empty()) {
                Some(items) => {
                    for it in items.iter() {
                        let code = run.code_at(*unit, false);
                        *unit += 1;
                        if !no_resp {
                            let cmd_ref =
                                self.queue.store_text(cmd.cmd_id()).unwrap_or(Span::EMPTY);
                            let target = it
                                .target
                                .and_then(|t| self.queue.store_text(t.uri))
                                .unwrap_or(Span::EMPTY);
                            let source = match (kind, it.source) {
                                (Cmd::Copy, Some(s)) => {
                                    self.queue.store_text(s.uri).unwrap_or(Span::EMPTY)
                                }
                                _ => Span::EMPTY,
                            };
                            self.push_status(cmd_ref, kind, code, target, source, Answer::None)?;
                        }
                        if !self.sink.flush(self.env.tree, self.queue, self.scratch)? {
                            return Ok(false);
                        }
                    }
                }
                None => {
                    let code = run.code_at(*unit, kind == Cmd::Sequence);
                    *unit += 1;
                    if !no_resp {
                        self.answer_plain(cmd.cmd_id(), kind, code)?;
                    }
                    if !self.sink.flush(self.env.tree, self.queue, self.scratch)? {
                        return Ok(false);
                    }
                    if let Some(inner) = inner {
                        if !self.replay(inner, run, unit)? {
                            return Ok(false);
                        }
                    }
                }
            }
        }
        Ok(true)
    }

    /// One command (not a container): its items from `*item` on, pausing between them when
    /// the message is full.
    fn command(&mut self, cmd: &Command<'_>, item: &mut u16) -> Result<(Flow, Verdict), Error> {
        if let Command::Alert(alert) = cmd {
            if !self.make_room(2, 160, false)? {
                return Ok((Flow::Pause, Verdict::default()));
            }
            let code = self.alert(alert)?;
            return Ok((Flow::Done, Verdict::of(code)));
        }
        let Some(view) = View::of(cmd) else {
            // Results, Sync and the like have no business in a server package to a DM client.
            let code = match cmd {
                Command::Sync(_) => StatusCode::OptionalFeatureNotSupported,
                _ => StatusCode::BadRequest,
            };
            let flow = self.answer_whole(cmd, code, Mode::Pausable)?;
            return Ok((flow, Verdict::of(code)));
        };
        if view.items.is_empty() {
            let flow = self.answer_whole(cmd, StatusCode::IncompleteCommand, Mode::Pausable)?;
            return Ok((flow, Verdict::of(StatusCode::IncompleteCommand)));
        }
        let mut verdict = Verdict::default();
        for it in view.items.iter().skip(usize::from(*item)) {
            let need = view.cmd_id.len() + uri_len(&it) + 16;
            let flush = view.changes() && self.queue.reads_tree();
            if !self.make_room(2, need, flush)? {
                return Ok((Flow::Pause, verdict));
            }
            let code = self.item(&view, &it, Mode::Pausable)?;
            verdict.merge(Verdict::of(code));
            *item = item.saturating_add(1);
        }
        *item = 0;
        Ok((Flow::Done, verdict))
    }

    fn has_room(&self, entries: usize, bytes: usize) -> bool {
        self.queue.free() >= entries && self.queue.arena_free() >= bytes
    }

    /// Makes room in the queue for `entries` taking `bytes` of arena, writing it out into
    /// the message when needed (always, with `flush`: a change must not overtake a Results
    /// still to be read). `false`: the message is full, execution pauses.
    fn make_room(&mut self, entries: usize, bytes: usize, flush: bool) -> Result<bool, Error> {
        if (!flush && self.has_room(entries, bytes)) || self.queue.is_empty() {
            return Ok(true);
        }
        self.sink.flush(self.env.tree, self.queue, self.scratch)
    }

    /// One item of a command: runs it and queues its Status (and Results). Out of line, as
    /// `run_item` is: what running an item needs (its URI among it) is on the stack only
    /// while it runs, not while the message is written out to make room.
    #[inline(never)]
    fn item(&mut self, view: &View<'_>, item: &Item<'_>, mode: Mode) -> Result<StatusCode, Error> {
        let cmd_ref = self.queue.store_text(view.cmd_id).unwrap_or(Span::EMPTY);
        let target_text = item.target.map(|t| t.uri);
        let target = target_text
            .and_then(|t| self.queue.store_text(t))
            .unwrap_or(Span::EMPTY);
        let source = match (view.cmd, item.source) {
            (Cmd::Copy, Some(s)) => self.queue.store_text(s.uri).unwrap_or(Span::EMPTY),
            _ => Span::EMPTY,
        };
        let continues = self.continues_lo(view, target_text);
        let (code, results) = match self.run_item(view, item, mode, continues) {
            Ok(r) => r,
            Err(code) => (code, None),
        };
        if !view.no_resp {
            self.push_status(cmd_ref, view.cmd, code, target, source, Answer::None)?;
        }
        if let Some(kind) = results {
            let entry = Entry::Results(ResultsEntry {
                cmd_ref,
                uri: target,
                kind,
                progress: 0,
            });
            self.queue.push(entry).map_err(|_| Error::MessageTooSmall)?;
        }
        Ok(code)
    }

    /// Whether this item continues the large object being received; one it does not
    /// continue ends (1225). Without the feature `large-objects` nothing is received in
    /// chunks, so nothing continues.
    fn continues_lo(&mut self, view: &View<'_>, target: Option<Text<'_>>) -> bool {
        #[cfg(feature = "large-objects")]
        {
            let limits = *self.env.tree.limits();
            let continues = self.lo.as_ref().is_some_and(|lo| {
                target.is_some_and(|t| lo.continues(view.cmd == Cmd::Add, t, &limits))
            });
            if self.lo.is_some() && !continues {
                self.abort_lo();
            }
            continues
        }
        #[cfg(not(feature = "large-objects"))]
        {
            let _ = (view, target);
            false
        }
    }

    /// Ends an unfinished large object: it is dropped, and the server told so (1225).
    // Out of line, as `copy` is: its URI buffer stays off the stack of every command.
    #[cfg(feature = "large-objects")]
    #[inline(never)]
    fn abort_lo(&mut self) {
        if let Some(lo) = self.lo.take() {
            let now = self.now();
            let mut uri: heapless::String<{ URI_LEN }> = heapless::String::new();
            let _ = uri.push_str("./");
            let _ = uri.push_str(lo.path());
            let target = self.queue.store(uri.as_bytes()).unwrap_or(Span::EMPTY);
            lo.abandon(self.env.tree, Principal::Server(self.server_id), now);
            let _ = self.queue.push(Entry::NoEndOfData(target));
        }
    }

    /// Runs one item; the status, and what Results to send. The target URI is used where
    /// it lies in the message when it needs no decoding (the common case); only one that
    /// does is copied out, into a buffer on the stack of that case alone.
    fn run_item(
        &mut self,
        view: &View<'_>,
        item: &Item<'_>,
        mode: Mode,
        continues: bool,
    ) -> Result<(StatusCode, Option<ResultsKind>), StatusCode> {
        let target = item
            .target
            .map(|t| t.uri)
            .ok_or(StatusCode::IncompleteCommand)?;
        match target.as_str() {
            Some(uri) if uri.len() > URI_LEN => Err(StatusCode::UriTooLong),
            Some(uri) => self.run_item_at(view, item, mode, uri, continues),
            None => self.run_item_decoded(view, item, mode, target, continues),
        }
    }

    /// [`Runner::run_item`] for a target URI that needs decoding (entities, WBXML runs).
    #[inline(never)]
    fn run_item_decoded(
        &mut self,
        view: &View<'_>,
        item: &Item<'_>,
        mode: Mode,
        target: Text<'_>,
        continues: bool,
    ) -> Result<(StatusCode, Option<ResultsKind>), StatusCode> {
        let mut uri_buf = [0u8; URI_LEN];
        let uri = target.to_str(&mut uri_buf).ok_or(StatusCode::UriTooLong)?;
        self.run_item_at(view, item, mode, uri, continues)
    }

    /// Runs one item on the node at `uri`.
    #[inline(never)]
    fn run_item_at(
        &mut self,
        view: &View<'_>,
        item: &Item<'_>,
        mode: Mode,
        uri: &str,
        continues: bool,
    ) -> Result<(StatusCode, Option<ResultsKind>), StatusCode> {
        let meta = item.meta.or(view.meta);
        let format = format_of(meta)?;
        let now = self.now();
        let who = Principal::Server(self.server_id);
        match view.cmd {
            Cmd::Add | Cmd::Replace => {
                let create = view.cmd == Cmd::Add;
                #[cfg(not(feature = "tnds"))]
                if is_tnds(meta) {
                    return Err(StatusCode::UnsupportedMediaType);
                }
                // Without large objects a chunk is an optional feature the client does not
                // support (406), refused before anything is written.
                #[cfg(not(feature = "large-objects"))]
                {
                    if item.more_data {
                        return Err(StatusCode::OptionalFeatureNotSupported);
                    }
                    // Nothing continues, and nothing here depends on an Atomic.
                    let _ = (mode, continues);
                }
                #[cfg(feature = "large-objects")]
                if continues || item.more_data {
                    if mode == Mode::Atomic {
                        return Err(StatusCode::OptionalFeatureNotSupported);
                    }
                    let code = lo::chunk(
                        &mut self.intake(),
                        uri,
                        create,
                        format,
                        meta,
                        item,
                        continues,
                    )?;
                    return Ok((code, None));
                }
                match item.data {
                    #[cfg(feature = "tnds")]
                    Some(Data::Xml(doc)) => {
                        let tnds = meta
                            .and_then(|m| m.type_())
                            .is_some_and(|t| t.trim().eq_bytes(crate::tree::TNDS_XML.as_bytes()));
                        if !create || !tnds {
                            return Err(StatusCode::UnsupportedMediaType);
                        }
                        self.env
                            .tree
                            .add_tnds(who, uri, doc.events(), now, self.scratch)?;
                        Ok((StatusCode::Ok, None))
                    }
                    // Embedded XML is TNDS or nothing the tree takes.
                    #[cfg(not(feature = "tnds"))]
                    Some(Data::Xml(_)) => Err(StatusCode::UnsupportedMediaType),
                    data => {
                        let text = data.and_then(|d| d.content());
                        if create && (format == Some(Format::Node) || text.is_none()) {
                            self.env.tree.add(who, uri, None, format, now)?;
                            return Ok((StatusCode::Ok, None));
                        }
                        let text = text.unwrap_or_default();
                        if text.len() as u64 > u64::from(self.cfg.max_obj_size) {
                            return Err(StatusCode::RequestEntityTooLarge);
                        }
                        lo::whole(&mut self.intake(), uri, create, format, text)?;
                        Ok((StatusCode::Ok, None))
                    }
                }
            }
            Cmd::Delete => {
                self.env.tree.delete(who, uri, now)?;
                Ok((StatusCode::Ok, None))
            }
            Cmd::Copy => {
                self.copy(item, uri)?;
                Ok((StatusCode::Ok, None))
            }
            Cmd::Exec => {
                let data = item.data.and_then(|d| d.content()).unwrap_or_default();
                let data = data
                    .copy_to(self.scratch)
                    .ok_or(StatusCode::RequestEntityTooLarge)?;
                let mut corr_buf = [0u8; 64];
                let correlator = match view.correlator {
                    Some(c) => Some(c.to_str(&mut corr_buf).ok_or(StatusCode::BadRequest)?),
                    None => None,
                };
                let code = match self.env.tree.exec(who, uri, data, correlator)? {
                    ExecOutcome::Done => StatusCode::Ok,
                    ExecOutcome::Accepted => StatusCode::Accepted,
                };
                Ok((code, None))
            }
            Cmd::Get => {
                let kind = self.check_get(uri)?;
                Ok((StatusCode::Ok, Some(kind)))
            }
            _ => Err(StatusCode::CommandNotImplemented),
        }
    }

    /// A Copy of the item's source to `uri`. Out of line: the source's URI buffer is on
    /// the stack only for a Copy.
    #[inline(never)]
    fn copy(&mut self, item: &Item<'_>, uri: &str) -> Result<(), StatusCode> {
        let mut src_buf = [0u8; URI_LEN];
        let src = uri_of(item.source, &mut src_buf)?;
        let now = self.now();
        self.env.tree.copy(
            Principal::Server(self.server_id),
            src,
            uri,
            now,
            self.scratch,
        )
    }

    /// Checks that a Get can be answered (the node exists and may be read, the value is
    /// not over the server's MaxObjSize) and says what its Results hold.
    fn check_get(&mut self, uri: &str) -> Result<ResultsKind, StatusCode> {
        let who = Principal::Server(self.server_id);
        let query = self.env.tree.parse_uri(uri)?.query();
        match query {
            Some(Query::List(ListQuery::Struct | ListQuery::StructData)) => {
                let path = uri.split('?').next().unwrap_or(uri);
                // Reading the root checks it exists and may be read.
                self.env.tree.get(who, path, 0, &mut [])?;
                let data = query == Some(Query::List(ListQuery::StructData));
                Ok(ResultsKind::Struct { data })
            }
            Some(Query::List(_)) => {
                let _read = self.env.tree.get_listing(who, uri, 0, &mut [])?;
                #[cfg(not(feature = "large-objects"))]
                self.fits_one_message(uri, &_read)?;
                Ok(ResultsKind::Listing)
            }
            _ => {
                let read = self.env.tree.get(who, uri, 0, &mut [])?;
                if self
                    .server_max_obj
                    .is_some_and(|max| read.total as u64 > u64::from(max))
                {
                    return Err(StatusCode::RequestEntityTooLarge);
                }
                #[cfg(not(feature = "large-objects"))]
                self.fits_one_message(uri, &read)?;
                Ok(ResultsKind::Value)
            }
        }
    }

    /// Without large objects a value (or listing) goes out whole in one Results or not at
    /// all: one that cannot is refused to the Get as too large (413), as one over the
    /// server's MaxObjSize is.
    #[cfg(not(feature = "large-objects"))]
    fn fits_one_message(&self, uri: &str, read: &crate::tree::Read) -> Result<(), StatusCode> {
        if self
            .sink
            .fits_alone(uri, read.total, read.format, self.scratch.len())
        {
            Ok(())
        } else {
            Err(StatusCode::RequestEntityTooLarge)
        }
    }

    /// An Alert from the server.
    fn alert(&mut self, alert: &crate::codec::Alert<'_>) -> Result<StatusCode, Error> {
        let cmd_ref = self.queue.store_text(alert.cmd_id).unwrap_or(Span::EMPTY);
        let code = alert.data.and_then(|d| d.parse_u32()).unwrap_or(0);
        // A number past any alert code's range is as unknown as one in range.
        let (status, answer) = match u16::try_from(code).map(AlertCode::from) {
            _ if code == 0 => (StatusCode::IncompleteCommand, Answer::None),
            Ok(AlertCode::NextMessage) => (StatusCode::Ok, Answer::None),
            Ok(AlertCode::SessionAbort) => {
                *self.aborted = true;
                (StatusCode::Ok, Answer::None)
            }
            _ => match u16::try_from(code).ok().and_then(UiKind::from_code) {
                Some(kind) => self.ask(alert, kind),
                None => (StatusCode::OptionalFeatureNotSupported, Answer::None),
            },
        };
        if status == StatusCode::OperationCancelled {
            *self.cancelled = true;
        }
        if !alert.no_resp {
            self.push_status(
                cmd_ref,
                Cmd::Alert,
                status,
                Span::EMPTY,
                Span::EMPTY,
                answer,
            )?;
        }
        Ok(status)
    }

    /// A user-interaction alert of `kind`: options, text and choices from its items, then
    /// the UI.
    fn ask(&mut self, alert: &crate::codec::Alert<'_>, kind: UiKind) -> (StatusCode, Answer) {
        let mut items = alert.items.iter();
        let mut opt_buf = [0u8; UI_OPTIONS_LEN];
        let options_len = items
            .next()
            .and_then(|i| i.data)
            .and_then(|d| d.content())
            .and_then(|t| t.copy_to(&mut opt_buf).map(<[u8]>::len));
        let options = options_len
            .and_then(|n| opt_buf.get_mut(..n))
            .map(UiOptions::parse_in)
            .unwrap_or_default();
        let text = items
            .next()
            .and_then(|i| i.data)
            .and_then(|d| d.content())
            .unwrap_or_default();
        let mut choices: heapless::Vec<Text<'_>, UI_MAX_CHOICES> = heapless::Vec::new();
        for item in items {
            let choice = item.data.and_then(|d| d.content()).unwrap_or_default();
            if choices.push(choice).is_err() {
                return (StatusCode::RequestedRangeNotSatisfiable, Answer::None);
            }
        }
        let is_choice = matches!(kind, UiKind::SingleChoice | UiKind::MultipleChoice);
        if is_choice && choices.is_empty() {
            return (StatusCode::IncompleteCommand, Answer::None);
        }
        let request = UiRequest {
            kind,
            options,
            text,
            choices: &choices,
        };
        match self.env.ui.ask(&request, self.scratch) {
            UiAnswer::Ok => (StatusCode::Ok, Answer::None),
            UiAnswer::No if kind == UiKind::Confirm => (StatusCode::NotModified, Answer::None),
            UiAnswer::No => (StatusCode::Ok, Answer::None),
            UiAnswer::Text(t) if kind == UiKind::TextInput => {
                let max = options.max_len.map_or(t.len(), |m| m as usize);
                let t = truncate_utf8(t, max);
                match self.queue.store(t.as_bytes()) {
                    Some(span) => (StatusCode::Ok, Answer::Text(span)),
                    None => (StatusCode::RequestEntityTooLarge, Answer::None),
                }
            }
            UiAnswer::Choices(c) if is_choice => {
                // Only choices that exist; one for a single choice. Kept as their numbers.
                let mut picked: heapless::Vec<u8, UI_MAX_CHOICES> = heapless::Vec::new();
                for n in c.iter().filter(|&n| usize::from(n) <= choices.len()) {
                    let _ = picked.push(n);
                    if kind == UiKind::SingleChoice {
                        break;
                    }
                }
                match self.queue.store(&picked) {
                    Some(span) => (StatusCode::Ok, Answer::Choices(span)),
                    None => (StatusCode::RequestEntityTooLarge, Answer::None),
                }
            }
            UiAnswer::Cancelled => (StatusCode::OperationCancelled, Answer::None),
            UiAnswer::Timeout => (StatusCode::RequestTimeout, Answer::None),
            UiAnswer::NotSupported => (StatusCode::OptionalFeatureNotSupported, Answer::None),
            // An answer of the wrong kind: the UI did not do what was asked.
            UiAnswer::Text(_) | UiAnswer::Choices(_) => (StatusCode::CommandFailed, Answer::None),
        }
    }

    /// Queues `code` for the command `cmd_id`, with no target, source or answer of its own:
    /// the status of a container, or of a command that did not run.
    fn answer_plain(&mut self, cmd_id: Text<'_>, cmd: Cmd, code: StatusCode) -> Result<(), Error> {
        let cmd_ref = self.queue.store_text(cmd_id).unwrap_or(Span::EMPTY);
        self.push_status(cmd_ref, cmd, code, Span::EMPTY, Span::EMPTY, Answer::None)
    }

    pub(crate) fn push_status(
        &mut self,
        cmd_ref: Span,
        cmd: Cmd,
        code: StatusCode,
        target: Span,
        source: Span,
        answer: Answer,
    ) -> Result<(), Error> {
        self.queue
            .push(Entry::Status(StatusEntry {
                cmd_ref,
                cmd,
                code: u16::from(code),
                target,
                source,
                answer,
            }))
            .map_err(|_| Error::MessageTooSmall)
    }
}

/// Bytes the statuses of an Atomic may take in a message, counted generously: a Status
/// per unit with its references. Only to tell whether to start it in this message or the
/// next; what does not fit is found when written.
fn atomic_answer_bound(cmd: &Command<'_>) -> usize {
    /// A Status without its CmdRef and TargetRef: tags, CmdID, MsgRef, Cmd and code, as
    /// XML (WBXML takes a third of it).
    const STATUS: usize = 120;
    units(cmd)
        .saturating_mul(STATUS)
        .saturating_add(ref_bytes(cmd))
}

/// About the message bytes of a command's CmdIDs and item URIs, counted through nesting.
fn ref_bytes(cmd: &Command<'_>) -> usize {
    match cmd {
        Command::Atomic(c) | Command::Sequence(c) => c
            .commands
            .iter()
            .fold(c.cmd_id.len(), |n, c| n.saturating_add(ref_bytes(&c))),
        other => View::of(other).map_or(other.cmd_id().len(), |v| {
            v.items.iter().fold(v.cmd_id.len(), |n, it| {
                n.saturating_add(uri_len(&it) + v.cmd_id.len())
            })
        }),
    }
}

/// Statuses a command needs: one per item, one per container, counted through nesting.
fn units(cmd: &Command<'_>) -> usize {
    match cmd {
        Command::Atomic(c) | Command::Sequence(c) => {
            1 + c.commands.iter().map(|c| units(&c)).sum::<usize>()
        }
        other => View::of(other).map_or(1, |v| v.items.len().max(1)),
    }
}

/// Arena bytes the statuses of a command take: its `CmdID` and those of the commands
/// inside it.
fn id_bytes(cmd: &Command<'_>) -> usize {
    match cmd {
        Command::Atomic(c) | Command::Sequence(c) => c
            .commands
            .iter()
            .fold(c.cmd_id.len(), |n, c| n.saturating_add(id_bytes(&c))),
        other => other.cmd_id().len(),
    }
}

/// Bytes an item's URIs take in the arena.
fn uri_len(item: &Item<'_>) -> usize {
    item.target.map_or(0, |t| t.uri.len()) + item.source.map_or(0, |s| s.uri.len())
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

// The harness writes the server's messages in XML, so these run in builds with `xml`;
// scripts/test.sh runs the unit tests with `xml` alone, where every part these tests
// leave out is off.
#[cfg(all(test, feature = "xml"))]
mod tests {
    use super::super::test_support::{self, Counter, TestTree};
    use super::super::{Config, Env, Initiation, Session, Step};
    use crate::codec::{self, Command, Encoding};
    use crate::platform::NoClock;
    use crate::tree::Principal;
    use crate::ui::NoUi;
    use std::format;
    use std::string::{String, ToString};
    use std::vec;
    use std::vec::Vec;

    /// A handset with its DevInfo and the account `srv`, whose server proves nothing.
    pub(super) fn handset() -> TestTree {
        let mut tree = test_support::handset();
        let d = Principal::Device;
        tree.add(d, "./DMAcc/srv", None, None, None).unwrap();
        tree.add(d, "./DMAcc/srv/ServerID", Some(b"srv"), None, None)
            .unwrap();
        tree
    }

    /// [`handset`] with `./DMAcc` open to any server's Add and Get.
    fn open_handset() -> TestTree {
        let mut tree = handset();
        tree.replace(
            Principal::Device,
            "./DMAcc?prop=ACL",
            b"Add=*&Get=*",
            None,
            None,
        )
        .unwrap();
        tree
    }

    /// The client's package 1 and its answer to one server message whose body holds
    /// `commands` (XML), the server declaring a MaxMsgSize of `server_max_msg`: the
    /// statuses of the answer as (command, code), and the answer.
    pub(super) fn answer(
        tree: &mut TestTree,
        commands: &str,
        server_max_msg: u32,
    ) -> (String, Vec<(String, u16)>, String) {
        let mut ui = NoUi;
        let mut rng = Counter(0);
        let clock = NoClock;
        let mut env = Env {
            tree,
            ui: &mut ui,
            rng: &mut rng,
            clock: &clock,
            alerts: &[],
        };
        let cfg = Config {
            encoding: Encoding::Xml,
            ..Config::DEFAULT
        };
        let initiation = Initiation::Server { session_id: 0x12 };
        let mut session = Session::new(&mut env, cfg, "srv", initiation).unwrap();
        let (mut tx, mut scratch) = (vec![0u8; 16 * 1024], vec![0u8; 1024]);
        let sent = session.start(&mut env, &mut tx, &mut scratch).unwrap();
        let package1 = String::from_utf8(tx[..sent.len].to_vec()).unwrap();
        let server = format!(
            "<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD>\
             <VerProto>DM/1.2</VerProto><SessionID>{}</SessionID><MsgID>1</MsgID>\
             <Target><LocURI>IMEI:490154203237518</LocURI></Target>\
             <Source><LocURI>http://127.0.0.1/dm</LocURI></Source>\
             <Meta><MaxMsgSize xmlns='syncml:metinf'>{server_max_msg}</MaxMsgSize></Meta>\
             </SyncHdr><SyncBody>\
             <Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>\
             <TargetRef>http://127.0.0.1/dm</TargetRef><SourceRef>IMEI:490154203237518</SourceRef>\
             <Data>200</Data></Status>{commands}<Final/></SyncBody></SyncML>",
            session.session_id()
        );
        let step = session
            .handle(
                &mut env,
                server.as_bytes(),
                None,
                &[],
                &mut tx,
                &mut scratch,
            )
            .unwrap();
        let Step::Send(reply) = step else {
            panic!("the session ended: {step:?}")
        };
        let reply = &tx[..reply.len];
        let statuses = codec::parse(reply)
            .unwrap()
            .body
            .commands
            .into_iter()
            .filter_map(|c| match c {
                Command::Status(s) => Some((
                    s.cmd.map(|t| t.to_string()).unwrap_or_default(),
                    s.data.and_then(|d| d.parse_u32()).unwrap_or(0) as u16,
                )),
                _ => None,
            })
            .collect();
        (
            package1,
            statuses,
            String::from_utf8(reply.to_vec()).unwrap(),
        )
    }

    /// The status of the one command (not the header) of `commands`.
    pub(super) fn status_of(tree: &mut TestTree, commands: &str) -> u16 {
        let (_, statuses, reply) = answer(tree, commands, 8192);
        let codes: Vec<u16> = statuses
            .iter()
            .filter(|(cmd, _)| cmd != "SyncHdr")
            .map(|s| s.1)
            .collect();
        assert_eq!(codes.len(), 1, "{reply}");
        codes[0]
    }

    #[test]
    fn the_harness_answers_a_get() {
        let mut tree = handset();
        let get = "<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevInfo/Mod</LocURI></Target>\
                   </Item></Get>";
        assert_eq!(status_of(&mut tree, get), 200);
    }

    /// An Add of a TNDS document: a subtree with the feature `tnds`, 415 (OMA-TS-DM_RepPro
    /// 1.2: unsupported media type) without it, nothing added.
    #[test]
    fn a_tnds_add_is_applied_only_with_tnds() {
        for (type_, data) in [
            (
                crate::tree::TNDS_XML,
                "<MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD><Node>\
                 <NodeName>two</NodeName><Node><NodeName>ServerID</NodeName>\
                 <Value>two</Value></Node></Node></MgmtTree>",
            ),
            // As a WBXML message carries it, when nothing reads it as TNDS: opaque data.
            (crate::tree::TNDS_WBXML, "AgAAag"),
        ] {
            let mut tree = open_handset();
            let add = format!(
                "<Add><CmdID>2</CmdID><Item><Target><LocURI>./DMAcc</LocURI></Target>\
                 <Meta><Type xmlns='syncml:metinf'>{type_}</Type></Meta>\
                 <Data>{data}</Data></Item></Add>"
            );
            let code = status_of(&mut tree, &add);
            let mut buf = [0u8; 64];
            let added = tree.get(Principal::Device, "./DMAcc/two/ServerID", 0, &mut buf);
            if cfg!(feature = "tnds") {
                if type_ == crate::tree::TNDS_XML {
                    assert_eq!((code, added.is_ok()), (200, true), "{type_}");
                }
            } else {
                assert_eq!(code, 415, "{type_}");
                assert!(added.is_err(), "{type_}");
            }
        }
    }

    /// `?list=TNDS` is served with the feature `tnds`, and answered 406 (TND tree
    /// exchange: optional feature not supported) without it; `StructData` is served either
    /// way.
    #[test]
    fn a_tnds_listing_is_served_only_with_tnds() {
        let mut tree = handset();
        let get = |uri: &str| {
            format!(
                "<Get><CmdID>2</CmdID><Item><Target><LocURI>{uri}</LocURI></Target></Item></Get>"
            )
        };
        let tnds = status_of(&mut tree, &get("./DevInfo?list=TNDS+Value"));
        assert_eq!(tnds, if cfg!(feature = "tnds") { 200 } else { 406 });
        assert_eq!(status_of(&mut tree, &get("./DevInfo?list=StructData")), 200);
    }

    /// `./DevDetail/LrgObj` and the MaxObjSize of the client's header say large objects
    /// only with the feature `large-objects` (OMA-TS-DM_Protocol 1.2 §7).
    #[test]
    fn large_objects_are_announced_only_with_their_feature() {
        let lo = cfg!(feature = "large-objects");
        let mut tree = handset();
        let mut buf = [0u8; 8];
        let n = tree
            .get(Principal::Device, "./DevDetail/LrgObj", 0, &mut buf)
            .unwrap()
            .len;
        assert_eq!(&buf[..n], if lo { &b"true"[..] } else { b"false" });
        let get = "<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevInfo/Mod</LocURI>\
                   </Target></Item></Get>";
        let (package1, _, _) = answer(&mut tree, get, 8192);
        assert!(package1.contains("MaxMsgSize"), "{package1}");
        assert_eq!(package1.contains("MaxObjSize"), lo, "{package1}");
    }

    /// A chunk of a large object: taken (213) with the feature `large-objects`; without it
    /// refused as an optional feature not supported (406), nothing written.
    #[test]
    fn a_chunk_is_taken_only_with_large_objects() {
        let mut tree = open_handset();
        let add = "<Add><CmdID>2</CmdID><Item><Target><LocURI>./DMAcc/two</LocURI></Target>\
                   <Meta><Format xmlns='syncml:metinf'>node</Format></Meta></Item>\
                   <Item><Target><LocURI>./DMAcc/two/Name</LocURI></Target>\
                   <Meta><Size xmlns='syncml:metinf'>10</Size></Meta>\
                   <Data>first</Data><MoreData/></Item></Add>";
        let (_, statuses, reply) = answer(&mut tree, add, 8192);
        let codes: Vec<u16> = statuses.iter().skip(1).map(|s| s.1).collect();
        let chunk = if cfg!(feature = "large-objects") {
            213
        } else {
            406
        };
        assert_eq!(codes, [200, chunk], "{reply}");
        let mut buf = [0u8; 16];
        let read = tree.get(Principal::Device, "./DMAcc/two/Name", 0, &mut buf);
        if !cfg!(feature = "large-objects") {
            assert!(read.is_err(), "nothing of the chunk is written");
        }
    }

    /// A value larger than a message: sent in chunks with the feature `large-objects`;
    /// without it the Get is refused as too large (413), since nothing else can carry it.
    #[test]
    fn a_value_larger_than_a_message_needs_large_objects() {
        let mut tree = open_handset();
        let large = "n".repeat(3000);
        tree.add(
            Principal::Device,
            "./DMAcc/srv/Name",
            Some(large.as_bytes()),
            None,
            None,
        )
        .unwrap();
        let get = "<Get><CmdID>2</CmdID><Item><Target><LocURI>./DMAcc/srv/Name</LocURI>\
                   </Target></Item></Get>";
        let (_, statuses, reply) = answer(&mut tree, get, 2000);
        let code = statuses.iter().find(|s| s.0 == "Get").map(|s| s.1);
        if cfg!(feature = "large-objects") {
            assert_eq!(code, Some(200), "{reply}");
            assert!(reply.contains("<MoreData/>"), "{reply}");
        } else {
            assert_eq!(code, Some(413), "{reply}");
            assert!(!reply.contains("<Results>"), "{reply}");
        }
    }
}

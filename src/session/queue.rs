//! The responses waiting for the next client message: Status and Results of the commands
//! run, and the client's own commands. Entries are small and fixed; the bytes they refer
//! to (command ids, URIs, typed text) sit in one arena that empties with the queue.
//! Results hold no data: it is read from the tree when the entry is written, a window at a
//! time, so a large value costs no RAM here.

use crate::limits::{QUEUE_ARENA, QUEUE_LEN};
use heapless::{Deque, Vec};

/// Bytes in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    at: u16,
    len: u16,
}

impl Span {
    pub(crate) const EMPTY: Span = Span { at: 0, len: 0 };

    pub(crate) fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// The name of a command a Status is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    Add,
    Alert,
    Atomic,
    Copy,
    Delete,
    Exec,
    Get,
    Replace,
    Sequence,
    Sync,
    Results,
    Other,
}

impl Cmd {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Cmd::Add => "Add",
            Cmd::Alert => "Alert",
            Cmd::Atomic => "Atomic",
            Cmd::Copy => "Copy",
            Cmd::Delete => "Delete",
            Cmd::Exec => "Exec",
            Cmd::Get => "Get",
            Cmd::Replace => "Replace",
            Cmd::Sequence => "Sequence",
            Cmd::Sync => "Sync",
            Cmd::Results => "Results",
            Cmd::Other => "Unknown",
        }
    }
}

/// What a Status carries besides its code: the user's answer to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    None,
    Text(Span),
    /// The numbers of the choices picked, one byte each.
    Choices(Span),
}

/// A Status for one command (or one item of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusEntry {
    pub(crate) cmd_ref: Span,
    pub(crate) cmd: Cmd,
    pub(crate) code: u16,
    pub(crate) target: Span,
    pub(crate) source: Span,
    pub(crate) answer: Answer,
}

/// What a Results holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultsKind {
    /// A value (leaf, child list or property), in chunks when large.
    Value,
    /// `?list=Struct` (`data` false) or `StructData`: an item per node; `progress` counts
    /// the nodes sent.
    Struct { data: bool },
    /// `?list=TNDS` or `?list=DDF`: a document, in chunks when large.
    Listing,
}

/// A Results for a `Get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResultsEntry {
    pub(crate) cmd_ref: Span,
    pub(crate) uri: Span,
    pub(crate) kind: ResultsKind,
    /// Bytes (or nodes) sent so far.
    pub(crate) progress: u32,
}

/// One waiting response or client command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    Status(StatusEntry),
    Results(ResultsEntry),
    /// Alert 1200 or 1201 opening the session.
    Open(u16),
    /// A Generic Alert, by its index.
    Generic(u8),
    /// `Replace` of `./DevInfo`, from its leaf `next` on (a small MaxMsgSize spreads it
    /// over several messages).
    DevInfo {
        /// The leaves sent so far.
        next: u8,
    },
    /// Alert 1222: the client wants the server's next message.
    NextMessage,
    /// Alert 1225: a large object ended without its last chunk; `target` is its node.
    #[cfg(feature = "large-objects")]
    NoEndOfData(Span),
}

impl Entry {
    /// Whether writing the entry reads the tree, so that later changes must wait for it.
    pub(crate) fn reads_tree(&self) -> bool {
        matches!(self, Entry::Results(_) | Entry::DevInfo { .. })
    }
}

/// The queue and its arena.
pub(crate) struct Queue {
    entries: Deque<Entry, QUEUE_LEN>,
    arena: Vec<u8, QUEUE_ARENA>,
}

impl Queue {
    pub(crate) const fn new() -> Self {
        Queue {
            entries: Deque::new(),
            arena: Vec::new(),
        }
    }

    /// Copies `bytes` into the arena.
    pub(crate) fn store(&mut self, bytes: &[u8]) -> Option<Span> {
        let at = u16::try_from(self.arena.len()).ok()?;
        let len = u16::try_from(bytes.len()).ok()?;
        self.arena.extend_from_slice(bytes).ok()?;
        Some(Span { at, len })
    }

    /// Copies text from its chunks into the arena.
    pub(crate) fn store_text(&mut self, text: crate::codec::Text<'_>) -> Option<Span> {
        let at = self.arena.len();
        for chunk in text.chunks() {
            if self.arena.extend_from_slice(chunk.as_bytes()).is_err() {
                self.arena.truncate(at);
                return None;
            }
        }
        Some(Span {
            at: u16::try_from(at).ok()?,
            len: u16::try_from(self.arena.len() - at).ok()?,
        })
    }

    /// The bytes of `span`.
    pub(crate) fn get(&self, span: Span) -> &[u8] {
        let start = usize::from(span.at);
        self.arena
            .get(start..start + usize::from(span.len))
            .unwrap_or(&[])
    }

    /// The bytes of `span`, as text (empty if not UTF-8, which stored spans always are).
    pub(crate) fn str(&self, span: Span) -> &str {
        core::str::from_utf8(self.get(span)).unwrap_or("")
    }

    /// Arena bytes left.
    pub(crate) fn arena_free(&self) -> usize {
        QUEUE_ARENA - self.arena.len()
    }

    /// Entries left.
    pub(crate) fn free(&self) -> usize {
        QUEUE_LEN - self.entries.len()
    }

    pub(crate) fn push(&mut self, entry: Entry) -> Result<(), Entry> {
        self.entries.push_back(entry)
    }

    pub(crate) fn front(&self) -> Option<&Entry> {
        self.entries.front()
    }

    pub(crate) fn front_mut(&mut self) -> Option<&mut Entry> {
        self.entries.front_mut()
    }

    /// Drops the front entry; the arena empties with the queue.
    pub(crate) fn pop(&mut self) {
        self.entries.pop_front();
        if self.entries.is_empty() {
            self.arena.clear();
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a waiting entry reads the tree.
    pub(crate) fn reads_tree(&self) -> bool {
        self.entries.iter().any(Entry::reads_tree)
    }

    /// Empties the queue.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.arena.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_empties_with_the_queue() {
        let mut q = Queue::new();
        let span = q.store(b"./DevInfo/DevId").unwrap();
        assert_eq!(q.get(span), b"./DevInfo/DevId");
        let results = ResultsEntry {
            cmd_ref: Span::EMPTY,
            uri: span,
            kind: ResultsKind::Value,
            progress: 0,
        };
        q.push(Entry::Results(results)).unwrap();
        q.push(Entry::NextMessage).unwrap();
        q.pop();
        assert_eq!(q.arena_free(), QUEUE_ARENA - 15, "an entry still waits");
        q.pop();
        assert_eq!(q.arena_free(), QUEUE_ARENA);
    }

    #[test]
    fn arena_refuses_what_does_not_fit_and_keeps_what_it_has() {
        let mut q = Queue::new();
        let big = [b'x'; QUEUE_ARENA - 4];
        q.store(&big).unwrap();
        assert!(q.store(b"12345").is_none());
        assert_eq!(q.arena_free(), 4);
        assert!(q.store(b"1234").is_some());
    }
}

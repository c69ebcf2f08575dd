//! Nodes whose value or behaviour lives outside the tree: radio parameters, the firmware
//! package, anything a vendor computes or keeps in a store of its own.
//!
//! A [`NodeHandler`] is bound to a node of the static tree (and serves its whole subtree
//! unless a nearer node has a handler of its own). Every method has a default, so a
//! handler implements only what its nodes need: a value check ([`check`]) for values the
//! tree keeps, or the value itself ([`stores_values`], [`read`], [`write`] and the streaming
//! writes), `exec`, and hooks when nodes are added or deleted.
//!
//! [`check`]: NodeHandler::check
//! [`stores_values`]: NodeHandler::stores_values
//! [`read`]: NodeHandler::read
//! [`write`]: NodeHandler::write

use crate::codes::StatusCode;
use crate::schema::NodeId;

/// The node a handler is asked about.
#[derive(Debug, Clone, Copy)]
pub struct NodeRef<'a> {
    /// The node's entry in the static table.
    pub def: NodeId,
    /// Its URI without `./` (e.g. `FUMO/fw1/Update/PkgData`), names unescaped.
    pub path: &'a str,
    /// Who asks: the server's id, or `None` for the device itself.
    pub server: Option<&'a str>,
}

/// What an `Exec` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ExecOutcome {
    /// Done (status 200).
    Done,
    /// Started; the result comes later, e.g. in a Generic Alert (status 202).
    Accepted,
}

/// A node whose value or behaviour the vendor supplies. See the module docs.
pub trait NodeHandler {
    /// Whether this handler keeps the values of its leaves (then [`read`](Self::read) and
    /// the writes are called), or the tree keeps them (then only [`check`](Self::check)).
    fn stores_values(&self, _node: &NodeRef<'_>) -> bool {
        false
    }

    /// Checks a value before the tree stores it. Refuse with the status to answer.
    fn check(&mut self, _node: &NodeRef<'_>, _value: &[u8]) -> Result<(), StatusCode> {
        Ok(())
    }

    /// Reads a value from `offset` into `out`: the bytes written and the whole size.
    ///
    /// An empty `out` asks for the size alone, and is asked often: a server's `Get` of a
    /// value probes it when the command is checked (the node may be read, the value is
    /// within the server's MaxObjSize) and again before each `Results` chunk is written
    /// (the value may have changed or gone in between), then reads the chunk. A value
    /// that fits one message is thus read three times, twice with an empty `out`; a large
    /// object twice per message that carries a chunk of it. A handler whose values are
    /// costly to produce answers an empty `out` from the size it knows, and a read at a
    /// non-zero `offset` from what it produced for the first chunk.
    fn read(
        &mut self,
        _node: &NodeRef<'_>,
        _offset: usize,
        _out: &mut [u8],
    ) -> Result<(usize, usize), StatusCode> {
        Err(StatusCode::CommandNotAllowed)
    }

    /// Stores a whole value; by default as one streamed chunk ([`write_in_one_chunk`]).
    fn write(&mut self, node: &NodeRef<'_>, value: &[u8]) -> Result<(), StatusCode> {
        write_in_one_chunk(self, node, value)
    }

    /// Starts a streamed write of a large value, `total` bytes if known.
    fn begin_write(&mut self, _node: &NodeRef<'_>, _total: Option<u64>) -> Result<(), StatusCode> {
        Err(StatusCode::CommandNotAllowed)
    }

    /// Writes the chunk that starts at `offset`.
    fn write_chunk(
        &mut self,
        _node: &NodeRef<'_>,
        _offset: u64,
        _chunk: &[u8],
    ) -> Result<(), StatusCode> {
        Err(StatusCode::CommandNotAllowed)
    }

    /// Ends a streamed write: keep it (`commit`) or drop it.
    fn end_write(&mut self, _node: &NodeRef<'_>, _commit: bool) -> Result<(), StatusCode> {
        Ok(())
    }

    /// Executes the node, with the `Exec`'s data and correlator.
    fn exec(
        &mut self,
        _node: &NodeRef<'_>,
        _data: &[u8],
        _correlator: Option<&str>,
    ) -> Result<ExecOutcome, StatusCode> {
        Err(StatusCode::CommandNotAllowed)
    }

    /// May the server (or device) read this node? Lets a handler deny more than the ACL
    /// does (e.g. write-only secrets, locked parameters); a refusal is the status to answer.
    fn allow_read(&mut self, _node: &NodeRef<'_>) -> Result<(), StatusCode> {
        Ok(())
    }

    /// May the node be changed (written, added, deleted) now? Checked before any change.
    fn allow_change(&mut self, _node: &NodeRef<'_>) -> Result<(), StatusCode> {
        Ok(())
    }

    /// A node of this subtree was added.
    fn added(&mut self, _node: &NodeRef<'_>) {}

    /// A node of this subtree was deleted.
    fn deleted(&mut self, _node: &NodeRef<'_>) {}

    /// The management session ended (normally or not): state that lives for one session,
    /// such as an unlocked service programming lock, ends here. May be called more than
    /// once per session.
    fn session_ended(&mut self) {}

    /// An `Atomic` started. A rollback restores only what the tree keeps, so a handler
    /// that keeps values of its own refuses to change them until [`atomic_ended`].
    ///
    /// [`atomic_ended`]: Self::atomic_ended
    fn atomic_started(&mut self) {}

    /// The `Atomic` ended, committed or rolled back.
    fn atomic_ended(&mut self) {}
}

/// A whole value written through `handler`'s streamed writes: `begin_write` with its
/// length, one `write_chunk`, and `end_write` that keeps it only if the chunk was written.
/// What [`NodeHandler::write`] does unless a handler stores whole values its own way; a
/// handler that overrides `write` for some nodes calls it for the others.
pub fn write_in_one_chunk<H: NodeHandler + ?Sized>(
    handler: &mut H,
    node: &NodeRef<'_>,
    value: &[u8],
) -> Result<(), StatusCode> {
    handler.begin_write(node, Some(value.len() as u64))?;
    let written = handler.write_chunk(node, 0, value);
    handler.end_write(node, written.is_ok())?;
    written
}

/// The handlers of a tree, found by node.
pub trait Handlers {
    /// The handler bound to exactly `def`, if any. The tree asks for the node and then its
    /// ancestors, nearest first.
    fn handler(&mut self, def: NodeId) -> Option<&mut dyn NodeHandler>;

    /// Whether a handler is bound to exactly `def`.
    fn is_bound(&self, def: NodeId) -> bool;

    /// Tells every handler the session ended ([`NodeHandler::session_ended`]).
    fn session_ended(&mut self) {}

    /// Tells every handler an `Atomic` started ([`NodeHandler::atomic_started`]).
    fn atomic_started(&mut self) {}

    /// Tells every handler the `Atomic` ended ([`NodeHandler::atomic_ended`]).
    fn atomic_ended(&mut self) {}
}

/// A tree without handlers: the tree keeps every value.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHandlers;

impl Handlers for NoHandlers {
    fn handler(&mut self, _def: NodeId) -> Option<&mut dyn NodeHandler> {
        None
    }

    fn is_bound(&self, _def: NodeId) -> bool {
        false
    }
}

/// Handlers bound to nodes in a fixed table.
pub struct HandlerTable<'h, const K: usize> {
    bindings: [(NodeId, &'h mut dyn NodeHandler); K],
}

impl<'h, const K: usize> HandlerTable<'h, K> {
    /// Binds each handler to its node.
    pub fn new(bindings: [(NodeId, &'h mut dyn NodeHandler); K]) -> Self {
        HandlerTable { bindings }
    }
}

impl<const K: usize> Handlers for HandlerTable<'_, K> {
    fn handler(&mut self, def: NodeId) -> Option<&mut dyn NodeHandler> {
        self.bindings
            .iter_mut()
            .find(|(d, _)| *d == def)
            .map(|(_, h)| &mut **h as &mut dyn NodeHandler)
    }

    fn session_ended(&mut self) {
        for (_, h) in self.bindings.iter_mut() {
            h.session_ended();
        }
    }

    fn atomic_started(&mut self) {
        for (_, h) in self.bindings.iter_mut() {
            h.atomic_started();
        }
    }

    fn atomic_ended(&mut self) {
        for (_, h) in self.bindings.iter_mut() {
            h.atomic_ended();
        }
    }

    fn is_bound(&self, def: NodeId) -> bool {
        self.bindings.iter().any(|(d, _)| *d == def)
    }
}

impl<H: Handlers + ?Sized> Handlers for &mut H {
    fn handler(&mut self, def: NodeId) -> Option<&mut dyn NodeHandler> {
        (**self).handler(def)
    }

    fn is_bound(&self, def: NodeId) -> bool {
        (**self).is_bound(def)
    }

    fn session_ended(&mut self) {
        (**self).session_ended();
    }

    fn atomic_started(&mut self) {
        (**self).atomic_started();
    }

    fn atomic_ended(&mut self) {
        (**self).atomic_ended();
    }
}

//! The runtime tree: the nodes that exist, their values and properties, the commands a
//! server may run on them and the checks in front of each, and the record of every change
//! in flash.
//!
//! The tree's shape is the static table of [`schema`](crate::schema). What exists at run
//! time beyond it is a sorted table of entries: one per instance of a placeholder
//! (`./DMAcc/srv1`), and one per node with a value or property of its own. An entry is
//! keyed by `(context, node, name)`, where the context is the id of the nearest enclosing
//! instance, so a lookup is a binary search. Names, ACLs, titles and values live in one
//! byte arena. The caller owns that memory: a [`TreeStorage`] of `N` entries, `A` arena
//! bytes and `R` bytes of record buffer (the largest value the tree keeps is a little
//! less), lent to the tree for its life, so that the tree's type and every function that
//! takes one are the same whatever the capacities.
//!
//! Every change is first written to flash as a record and then applied to RAM by the same
//! code that replays the records at start, so RAM is always what a restart would rebuild.

mod exchange;
mod props;

pub use exchange::{DDF_XML, TNDS_XML};

use embedded_storage::nor_flash::NorFlash;
use heapless::{String, Vec, VecView};
use serde::{Deserialize, Serialize};

use super::acl::{self, Acl};
use super::handler::{ExecOutcome, Handlers, NoHandlers, NodeHandler, NodeRef};
use super::store::{self, Store, StoreError};
use super::uri::{Query, Segment, Uri, UriError, UriLimits};
use super::value;
use crate::codes::StatusCode;
use crate::schema::{AccessSet, Format, Node, NodeId, Schema, Scope, NO_NODE, ROOT};

/// Who runs a command: a DM server (by its ServerID) or the device itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Principal<'a> {
    /// The device: its own code and bootstrap. Neither ACLs nor access types apply.
    Device,
    /// A DM server, by the `ServerID` of its account.
    Server(&'a str),
}

impl<'a> Principal<'a> {
    fn server(self) -> Option<&'a str> {
        match self {
            Principal::Device => None,
            Principal::Server(s) => Some(s),
        }
    }
}

/// Why a tree could not be mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TreeError {
    /// The flash store failed.
    Store(StoreError),
    /// The stored state does not fit the tree's RAM capacities.
    Capacity,
    /// The schema has no root node.
    Schema,
}

impl From<StoreError> for TreeError {
    fn from(e: StoreError) -> Self {
        TreeError::Store(e)
    }
}

impl core::fmt::Display for TreeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TreeError::Store(e) => write!(f, "tree store: {e}"),
            TreeError::Capacity => {
                f.write_str("stored tree does not fit the configured capacities")
            }
            TreeError::Schema => f.write_str("the schema has no root node"),
        }
    }
}

impl core::error::Error for TreeError {}

/// A node found in the tree, valid until the tree next changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NodeHandle {
    def: NodeId,
    /// The context the node's own entry is keyed under.
    ctx: u16,
    /// The context its children are keyed under: its own id for an instance.
    inner: u16,
}

impl NodeHandle {
    /// The node's id in the tree's schema.
    pub fn def(&self) -> NodeId {
        self.def
    }
}

/// What a read returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Read {
    /// Bytes written to the output buffer.
    pub len: usize,
    /// Size of the whole value.
    pub total: usize,
    /// The value's format.
    pub format: Format,
    /// The value's type: a MIME type, or an MO identifier for an interior node.
    pub mime: &'static str,
}

const PRESENT: u8 = 1;
const HAS_VALUE: u8 = 2;
const HAS_ACL: u8 = 4;
const HAS_TITLE: u8 = 8;
/// The device's mark on the entry's current value ([`Tree::mark_value`]); any change of
/// the value clears it.
const MARKED: u8 = 16;

/// A run-time entry. Its bytes (name, ACL, title, value) are contiguous in the arena.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    ctx: u16,
    def: NodeId,
    id: u16,
    flags: u8,
    name_len: u8,
    title_len: u8,
    acl_len: u16,
    value_len: u32,
    off: u32,
    tstamp: u32,
    verno: u16,
}

impl Entry {
    fn blob_len(&self) -> usize {
        usize::from(self.name_len)
            + usize::from(self.acl_len)
            + usize::from(self.title_len)
            + self.value_len as usize
    }
}

/// An entry as a store record.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
struct PutRecord<'a> {
    ctx: u16,
    def: u16,
    id: u16,
    flags: u8,
    tstamp: u32,
    verno: u16,
    name: &'a [u8],
    acl: &'a [u8],
    title: &'a [u8],
    value: &'a [u8],
}

/// The removal of an entry and everything under it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct RemoveRecord<'a> {
    ctx: u16,
    def: u16,
    name: &'a [u8],
}

/// The memory a tree runs in, owned by the caller and lent to [`Tree::mount`]: `N`
/// run-time entries, `A` arena bytes for their names, ACLs, titles and values, and an
/// `R`-byte record buffer (a value the tree keeps is at most a little less than `R`).
///
/// `new` is a `const fn`, so the storage can sit in a `static` (through a cell that hands
/// out one `&'static mut`) and take no stack. Only [`Tree::mount`] names the capacities;
/// the tree it returns, and everything that takes a tree, does not.
pub struct TreeStorage<const N: usize, const A: usize, const R: usize> {
    entries: Vec<Entry, N>,
    ids: Vec<(u16, u16), N>,
    arena: [u8; A],
    scratch: [u8; R],
}

impl<const N: usize, const A: usize, const R: usize> TreeStorage<N, A, R> {
    /// Empty storage.
    pub const fn new() -> Self {
        TreeStorage {
            entries: Vec::new(),
            ids: Vec::new(),
            arena: [0; A],
            scratch: [0; R],
        }
    }
}

impl<const N: usize, const A: usize, const R: usize> Default for TreeStorage<N, A, R> {
    fn default() -> Self {
        Self::new()
    }
}

/// The RAM half of the tree: entries and arena, in the caller's storage.
struct State<'s> {
    schema: &'static Schema,
    entries: &'s mut VecView<Entry>,
    /// `(instance id, index in entries)`, sorted by id: finds an instance's entry (and so
    /// a node's parent) in logarithmic time.
    ids: &'s mut VecView<(u16, u16)>,
    arena: &'s mut [u8],
    used: usize,
    next_id: u16,
    /// Replaying: the id index is rebuilt once at the end, not after every record.
    bulk: bool,
}

impl<'s> State<'s> {
    fn clear(&mut self) {
        self.entries.clear();
        self.ids.clear();
        self.used = 0;
        self.next_id = 1;
    }

    fn blob(&self, e: &Entry) -> &[u8] {
        let start = e.off as usize;
        self.arena.get(start..start + e.blob_len()).unwrap_or(&[])
    }

    fn name(&self, e: &Entry) -> &[u8] {
        self.blob(e).get(..usize::from(e.name_len)).unwrap_or(&[])
    }

    fn acl(&self, e: &Entry) -> &[u8] {
        let from = usize::from(e.name_len);
        self.blob(e)
            .get(from..from + usize::from(e.acl_len))
            .unwrap_or(&[])
    }

    fn title(&self, e: &Entry) -> &[u8] {
        let from = usize::from(e.name_len) + usize::from(e.acl_len);
        self.blob(e)
            .get(from..from + usize::from(e.title_len))
            .unwrap_or(&[])
    }

    fn value(&self, e: &Entry) -> &[u8] {
        let from = usize::from(e.name_len) + usize::from(e.acl_len) + usize::from(e.title_len);
        self.blob(e).get(from..).unwrap_or(&[])
    }

    fn search(&self, ctx: u16, def: NodeId, name: &[u8]) -> Result<usize, usize> {
        // Names are compared only between entries of the same node and context.
        self.entries.binary_search_by(|e| {
            e.ctx
                .cmp(&ctx)
                .then(e.def.cmp(&def))
                .then_with(|| self.name(e).cmp(name))
        })
    }

    fn get(&self, ctx: u16, def: NodeId, name: &[u8]) -> Option<&Entry> {
        self.search(ctx, def, name)
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    /// The instance of placeholder `def` under `ctx` whose name matches `segment`.
    fn instance(
        &self,
        ctx: u16,
        def: NodeId,
        segment: Segment<'_>,
        case_sensitive: bool,
    ) -> Option<usize> {
        let start = self
            .entries
            .partition_point(|e| (e.ctx, e.def) < (ctx, def));
        let group = self.entries.get(start..).unwrap_or(&[]);
        let len = group.partition_point(|e| e.ctx == ctx && e.def == def);
        let group = group.get(..len).unwrap_or(&[]);
        let i = if case_sensitive {
            // Names are sorted within the group: compare with the segment's decoded bytes.
            group
                .binary_search_by(|e| segment.cmp_name(self.name(e)).reverse())
                .ok()?
        } else {
            group
                .iter()
                .position(|e| segment.is_ignore_case(self.name(e)))?
        };
        Some(start + i)
    }

    fn instance_by_id(&self, id: u16) -> Option<&Entry> {
        let i = self.ids.binary_search_by_key(&id, |&(i, _)| i).ok()?;
        let (_, index) = self.ids.get(i)?;
        self.entries.get(usize::from(*index))
    }

    /// Rebuilds the id index after the entries changed.
    fn reindex(&mut self) {
        if self.bulk {
            return;
        }
        self.ids.clear();
        for (index, e) in self.entries.iter().enumerate() {
            if e.id != 0 {
                // As many ids as entries fit: the push cannot fail.
                let _ = self.ids.push((e.id, index as u16));
            }
        }
        self.ids.sort_unstable_by_key(|&(id, _)| id);
    }

    /// Makes room for `bytes` more arena bytes and, if `new_entry`, one more entry
    /// (compacting the arena if needed); `false` when they do not fit.
    fn make_room(&mut self, new_entry: bool, bytes: usize) -> bool {
        if new_entry && self.entries.is_full() {
            return false;
        }
        if self.used + bytes <= self.arena.len() {
            return true;
        }
        self.compact_arena();
        self.used + bytes <= self.arena.len()
    }

    /// Inserts or replaces an entry.
    fn put(&mut self, rec: &PutRecord<'_>) -> Result<(), TreeError> {
        let exists = self.search(rec.ctx, rec.def, rec.name).is_ok();
        let bytes = rec.name.len() + rec.acl.len() + rec.title.len() + rec.value.len();
        if !self.make_room(!exists, bytes) {
            return Err(TreeError::Capacity);
        }
        let (Ok(name_len), Ok(acl_len), Ok(title_len), Ok(value_len)) = (
            u8::try_from(rec.name.len()),
            u16::try_from(rec.acl.len()),
            u8::try_from(rec.title.len()),
            u32::try_from(rec.value.len()),
        ) else {
            return Err(TreeError::Capacity);
        };
        let off = self.used;
        let mut at = off;
        for part in [rec.name, rec.acl, rec.title, rec.value] {
            let dst = self
                .arena
                .get_mut(at..at + part.len())
                .ok_or(TreeError::Capacity)?;
            dst.copy_from_slice(part);
            at += part.len();
        }
        self.used = at;
        let entry = Entry {
            ctx: rec.ctx,
            def: rec.def,
            id: rec.id,
            flags: rec.flags,
            name_len,
            title_len,
            acl_len,
            value_len,
            off: off as u32,
            tstamp: rec.tstamp,
            verno: rec.verno,
        };
        match self.search(rec.ctx, rec.def, rec.name) {
            Ok(i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    *slot = entry;
                }
            }
            Err(i) => self
                .entries
                .insert(i, entry)
                .map_err(|_| TreeError::Capacity)?,
        }
        if rec.id != 0 {
            self.next_id = self.next_id.max(rec.id.saturating_add(1));
        }
        if !exists {
            // Indices after the new entry have shifted.
            self.reindex();
        }
        Ok(())
    }

    /// Removes an entry, the entries of its static subtree in its context, and every
    /// instance (with its entries) that no longer has a parent.
    fn remove(&mut self, ctx: u16, def: NodeId, name: &[u8]) {
        let end = self.schema.node(def).map_or(def, |d| d.subtree_end());
        if let Ok(i) = self.search(ctx, def, name) {
            self.entries.remove(i);
        }
        // Named descendants share the context.
        self.entries
            .retain(|e| !(e.ctx == ctx && e.def > def && e.def < end));
        // Then whatever lived in a removed instance, level by level.
        loop {
            let before = self.entries.len();
            let mut i = 0;
            while let Some(e) = self.entries.get(i).copied() {
                let orphan = e.ctx != 0 && !self.entries.iter().any(|x| x.id == e.ctx);
                if orphan {
                    self.entries.remove(i);
                } else {
                    i += 1;
                }
            }
            if self.entries.len() == before {
                break;
            }
        }
        self.reindex();
    }

    /// Renames an entry, keeping its id (so its children stay).
    fn rename(&mut self, rec: &PutRecord<'_>, old: &[u8]) -> Result<(), TreeError> {
        if let Ok(i) = self.search(rec.ctx, rec.def, old) {
            self.entries.remove(i);
        }
        self.put(rec)
    }

    /// Moves every entry's bytes to the front of the arena.
    fn compact_arena(&mut self) {
        let mut write = 0usize;
        let mut floor = 0u32;
        loop {
            let next = self
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.blob_len() > 0 && e.off >= floor)
                .min_by_key(|(_, e)| e.off);
            let Some((i, e)) = next else { break };
            let (from, len) = (e.off as usize, e.blob_len());
            floor = e.off.saturating_add(1);
            if from != write {
                self.arena.copy_within(from..from + len, write);
            }
            if let Some(slot) = self.entries.get_mut(i) {
                slot.off = write as u32;
            }
            write += len;
        }
        self.used = write;
    }

    fn record(&self, e: &Entry) -> PutRecord<'_> {
        PutRecord {
            ctx: e.ctx,
            def: e.def,
            id: e.id,
            flags: e.flags,
            tstamp: e.tstamp,
            verno: e.verno,
            name: self.name(e),
            acl: self.acl(e),
            title: self.title(e),
            value: self.value(e),
        }
    }

    fn apply(&mut self, rec: store::Record<'_>) -> Result<(), TreeError> {
        match rec.kind {
            store::KIND_PUT => {
                let put: PutRecord<'_> =
                    postcard::from_bytes(rec.payload).map_err(|_| TreeError::Capacity)?;
                self.put(&put)
            }
            store::KIND_RENAME => {
                let (put, rest): (PutRecord<'_>, _) =
                    postcard::take_from_bytes(rec.payload).map_err(|_| TreeError::Capacity)?;
                let old: &[u8] = postcard::from_bytes(rest).map_err(|_| TreeError::Capacity)?;
                self.rename(&put, old)
            }
            store::KIND_REMOVE => {
                let r: RemoveRecord<'_> =
                    postcard::from_bytes(rec.payload).map_err(|_| TreeError::Capacity)?;
                self.remove(r.ctx, r.def, r.name);
                Ok(())
            }
            // Unknown kinds come from a newer layout; skipping them keeps what is known.
            _ => Ok(()),
        }
    }
}

/// The management tree. See the module docs.
pub struct Tree<'s, F, H = NoHandlers> {
    /// The tree's shape.
    schema: &'static Schema,
    /// The schema's root: what a node id that cannot occur reads as, so that accessors
    /// need not panic.
    root: Node<'static>,
    state: State<'s>,
    store: Store<F>,
    handlers: H,
    /// The record buffer.
    scratch: &'s mut [u8],
    limits: UriLimits,
    /// The nodes whose values are the engine's own (`./DevDetail/URI/*`, `LrgObj`),
    /// looked up once.
    engine_nodes: [NodeId; 4],
    /// `./DMAcc/<x>` and its `ServerID`, looked up once: a server's identity.
    identity: (NodeId, NodeId),
    txn: Option<u32>,
    next_txn: u32,
}

/// Largest ACL the tree keeps.
const MAX_ACL: usize = 255;
/// Longest title (TND: 255 bytes).
const MAX_TITLE: usize = 255;

impl<'s, F: NorFlash, H: Handlers> Tree<'s, F, H> {
    /// Mounts the tree on its flash region (formatting it when empty) and restores every
    /// change recorded there, in `storage`, which the tree keeps for its life.
    ///
    /// The tree itself is small (its memory is `storage`); it is returned by value.
    pub fn mount<const N: usize, const A: usize, const R: usize>(
        storage: &'s mut TreeStorage<N, A, R>,
        schema: &'static Schema,
        flash: F,
        handlers: H,
        limits: UriLimits,
    ) -> Result<Self, TreeError> {
        let TreeStorage {
            entries,
            ids,
            arena,
            scratch,
        } = storage;
        let root = schema.node(ROOT).ok_or(TreeError::Schema)?;
        let state = State {
            schema,
            entries: entries.as_mut_view(),
            ids: ids.as_mut_view(),
            arena,
            used: 0,
            next_id: 1,
            bulk: false,
        };
        let mut tree = Self::unmounted(root, state, scratch, flash, handlers, limits);
        tree.open()?;
        Ok(tree)
    }

    /// The tree over `state`, with a store not yet opened. Not generic over the
    /// capacities, so that everything past [`Tree::mount`] is compiled once.
    fn unmounted(
        root: Node<'static>,
        state: State<'s>,
        scratch: &'s mut [u8],
        flash: F,
        handlers: H,
        limits: UriLimits,
    ) -> Self {
        let schema = state.schema;
        Tree {
            schema,
            root,
            state,
            store: Store::closed(flash),
            handlers,
            scratch,
            limits,
            engine_nodes: engine_nodes(schema),
            identity: identity_nodes(schema),
            txn: None,
            next_txn: 1,
        }
    }

    /// Opens the store and restores RAM from it.
    fn open(&mut self) -> Result<(), TreeError> {
        self.store.open(self.scratch)?;
        let replayed = self.replay()?;
        self.next_txn = replayed.max_txn.wrapping_add(1).max(1);
        if replayed.damaged {
            self.compact_store()?;
        } else if let Some(txn) = replayed.dangling {
            // Close the transaction power cut off, so that what follows is not taken as its.
            self.store
                .append_marker(self.scratch, store::KIND_ABORT, txn)
                .or_else(|_| self.compact_store())?;
        }
        Ok(())
    }

    /// Rebuilds RAM from flash.
    fn replay(&mut self) -> Result<store::Replayed, TreeError> {
        self.state.clear();
        self.state.bulk = true;
        let state = &mut self.state;
        let mut capacity = Ok(());
        let replayed = self.store.replay(self.scratch, |rec| {
            if let Err(e) = state.apply(rec) {
                capacity = Err(e);
            }
            Ok(())
        });
        self.state.bulk = false;
        self.state.reindex();
        let replayed = replayed?;
        capacity?;
        Ok(replayed)
    }

    /// Rewrites the store with just the current state.
    fn compact_store(&mut self) -> Result<(), StoreError> {
        let state = &self.state;
        let mut index = 0usize;
        self.store.compact(self.scratch, |buf| {
            let Some(e) = state.entries.get(index) else {
                return Ok(None);
            };
            index += 1;
            let rec = state.record(e);
            let start = Store::<F>::payload_start();
            let room = Store::<F>::payload_room(buf.len());
            let dst = buf.get_mut(start..start + room).ok_or(StoreError::Full)?;
            let used = postcard::to_slice(&rec, dst)
                .map_err(|_| StoreError::Full)?
                .len();
            Ok(Some((store::KIND_PUT, used)))
        })
    }

    /// The schema the tree was mounted with: its shape.
    pub fn schema(&self) -> &'static Schema {
        self.schema
    }

    /// The schema's node behind a handle.
    pub(crate) fn node(&self, h: NodeHandle) -> Node<'static> {
        self.schema.node(h.def).unwrap_or(self.root)
    }

    /// The URI limits.
    pub fn limits(&self) -> &UriLimits {
        &self.limits
    }

    /// The handlers.
    pub fn handlers_mut(&mut self) -> &mut H {
        &mut self.handlers
    }

    /// Unmounts the tree, giving back its flash and handlers.
    pub fn into_parts(self) -> (F, H) {
        (self.store.into_flash(), self.handlers)
    }

    /// Run-time entries in use.
    pub fn entries_used(&self) -> usize {
        self.state.entries.len()
    }

    /// Run-time entries the storage holds (its `N`).
    pub fn entries_capacity(&self) -> usize {
        self.state.entries.capacity()
    }

    /// Arena bytes in use (names, ACLs, titles and values of the entries).
    pub fn arena_used(&self) -> usize {
        self.state.used
    }

    /// Arena bytes the storage holds (its `A`).
    pub fn arena_capacity(&self) -> usize {
        self.state.arena.len()
    }

    /// Bytes of the record buffer (the storage's `R`): a value the tree keeps is at most a
    /// little less.
    pub fn record_capacity(&self) -> usize {
        self.scratch.len()
    }

    /// RAM an entry takes besides its bytes in the arena.
    pub const ENTRY_SIZE: usize = core::mem::size_of::<Entry>();

    /// Bytes of free space in the flash bank in use.
    pub fn store_free(&self) -> usize {
        self.store.free()
    }

    // --- Lookup -------------------------------------------------------------------------

    /// Parses a URI with the tree's limits.
    pub fn parse_uri<'u>(&self, uri: &'u str) -> Result<Uri<'u>, StatusCode> {
        Uri::parse(uri, &self.limits).map_err(UriError::status)
    }

    /// Finds the node at `uri` (status 404 when it does not exist). No access check.
    pub fn find(&self, uri: &Uri<'_>) -> Result<NodeHandle, StatusCode> {
        Ok(self.find_path(uri)?.leaf())
    }

    /// Finds the node at `uri` with every node on the way there and what is known of their
    /// entries, so that access checks and reads need not look them up again.
    fn find_path(&self, uri: &Uri<'_>) -> Result<Found, StatusCode> {
        let mut found = Found { steps: Vec::new() };
        let root = NodeHandle {
            def: 0,
            ctx: 0,
            inner: 0,
        };
        found
            .steps
            .push((root, Lookup::Unknown))
            .map_err(|_| StatusCode::UriTooLong)?;
        let mut h = root;
        for segment in uri.segments() {
            let (child, lookup) = self.child_step(h, segment).ok_or(StatusCode::NotFound)?;
            found
                .steps
                .push((child, lookup))
                .map_err(|_| StatusCode::UriTooLong)?;
            h = child;
        }
        Ok(found)
    }

    /// The existing child of `parent` named by `segment`.
    /// The format the DDF gives the node at `uri`, whether or not it exists (a placeholder
    /// matches any name): how a value sent to it must be read before it is stored.
    pub fn format_at(&self, uri: &str) -> Option<Format> {
        let parsed = self.parse_uri(uri).ok()?;
        let mut id = 0;
        let mut buf = [0u8; 64];
        for segment in parsed.segments() {
            let name = segment.decode_into(&mut buf)?;
            id = self
                .schema
                .child(id, name)
                .or_else(|| self.schema.placeholder_child(id))?;
        }
        self.schema.node(id).map(|n| n.format())
    }

    fn child(&self, parent: NodeHandle, segment: Segment<'_>) -> Option<NodeHandle> {
        self.child_step(parent, segment).map(|(h, _)| h)
    }

    /// [`child`](Self::child), with what the lookup learnt of the child's entry.
    fn child_step(&self, parent: NodeHandle, segment: Segment<'_>) -> Option<(NodeHandle, Lookup)> {
        let mut placeholder = None;
        for id in self.schema.children(parent.def) {
            let def = self.schema.node(id)?;
            let name = def.name_bytes();
            if name.is_empty() {
                placeholder = Some((id, def));
                continue;
            }
            let matches = if def.case_sensitive() {
                segment.is(name)
            } else {
                segment.is_ignore_case(name)
            };
            if matches {
                let h = NodeHandle {
                    def: id,
                    ctx: parent.inner,
                    inner: parent.inner,
                };
                if self.implied(id, def) {
                    return Some((h, Lookup::Unknown));
                }
                // Otherwise it exists only with an entry saying it was added, or holding
                // its value.
                let i = self.state.search(h.ctx, h.def, &[]).ok()?;
                let present = self
                    .state
                    .entries
                    .get(i)
                    .is_some_and(|e| e.flags & (PRESENT | HAS_VALUE) != 0);
                return present.then_some((h, Lookup::At(i)));
            }
        }
        let (id, def) = placeholder?;
        let i = self
            .state
            .instance(parent.inner, id, segment, def.case_sensitive())?;
        let e = self.state.entries.get(i)?;
        Some((
            NodeHandle {
                def: id,
                ctx: parent.inner,
                inner: e.id,
            },
            Lookup::At(i),
        ))
    }

    /// The entry of a step of a found path.
    fn step_entry(&self, (h, lookup): (NodeHandle, Lookup)) -> Option<&Entry> {
        match lookup {
            Lookup::At(i) => self.state.entries.get(i),
            Lookup::Absent => None,
            Lookup::Unknown => self.entry(h),
        }
    }

    /// Looks up the entries of a found path's steps that were not, so that what follows
    /// (the ACL walk, then the read) finds them at once.
    fn resolve_step(&self, step: &mut (NodeHandle, Lookup)) {
        if let Lookup::Unknown = step.1 {
            step.1 = match self.state.search(step.0.ctx, step.0.def, &[]) {
                Ok(i) if !self.node(step.0).is_placeholder() => Lookup::At(i),
                _ if self.node(step.0).is_placeholder() => Lookup::Unknown,
                _ => Lookup::Absent,
            };
        }
    }

    /// The effective ACL of the node a path leads to.
    fn path_acl(&self, found: &mut Found) -> Acl<'_> {
        for i in (0..found.steps.len()).rev() {
            let Some(step) = found.steps.get_mut(i) else {
                break;
            };
            self.resolve_step(step);
            let (h, lookup) = *step;
            let own = match self.step_entry((h, lookup)) {
                Some(e) if e.flags & HAS_ACL != 0 => {
                    // Checked when it was stored.
                    core::str::from_utf8(self.state.acl(e))
                        .ok()
                        .map(Acl::trusted)
                }
                // Checked by the DDF compiler.
                _ => self.node(h).acl().map(Acl::trusted),
            };
            if let Some(acl) = own.filter(|a| !a.is_empty()) {
                return acl;
            }
        }
        Acl::trusted(ROOT_ACL)
    }

    /// [`authorize`](Self::authorize) for the node a path leads to.
    fn authorize_path(
        &self,
        who: Principal<'_>,
        command: AccessSet,
        found: &mut Found,
    ) -> Result<(), StatusCode> {
        let Principal::Server(server) = who else {
            return Ok(());
        };
        if !self.node(found.leaf()).access().contains(command) {
            return Err(StatusCode::CommandNotAllowed);
        }
        if !self.path_acl(found).allows(command, server) {
            return Err(StatusCode::PermissionDenied);
        }
        Ok(())
    }

    /// Whether a named node exists under an existing parent.
    fn exists(&self, h: NodeHandle) -> bool {
        self.implied(h.def, self.node(h))
            || self
                .state
                .get(h.ctx, h.def, &[])
                .is_some_and(|e| e.flags & (PRESENT | HAS_VALUE) != 0)
    }

    /// Whether a named node exists as soon as its parent does: a permanent node; a
    /// mandatory interior node (a place for children); a mandatory leaf whose value is
    /// never missing (a DDF default, a handler's). A mandatory leaf without one exists
    /// once it is added or given its value, so that a value is absent or whole, never an
    /// empty stand-in (an interior node added, the power cut before its leaf).
    fn implied(&self, id: NodeId, def: Node<'static>) -> bool {
        if def.scope() == Scope::Permanent {
            return true;
        }
        if def.occurrence().min() == 0 {
            return false;
        }
        if def.is_interior() || def.default_value().is_some() {
            return true;
        }
        let mut d = id;
        while let Some(node) = self.schema.node(d) {
            if self.handlers.is_bound(d) {
                return true;
            }
            d = node.parent();
        }
        false
    }

    fn entry(&self, h: NodeHandle) -> Option<&Entry> {
        if self.node(h).is_placeholder() {
            self.state.instance_by_id(h.inner)
        } else {
            self.state.get(h.ctx, h.def, &[])
        }
    }

    fn entry_name(&self, h: NodeHandle) -> &[u8] {
        match self.entry(h) {
            Some(e) if self.node(h).is_placeholder() => self.state.name(e),
            _ => &[],
        }
    }

    /// The parent of a node (the root is its own parent).
    fn parent(&self, h: NodeHandle) -> NodeHandle {
        let def = self.node(h);
        if def.parent() == NO_NODE {
            return h;
        }
        let parent_def = def.parent();
        let parent_is_instance = self
            .schema
            .node(parent_def)
            .is_some_and(|n| n.is_placeholder());
        if parent_is_instance {
            // The parent is the instance `h.ctx`; its own key context is its entry's.
            let ctx = self.state.instance_by_id(h.ctx).map_or(0, |e| e.ctx);
            NodeHandle {
                def: parent_def,
                ctx,
                inner: h.ctx,
            }
        } else {
            NodeHandle {
                def: parent_def,
                ctx: h.ctx,
                inner: h.ctx,
            }
        }
    }

    /// The effective ACL: the node's own, else the nearest ancestor's.
    fn effective_acl(&self, mut h: NodeHandle) -> Acl<'_> {
        loop {
            if let Some(acl) = self.own_acl(h) {
                if !acl.is_empty() {
                    return acl;
                }
            }
            let parent = self.parent(h);
            if parent == h {
                return Acl::trusted(ROOT_ACL);
            }
            h = parent;
        }
    }

    /// The node's own ACL (run-time, else from the DDF); `None` when it has none.
    fn own_acl(&self, h: NodeHandle) -> Option<Acl<'_>> {
        match self.entry(h) {
            Some(e) if e.flags & HAS_ACL != 0 => {
                let text = core::str::from_utf8(self.state.acl(e)).ok()?;
                // Checked when it was stored.
                Some(Acl::trusted(text))
            }
            // Checked by the DDF compiler.
            _ => self.node(h).acl().map(Acl::trusted),
        }
    }

    /// The ACL check: may `who` run `command` on `h`?
    fn permits(&self, who: Principal<'_>, command: AccessSet, h: NodeHandle) -> bool {
        match who {
            Principal::Device => true,
            Principal::Server(id) => self.effective_acl(h).allows(command, id),
        }
    }

    /// Access type (405) and ACL (425) checks.
    fn authorize(
        &self,
        who: Principal<'_>,
        command: AccessSet,
        h: NodeHandle,
    ) -> Result<(), StatusCode> {
        if who == Principal::Device {
            return Ok(());
        }
        if !self.node(h).access().contains(command) {
            return Err(StatusCode::CommandNotAllowed);
        }
        if !self.permits(who, command, h) {
            return Err(StatusCode::PermissionDenied);
        }
        Ok(())
    }

    /// The handler nearest to `def` (itself or an ancestor).
    fn handler_for(&mut self, def: NodeId) -> Option<&mut dyn NodeHandler> {
        nearest_handler(self.schema, &mut self.handlers, def)
    }

    // --- Reading ------------------------------------------------------------------------

    /// `Get`: reads the value at `uri` (a leaf's value from `offset`, an interior node's
    /// child names joined by `/`, or a property) into `out`. `path` is the normalised URI
    /// handed to handlers.
    pub fn get(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        offset: usize,
        out: &mut [u8],
    ) -> Result<Read, StatusCode> {
        let parsed = self.parse_uri(uri)?;
        let mut found = self.find_path(&parsed)?;
        let h = found.leaf();
        match parsed.query() {
            Some(Query::Prop(p)) => self.get_property(who, h, p, out),
            Some(Query::List(_)) => Err(StatusCode::OptionalFeatureNotSupported),
            None => {
                self.authorize_path(who, AccessSet::GET, &mut found)?;
                let known = found.steps.last().map_or(Lookup::Unknown, |&(_, l)| l);
                self.read_known(who, h, known, parsed.path(), offset, out)
            }
        }
    }

    /// Reads a node's value (or child list) without an access check beyond the handler's.
    pub fn read(
        &mut self,
        who: Principal<'_>,
        h: NodeHandle,
        path: &str,
        offset: usize,
        out: &mut [u8],
    ) -> Result<Read, StatusCode> {
        self.read_known(who, h, Lookup::Unknown, path, offset, out)
    }

    /// [`read`](Self::read), with the node's entry when the caller has it already.
    fn read_known(
        &mut self,
        who: Principal<'_>,
        h: NodeHandle,
        known: Lookup,
        path: &str,
        offset: usize,
        out: &mut [u8],
    ) -> Result<Read, StatusCode> {
        let def = self.node(h);
        if def.is_interior() {
            let total = self.write_child_names(h, 0, &mut []);
            let len = self.write_child_names(h, offset, out);
            return Ok(Read {
                len,
                total,
                format: Format::Node,
                mime: def.mime(),
            });
        }
        // What the engine itself does is its own to say, whatever handler a subtree has.
        let mut num = [0u8; 5];
        let engine = self.engine_value(h.def, &mut num);
        let node = NodeRef {
            def: h.def,
            path,
            server: who.server(),
        };
        if let (None, Some(handler)) = (engine, self.handler_for(h.def)) {
            handler.allow_read(&node)?;
            if handler.stores_values(&node) {
                let (len, total) = handler.read(&node, offset, out)?;
                return Ok(Read {
                    len,
                    total,
                    format: def.format(),
                    mime: def.mime(),
                });
            }
        }
        let value = match engine {
            Some(v) => v,
            None => match self.step_entry((h, known)) {
                Some(e) if e.flags & HAS_VALUE != 0 => self.state.value(e),
                _ => def.default_value().unwrap_or("").as_bytes(),
            },
        };
        let from = value.get(offset..).unwrap_or(&[]);
        let len = from.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..len), from.get(..len)) {
            dst.copy_from_slice(src);
        }
        Ok(Read {
            len,
            total: value.len(),
            format: def.format(),
            mime: def.mime(),
        })
    }

    /// The value of a node that tells what the engine itself does, never stored:
    /// `./DevDetail/URI/*` (the limits the tree enforces) and `./DevDetail/LrgObj` (the
    /// session receives and sends large objects).
    fn engine_value<'n>(&self, def: NodeId, num: &'n mut [u8; 5]) -> Option<&'n [u8]> {
        let [depth, tot_len, seg_len, lrg_obj] = self.engine_nodes;
        let limit = match def {
            NO_NODE => return None,
            d if d == depth => self.limits.max_depth,
            d if d == tot_len => self.limits.max_tot_len,
            d if d == seg_len => self.limits.max_seg_len,
            d if d == lrg_obj => return Some(b"true"),
            _ => return None,
        };
        Some(format_u16(limit, num))
    }

    /// The existing children of an interior node, in tree order.
    pub(crate) fn children(&self, parent: NodeHandle) -> impl Iterator<Item = NodeHandle> + '_ {
        self.schema.children(parent.def).flat_map(move |id| {
            let def = self.schema.node(id);
            let instances = def
                .filter(|d| d.is_placeholder())
                .map(|_| {
                    let start = self
                        .state
                        .entries
                        .partition_point(|e| (e.ctx, e.def) < (parent.inner, id));
                    self.state
                        .entries
                        .get(start..)
                        .unwrap_or(&[])
                        .iter()
                        .take_while(move |e| e.ctx == parent.inner && e.def == id)
                        .map(move |e| NodeHandle {
                            def: id,
                            ctx: parent.inner,
                            inner: e.id,
                        })
                })
                .into_iter()
                .flatten();
            let named = def
                .filter(|d| !d.is_placeholder())
                .map(|_| NodeHandle {
                    def: id,
                    ctx: parent.inner,
                    inner: parent.inner,
                })
                .filter(|h| self.exists(*h));
            named.into_iter().chain(instances)
        })
    }

    /// A node's name (the instance name for an instance).
    pub fn name(&self, h: NodeHandle) -> &[u8] {
        if self.node(h).is_placeholder() {
            self.entry_name(h)
        } else {
            self.node(h).name().as_bytes()
        }
    }

    /// Writes the `/`-joined child names of `h` from byte `offset`; returns the bytes
    /// written, or with an empty `out` the whole length.
    fn write_child_names(&self, h: NodeHandle, offset: usize, out: &mut [u8]) -> usize {
        let mut pos = 0usize;
        let mut written = 0usize;
        let mut first = true;
        let mut put = |bytes: &[u8], pos: &mut usize, written: &mut usize| {
            for &b in bytes {
                if *pos >= offset {
                    if let Some(slot) = out.get_mut(*written) {
                        *slot = b;
                        *written += 1;
                    }
                }
                *pos += 1;
            }
        };
        for child in self.children(h) {
            if !first {
                put(b"/", &mut pos, &mut written);
            }
            first = false;
            put(self.name(child), &mut pos, &mut written);
        }
        if out.is_empty() {
            pos
        } else {
            written
        }
    }

    /// Writes the URI of `h` (`./DMAcc/srv1/AppID`), escaping names.
    pub fn write_uri(&self, h: NodeHandle, out: &mut impl core::fmt::Write) -> core::fmt::Result {
        let mut chain: Vec<NodeHandle, 32> = Vec::new();
        let mut cur = h;
        loop {
            let parent = self.parent(cur);
            if parent == cur {
                break;
            }
            if chain.push(cur).is_err() {
                return Err(core::fmt::Error);
            }
            cur = parent;
        }
        out.write_char('.')?;
        for node in chain.iter().rev() {
            out.write_char('/')?;
            let name = core::str::from_utf8(self.name(*node)).map_err(|_| core::fmt::Error)?;
            super::uri::write_segment(out, name)?;
        }
        Ok(())
    }

    // --- Changing -----------------------------------------------------------------------

    /// Applies `change` to the entry `(ctx, def, name)` (creating it if `change.create` says
    /// so): the new entry is written to flash as a record, then the record is applied to RAM.
    fn change(
        &mut self,
        ctx: u16,
        def: NodeId,
        name: &[u8],
        change: &Change<'_>,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let current = self.state.search(ctx, def, name).ok();
        if current.is_none() && change.create.is_none() {
            return Err(StatusCode::NotFound);
        }
        // Sizes first: nothing may move once the record borrows the arena.
        let cur = current
            .and_then(|i| self.state.entries.get(i))
            .copied()
            .unwrap_or_default();
        let size = |new: Option<&[u8]>, old: usize| new.map_or(old, <[u8]>::len);
        let name_len = size(change.rename, name.len());
        let acl_len = size(change.acl, usize::from(cur.acl_len));
        let title_len = size(change.title, usize::from(cur.title_len));
        let value_len = change
            .staged
            .unwrap_or(size(change.value, cur.value_len as usize));
        if name_len > 255 || acl_len > MAX_ACL || title_len > MAX_TITLE {
            return Err(StatusCode::RequestEntityTooLarge);
        }
        let payload = RECORD_FIXED + name_len + acl_len + title_len + value_len;
        if payload > Store::<F>::payload_room(self.scratch.len()) {
            return Err(StatusCode::RequestEntityTooLarge);
        }
        if !self.state.make_room(
            current.is_none(),
            name_len + acl_len + title_len + value_len,
        ) {
            return Err(StatusCode::DeviceFull);
        }
        self.make_store_room(payload)?;
        // Build the record from the current entry and the change, straight into the
        // record buffer.
        let start = Store::<F>::payload_start();
        let len = {
            let state = &self.state;
            let entry = state
                .search(ctx, def, name)
                .ok()
                .and_then(|i| state.entries.get(i));
            let mut rec = match entry {
                Some(e) => state.record(e),
                None => {
                    let id = change.create.unwrap_or(0);
                    PutRecord {
                        ctx,
                        def,
                        id,
                        flags: 0,
                        tstamp: 0,
                        verno: 0,
                        name,
                        acl: &[],
                        title: &[],
                        value: &[],
                    }
                }
            };
            if change.value.is_some() || change.staged.is_some() {
                rec.flags &= !MARKED;
            }
            rec.flags |= change.flags;
            if let Some(n) = change.rename {
                rec.name = n;
            }
            if let Some(a) = change.acl {
                rec.acl = a;
                rec.flags |= HAS_ACL;
            }
            if let Some(t) = change.title {
                rec.title = t;
                rec.flags |= HAS_TITLE;
            }
            if let Some(v) = change.value {
                rec.value = v;
                rec.flags |= HAS_VALUE;
            }
            if let Some(len) = change.staged {
                rec.value = state.arena.get(state.used..state.used + len).unwrap_or(&[]);
                rec.flags |= HAS_VALUE;
            }
            if !change.quiet {
                touch(&mut rec, now);
            }
            let room = Store::<F>::payload_room(self.scratch.len());
            let dst = self
                .scratch
                .get_mut(start..start + room)
                .ok_or(StatusCode::RequestEntityTooLarge)?;
            postcard::to_slice(&rec, dst)
                .map_err(|_| StatusCode::RequestEntityTooLarge)?
                .len()
        };
        let kind = if change.rename.is_some() {
            store::KIND_RENAME
        } else {
            store::KIND_PUT
        };
        if kind == store::KIND_RENAME {
            // A rename record carries the old name after the entry: replay needs both.
            let tail = self
                .scratch
                .get_mut(start + len..)
                .ok_or(StatusCode::RequestEntityTooLarge)?;
            let extra = postcard::to_slice(&name, tail)
                .map_err(|_| StatusCode::RequestEntityTooLarge)?
                .len();
            return self.commit_record(kind, len + extra);
        }
        self.commit_record(kind, len)
    }

    /// Writes the record in the buffer to flash and applies it to RAM.
    fn commit_record(&mut self, kind: u8, len: usize) -> Result<(), StatusCode> {
        self.store
            .append(self.scratch, kind, len)
            .map_err(store_status)?;
        let start = Store::<F>::payload_start();
        let payload = self.scratch.get(start..start + len).unwrap_or(&[]);
        self.state
            .apply(store::Record { kind, payload })
            .map_err(|_| StatusCode::DeviceFull)
    }

    /// Makes sure a record with a `payload`-byte payload fits in the store, compacting it
    /// when no transaction is open.
    fn make_store_room(&mut self, payload: usize) -> Result<(), StatusCode> {
        // Keep room for the marker that ends an open transaction.
        let reserve = if self.txn.is_some() {
            Store::<F>::record_size(4)
        } else {
            0
        };
        let need = Store::<F>::record_size(payload) + reserve;
        if self.store.free() >= need {
            return Ok(());
        }
        if self.txn.is_some() {
            // The open transaction's records cannot move banks.
            return Err(StatusCode::DeviceFull);
        }
        self.compact_store().map_err(store_status)?;
        if self.store.free() >= need {
            Ok(())
        } else {
            Err(StatusCode::DeviceFull)
        }
    }

    fn remove_entry(&mut self, ctx: u16, def: NodeId, name: &[u8]) -> Result<(), StatusCode> {
        let start = Store::<F>::payload_start();
        self.make_store_room(RECORD_FIXED + name.len())?;
        let rec = RemoveRecord { ctx, def, name };
        let room = Store::<F>::payload_room(self.scratch.len());
        let dst = self
            .scratch
            .get_mut(start..start + room)
            .ok_or(StatusCode::DeviceFull)?;
        let len = postcard::to_slice(&rec, dst)
            .map_err(|_| StatusCode::DeviceFull)?
            .len();
        self.commit_record(store::KIND_REMOVE, len)
    }

    /// A `ServerID` is the identity ACLs and package 0 name a server by, and the one a
    /// session acts as: two accounts with one would let either act as the other. A value
    /// another account's `ServerID` holds is refused (403) for the leaf in account `ctx`.
    fn check_identity(&self, def: NodeId, ctx: u16, value: &[u8]) -> Result<(), StatusCode> {
        let (account, server_id) = self.identity;
        if def != server_id || def == NO_NODE {
            return Ok(());
        }
        let taken = self
            .state
            .entries
            .iter()
            .filter(|e| e.def == account && e.id != ctx)
            .filter_map(|e| self.state.get(e.id, server_id, &[]))
            .any(|s| s.flags & HAS_VALUE != 0 && self.state.value(s) == value);
        if taken {
            Err(StatusCode::Forbidden)
        } else {
            Ok(())
        }
    }

    /// Checks a value for a leaf: its format and the handler's check.
    fn check_value(
        &mut self,
        who: Principal<'_>,
        h: NodeHandle,
        path: &str,
        value: &[u8],
    ) -> Result<(), StatusCode> {
        let def = self.node(h);
        if !value::valid(def.format(), value) {
            return Err(StatusCode::BadRequest);
        }
        self.check_identity(h.def, h.ctx, value)?;
        let node = NodeRef {
            def: h.def,
            path,
            server: who.server(),
        };
        if let Some(handler) = self.handler_for(h.def) {
            handler.allow_change(&node)?;
            if !handler.stores_values(&node) {
                handler.check(&node, value)?;
            }
        }
        Ok(())
    }

    /// Whether a node handler keeps the value of the node at `uri` (the tree then neither
    /// stores nor reads it itself).
    pub fn handler_keeps(&mut self, uri: &str) -> Result<bool, StatusCode> {
        let parsed = self.parse_uri(uri)?;
        let h = self.find(&parsed)?;
        Ok(self.handler_stores(h.def, parsed.path(), Principal::Device))
    }

    /// Whether a handler keeps the node's value.
    fn handler_stores(&mut self, def: NodeId, path: &str, who: Principal<'_>) -> bool {
        let node = NodeRef {
            def,
            path,
            server: who.server(),
        };
        self.handler_for(def)
            .is_some_and(|handler| handler.stores_values(&node))
    }

    /// Puts the device's own mark on the current value of the leaf at `uri` (which the tree
    /// keeps): a bit no server sees, stored with the value and cleared when the value
    /// changes, whoever changes it. It records a fact about one value that must not
    /// outlive it; package 0 uses it to honour the resynchronisation nonce once per
    /// stored nonce.
    pub fn mark_value(&mut self, uri: &str) -> Result<(), StatusCode> {
        let parsed = self.parse_uri(uri)?;
        let h = self.find(&parsed)?;
        if self.node(h).is_interior()
            || self.handler_stores(h.def, parsed.path(), Principal::Device)
        {
            return Err(StatusCode::CommandNotAllowed);
        }
        let change = Change {
            create: Some(0),
            flags: MARKED,
            quiet: true,
            ..Change::default()
        };
        self.change_node(h, &change, None)
    }

    /// Whether the current value of the leaf at `uri` carries the device's mark
    /// ([`Tree::mark_value`]).
    pub fn value_marked(&self, uri: &str) -> bool {
        self.parse_uri(uri)
            .and_then(|u| self.find(&u))
            .is_ok_and(|h| self.entry(h).is_some_and(|e| e.flags & MARKED != 0))
    }

    /// `Replace`: sets a leaf's value (or a property, for `?prop=`).
    pub fn replace(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        value: &[u8],
        format: Option<Format>,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let parsed = self.parse_uri(uri)?;
        let h = self.find(&parsed)?;
        match parsed.query() {
            Some(Query::Prop(p)) => return self.replace_property(who, h, p, value, now),
            Some(Query::List(_)) => return Err(StatusCode::CommandNotAllowed),
            None => {}
        }
        self.authorize(who, AccessSet::REPLACE, h)?;
        let def = self.node(h);
        if def.is_interior() {
            return Err(StatusCode::CommandNotAllowed);
        }
        if let Some(f) = format {
            if f != def.format() {
                return Err(StatusCode::UnsupportedMediaType);
            }
        }
        self.set_value(who, h, parsed.path(), value, now)
    }

    /// Stores a leaf value (access checks done by the caller).
    fn set_value(
        &mut self,
        who: Principal<'_>,
        h: NodeHandle,
        path: &str,
        value: &[u8],
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        if self.engine_value(h.def, &mut [0; 5]).is_some() {
            return Err(StatusCode::CommandNotAllowed);
        }
        self.check_value(who, h, path, value)?;
        if self.handler_stores(h.def, path, who) {
            let node = NodeRef {
                def: h.def,
                path,
                server: who.server(),
            };
            if let Some(handler) = self.handler_for(h.def) {
                handler.write(&node, value)?;
            }
            return Ok(());
        }
        if self
            .entry(h)
            .is_some_and(|e| e.flags & HAS_VALUE != 0 && self.state.value(e) == value)
        {
            // Nothing changes: neither flash nor VerNo.
            return Ok(());
        }
        let change = Change {
            create: Some(0),
            value: Some(value),
            ..Change::default()
        };
        self.change_node(h, &change, now)
    }

    /// [`change`](Self::change) for the entry of node `h`.
    fn change_node(
        &mut self,
        h: NodeHandle,
        change: &Change<'_>,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let mut name: Vec<u8, 255> = Vec::new();
        let _ = name.extend_from_slice(self.entry_name(h));
        self.change(h.ctx, h.def, &name, change, now)
    }

    /// `Add`: creates a node (with its value, for a leaf), and any missing interior nodes
    /// on the way.
    pub fn add(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        value: Option<&[u8]>,
        format: Option<Format>,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        self.transaction(|t| t.add_inner(who, uri, value, format, now))
    }

    /// [`add`](Self::add), inside its transaction.
    fn add_inner(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        value: Option<&[u8]>,
        format: Option<Format>,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let parsed = self.parse_uri(uri)?;
        if parsed.query().is_some() {
            // Properties cannot be added.
            return Err(StatusCode::CommandNotAllowed);
        }
        // Walk down: existing nodes are passed, missing ones created.
        let mut h = NodeHandle {
            def: 0,
            ctx: 0,
            inner: 0,
        };
        let mut segments = parsed.segments().peekable();
        let path = parsed.path();
        let mut consumed = 0usize;
        while let Some(segment) = segments.next() {
            consumed += segment.raw().len() + usize::from(consumed > 0);
            let last = segments.peek().is_none();
            let sub_path = path.get(..consumed).unwrap_or(path);
            match self.child(h, segment) {
                Some(existing) if !last => h = existing,
                Some(existing) => {
                    // A mandatory node exists as soon as its parent does; adding it is how
                    // a server gives it its value, once.
                    if !self.addable(existing) {
                        return Err(StatusCode::AlreadyExists);
                    }
                    self.create(who, h, segment, sub_path, value, format, now)?;
                }
                None => {
                    let (v, f) = if last { (value, format) } else { (None, None) };
                    h = self.create(who, h, segment, sub_path, v, f, now)?;
                }
            }
        }
        Ok(())
    }

    /// Whether an existing node may still be added: a named node of a dynamic object that
    /// exists only because it is mandatory, not because anyone added it.
    fn addable(&self, h: NodeHandle) -> bool {
        let def = self.node(h);
        !def.is_placeholder()
            && def.scope() == Scope::Dynamic
            && self.entry(h).is_none_or(|e| e.flags & PRESENT == 0)
    }

    /// Creates the child `segment` of `parent`.
    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        who: Principal<'_>,
        parent: NodeHandle,
        segment: Segment<'_>,
        path: &str,
        value: Option<&[u8]>,
        format: Option<Format>,
        now: Option<u64>,
    ) -> Result<NodeHandle, StatusCode> {
        let (def_id, def) = self
            .schema_child(parent.def, segment)
            .ok_or(StatusCode::CommandNotAllowed)?;
        if self.node(parent).is_leaf() {
            return Err(StatusCode::CommandNotAllowed);
        }
        // Access type of the new node, ACL of the parent.
        if who != Principal::Device {
            if !def.access().contains(AccessSet::ADD) {
                return Err(StatusCode::CommandNotAllowed);
            }
            if !self.permits(who, AccessSet::ADD, parent) {
                return Err(StatusCode::PermissionDenied);
            }
        }
        if let Some(f) = format {
            let same = f == def.format() || (def.is_interior() && f == Format::Node);
            if !same {
                return Err(StatusCode::UnsupportedMediaType);
            }
        }
        let value = if def.is_leaf() {
            value.unwrap_or(&[])
        } else {
            &[]
        };
        let mut name_buf = [0u8; 255];
        let name: &[u8] = if def.is_placeholder() {
            let n = segment
                .decode_into(&mut name_buf)
                .ok_or(StatusCode::UriTooLong)?
                .len();
            name_buf.get(..n).unwrap_or(&[])
        } else {
            &[]
        };
        if def.is_placeholder() {
            let count = self.children(parent).filter(|c| c.def == def_id).count();
            if def
                .occurrence()
                .max()
                .is_some_and(|max| count >= usize::from(max))
            {
                return Err(StatusCode::DeviceFull);
            }
        }
        // The new node, as the handler will see it.
        let node = NodeRef {
            def: def_id,
            path,
            server: who.server(),
        };
        if let Some(handler) = self.handler_for(def_id) {
            handler.allow_change(&node)?;
            if def.is_leaf() && !handler.stores_values(&node) {
                handler.check(&node, value)?;
            }
        }
        if def.is_leaf() && !value::valid(def.format(), value) {
            return Err(StatusCode::BadRequest);
        }
        if def.is_leaf() {
            self.check_identity(def_id, parent.inner, value)?;
        }
        // A server that may not replace the parent's ACL gets Add, Delete and Replace on an
        // interior node it adds (TND §7.7.1.3; Get is not among them), so that it can
        // manage what it created: with Replace it may give itself more.
        let mut acl_buf: heapless::String<MAX_ACL> = heapless::String::new();
        let mut flags = PRESENT;
        if let Principal::Server(server) = who {
            if def.is_interior() && !self.permits(who, AccessSet::REPLACE, parent) {
                let rights = AccessSet::ADD
                    .union(AccessSet::DELETE)
                    .union(AccessSet::REPLACE);
                acl::write_grant(&mut acl_buf, rights, server)
                    .map_err(|_| StatusCode::DeviceFull)?;
                flags |= HAS_ACL;
            }
        }
        let id = if def.is_placeholder() {
            let id = self.state.next_id;
            if id == u16::MAX {
                return Err(StatusCode::DeviceFull);
            }
            id
        } else {
            0
        };
        let stores = def.is_leaf() && self.handler_stores(def_id, path, who);
        let change = Change {
            create: Some(id),
            flags,
            acl: (flags & HAS_ACL != 0).then_some(acl_buf.as_bytes()),
            value: (def.is_leaf() && !stores).then_some(value),
            ..Change::default()
        };
        self.change(parent.inner, def_id, name, &change, now)?;
        if stores {
            if let Some(handler) = self.handler_for(def_id) {
                if let Err(status) = handler.write(&node, value) {
                    let _ = self.remove_entry(parent.inner, def_id, name);
                    return Err(status);
                }
            }
        }
        if let Some(handler) = self.handler_for(def_id) {
            handler.added(&node);
        }
        let h = NodeHandle {
            def: def_id,
            ctx: parent.inner,
            inner: if def.is_placeholder() {
                id
            } else {
                parent.inner
            },
        };
        self.touch_node(self.parent(h), now);
        Ok(h)
    }

    /// The static child of `parent` a new node named `segment` would be.
    fn schema_child(
        &self,
        parent: NodeId,
        segment: Segment<'_>,
    ) -> Option<(NodeId, Node<'static>)> {
        let mut placeholder = None;
        for id in self.schema.children(parent) {
            let def = self.schema.node(id)?;
            if def.is_placeholder() {
                placeholder = Some((id, def));
            } else if (def.case_sensitive() && segment.is(def.name().as_bytes()))
                || (!def.case_sensitive() && segment.is_ignore_case(def.name().as_bytes()))
            {
                return Some((id, def));
            }
        }
        placeholder
    }

    /// Updates TStamp and VerNo of an interior node whose children changed.
    fn touch_node(&mut self, h: NodeHandle, now: Option<u64>) {
        if h.def == 0 {
            return;
        }
        // The entry of a permanent or mandatory node may not exist yet; it then holds only
        // the timestamps. A failure here loses a timestamp, never a value.
        let change = Change {
            create: Some(0),
            ..Change::default()
        };
        let _ = self.change_node(h, &change, now);
    }

    /// `Delete`: removes a node and its subtree.
    pub fn delete(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        self.transaction(|t| t.delete_inner(who, uri, now))
    }

    /// [`delete`](Self::delete), inside its transaction.
    fn delete_inner(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let parsed = self.parse_uri(uri)?;
        if parsed.query().is_some() {
            return Err(StatusCode::CommandNotAllowed);
        }
        let h = self.find(&parsed)?;
        self.authorize(who, AccessSet::DELETE, h)?;
        let def = self.node(h);
        if h.def == 0
            || def.scope() == Scope::Permanent
            || (!def.is_placeholder() && def.occurrence().min() >= 1)
        {
            return Err(StatusCode::CommandNotAllowed);
        }
        let node = NodeRef {
            def: h.def,
            path: parsed.path(),
            server: who.server(),
        };
        if let Some(handler) = self.handler_for(h.def) {
            handler.allow_change(&node)?;
        }
        let name: Vec<u8, 255> = Vec::from_slice(self.entry_name(h)).unwrap_or_default();
        let parent = self.parent(h);
        self.remove_entry(h.ctx, h.def, &name)?;
        if let Some(handler) = self.handler_for(h.def) {
            handler.deleted(&node);
        }
        self.touch_node(parent, now);
        Ok(())
    }

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
        let mut path: String<WRITE_PATH> = String::new();
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
    fn commit_staged(
        &mut self,
        who: Principal<'_>,
        ticket: &WriteTicket,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let start = self.state.used;
        let len = ticket.written as usize;
        let staged = self.state.arena.get(start..start + len).unwrap_or(&[]);
        if !value::valid(self.node(ticket.h).format(), staged) {
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
    fn copy_inner(
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

    // --- Atomic -------------------------------------------------------------------------

    /// Starts an all-or-nothing group of changes (`Atomic`). The handlers learn of it
    /// ([`NodeHandler::atomic_started`]), so that values kept outside the tree, which a
    /// rollback cannot restore, can be refused inside it.
    pub fn begin_atomic(&mut self) -> Result<(), StatusCode> {
        self.begin_txn()?;
        self.handlers.atomic_started();
        Ok(())
    }

    /// Opens a transaction in the store.
    fn begin_txn(&mut self) -> Result<(), StatusCode> {
        if self.txn.is_some() {
            return Err(StatusCode::CommandFailed);
        }
        // Start with room for a typical group of changes, if compacting can make it.
        let want = (self.store.bank_size() / 2).min(self.scratch.len() * 4);
        if self.store.free() < want {
            self.compact_store().map_err(store_status)?;
        }
        let txn = self.next_txn;
        self.next_txn = self.next_txn.wrapping_add(1);
        self.store
            .append_marker(self.scratch, store::KIND_BEGIN, txn)
            .map_err(store_status)?;
        self.txn = Some(txn);
        Ok(())
    }

    /// Runs `f` as one transaction, unless an Atomic is already open (then it is part of
    /// that): a change made of several records is then all or nothing, also across a
    /// power cut.
    fn transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StatusCode>,
    ) -> Result<T, StatusCode> {
        if self.txn.is_some() {
            return f(self);
        }
        // A command's own transaction is not an Atomic: handlers are not told of it.
        self.begin_txn()?;
        match f(self) {
            Ok(v) => {
                self.commit_txn()?;
                Ok(v)
            }
            Err(e) => {
                self.rollback_txn()?;
                Err(e)
            }
        }
    }

    /// Makes the open group's changes permanent.
    pub fn commit_atomic(&mut self) -> Result<(), StatusCode> {
        let result = self.commit_txn();
        self.handlers.atomic_ended();
        result
    }

    /// Closes the open transaction with its commit marker.
    fn commit_txn(&mut self) -> Result<(), StatusCode> {
        let txn = self.txn.take().ok_or(StatusCode::CommandFailed)?;
        self.store
            .append_marker(self.scratch, store::KIND_COMMIT, txn)
            .map_err(store_status)
    }

    /// Undoes every change of the open group.
    pub fn rollback_atomic(&mut self) -> Result<(), StatusCode> {
        let result = self.rollback_txn();
        self.handlers.atomic_ended();
        result
    }

    /// Drops the open transaction and rebuilds RAM without it.
    fn rollback_txn(&mut self) -> Result<(), StatusCode> {
        let txn = self.txn.take().ok_or(StatusCode::CommandFailed)?;
        // Without the marker, replay drops the group anyway; with it, it drops it at once.
        let _ = self
            .store
            .append_marker(self.scratch, store::KIND_ABORT, txn);
        self.replay()
            .map_err(|_| StatusCode::AtomicRollBackFailed)?;
        Ok(())
    }

    /// Whether an Atomic is open.
    pub fn in_atomic(&self) -> bool {
        self.txn.is_some()
    }
}

/// The handler nearest to `def` (itself or an ancestor).
fn nearest_handler<'h, H: Handlers>(
    schema: &Schema,
    handlers: &'h mut H,
    def: NodeId,
) -> Option<&'h mut dyn NodeHandler> {
    let mut d = def;
    let mut found = NO_NODE;
    while d != NO_NODE {
        if handlers.handler(d).is_some() {
            found = d;
            break;
        }
        d = schema.node(d).map_or(NO_NODE, |n| n.parent());
    }
    if found == NO_NODE {
        None
    } else {
        handlers.handler(found)
    }
}

/// What a lookup on the way to a node learnt of the node's entry.
#[derive(Debug, Clone, Copy)]
enum Lookup {
    /// Not looked up.
    Unknown,
    /// Looked up: the node has no entry.
    Absent,
    /// At this index (valid until the tree changes).
    At(usize),
}

/// A node found by URI, with the nodes on the way (the root first).
struct Found {
    steps: Vec<(NodeHandle, Lookup), MAX_PATH>,
}

impl Found {
    fn leaf(&self) -> NodeHandle {
        self.steps.last().map_or(
            NodeHandle {
                def: 0,
                ctx: 0,
                inner: 0,
            },
            |&(h, _)| h,
        )
    }
}

/// Deepest URI the tree resolves with its path: the root and 24 segments, as deep as a
/// DDF may go.
const MAX_PATH: usize = 25;

/// A change to one entry: each `Some` field replaces the entry's.
#[derive(Default)]
struct Change<'c> {
    /// Create the entry when missing, with this instance id.
    create: Option<u16>,
    /// Flags to set.
    flags: u8,
    /// A new name (renaming an instance).
    rename: Option<&'c [u8]>,
    acl: Option<&'c [u8]>,
    title: Option<&'c [u8]>,
    value: Option<&'c [u8]>,
    /// The new value is this many bytes staged at the free end of the arena.
    staged: Option<usize>,
    /// Leave TStamp and VerNo: nothing a server sees changes.
    quiet: bool,
}

/// Longest path a large-object write remembers for its handler.
const WRITE_PATH: usize = 256;

/// A large-object write in progress; see [`Tree::begin_write`].
#[derive(Debug)]
pub struct WriteTicket {
    h: NodeHandle,
    path: String<WRITE_PATH>,
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

/// Bytes of a put record besides its name, ACL, title and value (postcard varints at
/// their widest).
const RECORD_FIXED: usize = 3 + 3 + 3 + 1 + 5 + 3 + 4 * 5;

/// The nodes `./DevDetail/URI/MaxDepth`, `MaxTotLen`, `MaxSegLen` and
/// `./DevDetail/LrgObj`, whose values are the engine's own ([`NO_NODE`] where a vendor tree
/// lacks them).
fn engine_nodes(schema: &Schema) -> [NodeId; 4] {
    let detail = schema.child(ROOT, "DevDetail");
    let uri = detail.and_then(|d| schema.child(d, "URI"));
    let find = |parent: Option<NodeId>, name| {
        parent
            .and_then(|u| schema.child(u, name))
            .filter(|&id| schema.node(id).is_some_and(|n| !n.is_placeholder()))
            .unwrap_or(NO_NODE)
    };
    [
        find(uri, "MaxDepth"),
        find(uri, "MaxTotLen"),
        find(uri, "MaxSegLen"),
        find(detail, "LrgObj"),
    ]
}

/// `./DMAcc/<x>` and `./DMAcc/<x>/ServerID` ([`NO_NODE`] where a tree lacks them).
fn identity_nodes(schema: &Schema) -> (NodeId, NodeId) {
    let account = schema
        .child(ROOT, "DMAcc")
        .and_then(|d| schema.placeholder_child(d));
    let server_id = account.and_then(|a| schema.child(a, "ServerID"));
    (account.unwrap_or(NO_NODE), server_id.unwrap_or(NO_NODE))
}

/// The root's ACL when none is stored: any server may add and get (TND §7.7.1).
pub(crate) const ROOT_ACL: &str = "Add=*&Get=*";

fn touch(rec: &mut PutRecord<'_>, now: Option<u64>) {
    rec.verno = rec.verno.wrapping_add(1);
    if let Some(now) = now {
        rec.tstamp = u32::try_from(now).unwrap_or(u32::MAX);
    }
}

fn store_status(e: StoreError) -> StatusCode {
    match e {
        StoreError::Full => StatusCode::DeviceFull,
        _ => StatusCode::DataStoreFailure,
    }
}

fn format_u16(v: u16, buf: &mut [u8; 5]) -> &[u8] {
    let mut n = v;
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or(&[])
}

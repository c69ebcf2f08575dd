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

mod atomic;
mod change;
mod exchange;
mod lookup;
mod props;
mod read;
mod state;
#[cfg(feature = "tnds")]
mod tnds;
mod write;

pub use exchange::{DDF_XML, TNDS_WBXML, TNDS_XML};
pub use write::WriteTicket;

use change::{Change, RECORD_FIXED};
use lookup::{nearest_handler, Lookup};
use state::{
    Entry, Op, PutRecord, RemoveRecord, State, HAS_ACL, HAS_TITLE, HAS_VALUE, MARKED, PRESENT,
};

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
    /// The stored tree does not fit this storage: too many entries, too many bytes of
    /// names, ACLs and values, or a record longer than the record buffer. Nothing on flash
    /// was changed: an image whose storage it fits mounts it.
    Capacity(Shortfall),
    /// The store was written in a newer format than this library reads; it was left as
    /// it is.
    Format(u16),
    /// A stored record passes its checksum but cannot be read; the store was left as it
    /// is.
    Corrupt,
    /// The schema has no root node, or it is deeper than the build resolves
    /// ([`TREE_DEPTH`](crate::limits::TREE_DEPTH)).
    Schema,
}

/// What a stored tree needs more of than the storage mounting it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Shortfall {
    /// Run-time entries (the storage's `N`).
    Entries,
    /// Arena bytes (`A`).
    Arena,
    /// Record buffer bytes (`R`): a stored value is larger than this storage keeps.
    Record,
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
            TreeError::Capacity(s) => write!(
                f,
                "the stored tree needs more {} than this storage has; left on flash as it is",
                match s {
                    Shortfall::Entries => "run-time entries",
                    Shortfall::Arena => "arena bytes",
                    Shortfall::Record => "record buffer",
                }
            ),
            TreeError::Format(v) => write!(
                f,
                "tree store written in format {v}, newer than this library reads"
            ),
            TreeError::Corrupt => f.write_str("a stored tree record cannot be read"),
            TreeError::Schema => {
                f.write_str("the schema has no root node, or is deeper than IOTADM_TREE_DEPTH")
            }
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

/// A [`TreeStorage`] with the build's capacities: [`TREE_ENTRIES`](crate::limits::TREE_ENTRIES),
/// [`TREE_ARENA`](crate::limits::TREE_ARENA) and [`TREE_RECORD`](crate::limits::TREE_RECORD),
/// which `IOTADM_TREE_ENTRIES`, `IOTADM_TREE_ARENA` and `IOTADM_TREE_RECORD` set.
pub type DefaultTreeStorage = TreeStorage<
    { crate::limits::TREE_ENTRIES },
    { crate::limits::TREE_ARENA },
    { crate::limits::TREE_RECORD },
>;

impl<const N: usize, const A: usize, const R: usize> Default for TreeStorage<N, A, R> {
    fn default() -> Self {
        Self::new()
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
        if schema.max_depth() > crate::limits::TREE_DEPTH {
            return Err(TreeError::Schema);
        }
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
            store: Store::closed(flash, state::FORMAT),
            handlers,
            scratch,
            limits,
            engine_nodes: engine_nodes(schema),
            identity: identity_nodes(schema),
            txn: None,
            next_txn: 1,
        }
    }

    /// Opens the store and restores RAM from it. Nothing is written before the whole log
    /// has been read and fits: a log that does not fit this storage is left as it is.
    fn open(&mut self) -> Result<(), TreeError> {
        self.store.open(self.scratch).map_err(stored)?;
        let (replayed, evicted) = self.replay()?;
        self.next_txn = replayed.max_txn.wrapping_add(1).max(1);
        // A log of the first format is rewritten in the current one; a log that only fit
        // by dropping early what it removes later is rewritten as the state it holds, so
        // that the next mount reads no more than fits.
        if replayed.damaged || evicted || self.store.stored_format() != state::FORMAT {
            self.compact_store()?;
        } else if let Some(txn) = replayed.dangling {
            // Close the transaction power cut off, so that what follows is not taken as its.
            self.store
                .append_marker(self.scratch, store::KIND_ABORT, txn)
                .or_else(|_| self.compact_store())?;
        }
        Ok(())
    }

    /// Rebuilds RAM from flash; whether entries had to be dropped early to fit.
    ///
    /// A log holds the history since its last compaction, so an entry may be put and
    /// removed again later: the log can need more room along the way than its final
    /// state. When a record does not fit, the rest of the log is read ahead for entries it
    /// removes anyway; those go now, and the record is tried again. Only when nothing can
    /// go does the mount fail, and then the log does not fit this storage.
    fn replay(&mut self) -> Result<(store::Replayed, bool), TreeError> {
        self.state.clear();
        self.state.bulk = true;
        let result = replay_log(&mut self.store, self.scratch, &mut self.state);
        self.state.bulk = false;
        self.state.reindex();
        result
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

    /// Arena bytes taken: the names, ACLs, titles and values of the entries, and those of
    /// entries removed since the arena was last compacted (which happens when it fills).
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
}

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

/// See [`Tree::replay`]: reads the log into `state`.
fn replay_log<F: NorFlash>(
    store: &mut Store<F>,
    scratch: &mut [u8],
    state: &mut State<'_>,
) -> Result<(store::Replayed, bool), TreeError> {
    let format = store.stored_format();
    let mut out = store::Replayed::default();
    let mut cur = store.cursor();
    let (mut evicted, mut skipped) = (false, false);
    loop {
        let at = cur;
        let Some(rec) = store.next(&mut cur, scratch, &mut out).map_err(stored)? else {
            break;
        };
        let op = state.decode(format, rec)?;
        skipped |= matches!(op, Op::Skip);
        match state.apply(op) {
            Err(TreeError::Capacity(Shortfall::Entries | Shortfall::Arena)) => {}
            other => {
                other?;
                continue;
            }
        }
        // Read ahead (this cursor's record is read again after) and drop what the rest
        // of the log removes.
        state.clear_marks();
        let mut ahead = cur;
        let mut ignored = store::Replayed::default();
        while let Some(later) = store
            .next(&mut ahead, scratch, &mut ignored)
            .map_err(stored)?
        {
            let later = state.decode(format, later)?;
            state.look_ahead(later);
        }
        if state.evict_doomed() == 0 {
            state.clear_marks();
            return Err(state.shortfall());
        }
        evicted = true;
        let mut again = at;
        let rec = store
            .next(&mut again, scratch, &mut ignored)
            .map_err(stored)?
            .ok_or(TreeError::Corrupt)?;
        let op = state.decode(format, rec)?;
        state.apply(op)?;
    }
    // Entries of instances the schema no longer has are orphans now.
    if skipped {
        state.sweep_orphans();
    }
    Ok((out, evicted))
}

/// A store error while mounting, as the tree reports it.
fn stored(e: StoreError) -> TreeError {
    match e {
        StoreError::RecordTooLarge => TreeError::Capacity(Shortfall::Record),
        StoreError::Format(v) => TreeError::Format(v),
        e => TreeError::Store(e),
    }
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

/// Room for a number or a timestamp as text.
pub(super) struct NumBuf {
    buf: [u8; 20],
}

impl NumBuf {
    pub(super) fn new() -> Self {
        NumBuf { buf: [0; 20] }
    }

    /// `v` in decimal.
    pub(super) fn write(&mut self, v: u64) -> &[u8] {
        crate::decimal::write(&mut self.buf, v)
    }

    /// [`write`](Self::write), as text for XML.
    pub(super) fn text(&mut self, v: u64) -> &str {
        // Digits only: always UTF-8.
        core::str::from_utf8(self.write(v)).unwrap_or("")
    }

    /// `secs` as an ISO 8601 timestamp.
    pub(super) fn tstamp(&mut self, secs: u64) -> &[u8] {
        let t = crate::platform::format_tstamp(secs);
        if let Some(dst) = self.buf.get_mut(..t.len()) {
            dst.copy_from_slice(&t);
        }
        self.buf.get(..t.len()).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::state::{PutRecordV1, RemoveRecordV1, FORMAT, FORMAT_NODE_IDS};
    use super::*;
    use crate::flash::MemFlash;
    use crate::schema::STANDARD;

    type Flash = MemFlash<std::vec::Vec<u8>, 1024, 8>;

    fn blank() -> Flash {
        let mut f = MemFlash::new(std::vec![0u8; 8192]);
        f.erase_all();
        f
    }

    fn id(uri: &str) -> NodeId {
        STANDARD.find(uri).unwrap()
    }

    /// Appends one record of `kind` whose payload is `value` in postcard.
    fn append(store: &mut Store<&mut Flash>, kind: u8, value: &impl Serialize) {
        let mut scratch = [0u8; 512];
        let start = Store::<&mut Flash>::payload_start();
        let len = postcard::to_slice(value, &mut scratch[start..])
            .unwrap()
            .len();
        store.append(&mut scratch, kind, len).unwrap();
    }

    fn get(t: &mut Tree<'_, &mut Flash>, uri: &str) -> std::vec::Vec<u8> {
        let mut buf = [0u8; 64];
        let r = t.get(Principal::Device, uri, 0, &mut buf).unwrap();
        buf[..r.len].to_vec()
    }

    /// A log of the first format (nodes named by id), as an earlier image wrote it: an
    /// account with its ACL and ServerID, a second account removed again.
    fn first_format_log(flash: &mut Flash) {
        let mut store = Store::closed(flash, FORMAT_NODE_IDS);
        store.open(&mut [0u8; 512]).unwrap();
        let put = |ctx, def, id, flags, name, acl, value| PutRecordV1 {
            ctx,
            def,
            id,
            flags,
            tstamp: 1_700_000_000,
            verno: 1,
            name,
            acl,
            title: &[],
            value,
        };
        let account = id("./DMAcc/<x>");
        let server_id = id("./DMAcc/<x>/ServerID");
        append(
            &mut store,
            store::KIND_PUT,
            &put(0, account, 1, PRESENT | HAS_ACL, b"a1", b"Get=srv1", b""),
        );
        append(
            &mut store,
            store::KIND_PUT,
            &put(1, server_id, 0, HAS_VALUE, b"", b"", b"srv1"),
        );
        append(
            &mut store,
            store::KIND_PUT,
            &put(0, account, 2, PRESENT, b"a2", b"", b""),
        );
        append(
            &mut store,
            store::KIND_REMOVE,
            &RemoveRecordV1 {
                ctx: 0,
                def: account,
                name: b"a2",
            },
        );
    }

    /// Why a tree on `flash` does not mount, if it does not.
    fn mount_error<F: NorFlash>(flash: F) -> Option<TreeError> {
        let mut storage = TreeStorage::<32, 2048, 512>::new();
        Tree::mount(
            &mut storage,
            &STANDARD,
            flash,
            NoHandlers,
            UriLimits::DEFAULT,
        )
        .err()
    }

    #[test]
    fn a_log_of_the_first_format_is_read_and_rewritten_in_the_current_one() {
        let mut flash = blank();
        first_format_log(&mut flash);
        let mut storage = TreeStorage::<32, 2048, 512>::new();
        let mut t = Tree::mount(
            &mut storage,
            &STANDARD,
            &mut flash,
            NoHandlers,
            UriLimits::DEFAULT,
        )
        .unwrap();
        assert_eq!(get(&mut t, "./DMAcc"), b"a1");
        assert_eq!(get(&mut t, "./DMAcc/a1?prop=ACL"), b"Get=srv1");
        assert_eq!(get(&mut t, "./DMAcc/a1/ServerID"), b"srv1");
        // The log is in the current format now, with the same state.
        let mut store = Store::closed(&mut flash, FORMAT);
        store.open(&mut [0u8; 512]).unwrap();
        assert_eq!(store.stored_format(), FORMAT);
        let mut t = Tree::mount(
            &mut storage,
            &STANDARD,
            &mut flash,
            NoHandlers,
            UriLimits::DEFAULT,
        )
        .unwrap();
        assert_eq!(get(&mut t, "./DMAcc/a1/ServerID"), b"srv1");
    }

    #[test]
    fn a_first_format_record_naming_a_node_past_any_id_is_corrupt() {
        let mut flash = blank();
        let mut store = Store::closed(&mut flash, FORMAT_NODE_IDS);
        store.open(&mut [0u8; 512]).unwrap();
        // The id as the current format's wider key: a u16 id cannot hold it.
        let rec = RemoveRecord {
            ctx: 0,
            node: u32::from(u16::MAX) + 1,
            name: b"a1",
        };
        append(&mut store, store::KIND_REMOVE, &rec);
        assert_eq!(mount_error(&mut flash), Some(TreeError::Corrupt));
    }

    #[test]
    fn a_log_of_a_newer_format_is_refused_and_left_as_it_is() {
        let mut flash = blank();
        Store::closed(&mut flash, FORMAT + 1)
            .open(&mut [0u8; 512])
            .unwrap();
        let before = flash.as_bytes().to_vec();
        assert_eq!(mount_error(&mut flash), Some(TreeError::Format(FORMAT + 1)));
        assert!(flash.as_bytes() == &before[..]);
    }
}

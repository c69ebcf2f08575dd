//! Vendor nodes served by C: `iotadm_node_handler`, bound to a node of the static tree
//! (and through it its subtree), and the device's set of handlers, where the FUMO object
//! serves `./FUMO/<x>`.
//!
//! The callbacks are those of the Rust `iotadm::tree::NodeHandler`, one for one, except
//! that the node events (added, deleted, session ended, `Atomic` started and ended) share
//! one callback. A handler with `read`, `write` or the streamed writes keeps the values of
//! its nodes itself; one without leaves values to the tree, and may check them first
//! (`check`). Each callback returns a DM status code, which is what the server is
//! answered.

use core::ffi::{c_char, c_int, c_void};

use crate::schema::DEVICE_SCHEMA;
use iotadm::codes::StatusCode;
use iotadm::schema::{NodeId, ROOT};
use iotadm::tree::{self, ExecOutcome, Handlers, NodeRef as CoreRef};

use crate::config::NODE_HANDLERS;
use crate::fumo::DevFumo;
use crate::session::MAX_ID_Z;
use crate::status::{
    status_from_c, IOTADM_ERR_CAPACITY, IOTADM_ERR_INVALID_ARGUMENT, IOTADM_ERR_UNKNOWN_NODE,
    IOTADM_STATUS_ACCEPTED, IOTADM_STATUS_OK,
};
use crate::text::{str_in, CText};

/// Longest node path handed to a handler, NUL included.
const MAX_PATH_Z: usize = 256;

/// The node a handler is asked about. Valid only during the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NodeRef {
    /// The node's URI without `./` (e.g. `DevDetail/Ext/Acme/TxPower`), NUL-terminated.
    pub path: *const c_char,
    /// The `ServerID` of the server asking, or `NULL` when the device itself asks.
    pub server_id: *const c_char,
}

/// `total` of `write_begin` when the size of the value is not known.
pub const IOTADM_SIZE_UNKNOWN: u64 = u64::MAX;

/// `event`: a node was added in the handler's subtree (`node` names it).
pub const IOTADM_EVENT_ADDED: c_int = 1;
/// `event`: a node was deleted from the handler's subtree (`node` names it).
pub const IOTADM_EVENT_DELETED: c_int = 2;
/// `event`: the management session ended, normally or not (`node` is `NULL`). State that
/// lives for one session ends here. May come more than once per session.
pub const IOTADM_EVENT_SESSION_ENDED: c_int = 3;
/// `event`: an `Atomic` started (`node` is `NULL`). A rollback restores only what the tree
/// keeps, so a handler that keeps values refuses to change them until it ends.
pub const IOTADM_EVENT_ATOMIC_STARTED: c_int = 4;
/// `event`: the `Atomic` ended, committed or rolled back (`node` is `NULL`).
pub const IOTADM_EVENT_ATOMIC_ENDED: c_int = 5;

/// A vendor node served by C. Each callback is optional and returns a DM status code:
/// `IOTADM_STATUS_OK` (200) on success, anything else refuses with that status (codes
/// outside 100-599 become 500). Fields may be added at the end in later versions:
/// initialise the struct with designated initialisers or `memset` it to zero first.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NodeHandler {
    /// The node of the static tree to bind, as its DDF describes it: `./A/B`, with `<x>`
    /// for an unnamed placeholder (`./DMAcc/<x>/Ext`). Read once, when the device opens.
    pub uri: *const c_char,
    /// Handed back to every callback.
    pub user: *mut c_void,
    /// Reads the value of `node` from byte `offset` into the `out_len` bytes at `out`:
    /// sets `*written` to the bytes written and `*total` to the whole value's size.
    pub read: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            node: *const NodeRef,
            offset: usize,
            out: *mut u8,
            out_len: usize,
            written: *mut usize,
            total: *mut usize,
        ) -> c_int,
    >,
    /// Stores the `len` bytes at `value` as the value of `node`.
    pub write: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            node: *const NodeRef,
            value: *const u8,
            len: usize,
        ) -> c_int,
    >,
    /// Executes `node` with the `len` bytes at `data` and the command's `correlator`
    /// (`NULL` when it has none): `IOTADM_STATUS_OK` when done, `IOTADM_STATUS_ACCEPTED`
    /// (202) when the result follows later.
    pub exec: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            node: *const NodeRef,
            data: *const u8,
            len: usize,
            correlator: *const c_char,
        ) -> c_int,
    >,
    /// Checks the `len` bytes at `value` before the tree stores them as the value of
    /// `node` (called only for values the tree keeps: a handler without `read`, `write`
    /// and `write_chunk`). Whole values and those that came in chunks alike.
    pub check: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            node: *const NodeRef,
            value: *const u8,
            len: usize,
        ) -> c_int,
    >,
    /// May `node` be read (by the server named in it, or the device)? A refusal here
    /// denies more than the ACL does: write-only secrets, locked parameters.
    pub allow_read: Option<unsafe extern "C" fn(user: *mut c_void, node: *const NodeRef) -> c_int>,
    /// May `node` be changed (written, added, deleted) now? Asked before any change.
    pub allow_change:
        Option<unsafe extern "C" fn(user: *mut c_void, node: *const NodeRef) -> c_int>,
    /// Starts a streamed write of a value `total` bytes long (`IOTADM_SIZE_UNKNOWN` when
    /// the server did not say): a large object, sent over several messages. Without
    /// `write_begin` and `write_chunk`, such a value is refused with 405.
    pub write_begin:
        Option<unsafe extern "C" fn(user: *mut c_void, node: *const NodeRef, total: u64) -> c_int>,
    /// Takes the `len` bytes at `chunk`, which start at byte `offset` of the value.
    pub write_chunk: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            node: *const NodeRef,
            offset: u64,
            chunk: *const u8,
            len: usize,
        ) -> c_int,
    >,
    /// Ends a streamed write: keep the value (`commit`) or drop it (a later chunk failed,
    /// the size did not match, the session ended).
    pub write_end: Option<
        unsafe extern "C" fn(user: *mut c_void, node: *const NodeRef, commit: bool) -> c_int,
    >,
    /// Tells of an `IOTADM_EVENT_*`; `node` is `NULL` for the session and `Atomic` events.
    pub event: Option<unsafe extern "C" fn(user: *mut c_void, node: *const NodeRef, event: c_int)>,
}

/// A handler bound to its node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CNode {
    def: NodeId,
    h: NodeHandler,
}

/// Runs `f` with the node as C sees it.
fn with_ref<T>(node: &CoreRef<'_>, f: impl FnOnce(&NodeRef) -> T) -> T {
    let path = CText::<MAX_PATH_Z>::new(node.path);
    let server = node.server.map(CText::<MAX_ID_Z>::new);
    let r = NodeRef {
        path: path.as_ptr(),
        server_id: server.as_ref().map_or(core::ptr::null(), CText::as_ptr),
    };
    f(&r)
}

fn ok_or_status(code: c_int) -> Result<(), StatusCode> {
    if code == IOTADM_STATUS_OK {
        Ok(())
    } else {
        Err(status_from_c(code))
    }
}

impl CNode {
    /// Tells the C handler of a session or `Atomic` event.
    fn tell(&self, event: c_int) {
        if let Some(f) = self.h.event {
            // SAFETY: a null node is what the callback is promised for these events.
            unsafe { f(self.h.user, core::ptr::null(), event) }
        }
    }

    /// Tells the C handler a node was added or deleted.
    fn tell_node(&self, node: &CoreRef<'_>, event: c_int) {
        if let Some(f) = self.h.event {
            // SAFETY: the node's strings outlive the call.
            with_ref(node, |r| unsafe { f(self.h.user, r, event) });
        }
    }

    /// Runs a callback of the node that answers a status, or allows when it is missing.
    fn allow(
        &self,
        node: &CoreRef<'_>,
        f: Option<unsafe extern "C" fn(*mut c_void, *const NodeRef) -> c_int>,
    ) -> Result<(), StatusCode> {
        let Some(f) = f else { return Ok(()) };
        // SAFETY: the node's strings outlive the call.
        ok_or_status(with_ref(node, |r| unsafe { f(self.h.user, r) }))
    }
}

impl tree::NodeHandler for CNode {
    fn stores_values(&self, _node: &CoreRef<'_>) -> bool {
        self.h.read.is_some() || self.h.write.is_some() || self.h.write_chunk.is_some()
    }

    fn check(&mut self, node: &CoreRef<'_>, value: &[u8]) -> Result<(), StatusCode> {
        let Some(check) = self.h.check else {
            return Ok(());
        };
        // SAFETY: `value` is valid for reads of its length during the call.
        let code = with_ref(node, |r| unsafe {
            check(self.h.user, r, value.as_ptr(), value.len())
        });
        ok_or_status(code)
    }

    fn allow_read(&mut self, node: &CoreRef<'_>) -> Result<(), StatusCode> {
        self.allow(node, self.h.allow_read)
    }

    fn allow_change(&mut self, node: &CoreRef<'_>) -> Result<(), StatusCode> {
        self.allow(node, self.h.allow_change)
    }

    fn read(
        &mut self,
        node: &CoreRef<'_>,
        offset: usize,
        out: &mut [u8],
    ) -> Result<(usize, usize), StatusCode> {
        let read = self.h.read.ok_or(StatusCode::CommandNotAllowed)?;
        let (mut written, mut total) = (0usize, 0usize);
        // SAFETY: `out` is valid for writes of its length, the counters are locals, and
        // the node's strings outlive the call.
        let code = with_ref(node, |r| unsafe {
            read(
                self.h.user,
                r,
                offset,
                out.as_mut_ptr(),
                out.len(),
                &mut written,
                &mut total,
            )
        });
        ok_or_status(code)?;
        if written > out.len() {
            return Err(StatusCode::CommandFailed);
        }
        // A handler that leaves the total short still told the truth about what it wrote.
        Ok((written, total.max(offset.saturating_add(written))))
    }

    fn write(&mut self, node: &CoreRef<'_>, value: &[u8]) -> Result<(), StatusCode> {
        let Some(write) = self.h.write else {
            // A handler that only streams takes a whole value as one chunk.
            return iotadm::tree::write_in_one_chunk(self, node, value);
        };
        // SAFETY: `value` is valid for reads of its length during the call.
        let code = with_ref(node, |r| unsafe {
            write(self.h.user, r, value.as_ptr(), value.len())
        });
        ok_or_status(code)
    }

    fn begin_write(&mut self, node: &CoreRef<'_>, total: Option<u64>) -> Result<(), StatusCode> {
        let (Some(begin), Some(_)) = (self.h.write_begin, self.h.write_chunk) else {
            return Err(StatusCode::CommandNotAllowed);
        };
        let total = total.unwrap_or(IOTADM_SIZE_UNKNOWN);
        // SAFETY: the node's strings outlive the call.
        ok_or_status(with_ref(node, |r| unsafe { begin(self.h.user, r, total) }))
    }

    fn write_chunk(
        &mut self,
        node: &CoreRef<'_>,
        offset: u64,
        chunk: &[u8],
    ) -> Result<(), StatusCode> {
        let f = self.h.write_chunk.ok_or(StatusCode::CommandNotAllowed)?;
        // SAFETY: `chunk` is valid for reads of its length during the call.
        let code = with_ref(node, |r| unsafe {
            f(self.h.user, r, offset, chunk.as_ptr(), chunk.len())
        });
        ok_or_status(code)
    }

    fn end_write(&mut self, node: &CoreRef<'_>, commit: bool) -> Result<(), StatusCode> {
        let Some(end) = self.h.write_end else {
            return Ok(());
        };
        // SAFETY: the node's strings outlive the call.
        ok_or_status(with_ref(node, |r| unsafe { end(self.h.user, r, commit) }))
    }

    fn exec(
        &mut self,
        node: &CoreRef<'_>,
        data: &[u8],
        correlator: Option<&str>,
    ) -> Result<ExecOutcome, StatusCode> {
        let exec = self.h.exec.ok_or(StatusCode::CommandNotAllowed)?;
        let correlator = correlator.map(CText::<MAX_PATH_Z>::new);
        let corr = correlator.as_ref().map_or(core::ptr::null(), CText::as_ptr);
        // SAFETY: `data` and the strings are valid during the call.
        let code = with_ref(node, |r| unsafe {
            exec(self.h.user, r, data.as_ptr(), data.len(), corr)
        });
        match code {
            IOTADM_STATUS_OK => Ok(ExecOutcome::Done),
            IOTADM_STATUS_ACCEPTED => Ok(ExecOutcome::Accepted),
            other => Err(status_from_c(other)),
        }
    }

    fn added(&mut self, node: &CoreRef<'_>) {
        self.tell_node(node, IOTADM_EVENT_ADDED);
    }

    fn deleted(&mut self, node: &CoreRef<'_>) {
        self.tell_node(node, IOTADM_EVENT_DELETED);
    }

    fn session_ended(&mut self) {
        self.tell(IOTADM_EVENT_SESSION_ENDED);
    }

    fn atomic_started(&mut self) {
        self.tell(IOTADM_EVENT_ATOMIC_STARTED);
    }

    fn atomic_ended(&mut self) {
        self.tell(IOTADM_EVENT_ATOMIC_ENDED);
    }
}

/// The node of the standard schema (the one a C device mounts) a handler names.
fn resolve(uri: &str) -> Option<NodeId> {
    let path = uri.strip_prefix("./").or((uri == ".").then_some(""))?;
    let mut node: NodeId = ROOT;
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        node = if segment == "<x>" {
            DEVICE_SCHEMA.placeholder_child(node)?
        } else {
            // Only the node of that name: `child` would fall back to a placeholder.
            DEVICE_SCHEMA
                .children(node)
                .find(|&c| DEVICE_SCHEMA.node(c).is_some_and(|d| d.name() == segment))?
        };
    }
    Some(node)
}

/// Every handler of a device: the FUMO object's and the C ones.
pub(crate) struct DeviceHandlers {
    nodes: heapless::Vec<CNode, NODE_HANDLERS>,
    pub(crate) fumo: Option<DevFumo>,
}

impl DeviceHandlers {
    /// Binds each handler of `table` to its node.
    pub(crate) fn new(table: &[NodeHandler], fumo: Option<DevFumo>) -> Result<Self, c_int> {
        let mut nodes = heapless::Vec::new();
        for h in table {
            // SAFETY: the caller promises each `uri` is NUL-terminated (checked for NULL).
            let uri = unsafe { str_in(h.uri) }.ok_or(IOTADM_ERR_INVALID_ARGUMENT)?;
            let def = resolve(uri).ok_or(IOTADM_ERR_UNKNOWN_NODE)?;
            let taken = nodes.iter().any(|n: &CNode| n.def == def)
                || fumo.as_ref().is_some_and(|f| f.is_bound(def));
            if taken {
                return Err(IOTADM_ERR_UNKNOWN_NODE);
            }
            nodes
                .push(CNode { def, h: *h })
                .map_err(|_| IOTADM_ERR_CAPACITY)?;
        }
        Ok(DeviceHandlers { nodes, fumo })
    }
}

impl Handlers for DeviceHandlers {
    fn handler(&mut self, def: NodeId) -> Option<&mut dyn tree::NodeHandler> {
        if let Some(fumo) = self.fumo.as_mut().filter(|f| f.is_bound(def)) {
            return fumo.handler(def);
        }
        self.nodes
            .iter_mut()
            .find(|n| n.def == def)
            .map(|n| n as &mut dyn tree::NodeHandler)
    }

    fn is_bound(&self, def: NodeId) -> bool {
        self.fumo.as_ref().is_some_and(|f| f.is_bound(def))
            || self.nodes.iter().any(|n| n.def == def)
    }

    fn session_ended(&mut self) {
        if let Some(fumo) = self.fumo.as_mut() {
            Handlers::session_ended(fumo);
        }
        for n in &mut self.nodes {
            tree::NodeHandler::session_ended(n);
        }
    }

    fn atomic_started(&mut self) {
        if let Some(fumo) = self.fumo.as_mut() {
            Handlers::atomic_started(fumo);
        }
        for n in &mut self.nodes {
            tree::NodeHandler::atomic_started(n);
        }
    }

    fn atomic_ended(&mut self) {
        if let Some(fumo) = self.fumo.as_mut() {
            Handlers::atomic_ended(fumo);
        }
        for n in &mut self.nodes {
            tree::NodeHandler::atomic_ended(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_name_nodes_of_the_static_tree() {
        assert_eq!(resolve("./DevInfo"), DEVICE_SCHEMA.find("./DevInfo"));
        assert_eq!(resolve("."), Some(ROOT));
        assert_eq!(resolve("./DMAcc/<x>"), DEVICE_SCHEMA.find("./DMAcc/<x>"));
        assert_eq!(
            resolve("./DMAcc/<x>/AppID"),
            DEVICE_SCHEMA.find("./DMAcc/<x>/AppID")
        );
        // An instance name is not the placeholder, and unknown nodes are refused.
        assert_eq!(resolve("./DMAcc/srv1"), None);
        assert_eq!(resolve("./Nope"), None);
        assert_eq!(resolve("DevInfo"), None);
    }
}

//! Vendor nodes served by C: `iotadm_node_handler`, bound to a node of the static tree
//! (and through it its subtree), and the device's set of handlers, where the FUMO object
//! serves `./FUMO/<x>`.
//!
//! A handler with `read` or `write` keeps the values of its nodes itself; one with only
//! `exec` leaves values to the tree. Each callback returns a DM status code, which is what
//! the server is answered. Large objects are not streamed to C handlers: a value arrives
//! whole, so it must fit the session's `MaxObjSize`.

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

/// A vendor node served by C. Each callback is optional and returns a DM status code:
/// `IOTADM_STATUS_OK` (200) on success, anything else refuses with that status (codes
/// outside 100-599 become 500).
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

impl tree::NodeHandler for CNode {
    fn stores_values(&self, _node: &CoreRef<'_>) -> bool {
        self.h.read.is_some() || self.h.write.is_some()
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
        let write = self.h.write.ok_or(StatusCode::CommandNotAllowed)?;
        // SAFETY: `value` is valid for reads of its length during the call.
        let code = with_ref(node, |r| unsafe {
            write(self.h.user, r, value.as_ptr(), value.len())
        });
        ok_or_status(code)
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

//! [`Cdma`]: the node handler that serves `./CDMA`, joining the parameter checks, the
//! roaming list store and the service lock to the tree.

use core::cell::RefCell;

use embedded_storage::nor_flash::NorFlash;

use super::lock::{LockError, ServiceLock};
use super::params::{Limits, Param};
use super::prl::{PrlCheck, PrlKind, MAX_PRL_LEN};
use super::spasm::SpasmAuthenticator;
use super::store::{PrlList, PrlStore};
use crate::codes::StatusCode;
use crate::limits::SPASM_CHALLENGE_LEN;
use crate::platform::Clock;
use crate::schema::{NodeId, Schema, NO_NODE, ROOT};
use crate::tree::{ExecOutcome, NodeHandler, NodeRef};

/// Leaves under `./CDMA/NAM/<x>` whose values the tree keeps, and their checks.
const NAM_PARAMS: [(&str, Param); 27] = [
    ("IMSI_M/MCC", Param::Mcc),
    ("IMSI_M/IMSI_11_12", Param::Imsi1112),
    ("IMSI_M/IMSI_S", Param::ImsiS),
    ("IMSI_T/MCC", Param::Mcc),
    ("IMSI_T/IMSI_11_12", Param::Imsi1112),
    ("IMSI_T/IMSI_S", Param::ImsiS),
    ("MDN", Param::Mdn),
    ("ACCOLC", Param::Accolc),
    ("HOME_SID", Param::Sid),
    ("HOME_NID", Param::Nid),
    ("SID_NID/<x>/SID", Param::Sid),
    ("SID_NID/<x>/NID", Param::Nid),
    ("MOB_TERM_HOME", Param::Flag),
    ("MOB_TERM_FOR_SID", Param::Flag),
    ("MOB_TERM_FOR_NID", Param::Flag),
    ("SCM", Param::Scm),
    ("SLOT_CYCLE_INDEX", Param::SlotCycleIndex),
    ("3GPD/SimpleIP/NAI", Param::Nai),
    ("3GPD/SimpleIP/CHAP_SS", Param::Secret),
    ("3GPD/MobileIP/NAI", Param::Nai),
    ("3GPD/MobileIP/HOME_ADDR", Param::Ipv4),
    ("3GPD/MobileIP/PRI_HA_ADDR", Param::Ipv4),
    ("3GPD/MobileIP/SEC_HA_ADDR", Param::Ipv4),
    ("3GPD/MobileIP/MN_HA_SPI", Param::Spi),
    ("3GPD/MobileIP/MN_AAA_SPI", Param::Spi),
    ("3GPD/MobileIP/MN_HA_SS", Param::Secret),
    ("3GPD/MobileIP/MN_AAA_SS", Param::Secret),
];

/// The node at `path` below `from` (`<x>` names a placeholder), or [`NO_NODE`].
fn resolve(schema: &Schema, from: NodeId, path: &str) -> NodeId {
    let mut id = from;
    for seg in path.split('/') {
        let next = if seg == "<x>" {
            schema.placeholder_child(id)
        } else {
            schema.child(id, seg)
        };
        match next {
            Some(n) => id = n,
            None => return NO_NODE,
        }
    }
    id
}

/// The `./CDMA` nodes the handler treats specially, found once in the static table.
#[derive(Debug, Clone, Copy)]
struct Nodes {
    /// `./CDMA/NAM/<x>`: everything below it is protected by the lock.
    nam: NodeId,
    nam_end: NodeId,
    params: [(NodeId, Param); NAM_PARAMS.len()],
    prl: NodeId,
    ext_prl: NodeId,
    unlock: NodeId,
    spc: NodeId,
    state: NodeId,
    nam_lock: NodeId,
    challenge: NodeId,
    validate: NodeId,
}

impl Nodes {
    fn find(schema: &Schema) -> Nodes {
        let resolve = |from, path| resolve(schema, from, path);
        let cdma = resolve(ROOT, "CDMA");
        let nam = resolve(cdma, "NAM/<x>");
        let nam_end = schema.node(nam).map_or(NO_NODE, |n| n.subtree_end());
        let mut params = [(NO_NODE, Param::Flag); NAM_PARAMS.len()];
        for (slot, (path, param)) in params.iter_mut().zip(NAM_PARAMS) {
            *slot = (resolve(nam, path), param);
        }
        Nodes {
            nam,
            nam_end,
            params,
            prl: resolve(nam, "PRL"),
            ext_prl: resolve(nam, "EXT_PRL"),
            unlock: resolve(cdma, "SPL/Unlock"),
            spc: resolve(cdma, "SPL/SPC"),
            state: resolve(cdma, "SPL/State"),
            nam_lock: resolve(cdma, "SPASM/NAM_LOCK"),
            challenge: resolve(cdma, "SPASM/Challenge"),
            validate: resolve(cdma, "SPASM/Validate"),
        }
    }

    fn param(&self, def: NodeId) -> Option<Param> {
        if def == NO_NODE {
            return None;
        }
        self.params.iter().find(|(d, _)| *d == def).map(|&(_, p)| p)
    }

    /// Whether `def` lies below a NAM (the NAM itself included).
    fn in_nam(&self, def: NodeId) -> bool {
        self.nam != NO_NODE && def >= self.nam && def < self.nam_end
    }

    fn prl_kind(&self, def: NodeId) -> Option<PrlKind> {
        if def == NO_NODE {
            None
        } else if def == self.prl {
            Some(PrlKind::Prl)
        } else if def == self.ext_prl {
            Some(PrlKind::Extended)
        } else {
            None
        }
    }
}

/// The list a PRL node's path names: `CDMA/NAM/<name>/PRL`.
fn list_of<'p>(node: &NodeRef<'p>, kind: PrlKind) -> Result<PrlList<'p>, StatusCode> {
    let nam = node.path.split('/').nth(2).ok_or(StatusCode::NotFound)?;
    Ok(PrlList { nam, kind })
}

/// Copies `value` from `offset` into `out`: bytes copied and the whole length.
fn serve(value: &[u8], offset: usize, out: &mut [u8]) -> (usize, usize) {
    let from = value.get(offset..).unwrap_or(&[]);
    let n = from.len().min(out.len());
    if let (Some(dst), Some(src)) = (out.get_mut(..n), from.get(..n)) {
        dst.copy_from_slice(src);
    }
    (n, value.len())
}

/// The node handler of `./CDMA`. Bind it to the `./CDMA` node; it serves the whole
/// subtree:
///
/// - checks every NAM parameter the tree stores ([`Param`]), and keeps shared secrets
///   and the SPC from being read by any server;
/// - streams the PRL and extended PRL to the [`PrlStore`], checking size and CRC on the
///   way, and puts a list in force only if it passes;
/// - refuses, with the lock's status, any server change under a NAM unless the server
///   unlocked the SPL in the session (and validated SPASM, while the NAM lock is set);
/// - runs `SPL/Unlock` and `SPASM/Validate`, and serves `SPL/State` and
///   `SPASM/Challenge`;
/// - refuses inside an `Atomic` the values it keeps itself (roaming lists, the SPC, the
///   NAM lock), which a rollback could not restore (406);
/// - ends the session's grants when the session ends.
///
/// Wiring it up: the lock is shared (through a `RefCell`) between this handler and the
/// FUMO firmware gate.
///
/// ```
/// use core::cell::RefCell;
/// use iotadm::cdma::{Cdma, FlashPrlStore, HmacSpasm, Limits, Policy, ServiceLock};
/// use iotadm::flash::MemFlash;
/// use iotadm::fumo::FirmwareGate;
/// use iotadm::platform::{NoClock, Rng};
/// use iotadm::schema::STANDARD;
/// use iotadm::tree::{HandlerTable, NodeHandler, Principal, Tree, TreeStorage, UriLimits};
///
/// # struct HwRng;
/// # impl Rng for HwRng { fn fill_bytes(&mut self, d: &mut [u8]) { d.fill(7) } }
/// # fn flash(size: usize) -> MemFlash<Vec<u8>, 1024, 8> {
/// #     let mut f = MemFlash::new(vec![0; size]); f.erase_all(); f
/// # }
/// // Three flash regions: the lock's log, the roaming lists, the tree.
/// let auth = HmacSpasm::new([0x42; 32], HwRng);
/// let lock = RefCell::new(ServiceLock::mount(flash(2048), auth, NoClock, Policy::default())?);
/// let lists = FlashPrlStore::new(flash(16 * 1024), 1)?;
/// let mut cdma = Cdma::new(&STANDARD, &lock, lists, Limits::default());
///
/// let node = STANDARD.find("./CDMA").unwrap();
/// let table = HandlerTable::new([(node, &mut cdma as &mut dyn NodeHandler)]);
/// let mut storage = TreeStorage::<128, 8192, 512>::new();
/// let mut tree = Tree::mount(&mut storage, &STANDARD, flash(32 * 1024), table, UriLimits::DEFAULT)?;
///
/// // The factory creates NAM 0 and sets the SPC; the device is never gated.
/// tree.add(Principal::Device, "./CDMA/NAM/0", None, None, None).unwrap();
/// tree.replace(Principal::Device, "./CDMA/SPL/SPC", b"246810", None, None).unwrap();
///
/// // A server must unlock first: FOTA-2 holds for the firmware gate too.
/// let srv = Principal::Server("srv1");
/// let mut gate = &lock;
/// assert!(gate.allow_update(Some("srv1")).is_err());
/// tree.exec(srv, "./CDMA/SPL/Unlock", b"246810", None).unwrap();
/// assert!(gate.allow_update(Some("srv1")).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Cdma<'l, F, A, C, P> {
    lock: &'l RefCell<ServiceLock<F, A, C>>,
    prl: P,
    limits: Limits,
    nodes: Nodes,
    in_atomic: bool,
    /// The roaming list being received.
    incoming: Option<PrlCheck>,
}

impl<F, A, C, P> core::fmt::Debug for Cdma<'_, F, A, C, P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cdma")
            .field("limits", &self.limits)
            .field("in_atomic", &self.in_atomic)
            .field("receiving_list", &self.incoming.is_some())
            .finish_non_exhaustive()
    }
}

impl<'l, F: NorFlash, A: SpasmAuthenticator, C: Clock, P: PrlStore> Cdma<'l, F, A, C, P> {
    /// A handler over the shared `lock` and the roaming list store `prl`, for the `./CDMA`
    /// object of `schema` (the one the tree is mounted with; a schema without the object
    /// leaves the handler bound to no node).
    pub fn new(
        schema: &Schema,
        lock: &'l RefCell<ServiceLock<F, A, C>>,
        prl: P,
        limits: Limits,
    ) -> Self {
        Cdma {
            lock,
            prl,
            limits,
            nodes: Nodes::find(schema),
            in_atomic: false,
            incoming: None,
        }
    }

    /// The roaming list store (the baseband reads the lists in force through it).
    pub fn prl_store(&mut self) -> &mut P {
        &mut self.prl
    }

    /// Gives the roaming list store back.
    pub fn into_prl_store(self) -> P {
        self.prl
    }

    fn with_lock<T>(
        &self,
        f: impl FnOnce(&mut ServiceLock<F, A, C>) -> Result<T, LockError>,
    ) -> Result<T, StatusCode> {
        let mut lock = self
            .lock
            .try_borrow_mut()
            .map_err(|_| LockError::Busy.status())?;
        f(&mut lock).map_err(LockError::status)
    }

    fn handler_stored(&self, def: NodeId) -> bool {
        def != NO_NODE
            && (self.nodes.prl_kind(def).is_some()
                || [
                    self.nodes.spc,
                    self.nodes.state,
                    self.nodes.nam_lock,
                    self.nodes.challenge,
                ]
                .contains(&def))
    }

    fn drop_incoming(&mut self) {
        if self.incoming.take().is_some() {
            self.prl.abort();
        }
    }
}

impl<F: NorFlash, A: SpasmAuthenticator, C: Clock, P: PrlStore> NodeHandler
    for Cdma<'_, F, A, C, P>
{
    fn stores_values(&self, node: &NodeRef<'_>) -> bool {
        self.handler_stored(node.def)
    }

    fn check(&mut self, node: &NodeRef<'_>, value: &[u8]) -> Result<(), StatusCode> {
        match self.nodes.param(node.def) {
            Some(param) => param.check(value, &self.limits).map_err(|e| e.status()),
            None => Ok(()),
        }
    }

    fn read(
        &mut self,
        node: &NodeRef<'_>,
        offset: usize,
        out: &mut [u8],
    ) -> Result<(usize, usize), StatusCode> {
        let def = node.def;
        if let Some(kind) = self.nodes.prl_kind(def) {
            let list = list_of(node, kind)?;
            return self.prl.read(list, offset, out).map_err(|e| e.status());
        }
        if def == self.nodes.state {
            let server = node.server.unwrap_or("");
            let state = self.with_lock(|l| Ok(l.state(server)))?;
            return Ok(serve(state.as_str().as_bytes(), offset, out));
        }
        if def == self.nodes.nam_lock {
            let on = self.with_lock(|l| Ok(l.nam_lock()))?;
            let text: &[u8] = if on { b"true" } else { b"false" };
            return Ok(serve(text, offset, out));
        }
        if def == self.nodes.challenge {
            let server = node.server.ok_or(StatusCode::CommandNotAllowed)?;
            let mut hex = [0u8; 2 * SPASM_CHALLENGE_LEN];
            let len = self.with_lock(|l| {
                let challenge = l.challenge(server)?;
                for (pair, b) in hex.chunks_exact_mut(2).zip(challenge) {
                    let digit = |n: u8| b"0123456789abcdef".get(usize::from(n)).copied();
                    if let (Some(h), Some(lo)) = (digit(b >> 4), digit(b & 0xF)) {
                        pair.copy_from_slice(&[h, lo]);
                    }
                }
                Ok(challenge.len() * 2)
            })?;
            return Ok(serve(hex.get(..len).unwrap_or(&[]), offset, out));
        }
        // The SPC is never read back, not even by the device: the lock compares it.
        Err(StatusCode::CommandNotAllowed)
    }

    fn allow_read(&mut self, node: &NodeRef<'_>) -> Result<(), StatusCode> {
        let secret = self.nodes.param(node.def).is_some_and(Param::is_secret);
        if node.server.is_some() && (secret || node.def == self.nodes.spc) {
            return Err(StatusCode::CommandNotAllowed);
        }
        Ok(())
    }

    fn allow_change(&mut self, node: &NodeRef<'_>) -> Result<(), StatusCode> {
        let Some(server) = node.server else {
            return Ok(());
        };
        let def = node.def;
        if def == self.nodes.spc {
            return self.with_lock(|l| {
                if l.is_unlocked(server) {
                    Ok(())
                } else {
                    Err(LockError::NotUnlocked)
                }
            });
        }
        if def == self.nodes.nam_lock || self.nodes.in_nam(def) {
            return self.with_lock(|l| l.may_program(Some(server)));
        }
        Ok(())
    }

    fn write(&mut self, node: &NodeRef<'_>, value: &[u8]) -> Result<(), StatusCode> {
        let def = node.def;
        if self.nodes.prl_kind(def).is_some() {
            self.begin_write(node, Some(value.len() as u64))?;
            let written = self.write_chunk(node, 0, value);
            self.end_write(node, written.is_ok())?;
            return written;
        }
        if self.in_atomic && (def == self.nodes.spc || def == self.nodes.nam_lock) {
            return Err(StatusCode::OptionalFeatureNotSupported);
        }
        if def == self.nodes.spc {
            return self.with_lock(|l| l.set_spc(node.server, value));
        }
        if def == self.nodes.nam_lock {
            let on = match value {
                b"true" => true,
                b"false" => false,
                _ => return Err(StatusCode::BadRequest),
            };
            return self.with_lock(|l| l.set_nam_lock(node.server, on));
        }
        Err(StatusCode::CommandNotAllowed)
    }

    fn begin_write(&mut self, node: &NodeRef<'_>, total: Option<u64>) -> Result<(), StatusCode> {
        let Some(kind) = self.nodes.prl_kind(node.def) else {
            // The SPC and the NAM lock are a few bytes: never a large object.
            return Err(StatusCode::OptionalFeatureNotSupported);
        };
        if self.in_atomic {
            return Err(StatusCode::OptionalFeatureNotSupported);
        }
        if total.is_some_and(|t| t > MAX_PRL_LEN as u64) {
            return Err(StatusCode::RequestEntityTooLarge);
        }
        self.drop_incoming();
        let list = list_of(node, kind)?;
        // At most MAX_PRL_LEN.
        let total = total.map(|t| t as u32);
        self.prl.begin(list, total).map_err(|e| e.status())?;
        self.incoming = Some(PrlCheck::new(kind));
        Ok(())
    }

    fn write_chunk(
        &mut self,
        _node: &NodeRef<'_>,
        offset: u64,
        chunk: &[u8],
    ) -> Result<(), StatusCode> {
        let check = self.incoming.as_mut().ok_or(StatusCode::CommandFailed)?;
        if offset != u64::from(check.received()) {
            self.drop_incoming();
            return Err(StatusCode::CommandFailed);
        }
        if let Err(e) = check.update(chunk) {
            self.drop_incoming();
            return Err(e.status());
        }
        // Below MAX_PRL_LEN, checked by `update`.
        if let Err(e) = self.prl.write(offset as u32, chunk) {
            self.drop_incoming();
            return Err(e.status());
        }
        Ok(())
    }

    fn end_write(&mut self, _node: &NodeRef<'_>, commit: bool) -> Result<(), StatusCode> {
        let Some(check) = self.incoming.take() else {
            return if commit {
                Err(StatusCode::CommandFailed)
            } else {
                Ok(())
            };
        };
        if !commit {
            self.prl.abort();
            return Ok(());
        }
        match check.finish() {
            Ok(header) => {
                self.prl.commit().map_err(|e| e.status())?;
                info!("cdma: roaming list {} in force", header.id);
                Ok(())
            }
            Err(e) => {
                self.prl.abort();
                warn!("cdma: roaming list refused");
                Err(e.status())
            }
        }
    }

    fn exec(
        &mut self,
        node: &NodeRef<'_>,
        data: &[u8],
        _correlator: Option<&str>,
    ) -> Result<ExecOutcome, StatusCode> {
        let server = node.server.ok_or(StatusCode::CommandNotAllowed)?;
        let def = node.def;
        if def == self.nodes.unlock {
            self.with_lock(|l| l.unlock(server, data))?;
        } else if def == self.nodes.validate {
            self.with_lock(|l| l.validate_spasm(server, data))?;
        } else {
            return Err(StatusCode::CommandNotAllowed);
        }
        Ok(ExecOutcome::Done)
    }

    fn session_ended(&mut self) {
        self.drop_incoming();
        if let Ok(mut lock) = self.lock.try_borrow_mut() {
            lock.session_ended();
        }
    }

    fn atomic_started(&mut self) {
        self.in_atomic = true;
    }

    fn atomic_ended(&mut self) {
        self.in_atomic = false;
    }
}

//! The service programming lock (SPL, C.S0016 §3.3.6) and the SPASM state (§3.3.7): who
//! may program the handset in this session, and what survives a reboot.
//!
//! Service programming is locked until a server presents the 6-digit service programming
//! code (SPC) in the session. Wrong codes are counted in flash; after
//! [`Policy::max_failures`] in a row each further wrong code locks the handset out for a
//! back-off that doubles with every failure, up to [`Policy::max_backoff_secs`]. An
//! attempt is counted *before* the code is compared, so cutting power after a wrong guess
//! never saves the guess from being counted. While the NAM lock is set, programming also
//! needs SPASM: the server answers a challenge through the [`SpasmAuthenticator`]; wrong
//! answers count like wrong codes. Everything granted ends with the session.
//!
//! The persisted part (the SPC, the failure count and lockout, the NAM lock) lives in a
//! small log on its own flash region, two banks of at least one erase sector each, written
//! by the same power-safe store the tree uses: after a power cut it holds the state from
//! before the interrupted change or from after it.
//!
//! This module never touches the tree or the wire; [`Cdma`](super::Cdma) is what connects
//! it to nodes, and [`FirmwareGate`] to FUMO.

use core::cell::RefCell;
use core::fmt;

use embedded_storage::nor_flash::NorFlash;
use heapless::{String, Vec};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::params::Spc;
use super::spasm::SpasmAuthenticator;
use crate::codes::StatusCode;
use crate::fumo::FirmwareGate;
use crate::limits::{LOCK_SERVER_ID_LEN, SPASM_CHALLENGE_LEN};
use crate::platform::Clock;
use crate::tree::store::{Store, StoreError};

/// The record kind of the lock's state in its store.
const KIND_STATE: u8 = 0x21;
/// The payload format of the lock's log (its state records).
const LOCK_FORMAT: u16 = 1;
/// Record buffer: the state record with room for flash write units up to 128 bytes.
const SCRATCH: usize = 256;

/// How the lock behaves: attempts, back-off, and what FUMO must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Policy {
    /// Wrong codes (or SPASM answers) in a row before the first lockout (at least 1).
    pub max_failures: u16,
    /// The first lockout, in seconds; each further failure doubles it.
    pub backoff_secs: u32,
    /// The longest lockout, in seconds.
    pub max_backoff_secs: u32,
    /// Whether a server may change the SPC (C.S0016 lets the user forbid it).
    pub spc_change_allowed: bool,
    /// FOTA-2: a firmware update needs the SPL unlocked in the session.
    pub firmware_needs_spl: bool,
    /// FOTA-3: a firmware update needs SPASM validated in the session while the NAM lock
    /// is set.
    pub firmware_needs_spasm: bool,
}

impl Default for Policy {
    /// Five tries, then a minute's lockout doubling up to a day; SPC changes allowed;
    /// firmware updates gated like NAM programming.
    fn default() -> Self {
        Policy {
            max_failures: 5,
            backoff_secs: 60,
            max_backoff_secs: 86_400,
            spc_change_allowed: true,
            firmware_needs_spl: true,
            firmware_needs_spasm: true,
        }
    }
}

/// What a server sees of the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LockState {
    /// Service programming is locked for this server.
    Locked,
    /// This server presented the SPC in this session.
    Unlocked,
    /// Too many wrong codes: no code is taken until the back-off ends.
    LockedOut,
}

impl LockState {
    /// The value of the `State` node.
    pub fn as_str(self) -> &'static str {
        match self {
            LockState::Locked => "Locked",
            LockState::Unlocked => "Unlocked",
            LockState::LockedOut => "LockedOut",
        }
    }
}

/// Why the lock refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LockError {
    /// The code is not six decimal digits (not counted as an attempt).
    Malformed,
    /// The code is wrong (counted).
    WrongCode,
    /// Locked out after too many wrong codes; the back-off has not ended (or the time is
    /// not known).
    LockedOut,
    /// Service programming is locked: the server has not presented the SPC.
    NotUnlocked,
    /// The NAM lock is set and the server has not validated SPASM.
    SpasmRequired,
    /// The policy forbids changing the SPC.
    SpcChangeDenied,
    /// A SPASM answer came before any challenge was issued in the session.
    NoChallenge,
    /// The SPASM answer is wrong (counted).
    InvalidSpasm,
    /// The server id is longer than [`LOCK_SERVER_ID_LEN`].
    ServerId,
    /// The lock is in use (a re-entrant call through a shared reference).
    Busy,
    /// The lock's flash store failed; nothing changed.
    Store(StoreError),
}

impl LockError {
    /// The DM status of the refused command.
    pub fn status(self) -> StatusCode {
        match self {
            LockError::Malformed | LockError::ServerId => StatusCode::BadRequest,
            LockError::WrongCode | LockError::InvalidSpasm => StatusCode::InvalidCredentials,
            LockError::LockedOut => StatusCode::ServiceUnavailable,
            LockError::NotUnlocked | LockError::SpasmRequired => StatusCode::PermissionDenied,
            LockError::SpcChangeDenied | LockError::NoChallenge => StatusCode::Forbidden,
            LockError::Busy => StatusCode::CommandFailed,
            LockError::Store(_) => StatusCode::DataStoreFailure,
        }
    }
}

impl From<StoreError> for LockError {
    fn from(e: StoreError) -> Self {
        LockError::Store(e)
    }
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Malformed => f.write_str("the SPC is six decimal digits"),
            LockError::WrongCode => f.write_str("wrong service programming code"),
            LockError::LockedOut => f.write_str("locked out after too many wrong codes"),
            LockError::NotUnlocked => f.write_str("service programming is locked"),
            LockError::SpasmRequired => f.write_str("the NAM lock needs SPASM validated"),
            LockError::SpcChangeDenied => f.write_str("SPC changes are not allowed"),
            LockError::NoChallenge => f.write_str("no SPASM challenge in this session"),
            LockError::InvalidSpasm => f.write_str("wrong SPASM answer"),
            LockError::ServerId => f.write_str("server id too long"),
            LockError::Busy => f.write_str("service lock in use"),
            LockError::Store(e) => write!(f, "service lock store: {e}"),
        }
    }
}

impl core::error::Error for LockError {}

/// The state kept across reboots. Fields are only ever added at the end, with defaults,
/// so that older records still read.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Persisted {
    spc: [u8; 6],
    /// Wrong codes and SPASM answers since the last right one.
    failures: u16,
    /// Unix time the lockout ends; 0 when none.
    locked_until: u64,
    /// A lockout begun while the time was unknown: it lasts this long from when the
    /// time is first known.
    pending_secs: u32,
    nam_lock: bool,
}

impl Default for Persisted {
    fn default() -> Self {
        Persisted {
            spc: *Spc::DEFAULT.as_bytes(),
            failures: 0,
            locked_until: 0,
            pending_secs: 0,
            nam_lock: false,
        }
    }
}

/// What one server was granted in this session.
#[derive(Default)]
struct Grant {
    server: String<LOCK_SERVER_ID_LEN>,
    spl: bool,
    spasm: bool,
    challenge: Vec<u8, SPASM_CHALLENGE_LEN>,
}

/// The service programming lock and SPASM state of a handset. See the module docs.
///
/// Share it between the [`Cdma`](super::Cdma) node handler and the FUMO firmware gate
/// through a `RefCell`: `&RefCell<ServiceLock<…>>` is a [`FirmwareGate`].
pub struct ServiceLock<F, A, C> {
    store: Store<F>,
    scratch: [u8; SCRATCH],
    state: Persisted,
    /// The store's tail may hold a torn record: rewrite it before appending.
    damaged: bool,
    policy: Policy,
    auth: A,
    clock: C,
    grant: Grant,
}

impl<F, A, C> fmt::Debug for ServiceLock<F, A, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceLock")
            .field("failures", &self.state.failures)
            .field("locked_until", &self.state.locked_until)
            .field("nam_lock", &self.state.nam_lock)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<F: NorFlash, A: SpasmAuthenticator, C: Clock> ServiceLock<F, A, C> {
    /// Mounts the lock on its flash region (formatting an empty one), restoring the SPC,
    /// failure count, lockout and NAM lock. A handset fresh from the factory has the SPC
    /// `000000`, no failures and the NAM lock off.
    pub fn mount(flash: F, auth: A, clock: C, policy: Policy) -> Result<Self, LockError> {
        let mut scratch = [0u8; SCRATCH];
        let mut store = Store::closed(flash, LOCK_FORMAT);
        store.open(&mut scratch)?;
        let mut state = Persisted::default();
        let replayed = store.replay(&mut scratch, |rec| {
            if rec.kind == KIND_STATE {
                // A record that does not decode is from a newer layout: keep the last known.
                if let Ok(s) = postcard::from_bytes::<Persisted>(rec.payload) {
                    state = s;
                }
            }
            Ok(())
        })?;
        Ok(ServiceLock {
            store,
            scratch,
            state,
            damaged: replayed.damaged || replayed.dangling.is_some(),
            policy: Policy {
                max_failures: policy.max_failures.max(1),
                ..policy
            },
            auth,
            clock,
            grant: Grant::default(),
        })
    }

    /// Unmounts the lock, giving back its flash, authenticator and clock.
    pub fn into_parts(self) -> (F, A, C) {
        (self.store.into_flash(), self.auth, self.clock)
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Wrong codes and SPASM answers since the last right one.
    pub fn failures(&self) -> u16 {
        self.state.failures
    }

    /// Whether SPASM protects the NAMs.
    pub fn nam_lock(&self) -> bool {
        self.state.nam_lock
    }

    /// The lock as `server` sees it now.
    pub fn state(&self, server: &str) -> LockState {
        if self.locked_out(self.clock.unix_time()) {
            LockState::LockedOut
        } else if self.granted(server).is_some_and(|g| g.spl) {
            LockState::Unlocked
        } else {
            LockState::Locked
        }
    }

    /// Whether `server` unlocked service programming in this session.
    pub fn is_unlocked(&self, server: &str) -> bool {
        self.granted(server).is_some_and(|g| g.spl)
    }

    /// Whether `server` validated SPASM in this session.
    pub fn is_spasm_validated(&self, server: &str) -> bool {
        self.granted(server).is_some_and(|g| g.spasm)
    }

    /// May `server` (`None`: the device itself, never refused) change NAM parameters now?
    pub fn may_program(&self, server: Option<&str>) -> Result<(), LockError> {
        let Some(server) = server else {
            return Ok(());
        };
        let grant = self.granted(server);
        if !grant.is_some_and(|g| g.spl) {
            return Err(LockError::NotUnlocked);
        }
        if self.state.nam_lock && !grant.is_some_and(|g| g.spasm) {
            return Err(LockError::SpasmRequired);
        }
        Ok(())
    }

    /// May `server` start a firmware update now? FOTA-2 and FOTA-3, as the policy says.
    pub fn may_update_firmware(&self, server: Option<&str>) -> Result<(), LockError> {
        let Some(server) = server else {
            return Ok(());
        };
        if self.policy.firmware_needs_spl && !self.is_unlocked(server) {
            return Err(LockError::NotUnlocked);
        }
        if self.policy.firmware_needs_spasm
            && self.state.nam_lock
            && !self.is_spasm_validated(server)
        {
            return Err(LockError::SpasmRequired);
        }
        Ok(())
    }

    /// `server` presents `code`. Right, and service programming is unlocked for `server`
    /// until the session ends; wrong, and the failure is counted (and may start a
    /// lockout). Nothing is taken while locked out.
    pub fn unlock(&mut self, server: &str, code: &[u8]) -> Result<(), LockError> {
        self.admit(server)?;
        let spc = Spc::try_from(code).map_err(|_| LockError::Malformed)?;
        let stored = self.state.spc;
        self.attempt(|_| bool::from(spc.as_bytes().ct_eq(&stored)))?;
        self.grant.spl = true;
        info!("cdma: service programming unlocked");
        Ok(())
    }

    /// Sets the SPC. The device (`server` `None`) always may; a server only in a session
    /// it unlocked, and only if the policy allows SPC changes.
    pub fn set_spc(&mut self, server: Option<&str>, code: &[u8]) -> Result<(), LockError> {
        let spc = Spc::try_from(code).map_err(|_| LockError::Malformed)?;
        if let Some(server) = server {
            if !self.is_unlocked(server) {
                return Err(LockError::NotUnlocked);
            }
            if !self.policy.spc_change_allowed {
                return Err(LockError::SpcChangeDenied);
            }
        }
        self.persist(Persisted {
            spc: *spc.as_bytes(),
            ..self.state
        })
    }

    /// Sets or clears the NAM lock (SPASM protection). A server needs the same rights as
    /// for changing a NAM parameter.
    pub fn set_nam_lock(&mut self, server: Option<&str>, on: bool) -> Result<(), LockError> {
        self.may_program(server)?;
        if self.state.nam_lock == on {
            return Ok(());
        }
        self.persist(Persisted {
            nam_lock: on,
            ..self.state
        })
    }

    /// The SPASM challenge for `server` in this session, drawn when first asked for.
    pub fn challenge(&mut self, server: &str) -> Result<&[u8], LockError> {
        self.grant_for(server)?;
        if self.grant.challenge.is_empty() {
            let mut buf = [0u8; SPASM_CHALLENGE_LEN];
            let n = self.auth.challenge(&mut buf).min(SPASM_CHALLENGE_LEN);
            self.grant.challenge.clear();
            // At most the capacity.
            let _ = self
                .grant
                .challenge
                .extend_from_slice(buf.get(..n).unwrap_or(&[]));
        }
        Ok(&self.grant.challenge)
    }

    /// `server` answers the session's challenge. Right, and SPASM is validated for
    /// `server` until the session ends; wrong, and the failure is counted like a wrong
    /// code. A challenge is answered once: the next try needs a fresh one.
    pub fn validate_spasm(&mut self, server: &str, answer: &[u8]) -> Result<(), LockError> {
        self.admit(server)?;
        if self.grant.challenge.is_empty() {
            return Err(LockError::NoChallenge);
        }
        let challenge = core::mem::take(&mut self.grant.challenge);
        let result = self.attempt(|auth| auth.verify(server, &challenge, answer));
        match result {
            Ok(()) => {
                self.grant.spasm = true;
                info!("cdma: SPASM validated");
                Ok(())
            }
            Err(LockError::WrongCode) => Err(LockError::InvalidSpasm),
            Err(e) => Err(e),
        }
    }

    /// The session ended: every grant ends, and the next session starts locked.
    pub fn session_ended(&mut self) {
        self.grant = Grant::default();
    }

    /// Ends a lockout and forgets past failures: for the device, e.g. after the user
    /// proved themselves at a service centre. Servers cannot.
    pub fn clear_lockout(&mut self) -> Result<(), LockError> {
        self.persist(Persisted {
            failures: 0,
            locked_until: 0,
            pending_secs: 0,
            ..self.state
        })
    }

    // --- internals ------------------------------------------------------------------

    fn granted(&self, server: &str) -> Option<&Grant> {
        (self.grant.server.as_str() == server && !server.is_empty()).then_some(&self.grant)
    }

    /// The grant of `server`, started afresh if the session's grant is another's.
    fn grant_for(&mut self, server: &str) -> Result<(), LockError> {
        if server.is_empty() {
            return Err(LockError::ServerId);
        }
        if self.grant.server.as_str() != server {
            let mut name = String::new();
            name.push_str(server).map_err(|_| LockError::ServerId)?;
            self.grant = Grant {
                server: name,
                ..Grant::default()
            };
        }
        Ok(())
    }

    /// Whether a lockout holds at `now`.
    fn locked_out(&self, now: Option<u64>) -> bool {
        if self.state.pending_secs > 0 {
            return true;
        }
        match (self.state.locked_until, now) {
            (0, _) => false,
            (_, None) => true,
            (until, Some(now)) => now < until,
        }
    }

    /// Takes `server` for an attempt, unless locked out. A lockout begun while the time
    /// was unknown starts counting now that it is known; one that ends further away than
    /// the longest back-off (the clock went back) is cut to it.
    fn admit(&mut self, server: &str) -> Result<(), LockError> {
        self.grant_for(server)?;
        let now = self.clock.unix_time();
        if let Some(now) = now {
            let max_end = now.saturating_add(u64::from(self.policy.max_backoff_secs));
            let mut s = self.state;
            if s.pending_secs > 0 {
                s.locked_until = now.saturating_add(u64::from(s.pending_secs));
                s.pending_secs = 0;
            }
            if s.locked_until > max_end {
                s.locked_until = max_end;
            }
            if s != self.state {
                self.persist(s)?;
            }
        }
        if self.locked_out(now) {
            return Err(LockError::LockedOut);
        }
        Ok(())
    }

    /// One try at a credential. The try is first recorded as a failure (with the lockout
    /// it earns); only then is `right` asked, and a right answer clears the record.
    fn attempt(&mut self, right: impl FnOnce(&mut A) -> bool) -> Result<(), LockError> {
        let failures = self.record_failure()?;
        let right = right(&mut self.auth);
        self.settle(failures, right)
    }

    /// The first half of [`attempt`](Self::attempt), kept out of its copies (one per
    /// credential): records the try as a failure, and returns the failures in a row.
    fn record_failure(&mut self) -> Result<u16, LockError> {
        let failures = self.state.failures.saturating_add(1);
        let mut failed = Persisted {
            failures,
            ..self.state
        };
        if failures >= self.policy.max_failures {
            let doublings = (failures - self.policy.max_failures).min(32);
            let secs = (u64::from(self.policy.backoff_secs) << doublings)
                .min(u64::from(self.policy.max_backoff_secs));
            match self.clock.unix_time() {
                Some(now) => failed.locked_until = now.saturating_add(secs),
                // Counted from when the time is known; `secs` is at most a u32 value.
                None => failed.pending_secs = u32::try_from(secs).unwrap_or(u32::MAX),
            }
        }
        self.persist(failed)?;
        Ok(failures)
    }

    /// The second half of [`attempt`](Self::attempt): a right answer clears the record.
    fn settle(&mut self, failures: u16, right: bool) -> Result<(), LockError> {
        if !right {
            warn!("cdma: wrong credential, {} in a row", failures);
            return Err(LockError::WrongCode);
        }
        self.persist(Persisted {
            failures: 0,
            locked_until: 0,
            pending_secs: 0,
            ..self.state
        })
    }

    /// Writes `next` to flash, then makes it the state.
    fn persist(&mut self, next: Persisted) -> Result<(), LockError> {
        let start = Store::<F>::payload_start();
        let room = Store::<F>::payload_room(SCRATCH);
        let encode = |buf: &mut [u8]| -> Result<usize, StoreError> {
            let dst = buf.get_mut(start..start + room).ok_or(StoreError::Full)?;
            postcard::to_slice(&next, dst)
                .map(|used| used.len())
                .map_err(|_| StoreError::Full)
        };
        let len = encode(&mut self.scratch)?;
        let result = if self.damaged || self.store.free() < Store::<F>::record_size(len) {
            // The new state alone, into the other bank.
            let mut written = false;
            self.store.compact(&mut self.scratch, |buf| {
                if written {
                    return Ok(None);
                }
                written = true;
                Ok(Some((KIND_STATE, encode(buf)?)))
            })
        } else {
            self.store.append(&mut self.scratch, KIND_STATE, len)
        };
        match result {
            Ok(()) => {
                self.state = next;
                self.damaged = false;
                Ok(())
            }
            Err(e) => {
                // Whatever reached flash, the old state is what a restart may find.
                self.damaged = true;
                Err(LockError::Store(e))
            }
        }
    }
}

impl<F: NorFlash, A: SpasmAuthenticator, C: Clock> FirmwareGate for ServiceLock<F, A, C> {
    fn allow_update(&mut self, server: Option<&str>) -> Result<(), StatusCode> {
        self.may_update_firmware(server).map_err(LockError::status)
    }
}

impl<F: NorFlash, A: SpasmAuthenticator, C: Clock> FirmwareGate for &RefCell<ServiceLock<F, A, C>> {
    fn allow_update(&mut self, server: Option<&str>) -> Result<(), StatusCode> {
        let lock = self.try_borrow().map_err(|_| LockError::Busy.status())?;
        lock.may_update_firmware(server).map_err(LockError::status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdma::HmacSpasm;
    use crate::flash::MemFlash;
    use core::cell::Cell;

    type Mem = MemFlash<std::vec::Vec<u8>, 256, 8>;

    struct Counter(u8);
    impl crate::platform::Rng for Counter {
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
        }
    }

    struct At<'c>(&'c Cell<Option<u64>>);
    impl Clock for At<'_> {
        fn unix_time(&self) -> Option<u64> {
            self.0.get()
        }
    }

    fn blank() -> Mem {
        let mut m = MemFlash::new(std::vec![0u8; 512]);
        m.erase_all();
        m
    }

    fn mount<'c>(
        flash: Mem,
        now: &'c Cell<Option<u64>>,
        policy: Policy,
    ) -> ServiceLock<Mem, HmacSpasm<Counter>, At<'c>> {
        ServiceLock::mount(flash, HmacSpasm::new([0; 32], Counter(0)), At(now), policy).unwrap()
    }

    #[test]
    fn the_back_off_doubles_up_to_its_cap() {
        let now = Cell::new(Some(1000));
        let policy = Policy {
            max_failures: 1,
            backoff_secs: 60,
            max_backoff_secs: 200,
            ..Policy::default()
        };
        let mut lock = mount(blank(), &now, policy);
        let mut t = 1000;
        for expected in [60, 120, 200, 200] {
            assert_eq!(lock.unlock("s", b"111111"), Err(LockError::WrongCode));
            assert_eq!(lock.state.locked_until, t + expected);
            now.set(Some(t + expected - 1));
            assert_eq!(lock.state("s"), LockState::LockedOut);
            assert_eq!(lock.unlock("s", b"000000"), Err(LockError::LockedOut));
            t += expected;
            now.set(Some(t));
            assert_eq!(lock.state("s"), LockState::Locked);
        }
        lock.unlock("s", b"000000").unwrap();
        assert_eq!((lock.failures(), lock.state.locked_until), (0, 0));
    }

    #[test]
    fn the_log_compacts_and_keeps_the_last_state() {
        let now = Cell::new(None);
        let policy = Policy {
            max_failures: 1000,
            ..Policy::default()
        };
        let mut lock = mount(blank(), &now, policy);
        // Far more records than two 256-byte banks hold.
        for _ in 0..100 {
            assert_eq!(lock.unlock("s", b"123456"), Err(LockError::WrongCode));
        }
        lock.set_spc(None, b"123456").unwrap();
        lock.set_nam_lock(None, true).unwrap();
        let (flash, _, _) = lock.into_parts();
        let mut lock = mount(flash, &now, policy);
        assert_eq!(lock.failures(), 100);
        assert!(lock.nam_lock());
        lock.unlock("s", b"123456").unwrap();
        assert_eq!(lock.failures(), 0);
    }

    #[test]
    fn a_record_of_a_newer_layout_is_skipped() {
        let now = Cell::new(None);
        let mut lock = mount(blank(), &now, Policy::default());
        lock.set_spc(None, b"654321").unwrap();
        // A record this version cannot decode, after the last one it can.
        let start = Store::<Mem>::payload_start();
        lock.scratch[start] = 0xFF;
        lock.scratch[start + 1] = 0xFF;
        lock.store.append(&mut lock.scratch, KIND_STATE, 2).unwrap();
        let (flash, _, _) = lock.into_parts();
        let mut lock = mount(flash, &now, Policy::default());
        lock.unlock("s", b"654321").unwrap();
    }

    #[test]
    fn grants_belong_to_one_server_and_one_session() {
        let now = Cell::new(None);
        let mut lock = mount(blank(), &now, Policy::default());
        lock.unlock("srv1", b"000000").unwrap();
        // Asking about another server changes nothing.
        assert_eq!(lock.state("srv2"), LockState::Locked);
        assert!(lock.may_program(Some("srv2")).is_err());
        assert_eq!(lock.may_program(Some("srv1")), Ok(()));
        assert_eq!(lock.may_program(None), Ok(()));
        // An empty or overlong id is no server.
        assert_eq!(lock.unlock("", b"000000"), Err(LockError::ServerId));
        let long = "x".repeat(LOCK_SERVER_ID_LEN + 1);
        assert_eq!(lock.unlock(&long, b"000000"), Err(LockError::ServerId));
        assert_eq!(lock.may_program(Some("srv1")), Ok(()));
        lock.session_ended();
        assert_eq!(lock.may_program(Some("srv1")), Err(LockError::NotUnlocked));
        assert_eq!(
            LockError::NotUnlocked.status(),
            StatusCode::PermissionDenied
        );
        assert_eq!(
            LockError::LockedOut.status(),
            StatusCode::ServiceUnavailable
        );
        assert!(
            !std::format!("{lock:?}").contains("000000"),
            "the SPC must not show in Debug"
        );
    }
}

//! The DM client firmware: what a handset's baseband runs around iotadm.
//!
//! At every boot it finds out which image it is (the package header the installer wrote
//! in front of it, or none for the factory image), opens the installer, the FUMO object
//! and the CDMA service programming lock on the emulated NOR part, mounts the management
//! tree with the FUMO and CDMA objects as its handlers (the lock gating firmware updates:
//! FOTA-2), and sets its DevInfo. A factory-fresh device also creates NAM 0 and sets its
//! service programming code. A device without a DM account asks the host for its
//! factory bootstrap. Then it does what the FUMO object asks:
//!
//! | [`Poll`] | the firmware |
//! |---|---|
//! | `Idle` (first time this boot) | checks in: a client-initiated session (Alert 1201) |
//! | `Reboot` | resets into the bootloader, which starts the new slot on trial |
//! | `AwaitingConfirm` | runs its health check, then confirms, or resets unconfirmed |
//! | `Report` | a session carrying the Generic Alert (1226), then acknowledges it |
//!
//! and stops (semihosting exit 0) when nothing is left. Every session runs over
//! [`UartLink`] with 4 KiB messages, HMAC-authenticated both ways (the account's
//! `syncml:auth-MAC` credentials come from the bootstrap).
//!
//! All of the DM client's memory is static (the `MEMORY`, `TREE`, `OBJECTS`, `FUMO` and
//! `LOCK` statics below, each taken once through a cell, without `unsafe`), the session
//! included: the stack holds only what each call needs. Before it resets or stops, the
//! firmware reports its stack's high-water mark.

use core::cell::RefCell;
use core::mem::MaybeUninit;

use cortex_m::peripheral::{SCB, SYST};
use cortex_m_semihosting::debug;
use embedded_storage::nor_flash::ReadNorFlash;
use iotadm::cdma::{Cdma, FlashPrlStore, HmacSpasm, Limits, Policy, ServiceLock};
use iotadm::codec::Encoding;
use iotadm::codes::StatusCode;
use iotadm::firmware::package::MAX_HEADER_LEN;
use iotadm::firmware::{self, DeviceIdentity, Ed25519Verifier, Installer, PackageHeader, Slot};
use iotadm::fumo::{self, Fumo, Io, Poll};
use iotadm::platform::{NoClock, Rng};
use iotadm::schema::{NodeId, Schema, STANDARD};
use iotadm::session::{
    self, apply_bootstrap, BootstrapSource, Buffers, Client, ClientError, DeviceInfo,
    DeviceInfoError, Env, GenericAlert, Initiation, NoUi, Outcome, Session,
};
use iotadm::tree::{Handlers, NodeHandler, Principal, Tree, TreeError, TreeStorage, UriLimits};
use static_cell::ConstStaticCell;

use crate::layout::{self, IMAGE_OFFSET};
use crate::link::{LinkError, UartLink};
use crate::nor::{Nor, Parts};
use crate::uart::Uart;
use crate::{log, stack};

/// The device model: DevInfo `Mod`, and the model an update package must name.
pub const MODEL: &str = "iotadm-qemu";
/// The hardware id an update package may name.
pub const HARDWARE_ID: &str = "mps2-an386";
/// The public key update packages for this model are signed with (Ed25519). Only the
/// vendor holds the private key, so extracting this one from a handset signs nothing.
pub const PACKAGE_PUBLIC_KEY: [u8; 32] = [
    0xcd, 0xf0, 0xa4, 0x51, 0x3c, 0xbe, 0x44, 0x26, 0x10, 0x44, 0xe7, 0x48, 0xcf, 0x4a, 0xdf, 0x34,
    0x3b, 0xf8, 0xeb, 0x5b, 0xc5, 0x7d, 0x1d, 0x4b, 0x83, 0x54, 0xf2, 0x7c, 0x23, 0x25, 0x6b, 0xd7,
];
/// Version code of the factory image (an image in a slot without a package header).
pub const FACTORY_VERSION: u32 = 1;
/// Version name of the factory image.
pub const FACTORY_VERSION_NAME: &str = "1.0.0";
/// The last bytes of an image's payload that make its health check fail: the image never
/// confirms itself, so the bootloader rolls it back. A test hook, in place of the health
/// checks of a real firmware.
pub const HEALTH_FAIL_MARKER: &[u8; 16] = b"iotadm-qemu:fail";
/// The DevInfo `DevId`.
pub const DEV_ID: &str = "MEID:A0000049015420";
/// The service programming code the factory sets: a server unlocks `./CDMA` (and firmware
/// updates) with it. A production device has one per handset.
pub const SPC: &[u8] = b"246810";
/// The operator's SPASM key. A production device keeps it in protected storage, not in the
/// image.
const SPASM_KEY: [u8; 32] = *b"iotadm-qemu example SPASM key 32";

/// Maximum message size, both ways.
const MSG: usize = 4096;
/// Replies received while a server message is held: statuses and Alert 1222.
const AUX: usize = 512;
/// Values on their way into and out of messages: the longest this device's objects read
/// or write whole is a FUMO `PkgURL` (240 bytes); package data and roaming lists stream.
const SCRATCH: usize = 512;
/// The `x-syncml-hmac` header of a reply.
const HMAC: usize = 128;
/// How long to wait for each reply from the host.
const REPLY_TIMEOUT_MS: u32 = 30_000;

/// The management tree. Its memory ([`TREE`]: run-time entries, arena bytes, record
/// buffer) and its handlers live in statics of their own, so the tree itself is small.
type DmTree = Tree<'static, Nor, &'static mut Objects>;
type DmStorage = TreeStorage<40, 1024, 384>;

// The handset's limits, set in .cargo/config.toml, took (Cargo reads that file only when
// it builds from this directory).
const _: () = assert!(iotadm::limits::SERVER_ADDR_LEN == 128 && iotadm::limits::QUEUE_LEN == 16);

/// The tree's shape: the standard objects (DevInfo, DevDetail, DMAcc, FUMO, CDMA), which
/// is all this device has.
const SCHEMA: &Schema = &STANDARD;
type DevFumo = Fumo<DevInstaller, Nor, &'static RefCell<Lock>>;
type DevInstaller = Installer<Nor, Nor, Nor, Ed25519Verifier>;
type Lock = ServiceLock<Nor, HmacSpasm<JitterRng>, NoClock>;
type DevCdma = Cdma<'static, Nor, HmacSpasm<JitterRng>, NoClock, FlashPrlStore<Nor>>;

/// The tree's handlers: the FUMO object at `./FUMO/fw`, the CDMA object at `./CDMA`.
struct Objects {
    fumo: &'static mut DevFumo,
    cdma: DevCdma,
    cdma_node: NodeId,
}

impl Handlers for Objects {
    fn handler(&mut self, def: NodeId) -> Option<&mut dyn NodeHandler> {
        if self.fumo.is_bound(def) {
            Handlers::handler(&mut *self.fumo, def)
        } else if def == self.cdma_node {
            Some(&mut self.cdma)
        } else {
            None
        }
    }

    fn is_bound(&self, def: NodeId) -> bool {
        self.fumo.is_bound(def) || def == self.cdma_node
    }

    fn session_ended(&mut self) {
        Handlers::session_ended(&mut *self.fumo);
        NodeHandler::session_ended(&mut self.cdma);
    }

    fn atomic_started(&mut self) {
        Handlers::atomic_started(&mut *self.fumo);
        NodeHandler::atomic_started(&mut self.cdma);
    }

    fn atomic_ended(&mut self) {
        Handlers::atomic_ended(&mut *self.fumo);
        NodeHandler::atomic_ended(&mut self.cdma);
    }
}

/// The session and its buffers.
struct Memory {
    /// The session of the moment (kilobytes, kept off the stack), set up in place by
    /// `Session::new_in` for each session.
    session: MaybeUninit<Session>,
    rx: [u8; MSG],
    aux: [u8; AUX],
    tx: [u8; MSG],
    scratch: [u8; SCRATCH],
    hmac: [u8; HMAC],
}

// Every static below is zeros or uninitialised: it takes RAM (`.bss`), no flash. A cell
// hands each out once as `&'static mut`; the two objects that share the lock by reference
// (not `Send`, which a cell asks of what it holds) are in `singleton!`s in [`statics`].
static MEMORY: ConstStaticCell<Memory> = ConstStaticCell::new(Memory {
    session: MaybeUninit::uninit(),
    rx: [0; MSG],
    aux: [0; AUX],
    tx: [0; MSG],
    scratch: [0; SCRATCH],
    hmac: [0; HMAC],
});

/// The tree's memory.
static TREE: ConstStaticCell<DmStorage> = ConstStaticCell::new(DmStorage::new());

/// The service programming lock, shared by the CDMA object and the FUMO object's gate.
static LOCK: ConstStaticCell<MaybeUninit<RefCell<Lock>>> =
    ConstStaticCell::new(MaybeUninit::uninit());

/// The statics, once.
struct Statics {
    memory: &'static mut Memory,
    tree: &'static mut DmStorage,
    objects: &'static mut MaybeUninit<Objects>,
    fumo: &'static mut MaybeUninit<DevFumo>,
    lock: &'static mut MaybeUninit<RefCell<Lock>>,
}

fn statics() -> Option<Statics> {
    Some(Statics {
        memory: MEMORY.try_take()?,
        tree: TREE.try_take()?,
        // The tree's handlers.
        objects: cortex_m::singleton!(: MaybeUninit<Objects> = MaybeUninit::uninit())?,
        // The FUMO object, opened in place (it holds the installer and a record of its
        // own).
        fumo: cortex_m::singleton!(: MaybeUninit<DevFumo> = MaybeUninit::uninit())?,
        lock: LOCK.try_take()?,
    })
}

/// Why the firmware stopped.
#[derive(Debug)]
enum Error {
    /// A resource was taken twice.
    Taken,
    /// The identity or key does not suit the installer.
    Identity,
    /// The installer failed.
    Installer(firmware::Error),
    /// The FUMO object failed.
    Fumo(fumo::Error),
    /// The CDMA lock or roaming list store could not be opened.
    Cdma,
    /// The tree could not be mounted.
    Tree(TreeError),
    /// The tree refused a value the device sets.
    Provision(StatusCode),
    /// The factory bootstrap could not be fetched.
    Link(LinkError),
    /// The bootstrap could not be applied.
    Bootstrap(session::Error),
    /// A session failed.
    Session(ClientError<LinkError>),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Taken => f.write_str("a resource was taken twice"),
            Error::Identity => f.write_str("device identity or package key unusable"),
            Error::Installer(e) => write!(f, "installer: {e}"),
            Error::Fumo(e) => write!(f, "FUMO: {e}"),
            Error::Cdma => f.write_str("CDMA lock or roaming list store unusable"),
            Error::Tree(e) => write!(f, "tree: {e}"),
            Error::Provision(s) => write!(f, "device values refused ({})", u16::from(*s)),
            Error::Link(e) => write!(f, "bootstrap link: {e}"),
            Error::Bootstrap(e) => write!(f, "bootstrap: {e}"),
            Error::Session(e) => write!(f, "session: {e}"),
        }
    }
}

impl From<fumo::Error> for Error {
    fn from(e: fumo::Error) -> Self {
        Error::Fumo(e)
    }
}

impl From<ClientError<LinkError>> for Error {
    fn from(e: ClientError<LinkError>) -> Self {
        Error::Session(e)
    }
}

/// How a boot ends.
enum Exit {
    /// Nothing left to do.
    Done,
    /// Reset into the bootloader.
    Reboot,
}

/// What the running image knows of itself.
struct Running {
    slot: Slot,
    version: u32,
    name: heapless::String<16>,
    healthy: bool,
}

impl Running {
    /// Reads the package header in front of the image in `flash`, the running slot. Out
    /// of line: its buffer is off the stack before the objects are opened.
    #[inline(never)]
    fn identify(slot: Slot, flash: &mut Nor) -> Running {
        let mut factory = Running {
            slot,
            version: FACTORY_VERSION,
            name: heapless::String::new(),
            healthy: true,
        };
        let _ = factory.name.push_str(FACTORY_VERSION_NAME);
        let mut header = [0u8; MAX_HEADER_LEN];
        if flash.read(0, &mut header).is_err() {
            return factory;
        }
        let Ok(h) = PackageHeader::parse(&header) else {
            return factory;
        };
        let mut name = heapless::String::new();
        for &c in h.to_name() {
            let _ = name.push(char::from(c));
        }
        let mut tail = [0u8; 16];
        let healthy = match (IMAGE_OFFSET + h.image().len).checked_sub(16) {
            Some(at) if at >= IMAGE_OFFSET => {
                flash.read(at, &mut tail).is_err() || &tail != HEALTH_FAIL_MARKER
            }
            _ => true,
        };
        Running {
            slot,
            version: h.to_code(),
            name,
            healthy,
        }
    }
}

/// The image's entry point, for the slot it is linked for.
pub fn main(slot: Slot) -> ! {
    let status = match run(slot) {
        Ok(Exit::Reboot) => {
            report_stack();
            log!("reset");
            SCB::sys_reset()
        }
        Ok(Exit::Done) => {
            log!("done");
            debug::EXIT_SUCCESS
        }
        Err(e) => {
            log!("error: {}", e);
            debug::EXIT_FAILURE
        }
    };
    report_stack();
    debug::exit(status);
    loop {
        cortex_m::asm::wfi();
    }
}

fn report_stack() {
    log!(
        "stack: peak {} bytes of {}",
        stack::peak(),
        stack::capacity()
    );
}

/// What a boot has opened: the tree (holding the FUMO and CDMA objects) and the session
/// buffers, both static.
struct Booted {
    tree: DmTree,
    memory: &'static mut Memory,
    me: Running,
}

fn run(slot: Slot) -> Result<Exit, Error> {
    let cp = cortex_m::Peripherals::take().ok_or(Error::Taken)?;
    let Booted {
        mut tree,
        memory,
        me,
    } = open(slot)?;
    let tree = &mut tree;
    let mut link = UartLink::new(Uart::new(cp.SYST), REPLY_TIMEOUT_MS);
    let mut rng = JitterRng::new();
    if account(tree).is_none() {
        bootstrap(tree, &mut link, memory)?;
    }

    let mut sessions = 0u32;
    loop {
        match poll(tree, memory)? {
            Poll::Reboot => return Ok(Exit::Reboot),
            Poll::AwaitingConfirm if me.healthy => {
                confirm(tree)?;
                log!("update confirmed");
            }
            Poll::AwaitingConfirm => {
                log!("health check failed: not confirming");
                return Ok(Exit::Reboot);
            }
            Poll::Report => {
                let Some(report) = tree.handlers_mut().fumo.pending_report() else {
                    return Ok(Exit::Done);
                };
                let alert = report.alert();
                log!("reporting result {}", alert.data);
                let outcome = run_session(tree, &mut link, memory, &mut rng, &[alert])?;
                sessions += 1;
                let status = outcome.alert_status.first().copied().flatten();
                if !delivered(tree, &report, status)? {
                    log!("report not acknowledged; kept for the next session");
                    return Ok(Exit::Done);
                }
            }
            _ if sessions == 0 => {
                run_session(tree, &mut link, memory, &mut rng, &[])?;
                sessions += 1;
            }
            _ => return Ok(Exit::Done),
        }
    }
}

/// What the FUMO object asks for next (an install, if one is due, runs here). Out of
/// line, as [`open`] is.
#[inline(never)]
#[cfg_attr(not(feature = "fumo-url"), allow(unused_variables))]
fn poll(tree: &mut DmTree, memory: &mut Memory) -> Result<Poll, Error> {
    // Packages arrive as large objects: the profile leaves PkgURL downloads out.
    #[cfg(not(feature = "fumo-url"))]
    let mut io = Io { ui: &mut NoUi };
    #[cfg(feature = "fumo-url")]
    let mut io = Io {
        downloader: &mut NoDownloader,
        ui: &mut NoUi,
        progress: &mut |_| {},
        buf: &mut memory.scratch,
    };
    Ok(tree.handlers_mut().fumo.poll(&mut io)?)
}

/// With the `fumo-url` feature (only to measure what downloads cost), a downloader that
/// reaches nothing: this image is not wired for `PkgURL`.
#[cfg(feature = "fumo-url")]
struct NoDownloader;

#[cfg(feature = "fumo-url")]
impl fumo::Downloader for NoDownloader {
    fn open(&mut self, _url: &str, _offset: u32) -> Result<fumo::Opened, fumo::DownloadError> {
        Err(fumo::DownloadError::Unreachable)
    }

    fn read(&mut self, _buf: &mut [u8]) -> Result<usize, fumo::DownloadError> {
        Err(fumo::DownloadError::Unreachable)
    }
}

/// Confirms the update running on trial. Out of line, as [`poll`] is: the FUMO object's
/// work on its record stays off the stack of the sessions.
#[inline(never)]
fn confirm(tree: &mut DmTree) -> Result<(), Error> {
    Ok(tree.handlers_mut().fumo.confirm_update()?)
}

/// Tells the FUMO object how the server took its report: whether it is done with it.
#[inline(never)]
fn delivered(
    tree: &mut DmTree,
    report: &fumo::Report,
    status: Option<StatusCode>,
) -> Result<bool, Error> {
    Ok(tree.handlers_mut().fumo.report_delivered(report, status)?)
}

/// Opens everything on the NOR part and mounts the tree: called once per boot, and kept
/// out of line so that its temporaries are off the stack before any session runs.
#[inline(never)]
fn open(slot: Slot) -> Result<Booted, Error> {
    let mut parts = Parts::take().ok_or(Error::Taken)?;
    let me = match slot {
        Slot::A => Running::identify(slot, &mut parts.slot_a),
        Slot::B => Running::identify(slot, &mut parts.slot_b),
    };
    log!(
        "image {} (version {}) in slot {}",
        me.name,
        me.version,
        if me.slot == Slot::A { "A" } else { "B" }
    );

    let Statics {
        memory,
        tree,
        objects,
        fumo,
        lock,
    } = statics().ok_or(Error::Taken)?;
    let lock = open_lock(lock, parts.lock)?;
    let installer = open_installer(&me, parts.slot_a, parts.slot_b, parts.state)?;
    let fumo = open_fumo(fumo, installer, parts.fumo, lock)?;
    let objects = open_objects(objects, fumo, parts.prl, lock)?;
    let mut tree =
        Tree::mount(tree, SCHEMA, parts.tree, objects, UriLimits::DEFAULT).map_err(Error::Tree)?;
    provision(&mut tree, &me).map_err(Error::Provision)?;
    Ok(Booted { tree, memory, me })
}

/// Mounts the service programming lock in its static. Each object is opened by a function
/// of its own, kept out of line, so that no two of their frames are on the stack at once.
#[inline(never)]
fn open_lock(
    slot: &'static mut MaybeUninit<RefCell<Lock>>,
    flash: Nor,
) -> Result<&'static RefCell<Lock>, Error> {
    let spasm = HmacSpasm::new(SPASM_KEY, JitterRng::new());
    let lock =
        ServiceLock::mount(flash, spasm, NoClock, Policy::default()).map_err(|_| Error::Cdma)?;
    Ok(slot.write(RefCell::new(lock)))
}

/// Opens the A/B installer for the running image.
#[inline(never)]
fn open_installer(me: &Running, a: Nor, b: Nor, state: Nor) -> Result<DevInstaller, Error> {
    let device = DeviceIdentity::new(MODEL, HARDWARE_ID, me.version).ok_or(Error::Identity)?;
    let verifier = Ed25519Verifier::new(&PACKAGE_PUBLIC_KEY).ok_or(Error::Identity)?;
    Installer::new(a, b, state, device, verifier, firmware::Config::default())
        .map_err(Error::Installer)
}

/// Opens the FUMO object at `./FUMO/fw` in its static.
#[inline(never)]
fn open_fumo(
    slot: &'static mut MaybeUninit<DevFumo>,
    installer: DevInstaller,
    store: Nor,
    lock: &'static RefCell<Lock>,
) -> Result<&'static mut DevFumo, Error> {
    let fumo = Fumo::open_in(
        slot,
        SCHEMA,
        "fw",
        installer,
        store,
        lock,
        fumo::Config::default(),
    )?;
    log!("FUMO state {}", u8::from(fumo.state()));
    Ok(fumo)
}

/// Opens the CDMA object and puts both objects in their static.
#[inline(never)]
fn open_objects(
    slot: &'static mut MaybeUninit<Objects>,
    fumo: &'static mut DevFumo,
    prl: Nor,
    lock: &'static RefCell<Lock>,
) -> Result<&'static mut Objects, Error> {
    let prl = FlashPrlStore::new(prl, 1).map_err(|_| Error::Cdma)?;
    Ok(slot.write(Objects {
        fumo,
        cdma: Cdma::new(SCHEMA, lock, prl, Limits::default()),
        cdma_node: SCHEMA.find("./CDMA").ok_or(Error::Cdma)?,
    }))
}

/// The factory bootstrap: the DM account, fetched from the host.
#[inline(never)]
fn bootstrap(tree: &mut DmTree, link: &mut UartLink, memory: &mut Memory) -> Result<(), Error> {
    let n = link.bootstrap(&mut memory.rx).map_err(Error::Link)?;
    let document = memory.rx.get(..n).unwrap_or(&[]);
    let items = apply_bootstrap(
        tree,
        document,
        BootstrapSource::Trusted,
        None,
        &mut memory.scratch,
    )
    .map_err(Error::Bootstrap)?;
    log!("bootstrapped: {} nodes", items);
    Ok(())
}

/// Sets the values the device owns; a value already stored writes nothing. Out of line:
/// its tree operations come after the objects are opened, not on top of them.
#[inline(never)]
fn provision(tree: &mut DmTree, me: &Running) -> Result<(), StatusCode> {
    DeviceInfo {
        dev_id: DEV_ID,
        man: "iotadm",
        model: MODEL,
        dm_version: "1.2",
        lang: "en-US",
        dev_type: "phone",
        oem: "iotadm",
        fw_version: me.name.as_str(),
        sw_version: env!("CARGO_PKG_VERSION"),
        hw_version: HARDWARE_ID,
    }
    .store(tree)
    .map_err(|e| match e {
        DeviceInfoError::Refused(_, status) => status,
        _ => StatusCode::BadRequest,
    })?;
    if tree
        .get(Principal::Device, "./FUMO/fw", 0, &mut [0u8; 8])
        .is_err()
    {
        tree.add(Principal::Device, "./FUMO/fw", None, None, None)?;
    }
    // The factory's CDMA programming: NAM 0, the SPC, and every server may read `./CDMA`
    // and run its Execs (SPL/Unlock, SPASM/Validate); changing a NAM needs the SPC.
    if tree
        .get(Principal::Device, "./CDMA/NAM/0", 0, &mut [0u8; 8])
        .is_err()
    {
        tree.add(Principal::Device, "./CDMA/NAM/0", None, None, None)?;
        tree.replace(Principal::Device, "./CDMA/SPL/SPC", SPC, None, None)?;
        tree.replace(
            Principal::Device,
            "./CDMA?prop=ACL",
            b"Get=*&Exec=*",
            None,
            None,
        )?;
    }
    Ok(())
}

/// The name of the first DM account, if any.
fn account(tree: &mut DmTree) -> Option<heapless::String<{ iotadm::limits::SERVER_ID_LEN }>> {
    let mut list = [0u8; 64];
    let n = tree
        .get(Principal::Device, "./DMAcc", 0, &mut list)
        .ok()?
        .len;
    let first = list.get(..n)?.split(|&b| b == b'/').next()?;
    let name = core::str::from_utf8(first).ok().filter(|s| !s.is_empty())?;
    let mut out = heapless::String::new();
    out.push_str(name).ok()?;
    Some(out)
}

/// One client-initiated session with the device's account, carrying `alerts`.
#[inline(never)]
fn run_session(
    tree: &mut DmTree,
    link: &mut UartLink,
    memory: &mut Memory,
    rng: &mut JitterRng,
    alerts: &[GenericAlert<'_>],
) -> Result<Outcome, Error> {
    let account = account(tree).ok_or(Error::Provision(StatusCode::NotFound))?;
    let mut env = Env {
        tree,
        ui: &mut NoUi,
        rng,
        clock: &NoClock,
        alerts,
    };
    let cfg = session::Config {
        encoding: Encoding::Wbxml,
        max_msg_size: MSG as u32,
        max_obj_size: layout::SLOT_B.len - IMAGE_OFFSET,
        server_max_msg_size: MSG as u32,
        ..session::Config::default()
    };
    // Set up where it stays: the session is kilobytes, and a move would copy it.
    let session = Session::new_in(
        &mut memory.session,
        &mut env,
        cfg,
        &account,
        Initiation::Client,
    )
    .map_err(|e| Error::Session(e.into()))?;
    let buffers = Buffers {
        rx: &mut memory.rx,
        aux: &mut memory.aux,
        tx: &mut memory.tx,
        scratch: &mut memory.scratch,
        hmac: &mut memory.hmac,
    };
    let mut client = Client::new(link, buffers);
    let outcome = client.run(session, &mut env, |_| {})?;
    log!(
        "session {} over: {} messages sent; tree: {} entries, {} arena bytes",
        session.session_id(),
        outcome.messages_sent,
        env.tree.entries_used(),
        env.tree.arena_used()
    );
    Ok(outcome)
}

/// Nonces and session ids from SysTick jitter stirred through SplitMix64.
///
/// The MPS2 board has no random number generator. The timer's value at each call (after
/// waits on the host of varying length) is the only entropy here, which is not enough for
/// security: a handset uses its hardware RNG.
struct JitterRng(u64);

impl JitterRng {
    fn new() -> Self {
        JitterRng(u64::from(SYST::get_current()) ^ 0x696F_7461_646D_0001)
    }
}

impl Rng for JitterRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            self.0 = self
                .0
                .wrapping_add(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(u64::from(SYST::get_current()));
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            for (d, s) in chunk.iter_mut().zip(z.to_le_bytes()) {
                *d = s;
            }
        }
    }
}

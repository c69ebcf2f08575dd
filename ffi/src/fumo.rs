//! Firmware updates: the FUMO object `./FUMO/<name>` with its A/B installer on four flash
//! regions, the C downloader for `PkgURL`, the device's step (`iotadm_fumo_poll`), the new
//! image's confirm or reject, and the bootloader's slot decision.
//!
//! The server's commands reach FUMO through the tree during sessions; a report waiting to
//! be delivered goes out with the next session by itself (`iotadm_session_run`).

use core::ffi::{c_char, c_int, c_void};

use crate::schema::DEVICE_SCHEMA;
use iotadm::firmware::{self, BootReason, DeviceIdentity, HmacSha256Verifier, Installer, Slot};
use iotadm::fumo::{
    self as core_fumo, AlertTypes, DownloadError, Fumo, Io, Opened, Poll, Progress, Ungated,
};
use iotadm::limits::{FUMO_PKG_VERSION_LEN, FUMO_URL_LEN};
use iotadm::session::UserInteraction;

use crate::device::{device_mut, Device};
use crate::flash::{CFlash, Flash};
use crate::status::{
    fumo_error, installer_error, IOTADM_ERR_BAD_STATE, IOTADM_ERR_INVALID_ARGUMENT,
    IOTADM_ERR_NO_FUMO, IOTADM_OK,
};
use crate::text::{bytes_in, bytes_out, copy_cstr, str_in, CText};

/// The installer of a device: slots A and B and the boot state, each a C flash region.
pub(crate) type DevInstaller = Installer<CFlash, CFlash, CFlash, HmacSha256Verifier>;
/// The FUMO object of a device.
pub(crate) type DevFumo = Fumo<DevInstaller, CFlash, Ungated>;

/// Bytes of `iotadm_fumo_info.pkg_version`: the longest version name (16 bytes) and its
/// NUL.
pub const IOTADM_PKG_VERSION_SPACE: usize = 17;
const _: () = assert!(IOTADM_PKG_VERSION_SPACE == FUMO_PKG_VERSION_LEN + 1);

/// `./FUMO/` and the longest instance name.
const MAX_NODE_URI: usize = 40;

/// FUMO for a device: where images and state live, what the device is, and how updates
/// are asked for and reported.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FumoConfig {
    /// The instance name: the object is `./FUMO/<name>` (e.g. `"fw"`), at most 32 bytes,
    /// no `/`.
    pub name: *const c_char,
    /// Firmware slot A (the factory image's), header and image; `docs/update-package.md`
    /// gives the layout.
    pub slot_a: Flash,
    /// Firmware slot B: the same size as A.
    pub slot_b: Flash,
    /// The installer's boot state: at least two sectors. The bootloader reads it too.
    pub boot_state: Flash,
    /// FUMO's own record log: at least two sectors.
    pub fumo_state: Flash,
    /// The device model packages must name (at most 32 bytes).
    pub model: *const c_char,
    /// The hardware revision packages must name (at most 32 bytes).
    pub hardware_id: *const c_char,
    /// The version code of the running image: packages say which versions they update.
    pub version: u32,
    /// The HMAC-SHA256 key update packages are authenticated with, 1 to 64 bytes.
    pub key: *const u8,
    /// Its length.
    pub key_len: usize,
    /// Boots a new image gets to confirm itself before the bootloader rolls it back; 0
    /// for 3. Give the bootloader's `iotadm_boot_decide` the same number.
    pub max_trial_boots: u8,
    /// Ask the user before a download (`IOTADM_UI_CONFIRM`).
    pub confirm_download: bool,
    /// Ask the user before an update.
    pub confirm_update: bool,
    /// Times the user may put one question off before the operation is rejected; 0 for
    /// no limit.
    pub max_deferrals: u8,
    /// Send report alert types in the URN form (`urn:oma:at:fumo:1.0:update`) instead of
    /// FUMO 1.0's `org.openmobilealliance.dm.firmwareupdate.update`.
    pub urn_alert_types: bool,
}

/// Opens the installer and the FUMO object of `c`.
///
/// # Safety
/// The strings and the key are valid as `FumoConfig` documents.
pub(crate) unsafe fn open(c: &FumoConfig) -> Result<DevFumo, c_int> {
    let bad = IOTADM_ERR_INVALID_ARGUMENT;
    // SAFETY: as promised by the caller.
    let (name, model, hardware_id, key) = unsafe {
        (
            str_in(c.name).ok_or(bad)?,
            str_in(c.model).ok_or(bad)?,
            str_in(c.hardware_id).ok_or(bad)?,
            bytes_in(c.key, c.key_len).ok_or(bad)?,
        )
    };
    let identity = DeviceIdentity::new(model, hardware_id, c.version).ok_or(bad)?;
    let verifier = HmacSha256Verifier::new(key).ok_or(bad)?;
    let installer = Installer::new(
        CFlash::new(&c.slot_a)?,
        CFlash::new(&c.slot_b)?,
        CFlash::new(&c.boot_state)?,
        identity,
        verifier,
        installer_config(c.max_trial_boots),
    )
    .map_err(installer_error)?;
    let config = core_fumo::Config {
        alert_types: if c.urn_alert_types {
            AlertTypes::URN
        } else {
            AlertTypes::FUMO_1_0
        },
        confirm_download: c.confirm_download,
        confirm_update: c.confirm_update,
        max_deferrals: (c.max_deferrals > 0).then_some(c.max_deferrals),
        ..core_fumo::Config::default()
    };
    Fumo::open(
        &DEVICE_SCHEMA,
        name,
        installer,
        CFlash::new(&c.fumo_state)?,
        Ungated,
        config,
    )
    .map_err(fumo_error)
}

fn installer_config(max_trial_boots: u8) -> firmware::Config {
    match max_trial_boots {
        0 => firmware::Config::default(),
        n => firmware::Config { max_trial_boots: n },
    }
}

/// The URI of the FUMO node, `./FUMO/<name>`.
pub(crate) fn node_uri(f: &DevFumo) -> heapless::String<MAX_NODE_URI> {
    let mut uri = heapless::String::new();
    // The name was checked when the object opened: it fits.
    let _ = uri.push_str(f.uri());
    uri
}

/// A download result: the server could not be reached (FUMO result 412).
pub const IOTADM_DOWNLOAD_UNREACHABLE: c_int = -1;
/// A download result: the URL is malformed or of an unsupported scheme (411).
pub const IOTADM_DOWNLOAD_BAD_URL: c_int = -2;
/// A download result: the server wants credentials the device does not have (406).
pub const IOTADM_DOWNLOAD_AUTHENTICATION: c_int = -3;
/// A download result: the server did not answer in time (407); retried.
pub const IOTADM_DOWNLOAD_TIMEOUT: c_int = -4;
/// A download result: the connection dropped (503); retried, resuming.
pub const IOTADM_DOWNLOAD_NETWORK: c_int = -5;
/// A download result: the server's answer makes no sense (500).
pub const IOTADM_DOWNLOAD_PROTOCOL: c_int = -6;

/// What the server sends, as `open` found out.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct DownloadOpened {
    /// The package offset of the first body byte: the offset asked for, or 0 when the
    /// server ignored the range and sends the whole package.
    pub offset: u32,
    /// The whole package's length, when `total_known`.
    pub total: u32,
    /// The server told the length.
    pub total_known: bool,
}

/// The device's client for `PkgURL` downloads (for HTTP: `GET` with a `Range` header).
/// One download at a time: `open`, then `read` until it returns 0, then `close`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Downloader {
    /// Handed back to every callback.
    pub user: *mut c_void,
    /// Required. Starts fetching `url` from package byte `offset` (`Range: bytes=offset-`
    /// when not 0) and fills `*opened`. Returns 0, an `IOTADM_DOWNLOAD_*` failure, or the
    /// HTTP status (100-599) of a server that refused.
    pub open: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            url: *const c_char,
            offset: u32,
            opened: *mut DownloadOpened,
        ) -> c_int,
    >,
    /// Required. Reads the next body bytes into the `len` bytes at `buf`: returns how many,
    /// 0 at the end of the body, or an `IOTADM_DOWNLOAD_*` failure.
    pub read: Option<unsafe extern "C" fn(user: *mut c_void, buf: *mut u8, len: usize) -> isize>,
    /// Optional. Ends the fetch, after the end or a failure.
    pub close: Option<unsafe extern "C" fn(user: *mut c_void)>,
    /// Optional. Told after each piece written to flash how far the download is: package
    /// bytes in flash, and the package length (0 while unknown).
    pub progress: Option<unsafe extern "C" fn(user: *mut c_void, received: u32, total: u32)>,
}

/// A C downloader behind `fumo::Downloader`, or none.
struct CDownloader(Option<Downloader>);

fn download_error(code: c_int) -> DownloadError {
    match code {
        IOTADM_DOWNLOAD_BAD_URL => DownloadError::BadUrl,
        IOTADM_DOWNLOAD_AUTHENTICATION => DownloadError::Authentication,
        IOTADM_DOWNLOAD_TIMEOUT => DownloadError::Timeout,
        IOTADM_DOWNLOAD_NETWORK => DownloadError::Network,
        IOTADM_DOWNLOAD_UNREACHABLE => DownloadError::Unreachable,
        c => match u16::try_from(c) {
            Ok(status) if (100..=599).contains(&status) => DownloadError::Server(status),
            _ => DownloadError::Protocol,
        },
    }
}

impl core_fumo::Downloader for CDownloader {
    fn open(&mut self, url: &str, offset: u32) -> Result<Opened, DownloadError> {
        // A device without a downloader has no way to fetch a URL.
        let d = self.0.ok_or(DownloadError::BadUrl)?;
        let open = d.open.ok_or(DownloadError::BadUrl)?;
        let url = CText::<{ FUMO_URL_LEN + 1 }>::new(url);
        let mut opened = DownloadOpened::default();
        // SAFETY: the URL and `opened` outlive the call.
        match unsafe { open(d.user, url.as_ptr(), offset, &mut opened) } {
            0 => Ok(Opened {
                offset: opened.offset,
                total: opened.total_known.then_some(opened.total),
            }),
            code => Err(download_error(code)),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, DownloadError> {
        let d = self.0.ok_or(DownloadError::Protocol)?;
        let read = d.read.ok_or(DownloadError::Protocol)?;
        // SAFETY: `buf` is valid for writes of its length during the call.
        let n = unsafe { read(d.user, buf.as_mut_ptr(), buf.len()) };
        match usize::try_from(n) {
            Ok(n) if n <= buf.len() => Ok(n),
            Ok(_) => Err(DownloadError::Protocol),
            Err(_) => Err(download_error(c_int::try_from(n).unwrap_or(c_int::MIN))),
        }
    }

    fn close(&mut self) {
        if let Some((close, user)) = self.0.and_then(|d| d.close.map(|c| (c, d.user))) {
            // SAFETY: only the caller's `user` crosses.
            unsafe { close(user) }
        }
    }
}

/// `iotadm_fumo_poll`: nothing to do.
pub const IOTADM_FUMO_IDLE: c_int = 0;
/// `iotadm_fumo_poll`: the user put the question off; poll again later.
pub const IOTADM_FUMO_DEFERRED: c_int = 1;
/// `iotadm_fumo_poll`: the network interrupted the download; poll again later, it resumes.
pub const IOTADM_FUMO_RETRY: c_int = 2;
/// `iotadm_fumo_poll`: the new image is armed; reboot into it (through the bootloader's
/// `iotadm_boot_decide`).
pub const IOTADM_FUMO_REBOOT: c_int = 3;
/// `iotadm_fumo_poll`: this image runs on trial; check it, then `iotadm_fumo_confirm` (or
/// `iotadm_fumo_reject` and reboot).
pub const IOTADM_FUMO_AWAITING_CONFIRM: c_int = 4;
/// `iotadm_fumo_poll`: a result waits to be reported; run a client-initiated session
/// (`iotadm_session_run`), which carries it.
pub const IOTADM_FUMO_REPORT: c_int = 5;

/// The FUMO object of a device.
///
/// # Safety
/// As `device`.
unsafe fn fumo_of<'a>(
    p: *mut Device,
) -> Result<(&'a mut DevFumo, &'a mut crate::platform::CUi), c_int> {
    // SAFETY: as promised by the caller.
    let dev = unsafe { device_mut(p) }?;
    let fumo = dev
        .tree
        .handlers_mut()
        .fumo
        .as_mut()
        .ok_or(IOTADM_ERR_NO_FUMO)?;
    Ok((fumo, &mut dev.ui))
}

/// Does the work the server's last `Exec` left: asks the user (through the device's UI),
/// downloads from `PkgURL` with `downloader` (resuming after a reboot or a dropped
/// connection), verifies the package, and arms the trial boot. Blocks in the downloader and
/// the UI only. Call it after each session and on a timer. `*next` gets what to do next,
/// an `IOTADM_FUMO_*` value. `buf` receives each piece of a download: its size is the size
/// of each read.
///
/// `downloader` may be `NULL` when packages only arrive by the server writing `PkgData`;
/// an update by URL then fails with result 411.
///
/// Returns `IOTADM_OK`, `IOTADM_ERR_NO_FUMO`, `IOTADM_ERR_FLASH`, `IOTADM_ERR_INSTALLER`
/// or `IOTADM_ERR_INVALID_ARGUMENT`; after a failure the operation goes on from where it
/// stopped at the next call or after a restart.
///
/// # Safety
/// `device` is an open device; `downloader` `NULL` or valid; `buf` writable for `buf_len`
/// bytes; `next` writable.
#[no_mangle]
pub unsafe extern "C" fn iotadm_fumo_poll(
    device: *mut Device,
    downloader: *const Downloader,
    buf: *mut u8,
    buf_len: usize,
    next: *mut c_int,
) -> c_int {
    // SAFETY: as promised by the caller, for each pointer.
    let (fumo, ui, buf, next, downloader) = match unsafe {
        (
            fumo_of(device),
            bytes_out(buf, buf_len),
            next.as_mut(),
            downloader.as_ref().copied(),
        )
    } {
        (Ok((f, ui)), Some(b), Some(n), d) if !b.is_empty() => (f, ui, b, n, d),
        (Err(code), ..) => return code,
        _ => return IOTADM_ERR_INVALID_ARGUMENT,
    };
    let mut dl = CDownloader(downloader);
    let mut progress = |p: Progress| {
        if let Some((f, user)) = downloader.and_then(|d| d.progress.map(|f| (f, d.user))) {
            // SAFETY: only integers and the caller's `user` cross.
            unsafe { f(user, p.received, p.total.unwrap_or(0)) }
        }
    };
    let mut io = Io {
        downloader: &mut dl,
        ui: ui as &mut dyn UserInteraction,
        progress: &mut progress,
        buf,
    };
    match fumo.poll(&mut io) {
        Ok(p) => {
            *next = match p {
                Poll::Deferred => IOTADM_FUMO_DEFERRED,
                Poll::Retry => IOTADM_FUMO_RETRY,
                Poll::Reboot => IOTADM_FUMO_REBOOT,
                Poll::AwaitingConfirm => IOTADM_FUMO_AWAITING_CONFIRM,
                Poll::Report => IOTADM_FUMO_REPORT,
                _ => IOTADM_FUMO_IDLE,
            };
            IOTADM_OK
        }
        Err(e) => fumo_error(e),
    }
}

/// Called by the new image once it works: keeps it, and the update is reported to the
/// server as successful (result 200) by the next session.
///
/// Returns `IOTADM_OK`, `IOTADM_ERR_BAD_STATE` (no update on trial), `IOTADM_ERR_NO_FUMO`
/// or a flash error.
///
/// # Safety
/// `device` is an open device.
#[no_mangle]
pub unsafe extern "C" fn iotadm_fumo_confirm(device: *mut Device) -> c_int {
    // SAFETY: as promised by the caller.
    match unsafe { fumo_of(device) } {
        Ok((fumo, _)) => fumo
            .confirm_update()
            .map_or_else(fumo_error, |()| IOTADM_OK),
        Err(code) => code,
    }
}

/// Called by the new image when it cannot work: gives it up (the old image boots next;
/// reboot), and the update is reported as failed (result 410).
///
/// Returns `IOTADM_OK`, `IOTADM_ERR_BAD_STATE` (no update on trial), `IOTADM_ERR_NO_FUMO`
/// or a flash error.
///
/// # Safety
/// `device` is an open device.
#[no_mangle]
pub unsafe extern "C" fn iotadm_fumo_reject(device: *mut Device) -> c_int {
    // SAFETY: as promised by the caller.
    match unsafe { fumo_of(device) } {
        Ok((fumo, _)) => fumo.reject_update().map_or_else(fumo_error, |()| IOTADM_OK),
        Err(code) => code,
    }
}

/// Where FUMO stands, for the device's own screens and logs.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FumoInfo {
    /// The `State` node: 10 idle, 20 download failed, 30 downloading, 40 downloaded, 50
    /// ready to update, 60 updating, 70 and 80 update failed, 100 updated.
    pub state: u8,
    /// The result code waiting to be reported (200 success, 4xx and 5xx failures), 0 when
    /// none is.
    pub pending_result: u16,
    /// `PkgVersion`: the version name of the package on the device, NUL-terminated.
    pub pkg_version: [c_char; IOTADM_PKG_VERSION_SPACE],
}

/// Fills `*info` with where FUMO stands.
///
/// Returns `IOTADM_OK`, `IOTADM_ERR_NO_FUMO` or `IOTADM_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `device` is an open device; `info` writable.
#[no_mangle]
pub unsafe extern "C" fn iotadm_fumo_get_info(device: *mut Device, info: *mut FumoInfo) -> c_int {
    // SAFETY: as promised by the caller, for each pointer.
    let (fumo, info) = match unsafe { (fumo_of(device), info.as_mut()) } {
        (Ok((f, _)), Some(i)) => (f, i),
        (Err(code), _) => return code,
        _ => return IOTADM_ERR_INVALID_ARGUMENT,
    };
    let mut version = [0u8; IOTADM_PKG_VERSION_SPACE];
    copy_cstr(fumo.pkg_version(), &mut version);
    *info = FumoInfo {
        state: u8::from(fumo.state()),
        pending_result: fumo.pending_report().map_or(0, |r| u16::from(r.result())),
        pkg_version: version.map(|b| b as c_char),
    };
    IOTADM_OK
}

/// `iotadm_boot_decision.reason`: the confirmed image; nothing pending.
pub const IOTADM_BOOT_NORMAL: u8 = 0;
/// `iotadm_boot_decision.reason`: a trial boot of the new image (`attempt` counts them).
pub const IOTADM_BOOT_TRIAL: u8 = 1;
/// `iotadm_boot_decision.reason`: the new image was never confirmed: back to the old one.
pub const IOTADM_BOOT_ROLLED_BACK: u8 = 2;

/// The bootloader's choice.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct BootDecision {
    /// The slot to boot: 0 for A, 1 for B.
    pub slot: u8,
    /// Why: `IOTADM_BOOT_NORMAL`, `_TRIAL` or `_ROLLED_BACK`.
    pub reason: u8,
    /// For a trial boot, which one (from 1).
    pub attempt: u8,
}

/// The bootloader's step, before the firmware opens its device: which slot to boot. During
/// a trial it counts the boot (in flash before returning, so a crash of the new image still
/// counts) and rolls back once the image has had `max_trial_boots` boots (0 for 3) without
/// a confirm. Needs no device and no key.
///
/// Returns `IOTADM_OK`, a flash error, or `IOTADM_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// The three regions are valid `iotadm_flash` descriptions; `decision` is writable.
#[no_mangle]
pub unsafe extern "C" fn iotadm_boot_decide(
    slot_a: *const Flash,
    slot_b: *const Flash,
    boot_state: *const Flash,
    max_trial_boots: u8,
    decision: *mut BootDecision,
) -> c_int {
    // SAFETY: as promised by the caller, for each pointer.
    let (a, b, state, out) = match unsafe {
        (
            slot_a.as_ref(),
            slot_b.as_ref(),
            boot_state.as_ref(),
            decision.as_mut(),
        )
    } {
        (Some(a), Some(b), Some(s), Some(o)) => (a, b, s, o),
        _ => return IOTADM_ERR_INVALID_ARGUMENT,
    };
    let run = || -> Result<BootDecision, c_int> {
        // The bootloader checks no package: the identity and the key are never used.
        let identity = DeviceIdentity::new("", "", 0).ok_or(IOTADM_ERR_BAD_STATE)?;
        let verifier = HmacSha256Verifier::new(&[0]).ok_or(IOTADM_ERR_BAD_STATE)?;
        let mut installer = Installer::new(
            CFlash::new(a)?,
            CFlash::new(b)?,
            CFlash::new(state)?,
            identity,
            verifier,
            installer_config(max_trial_boots),
        )
        .map_err(installer_error)?;
        let d = installer.boot_decision().map_err(installer_error)?;
        let (reason, attempt) = match d.reason {
            BootReason::Trial { attempt } => (IOTADM_BOOT_TRIAL, attempt),
            BootReason::RolledBack => (IOTADM_BOOT_ROLLED_BACK, 0),
            _ => (IOTADM_BOOT_NORMAL, 0),
        };
        Ok(BootDecision {
            slot: match d.slot {
                Slot::A => 0,
                Slot::B => 1,
            },
            reason,
            attempt,
        })
    };
    match run() {
        Ok(d) => {
            *out = d;
            IOTADM_OK
        }
        Err(code) => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::tests::{config, open, storage};
    use crate::device::{iotadm_device_close, iotadm_node_get};
    use crate::flash::tests::Part;
    use core::ptr::{null, null_mut};

    struct Parts {
        tree: Part,
        a: Part,
        b: Part,
        boot: Part,
        log: Part,
    }

    impl Parts {
        fn new() -> Self {
            Parts {
                tree: Part::new(4),
                a: Part::new(4),
                b: Part::new(4),
                boot: Part::new(2),
                log: Part::new(2),
            }
        }

        fn fumo(&self, key: &[u8]) -> FumoConfig {
            FumoConfig {
                name: c"fw".as_ptr(),
                slot_a: self.a.region(),
                slot_b: self.b.region(),
                boot_state: self.boot.region(),
                fumo_state: self.log.region(),
                model: c"EH-100".as_ptr(),
                hardware_id: c"rev-C".as_ptr(),
                version: 7,
                key: key.as_ptr(),
                key_len: key.len(),
                max_trial_boots: 0,
                confirm_download: false,
                confirm_update: false,
                max_deferrals: 0,
                urn_alert_types: false,
            }
        }
    }

    #[test]
    fn a_device_with_fumo_starts_idle_with_its_object_in_the_tree() {
        let parts = Parts::new();
        let key = [0x5Au8; 32];
        let fumo = parts.fumo(&key);
        let mut seed = 0u8;
        let cfg = crate::device::DeviceConfig {
            fumo: &fumo,
            ..config(&parts.tree, &mut seed, &[])
        };
        for boot in 0..2 {
            // The second open finds the object already there.
            let mut store = storage();
            let dev = open(&mut store, &cfg).unwrap_or_else(|e| panic!("boot {boot}: {e}"));
            let mut info = FumoInfo {
                state: 0,
                pending_result: 1,
                pkg_version: [1; IOTADM_PKG_VERSION_SPACE],
            };
            let mut next = -1;
            let mut buf = [0u8; 256];
            let mut out = [0u8; 8];
            // SAFETY: an open device and valid pointers throughout.
            unsafe {
                assert_eq!(
                    iotadm_node_get(
                        dev,
                        c"./FUMO/fw/State".as_ptr(),
                        0,
                        out.as_mut_ptr(),
                        8,
                        null_mut(),
                        null_mut()
                    ),
                    IOTADM_OK
                );
                assert_eq!(iotadm_fumo_get_info(dev, &mut info), IOTADM_OK);
                assert_eq!(
                    (info.state, info.pending_result, info.pkg_version[0]),
                    (10, 0, 0)
                );
                assert_eq!(
                    iotadm_fumo_poll(dev, null(), buf.as_mut_ptr(), buf.len(), &mut next),
                    IOTADM_OK
                );
                assert_eq!(next, IOTADM_FUMO_IDLE);
                assert_eq!(
                    iotadm_fumo_poll(dev, null(), buf.as_mut_ptr(), 0, &mut next),
                    IOTADM_ERR_INVALID_ARGUMENT
                );
                // Nothing is on trial: nothing to confirm or reject, and nothing changes.
                assert_eq!(iotadm_fumo_confirm(dev), IOTADM_ERR_BAD_STATE);
                assert_eq!(iotadm_fumo_reject(dev), IOTADM_ERR_BAD_STATE);
                iotadm_device_close(dev);
            }
        }
        let mut decision = BootDecision {
            slot: 9,
            reason: 9,
            attempt: 9,
        };
        // SAFETY: valid regions and out pointer.
        let rc = unsafe {
            iotadm_boot_decide(
                &fumo.slot_a,
                &fumo.slot_b,
                &fumo.boot_state,
                0,
                &mut decision,
            )
        };
        assert_eq!(rc, IOTADM_OK);
        assert_eq!(
            (decision.slot, decision.reason, decision.attempt),
            (0, IOTADM_BOOT_NORMAL, 0)
        );
    }

    #[test]
    fn fumo_configs_are_checked_when_the_device_opens() {
        let parts = Parts::new();
        let key = [0x5Au8; 32];
        let mut seed = 0u8;
        let base = config(&parts.tree, &mut seed, &[]);
        let no_key = parts.fumo(&[]);
        let one_sector_log = FumoConfig {
            boot_state: Flash {
                size: parts.boot.region().size / 2,
                ..parts.boot.region()
            },
            ..parts.fumo(&key)
        };
        let no_model = FumoConfig {
            model: null(),
            ..parts.fumo(&key)
        };
        for (fumo, code) in [
            (no_key, IOTADM_ERR_INVALID_ARGUMENT),
            (no_model, IOTADM_ERR_INVALID_ARGUMENT),
            (one_sector_log, crate::status::IOTADM_ERR_FLASH_LAYOUT),
        ] {
            let cfg = crate::device::DeviceConfig {
                fumo: &fumo,
                ..base
            };
            assert_eq!(open(&mut storage(), &cfg), Err(code));
        }
    }
}

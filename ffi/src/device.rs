//! The device: its management tree on a flash region, its node handlers, FUMO and the room
//! for a session, in storage the caller provides; and what the device itself does with the
//! tree: read and write nodes, apply bootstraps, accept package 0.

use core::ffi::{c_char, c_int, c_void};
use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::addr_of_mut;

use iotadm::bootstrap::BootstrapKeys;
use iotadm::notification::{Initiator, UiMode};
use iotadm::platform::Clock;
use iotadm::session::{self as dm, Initiation, Session};

use crate::schema::DEVICE_SCHEMA;
use iotadm::limits;
use iotadm::tree::{Principal, Tree, UriLimits};

use crate::config::{FLASH_ERASE_SIZE, FLASH_WRITE_SIZE, NODE_HANDLERS};
use crate::flash::{CFlash, Flash};
use crate::fumo::{self, FumoConfig};
use crate::handlers::{DeviceHandlers, NodeHandler};
use crate::platform::{CClock, CRng, CUi, Platform, Ui};
use crate::session::{IOTADM_ACCOUNT_SPACE, MAX_ID_Z};
use crate::status::{
    session_error, status, tree_error, IOTADM_ERR_BUFFER_TOO_SMALL, IOTADM_ERR_DEVICE_INFO,
    IOTADM_ERR_INVALID_ARGUMENT, IOTADM_ERR_STORAGE, IOTADM_OK,
};
use crate::text::{bytes_in, bytes_out, copy_cstr, str_in};

/// The management tree of a device. It borrows the [`Slot`]'s storage for as long as the
/// device is open, which C cannot express as a lifetime: `'static` stands for "until
/// `iotadm_device_close`", and the tree never leaves the device.
pub(crate) type DeviceTree = Tree<'static, CFlash, DeviceHandlers>;

/// The tree's memory, with the capacities the library was built with (`IOTADM_TREE_*`).
type DeviceStorage = iotadm::tree::DefaultTreeStorage;

/// What `iotadm_device_open` lays out in the caller's storage: the device, then the
/// tree's memory. They are separate fields so that `&mut Device`, which every call
/// takes, never covers the memory the tree holds a reference to.
#[repr(C)]
struct Slot {
    device: Device,
    storage: DeviceStorage,
}

/// An open device. C sees it only through pointers (`iotadm_device *`); it lives in the
/// storage passed to `iotadm_device_open`.
pub struct Device {
    pub(crate) tree: DeviceTree,
    pub(crate) rng: CRng,
    pub(crate) clock: CClock,
    pub(crate) ui: CUi,
    /// Where a session's state lives while `iotadm_session_run` runs it: the device's
    /// storage rather than the stack. Never holds a value outside that call.
    pub(crate) session: MaybeUninit<Session>,
}

/// What a device is made of. Read during `iotadm_device_open` only: nothing in it needs
/// to outlive the call except what its pointers point to (`user` contexts and callbacks).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DeviceConfig {
    /// The tree's flash region: at least two sectors; it is split in two banks.
    pub tree_flash: Flash,
    /// Randomness and time.
    pub platform: Platform,
    /// The user interface.
    pub ui: Ui,
    /// Node handlers for vendor nodes, `handler_count` of them (at most
    /// `iotadm_build_info.node_handlers`); copied, so the array may go away after
    /// the call. `NULL` when there are none.
    pub handlers: *const NodeHandler,
    /// How many `handlers` there are.
    pub handler_count: usize,
    /// FUMO: the firmware update object `./FUMO/<name>` and its installer. `NULL`: the
    /// device has no FUMO.
    pub fumo: *const FumoConfig,
    /// What the device reports about itself; required.
    pub info: DeviceInfo,
}

/// What the device reports about itself in `./DevInfo` and `./DevDetail`, written into
/// the tree at every `iotadm_device_open` (a value already there writes nothing, so a
/// firmware update that changes `fw_version` shows at once). Every field is required: a
/// NUL-terminated UTF-8 string, not empty; the strings need not outlive the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DeviceInfo {
    /// `DevInfo/DevId`: the device's unique id as a URN, e.g. `"MEID:A0000012345678"`.
    pub dev_id: *const c_char,
    /// `DevInfo/Man`: the manufacturer.
    pub man: *const c_char,
    /// `DevInfo/Mod`: the model.
    pub model: *const c_char,
    /// `DevInfo/DmV`: the DM client's version, a string of the maker's.
    pub dm_version: *const c_char,
    /// `DevInfo/Lang`: the language in use, e.g. `"en-US"`.
    pub lang: *const c_char,
    /// `DevDetail/DevTyp`: the kind of device, e.g. `"phone"`.
    pub dev_type: *const c_char,
    /// `DevDetail/OEM`: the original equipment manufacturer.
    pub oem: *const c_char,
    /// `DevDetail/FwV`: the firmware version.
    pub fw_version: *const c_char,
    /// `DevDetail/SwV`: the software version.
    pub sw_version: *const c_char,
    /// `DevDetail/HwV`: the hardware version.
    pub hw_version: *const c_char,
}

impl DeviceInfo {
    /// The strings, checked to be valid UTF-8 (`NULL` reads as empty, which the core
    /// refuses with the field's name).
    ///
    /// # Safety
    /// Every non-null field points to a NUL-terminated string valid for `'a`.
    unsafe fn read<'a>(&self) -> Result<dm::DeviceInfo<'a>, c_int> {
        // SAFETY: as promised by the caller.
        let s = |p| match unsafe { str_in(p) } {
            Some(s) => Ok(s),
            None if p.is_null() => Ok(""),
            None => Err(IOTADM_ERR_INVALID_ARGUMENT),
        };
        let info = dm::DeviceInfo {
            dev_id: s(self.dev_id)?,
            man: s(self.man)?,
            model: s(self.model)?,
            dm_version: s(self.dm_version)?,
            lang: s(self.lang)?,
            dev_type: s(self.dev_type)?,
            oem: s(self.oem)?,
            fw_version: s(self.fw_version)?,
            sw_version: s(self.sw_version)?,
            hw_version: s(self.hw_version)?,
        };
        info.check().map_err(|_| IOTADM_ERR_DEVICE_INFO)?;
        Ok(info)
    }
}

/// What the library was built with (the `IOTADM_FFI_*` and `IOTADM_*` build settings).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildInfo {
    /// Bytes of storage `iotadm_device_open` needs.
    pub device_size: usize,
    /// The alignment that storage needs.
    pub device_align: usize,
    /// The unit iotadm writes flash in; every region's `write_size` divides it.
    pub flash_write_size: u32,
    /// The sector iotadm erases flash in; every region's `erase_size` divides it and its
    /// `size` is a multiple of it.
    pub flash_erase_size: u32,
    /// Run-time tree entries: nodes created at run time, and nodes whose value or
    /// properties changed.
    pub tree_entries: u32,
    /// Bytes for the names, ACLs and values of those entries.
    pub tree_arena: u32,
    /// The tree's record buffer: the largest value the tree keeps is a little less.
    pub tree_record: u32,
    /// Node handlers one device binds.
    pub node_handlers: u32,
}

/// Tells what the library was built with: the device's storage needs, the flash geometry
/// and the capacities.
///
/// # Safety
/// `info` is `NULL` (nothing happens) or points to a writable `iotadm_build_info`.
#[no_mangle]
pub unsafe extern "C" fn iotadm_get_build_info(info: *mut BuildInfo) {
    let as_u32 = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    // SAFETY: the caller promises a writable struct or NULL.
    if let Some(info) = unsafe { info.as_mut() } {
        *info = BuildInfo {
            device_size: size_of::<Slot>(),
            device_align: align_of::<Slot>(),
            flash_write_size: as_u32(FLASH_WRITE_SIZE),
            flash_erase_size: as_u32(FLASH_ERASE_SIZE),
            tree_entries: as_u32(limits::TREE_ENTRIES),
            tree_arena: as_u32(limits::TREE_ARENA),
            tree_record: as_u32(limits::TREE_RECORD),
            node_handlers: as_u32(NODE_HANDLERS),
        };
    }
}

/// The device behind a pointer from `iotadm_device_open`.
///
/// # Safety
/// `p` is `NULL` or a pointer `iotadm_device_open` gave and `iotadm_device_close` has not
/// closed, used by no other call meanwhile.
pub(crate) unsafe fn device_mut<'a>(p: *mut Device) -> Result<&'a mut Device, c_int> {
    // SAFETY: as promised by the caller.
    unsafe { p.as_mut() }.ok_or(IOTADM_ERR_INVALID_ARGUMENT)
}

/// Opens a device in `storage`: mounts its tree from `config->tree_flash` (formatting a
/// blank region, restoring every change recorded in a used one), binds the node handlers,
/// writes the device information, and opens FUMO if configured, adding `./FUMO/<name>` to
/// the tree the first time.
///
/// `storage` must hold `iotadm_build_info.device_size` bytes aligned to `device_align`,
/// and belongs to the device until `iotadm_device_close`. On success `*device` is the
/// handle every other call takes. The tree is mounted in `storage` itself; the stack this
/// call needs is for the FUMO object while it is opened (see the C interface's notes).
///
/// Returns `IOTADM_OK`, or `IOTADM_ERR_STORAGE`, `IOTADM_ERR_INVALID_ARGUMENT`,
/// `IOTADM_ERR_DEVICE_INFO` (a field of `config->info` empty, or `dev_id` not a URN),
/// `IOTADM_ERR_FLASH`, `IOTADM_ERR_FLASH_LAYOUT`, `IOTADM_ERR_CAPACITY`,
/// `IOTADM_ERR_UNKNOWN_NODE`; then nothing is open and `storage` is free again.
///
/// # Safety
/// `storage` points to `storage_len` writable bytes that nothing else uses while the
/// device is open; `config` points to a valid `iotadm_device_config` whose pointers are
/// valid as documented there; `device` points to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn iotadm_device_open(
    storage: *mut c_void,
    storage_len: usize,
    config: *const DeviceConfig,
    device: *mut *mut Device,
) -> c_int {
    // SAFETY: the caller promises a valid config and out pointer, or NULL.
    let (Some(config), Some(out)) = (unsafe { config.as_ref() }, unsafe { device.as_mut() }) else {
        return IOTADM_ERR_INVALID_ARGUMENT;
    };
    let slot = storage.cast::<Slot>();
    if slot.is_null() || !slot.is_aligned() || storage_len < size_of::<Slot>() {
        return IOTADM_ERR_STORAGE;
    }
    // SAFETY: as promised by the caller.
    match unsafe { open(slot, config) } {
        Ok(()) => {
            // SAFETY: `slot` is valid (checked above); the device is its first field.
            *out = unsafe { addr_of_mut!((*slot).device) };
            IOTADM_OK
        }
        Err(code) => code,
    }
}

/// Builds the device into `slot`.
///
/// # Safety
/// `slot` is aligned, writable for a `Slot` and used by nothing else until the device is
/// closed; the config's pointers are valid.
unsafe fn open(slot: *mut Slot, config: &DeviceConfig) -> Result<(), c_int> {
    // SAFETY: the caller promises valid strings in the config.
    let info = unsafe { config.info.read() }?;
    let (rng, clock) = config.platform.split()?;
    let table = if config.handler_count == 0 {
        &[][..]
    } else if config.handlers.is_null() || config.handler_count > NODE_HANDLERS {
        return Err(if config.handlers.is_null() {
            IOTADM_ERR_INVALID_ARGUMENT
        } else {
            crate::status::IOTADM_ERR_CAPACITY
        });
    } else {
        // SAFETY: the caller promises `handler_count` handlers at `handlers`.
        unsafe { core::slice::from_raw_parts(config.handlers, config.handler_count) }
    };
    // SAFETY: the caller promises a valid FumoConfig or NULL.
    let fumo_config = unsafe { config.fumo.as_ref() };
    let fumo = match fumo_config {
        // SAFETY: as promised by the caller.
        Some(f) => Some(unsafe { fumo::open(f) }?),
        None => None,
    };
    let handlers = DeviceHandlers::new(table, fumo)?;
    let flash = CFlash::new(&config.tree_flash)?;
    // The tree's memory is set up where it stays (empty storage is all zeros but for the
    // lengths, written in place rather than built on the stack and copied).
    // SAFETY: `slot` is valid for writes (caller), so its `storage` field is, and nothing
    // else refers to it while the device is open: the reference lives in the tree only.
    let storage: &'static mut DeviceStorage = unsafe {
        let at = addr_of_mut!((*slot).storage);
        at.write(DeviceStorage::new());
        &mut *at
    };
    let tree = Tree::mount(storage, &DEVICE_SCHEMA, flash, handlers, UriLimits::DEFAULT)
        .map_err(tree_error)?;
    // SAFETY: `slot` is valid for writes (caller).
    let tree = unsafe {
        let at = addr_of_mut!((*slot).device.tree);
        at.write(tree);
        &mut *at
    };
    info.store(tree).map_err(|e| match e {
        dm::DeviceInfoError::Refused(_, s) => status(s),
        _ => IOTADM_ERR_DEVICE_INFO,
    })?;
    let now = clock.unix_time();
    if let Some(name) = tree.handlers_mut().fumo.as_ref().map(fumo::node_uri) {
        let mut probe = [0u8; 1];
        if tree.get(Principal::Device, &name, 0, &mut probe).is_err() {
            tree.add(Principal::Device, &name, None, None, now)
                .map_err(status)?;
        }
    }
    // SAFETY: `slot` is valid for writes (caller); each other field is written once, and
    // `session` stays uninitialised by design.
    unsafe {
        addr_of_mut!((*slot).device.rng).write(rng);
        addr_of_mut!((*slot).device.clock).write(clock);
        addr_of_mut!((*slot).device.ui).write(CUi(config.ui));
    }
    Ok(())
}

/// Closes a device: its storage, the flash regions and every `user` context are the
/// caller's again. Everything the device changed is already in flash.
///
/// # Safety
/// `device` is `NULL` (nothing happens) or an open device; it must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn iotadm_device_close(device: *mut Device) {
    if !device.is_null() {
        // SAFETY: an open device is initialised but for `session`, which needs no drop.
        unsafe {
            core::ptr::drop_in_place(addr_of_mut!((*device).tree));
        }
    }
}

/// The text behind a C string argument.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn arg<'a>(p: *const c_char) -> Result<&'a str, c_int> {
    // SAFETY: as promised by the caller.
    unsafe { str_in(p) }.ok_or(IOTADM_ERR_INVALID_ARGUMENT)
}

/// Runs the body of an exported function, its failures as their result codes.
fn run(body: impl FnOnce() -> Result<(), c_int>) -> c_int {
    body().err().unwrap_or(IOTADM_OK)
}

/// Reads the node at `uri` as the device (no ACL applies): a leaf's value from byte
/// `offset`, an interior node's child names separated by `/`, or a property
/// (`?prop=ACL`). Writes up to `out_len` bytes to `out`, their number to `*len` and the
/// whole value's size to `*total` (either may be `NULL`).
///
/// Returns `IOTADM_OK`, the DM status refusing it (404 when there is no such node), or
/// `IOTADM_ERR_INVALID_ARGUMENT`. A value larger than `out_len` is cut, not refused: read
/// on from `offset + *len`.
///
/// # Safety
/// `device` is an open device; `uri` a NUL-terminated string; `out` writable for `out_len`
/// bytes (or `NULL` with 0); `len` and `total` writable or `NULL`.
#[no_mangle]
pub unsafe extern "C" fn iotadm_node_get(
    device: *mut Device,
    uri: *const c_char,
    offset: usize,
    out: *mut u8,
    out_len: usize,
    len: *mut usize,
    total: *mut usize,
) -> c_int {
    // SAFETY: as promised by the caller, for each pointer.
    run(|| unsafe {
        let dev = device_mut(device)?;
        let uri = arg(uri)?;
        let out = bytes_out(out, out_len).ok_or(IOTADM_ERR_INVALID_ARGUMENT)?;
        let r = dev
            .tree
            .get(Principal::Device, uri, offset, out)
            .map_err(status)?;
        if let Some(len) = len.as_mut() {
            *len = r.len;
        }
        if let Some(total) = total.as_mut() {
            *total = r.total;
        }
        Ok(())
    })
}

/// Sets the value of the existing leaf at `uri` (or a property, `?prop=ACL`) as the
/// device, to the `len` bytes at `value`. The change is in flash when this returns.
///
/// Returns `IOTADM_OK`, the DM status refusing it, or `IOTADM_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `device` is an open device; `uri` a NUL-terminated string; `value` readable for `len`
/// bytes (or `NULL` with 0).
#[no_mangle]
pub unsafe extern "C" fn iotadm_node_replace(
    device: *mut Device,
    uri: *const c_char,
    value: *const u8,
    len: usize,
) -> c_int {
    // SAFETY: as promised by the caller, for each pointer.
    run(|| unsafe {
        let dev = device_mut(device)?;
        let uri = arg(uri)?;
        let value = bytes_in(value, len).ok_or(IOTADM_ERR_INVALID_ARGUMENT)?;
        let now = dev.clock.unix_time();
        dev.tree
            .replace(Principal::Device, uri, value, None, now)
            .map_err(status)
    })
}

/// Creates the node at `uri` as the device, and any missing interior nodes on the way: a
/// leaf with the `len` bytes at `value`, or an interior node when `value` is `NULL`.
///
/// Returns `IOTADM_OK`, the DM status refusing it (418 when it exists), or
/// `IOTADM_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `device` is an open device; `uri` a NUL-terminated string; `value` `NULL` or readable
/// for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn iotadm_node_add(
    device: *mut Device,
    uri: *const c_char,
    value: *const u8,
    len: usize,
) -> c_int {
    // SAFETY: as promised by the caller, for each pointer.
    run(|| unsafe {
        let dev = device_mut(device)?;
        let uri = arg(uri)?;
        let value = if value.is_null() {
            None
        } else {
            Some(bytes_in(value, len).ok_or(IOTADM_ERR_INVALID_ARGUMENT)?)
        };
        let now = dev.clock.unix_time();
        dev.tree
            .add(Principal::Device, uri, value, None, now)
            .map_err(status)
    })
}

/// Deletes the node at `uri` and its subtree, as the device.
///
/// Returns `IOTADM_OK`, the DM status refusing it (405 for a permanent node), or
/// `IOTADM_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `device` is an open device; `uri` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn iotadm_node_delete(device: *mut Device, uri: *const c_char) -> c_int {
    // SAFETY: as promised by the caller, for each pointer.
    run(|| unsafe {
        let dev = device_mut(device)?;
        let uri = arg(uri)?;
        let now = dev.clock.unix_time();
        dev.tree.delete(Principal::Device, uri, now).map_err(status)
    })
}

/// `iotadm_bootstrap_source.kind`: written at the factory or read from the smart card;
/// the channel is trusted and no MAC is checked.
pub const IOTADM_BOOTSTRAP_TRUSTED: u8 = 0;
/// `iotadm_bootstrap_source.kind`: a WSP Push PDU carrying the document, its `SEC` and
/// `MAC` in the push's content type.
pub const IOTADM_BOOTSTRAP_PUSH: u8 = 1;
/// `iotadm_bootstrap_source.kind`: a document received with a textual content type (HTTP,
/// OBEX) carrying `SEC` and `MAC`, given in `content_type`.
pub const IOTADM_BOOTSTRAP_CONTENT_TYPE: u8 = 2;

/// How a bootstrap reached the device, and the keys that authenticate it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct BootstrapSource {
    /// `IOTADM_BOOTSTRAP_TRUSTED`, `_PUSH` or `_CONTENT_TYPE`.
    pub kind: u8,
    /// For `IOTADM_BOOTSTRAP_CONTENT_TYPE`: the content type, e.g.
    /// `application/vnd.syncml.dm+wbxml; SEC=1; MAC=...`.
    pub content_type: *const c_char,
    /// The network shared secret (NETWPIN), `network_secret_len` bytes; `NULL` if none.
    pub network_secret: *const u8,
    /// Its length.
    pub network_secret_len: usize,
    /// The PIN the user entered (USERPIN), `user_pin_len` bytes; `NULL` if none.
    pub user_pin: *const u8,
    /// Its length.
    pub user_pin_len: usize,
}

/// Applies a DM bootstrap (a DM message of `Add`/`Replace` commands, with leaf values or
/// TNDS, that provisions accounts), `len` bytes at `bytes`, in XML or WBXML. An
/// over-the-air bootstrap is authenticated first; then it is applied as the device, all or
/// nothing. `source` `NULL` means `IOTADM_BOOTSTRAP_TRUSTED`. `scratch` holds decoded
/// values (the largest value of the bootstrap). `*items` (if not `NULL`) gets the number
/// of nodes set.
///
/// Returns `IOTADM_OK`, `IOTADM_ERR_BOOTSTRAP_AUTH` (not authentic), `IOTADM_ERR_BOOTSTRAP`
/// (not applicable), `IOTADM_ERR_PROTOCOL` (does not decode) or
/// `IOTADM_ERR_INVALID_ARGUMENT`; on failure nothing was stored.
///
/// # Safety
/// `device` is an open device; `bytes` readable for `len` bytes; `source` `NULL` or valid
/// with its pointers; `scratch` writable for `scratch_len` bytes; `items` `NULL` or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn iotadm_apply_bootstrap(
    device: *mut Device,
    bytes: *const u8,
    len: usize,
    source: *const BootstrapSource,
    scratch: *mut u8,
    scratch_len: usize,
    items: *mut usize,
) -> c_int {
    // SAFETY: as promised by the caller, for each pointer.
    run(|| unsafe {
        let dev = device_mut(device)?;
        let bytes = bytes_in(bytes, len).ok_or(IOTADM_ERR_INVALID_ARGUMENT)?;
        let scratch = bytes_out(scratch, scratch_len).ok_or(IOTADM_ERR_INVALID_ARGUMENT)?;
        let bad = IOTADM_ERR_INVALID_ARGUMENT;
        let (kind, keys, content_type) = match source.as_ref() {
            None => (IOTADM_BOOTSTRAP_TRUSTED, BootstrapKeys::default(), None),
            Some(s) => {
                let key = |p: *const u8, n: usize| match p.is_null() {
                    true => Ok(None),
                    false => bytes_in(p, n).map(Some).ok_or(bad),
                };
                let keys = BootstrapKeys {
                    network_secret: key(s.network_secret, s.network_secret_len)?,
                    user_pin: key(s.user_pin, s.user_pin_len)?,
                };
                (s.kind, keys, str_in(s.content_type))
            }
        };
        let source = match (kind, content_type) {
            (IOTADM_BOOTSTRAP_TRUSTED, _) => dm::BootstrapSource::Trusted,
            (IOTADM_BOOTSTRAP_PUSH, _) => dm::BootstrapSource::Push(keys),
            (IOTADM_BOOTSTRAP_CONTENT_TYPE, Some(ct)) => {
                dm::BootstrapSource::ContentType(ct.as_bytes(), keys)
            }
            _ => return Err(bad),
        };
        let now = dev.clock.unix_time();
        let n = dm::apply_bootstrap(&mut dev.tree, bytes, source, now, scratch)
            .map_err(|e| session_error(&e))?;
        if let Some(items) = items.as_mut() {
            *items = n;
        }
        Ok(())
    })
}

/// `iotadm_trigger.ui_mode`: no advice.
pub const IOTADM_UI_MODE_NOT_SPECIFIED: u8 = 0;
/// `iotadm_trigger.ui_mode`: run the session in the background.
pub const IOTADM_UI_MODE_BACKGROUND: u8 = 1;
/// `iotadm_trigger.ui_mode`: the user was told (`iotadm_ui.inform_session`).
pub const IOTADM_UI_MODE_INFORMATIVE: u8 = 2;
/// `iotadm_trigger.ui_mode`: the user was asked and agreed (`iotadm_ui.allow_session`).
pub const IOTADM_UI_MODE_USER_INTERACTION: u8 = 3;

/// What a verified package 0 asks for: run a session with these values.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Trigger {
    /// The account of the server that sent it (`./DMAcc/<account>`), NUL-terminated.
    pub account: [c_char; IOTADM_ACCOUNT_SPACE],
    /// The session id for `iotadm_session_params.session_id`.
    pub session_id: u16,
    /// The server's UI advice, already acted on: `IOTADM_UI_MODE_*`.
    pub ui_mode: u8,
    /// The end user asked for the session (rather than the operator).
    pub user_initiated: bool,
    /// The digest matched only the resynchronisation nonce: the server lost its nonce, and
    /// the session's authentication sets a fresh one.
    pub nonce_resync: bool,
}

/// Verifies a package 0 (raw, or inside a WAP Push), `len` bytes at `bytes`, against the
/// sending server's account, and tells or asks the user as its UI mode says. Nothing
/// starts unless it returns `IOTADM_OK`; then `*trigger` says which session to run.
///
/// Returns `IOTADM_OK`, `IOTADM_ERR_NOTIFICATION` (forged, truncated, not for this
/// device), `IOTADM_ERR_ACCOUNT` (unknown server, or no server credentials),
/// `IOTADM_ERR_DECLINED` (the user said no) or `IOTADM_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `device` is an open device; `bytes` readable for `len` bytes; `trigger` writable.
#[no_mangle]
pub unsafe extern "C" fn iotadm_accept_notification(
    device: *mut Device,
    bytes: *const u8,
    len: usize,
    trigger: *mut Trigger,
) -> c_int {
    // SAFETY: as promised by the caller, for each pointer.
    run(|| unsafe {
        let dev = device_mut(device)?;
        let bytes = bytes_in(bytes, len).ok_or(IOTADM_ERR_INVALID_ARGUMENT)?;
        let out = trigger.as_mut().ok_or(IOTADM_ERR_INVALID_ARGUMENT)?;
        let t = dm::accept_notification(&mut dev.tree, &mut dev.ui, bytes)
            .map_err(|e| session_error(&e))?;
        let mut account = [0u8; MAX_ID_Z];
        if !copy_cstr(&t.account, &mut account) {
            return Err(IOTADM_ERR_BUFFER_TOO_SMALL);
        }
        *out = Trigger {
            account: account.map(|b| b as c_char),
            session_id: match t.initiation {
                Initiation::Server { session_id } => session_id,
                Initiation::Client => 0,
            },
            ui_mode: match t.ui_mode {
                UiMode::NotSpecified => IOTADM_UI_MODE_NOT_SPECIFIED,
                UiMode::Background => IOTADM_UI_MODE_BACKGROUND,
                UiMode::Informative => IOTADM_UI_MODE_INFORMATIVE,
                UiMode::UserInteraction => IOTADM_UI_MODE_USER_INTERACTION,
            },
            user_initiated: t.initiator == Initiator::Client,
            nonce_resync: t.nonce_resync,
        };
        Ok(())
    })
}

#[cfg(test)]
pub(crate) mod tests {
    //! Devices on simulated parts; the FUMO tests use them too.

    use super::*;
    use crate::flash::tests::Part;
    use crate::session::{Buffers, SessionParams, Transport, IOTADM_ENCODING_XML};
    use crate::status::{
        IOTADM_ERR_CAPACITY, IOTADM_ERR_NO_FUMO, IOTADM_ERR_UNKNOWN_NODE, IOTADM_STATUS_OK,
    };
    use core::ptr::{null, null_mut};
    use std::vec::Vec;

    unsafe extern "C" fn counting_random(user: *mut c_void, buf: *mut u8, len: usize) {
        // SAFETY: the tests pass a u8 counter as `user`; `buf` holds `len` bytes.
        unsafe {
            let next = &mut *user.cast::<u8>();
            for i in 0..len {
                *next = next.wrapping_add(1);
                *buf.add(i) = *next;
            }
        }
    }

    unsafe extern "C" fn read_nothing(
        _: *mut c_void,
        _: *const crate::handlers::NodeRef,
        _: usize,
        _: *mut u8,
        _: usize,
        written: *mut usize,
        total: *mut usize,
    ) -> c_int {
        // SAFETY: the library passes valid counters.
        unsafe {
            *written = 0;
            *total = 0;
        }
        IOTADM_STATUS_OK
    }

    fn handler(uri: &'static core::ffi::CStr) -> NodeHandler {
        NodeHandler {
            uri: uri.as_ptr(),
            user: null_mut(),
            read: Some(read_nothing),
            write: None,
            exec: None,
            check: None,
            allow_read: None,
            allow_change: None,
            write_begin: None,
            write_chunk: None,
            write_end: None,
            event: None,
        }
    }

    /// Storage for one device, 8-aligned.
    pub(crate) fn storage() -> Vec<u64> {
        assert!(align_of::<Slot>() <= 8);
        std::vec![0u64; size_of::<Slot>() / 8 + 1]
    }

    pub(crate) fn config(part: &Part, seed: &mut u8, handlers: &[NodeHandler]) -> DeviceConfig {
        DeviceConfig {
            tree_flash: part.region(),
            platform: Platform {
                user: (seed as *mut u8).cast(),
                random: Some(counting_random),
                unix_time: None,
            },
            ui: Ui {
                user: null_mut(),
                ask: None,
                inform_session: None,
                allow_session: None,
            },
            handlers: handlers.as_ptr(),
            handler_count: handlers.len(),
            fumo: null(),
            info: DeviceInfo {
                dev_id: c"IMEI:1".as_ptr(),
                man: c"m".as_ptr(),
                model: c"t".as_ptr(),
                dm_version: c"1.2".as_ptr(),
                lang: c"en".as_ptr(),
                dev_type: c"phone".as_ptr(),
                oem: c"o".as_ptr(),
                fw_version: c"1".as_ptr(),
                sw_version: c"1".as_ptr(),
                hw_version: c"1".as_ptr(),
            },
        }
    }

    pub(crate) fn open(store: &mut [u64], cfg: &DeviceConfig) -> Result<*mut Device, c_int> {
        let mut dev = null_mut();
        let len = store.len() * 8;
        // SAFETY: the storage, config and out pointer are valid.
        match unsafe { iotadm_device_open(store.as_mut_ptr().cast(), len, cfg, &mut dev) } {
            IOTADM_OK => Ok(dev),
            code => Err(code),
        }
    }

    #[test]
    fn a_device_is_refused_storage_too_small_or_misaligned_and_bad_configs() {
        let part = Part::new(4);
        let mut seed = 0u8;
        let cfg = config(&part, &mut seed, &[]);
        let mut store = storage();
        let mut dev = null_mut();
        let base: *mut u8 = store.as_mut_ptr().cast();
        // SAFETY: valid pointers throughout; the lengths are within `store`.
        unsafe {
            let too_small = size_of::<Slot>() - 1;
            assert_eq!(
                iotadm_device_open(base.cast(), too_small, &cfg, &mut dev),
                IOTADM_ERR_STORAGE
            );
            if align_of::<Slot>() > 1 {
                let misaligned = base.add(1);
                assert_eq!(
                    iotadm_device_open(misaligned.cast(), size_of::<Slot>(), &cfg, &mut dev),
                    IOTADM_ERR_STORAGE
                );
            }
        }
        assert!(dev.is_null());
        let no_random = DeviceConfig {
            platform: Platform {
                random: None,
                ..cfg.platform
            },
            ..cfg
        };
        assert_eq!(
            open(&mut store, &no_random),
            Err(IOTADM_ERR_INVALID_ARGUMENT)
        );
        for (table, code) in [
            (std::vec![handler(c"./Nope")], IOTADM_ERR_UNKNOWN_NODE),
            (std::vec![handler(c"./DMAcc/srv1")], IOTADM_ERR_UNKNOWN_NODE),
            (
                std::vec![handler(c"./DevDetail"), handler(c"./DevDetail")],
                IOTADM_ERR_UNKNOWN_NODE,
            ),
            (
                std::vec![handler(c"./DevDetail"); NODE_HANDLERS + 1],
                IOTADM_ERR_CAPACITY,
            ),
        ] {
            let cfg = config(&part, &mut seed, &table);
            assert_eq!(open(&mut store, &cfg), Err(code));
        }
        let null_table = DeviceConfig {
            handlers: null(),
            handler_count: 1,
            ..cfg
        };
        assert_eq!(
            open(&mut store, &null_table),
            Err(IOTADM_ERR_INVALID_ARGUMENT)
        );
    }

    #[test]
    fn nodes_written_as_the_device_are_in_flash_when_the_call_returns() {
        let part = Part::new(4);
        let mut seed = 0u8;
        let cfg = config(&part, &mut seed, &[]);
        let mut store = storage();
        let dev = open(&mut store, &cfg).unwrap();
        let mut out = [0u8; 16];
        let (mut len, mut total) = (0usize, 0usize);
        // SAFETY: an open device and valid buffers throughout.
        unsafe {
            let value = b"EH-100";
            assert_eq!(
                iotadm_node_add(
                    dev,
                    c"./DMAcc/srv1/Name".as_ptr(),
                    value.as_ptr(),
                    value.len()
                ),
                IOTADM_OK
            );
            assert_eq!(
                iotadm_node_add(dev, c"./DMAcc/srv1".as_ptr(), null(), 0),
                418,
                "it exists"
            );
            assert_eq!(
                iotadm_node_delete(dev, c"./DevInfo".as_ptr()),
                405,
                "a permanent node"
            );
            // A value larger than the buffer is cut, and its size told.
            assert_eq!(
                iotadm_node_get(
                    dev,
                    c"./DMAcc/srv1/Name".as_ptr(),
                    2,
                    out.as_mut_ptr(),
                    3,
                    &mut len,
                    &mut total
                ),
                IOTADM_OK
            );
            assert_eq!((&out[..len], total), (&b"-10"[..], 6));
            assert_eq!(
                iotadm_node_get(
                    dev,
                    c"./Nope".as_ptr(),
                    0,
                    out.as_mut_ptr(),
                    16,
                    null_mut(),
                    null_mut()
                ),
                404
            );
            assert_eq!(
                iotadm_node_get(dev, null(), 0, out.as_mut_ptr(), 16, null_mut(), null_mut()),
                IOTADM_ERR_INVALID_ARGUMENT
            );
            assert_eq!(crate::fumo::iotadm_fumo_confirm(dev), IOTADM_ERR_NO_FUMO);
            iotadm_device_close(dev);
        }
        // A restart: the same flash, a fresh storage.
        let mut store = storage();
        let dev = open(&mut store, &cfg).unwrap();
        // SAFETY: as above.
        unsafe {
            assert_eq!(
                iotadm_node_get(
                    dev,
                    c"./DMAcc/srv1/Name".as_ptr(),
                    0,
                    out.as_mut_ptr(),
                    16,
                    &mut len,
                    null_mut()
                ),
                IOTADM_OK
            );
            assert_eq!(&out[..len], b"EH-100");
            assert_eq!(
                iotadm_node_get(
                    dev,
                    c"./DMAcc/srv1".as_ptr(),
                    0,
                    out.as_mut_ptr(),
                    16,
                    &mut len,
                    null_mut()
                ),
                IOTADM_OK
            );
            iotadm_device_close(dev);
        }
    }

    unsafe extern "C" fn no_exchange(
        _: *mut c_void,
        _: *const crate::session::Request,
        _: *mut crate::session::Reply,
    ) -> c_int {
        unreachable!("no message may be sent")
    }

    #[test]
    fn a_session_with_overlapping_buffers_or_no_transport_sends_nothing() {
        let part = Part::new(4);
        let mut seed = 0u8;
        let cfg = config(&part, &mut seed, &[]);
        let mut store = storage();
        let dev = open(&mut store, &cfg).unwrap();
        let mut mem = std::vec![0u8; 16 * 1024];
        let p = mem.as_mut_ptr();
        // SAFETY: every buffer lies inside `mem`.
        let (good, overlapping) = unsafe {
            let good = Buffers {
                rx: p,
                rx_len: 4096,
                aux: p.add(4096),
                aux_len: 1024,
                tx: p.add(5120),
                tx_len: 4096,
                scratch: p.add(9216),
                scratch_len: 2048,
                hmac: p.add(11264),
                hmac_len: 256,
            };
            let overlapping = Buffers {
                tx: p.add(4000),
                ..good
            };
            (good, overlapping)
        };
        let params = SessionParams {
            account: c"srv1".as_ptr(),
            server_initiated: false,
            session_id: 0,
            encoding: IOTADM_ENCODING_XML,
            max_msg_size: 4096,
            max_obj_size: 0,
            max_messages: 0,
            max_session_secs: 0,
        };
        let transport = Transport {
            user: null_mut(),
            exchange: Some(no_exchange),
        };
        let none = Transport {
            exchange: None,
            ..transport
        };
        // SAFETY: valid pointers throughout.
        unsafe {
            use crate::session::iotadm_session_run as run;
            assert_eq!(
                run(dev, &params, &transport, &overlapping, null_mut()),
                IOTADM_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                run(dev, &params, &none, &good, null_mut()),
                IOTADM_ERR_INVALID_ARGUMENT
            );
            // No account provisioned: refused before anything is sent.
            assert_eq!(
                run(dev, &params, &transport, &good, null_mut()),
                crate::status::IOTADM_ERR_ACCOUNT
            );
            iotadm_device_close(dev);
        }
    }
}

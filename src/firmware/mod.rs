//! The firmware installer and the update package format.
//!
//! This module owns the boot-state record and the slot layout. It takes an update package
//! (or, with the feature `mcuboot`, an MCUboot image as imgtool signs it) as a stream of
//! bytes, writes it to the inactive slot of an A/B pair on NOR flash,
//! verifies it, arms a trial boot, and confirms or rolls back. It never touches DM, the
//! network or the user: the FUMO layer decides what to install and when, and drives the
//! [`Installer`] through a few verbs. Images execute in place from their slot; nothing is
//! swapped, so a rollback is only a state change.
//!
//! # Package
//!
//! A package is a little-endian header (magic, format, device model and hardware id,
//! from-version range, target version, payload length and SHA-256, and an authenticator
//! over all of that) followed by the payload; see [`package`] and
//! `docs/update-package.md`. The authenticator is an Ed25519 or ECDSA P-256 signature
//! checked with a public key ([`verify`], features `ed25519` and `ecdsa-p256`), or an
//! HMAC-SHA256 tag. A refusal is recorded as a [`Failure`] ([`PackageError::failure`]),
//! which the FUMO layer reports as its result code: 402 for a corrupted package, 403 for a
//! package meant for another device or version, 404 for a bad authenticator, 405 for a
//! downgrade, 501 when it does not fit.
//!
//! # MCUboot images
//!
//! With the feature `mcuboot`, `mcuboot` reads and verifies MCUboot images as imgtool signs
//! them, and the installer takes one wherever it takes a package: the first four bytes of a
//! download decide, `IOTF` for a package, MCUboot's image magic for an image, anything else
//! is refused ([`PackageError::BadMagic`]). An image is written to the update slot exactly
//! as received, from offset 0, which is the layout MCUboot itself expects in a slot; its
//! header size must be [`IMAGE_OFFSET`] (imgtool `--header-size 0x200 --pad-header`) so
//! that it runs where a package's image runs. Its 32-byte header is checked as soon as it
//! has arrived (a key to check it with, header size, not encrypted or compressed, room in
//! the slot), its length once its unprotected TLV area's info header has; `finish` reads
//! it back and verifies it with the verifier's keys
//! (`PackageVerifier::image_keys`), then wants its version above the running one and its
//! security counter at least the running image's. A refusal is `Error::Image`, recorded
//! as `McubootError::failure` says, with the same result codes as a package's. The version
//! code recorded for an image is `ImageVersion::code32` (`major << 24 | minor << 16 |
//! revision`): the build number is compared but not recorded. `docs/update-package.md`
//! has the checks in order and what a device that boots with MCUboot needs.
//!
//! # Slot layout
//!
//! An update package:
//!
//! | slot offset | contents |
//! |---|---|
//! | `0` | the package header, as received (authenticator included) |
//! | header end .. [`IMAGE_OFFSET`] | erased padding |
//! | [`IMAGE_OFFSET`] (512) | the payload: the image, vector table first |
//!
//! An MCUboot image (feature `mcuboot`), as received:
//!
//! | slot offset | contents |
//! |---|---|
//! | `0` | the 32-byte image header, then imgtool's zero padding |
//! | [`IMAGE_OFFSET`] (512, the header size) | the image, vector table first |
//! | 512 + image size | the protected TLV area (the security counter), if any |
//! | after it | the unprotected TLV area: hash, key hash, signature |
//! | after the TLVs | erased to the end of the sector; MCUboot's image trailer is never written |
//!
//! # State region layout
//!
//! The state region (two sectors or more) is a log of 32-byte records, each padded to
//! whole write words and written with one write. The valid record with the highest
//! sequence number is the state; when a sector is full the next one is erased and the log
//! moves on, wrapping around. A torn record fails its check and is skipped; a torn erase
//! only hits a sector of older records. So a power cut at any point leaves either the old
//! or the new state.
//!
//! | record offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `IBST` |
//! | 4 | 4 | sequence number |
//! | 8 | 1 | phase: 0 idle, 1 downloading, 2 ready, 3 trial |
//! | 9 | 1 | active (confirmed) slot: 0 A, 1 B |
//! | 10 | 1 | trial boots so far |
//! | 11 | 1 | flags: bit 0 backup valid, bit 1 restore pending |
//! | 12 | 4 | download progress: package bytes durably in the slot |
//! | 16 | 4 | version code of the image in the update slot |
//! | 20 | 1 | last outcome: 0 none, 1 updated, 2 rolled back, 3 failed |
//! | 21 | 1 | reserved (0) |
//! | 22 | 2 | FUMO result code of a failure |
//! | 24 | 4 | version code the outcome refers to |
//! | 28 | 4 | first 4 bytes of SHA-256 over bytes 0..28 |
//!
//! # Life of an update
//!
//! | step | who | verb | state after |
//! |---|---|---|---|
//! | download | firmware | [`begin`](Installer::begin), [`write_chunk`](Installer::write_chunk)… | downloading; progress recorded per sector |
//! | after a reboot | firmware | [`resume`](Installer::resume) → offset (the header read back from slot offset 0), then `write_chunk` | downloading |
//! | verify | firmware | [`finish`](Installer::finish) | ready |
//! | back up user data | firmware | [`backup`](Installer::backup) | ready, backup valid |
//! | arm | firmware | [`arm_trial`](Installer::arm_trial) | trial, 0 boots |
//! | boot | bootloader | [`boot_decision`](Installer::boot_decision) | trial, n boots; or idle + rolled back after `max_trial_boots` |
//! | keep | new firmware | [`confirm`](Installer::confirm) | idle, new slot active, outcome updated |
//! | give up | new firmware | [`rollback`](Installer::rollback) | idle, old slot active, outcome rolled back |
//! | restore user data | old firmware | [`restore`](Installer::restore) | idle |
//!
//! Each slot sector is erased once per update, just before its first write; a resumed
//! download erases again only the sector it was in when it stopped.
//!
//! ```
//! use core::cell::RefCell;
//! use iotadm::firmware::{Config, DeviceIdentity, HmacSha256Verifier, Installer, PackageBuilder, Slot};
//! use iotadm::flash::{MemFlash, Partition};
//!
//! let mut mem: MemFlash<Vec<u8>, 1024, 8> = MemFlash::new(vec![0xFF; 16 * 1024]);
//! let flash = RefCell::new(mem);
//! let part = |at, len| Partition::new(&flash, at, len).unwrap();
//! let key = b"per-model key";
//! let device = DeviceIdentity::new("Phone", "rev-a", 1).unwrap();
//! let verifier = HmacSha256Verifier::new(key).unwrap();
//! let mut inst = Installer::new(part(0, 6144), part(6144, 6144), part(12288, 2048),
//!     device, verifier, Config::default()).unwrap();
//!
//! let payload = [0x42; 3000];
//! let header = PackageBuilder::new("Phone", "rev-a").to_version(2, "2.0")
//!     .header_hmac(&payload, key).unwrap();
//! inst.begin().unwrap();
//! inst.write_chunk(&header).unwrap();
//! for chunk in payload.chunks(500) {
//!     inst.write_chunk(chunk).unwrap();
//! }
//! assert_eq!(inst.finish().unwrap(), 2);
//! inst.arm_trial().unwrap();
//! assert_eq!(inst.boot_decision().unwrap().slot, Slot::B);
//! inst.confirm().unwrap();
//! assert_eq!(inst.active_slot(), Slot::B);
//! ```

mod backup;
#[cfg(feature = "delta")]
pub mod delta;
mod installer;
#[cfg(feature = "mcuboot")]
pub mod mcuboot;
pub mod package;
mod record;
pub mod verify;
mod writer;

use embedded_storage::nor_flash::{NorFlashError, NorFlashErrorKind};

pub use installer::Installer;
pub use package::{
    AuthKind, BuildError, DeviceIdentity, HmacSha256Verifier, PackageBuilder, PackageError,
    PackageHeader, PackageVerifier,
};
pub use record::BootState;
pub use verify::AnyVerifier;
#[cfg(feature = "ed25519")]
pub use verify::Ed25519Verifier;
#[cfg(feature = "ecdsa-p256")]
pub use verify::P256Verifier;
#[cfg(any(feature = "ed25519", feature = "ecdsa-p256"))]
pub use verify::PublicKeyVerifier;

/// Where the payload (the executable image) starts in a slot: after the header, aligned
/// for a Cortex-M vector table.
pub const IMAGE_OFFSET: u32 = 512;

/// Largest flash write size the installer supports; it must divide this.
pub const MAX_WRITE_SIZE: usize = 32;

/// One of the two firmware slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Slot {
    /// Slot A (the factory image's slot).
    A = 0,
    /// Slot B.
    B = 1,
}

impl Slot {
    /// The other slot.
    #[must_use]
    pub fn other(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }

    fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::A),
            1 => Some(Self::B),
            _ => None,
        }
    }
}

/// Where an update stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Phase {
    /// Nothing in progress; the active slot is confirmed.
    Idle = 0,
    /// A package is being written to the update slot.
    Downloading = 1,
    /// A verified image waits in the update slot to be armed.
    Ready = 2,
    /// The update slot boots on trial until confirmed or rolled back.
    Trial = 3,
}

impl Phase {
    fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Idle),
            1 => Some(Self::Downloading),
            2 => Some(Self::Ready),
            3 => Some(Self::Trial),
            _ => None,
        }
    }
}

/// Why an update attempt failed, as the installer records it in [`Outcome::Failed`]. The
/// installer knows nothing of FUMO: the FUMO layer turns this into its result code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Failure {
    /// The package is damaged: bad framing, header length or payload digest.
    Corrupted,
    /// The package is for another model, hardware revision or running version.
    Mismatch,
    /// The package's authenticator does not verify.
    Unauthentic,
    /// The package is of an unsupported format, or would not move the version forward.
    NotAcceptable,
    /// The payload does not fit in the update slot.
    TooLarge,
    /// The caller gave the attempt up ([`Installer::abort`]) for a reason of its own, a
    /// code the installer keeps without reading it (the FUMO layer's result code).
    Abandoned(u16),
}

/// How the last update attempt ended; the FUMO layer reports it in its Generic Alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
#[must_use]
pub enum Outcome {
    /// The device now runs `version`, confirmed.
    Updated {
        /// The version code now running.
        version: u32,
    },
    /// Image `version` was given up and the previous image runs again.
    RolledBack {
        /// The version code that was rolled back.
        version: u32,
    },
    /// The package was refused or the download abandoned, for this reason.
    Failed {
        /// Why.
        reason: Failure,
    },
}

/// Which slot the bootloader should start, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BootDecision {
    /// The slot to boot.
    pub slot: Slot,
    /// Why.
    pub reason: BootReason,
}

/// The reason for a [`BootDecision`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BootReason {
    /// The confirmed image, nothing pending.
    Normal,
    /// Trial boot number `attempt` (from 1) of the new image.
    Trial {
        /// Which trial boot this is.
        attempt: u8,
    },
    /// The new image was not confirmed in time: back to the old one.
    RolledBack,
}

/// Installer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// Boots a new image gets to call [`Installer::confirm`] before it is rolled back.
    pub max_trial_boots: u8,
}

impl Default for Config {
    fn default() -> Self {
        Self { max_trial_boots: 3 }
    }
}

/// What is known about a verified image in a slot.
#[derive(Debug, Clone)]
pub struct ImageInfo {
    header: [u8; package::MAX_HEADER_LEN],
    header_len: usize,
    /// Length of the version text written after an MCUboot image's header (0: none).
    name_len: usize,
    /// Version code of the image: a package's to-version code, or an MCUboot image's
    /// version as `ImageVersion::code32` (`major << 24 | minor << 16 | revision`).
    pub version_code: u32,
    /// Payload (image) length in bytes: for an MCUboot image, its image size, header and
    /// TLVs excluded.
    pub payload_len: u32,
}

impl ImageInfo {
    fn empty() -> Self {
        Self {
            header: [0; package::MAX_HEADER_LEN],
            header_len: 0,
            name_len: 0,
            version_code: 0,
            payload_len: 0,
        }
    }

    /// The image's package header; for an MCUboot image (feature `mcuboot`), its 32-byte
    /// image header (`mcuboot::ImageHeader::parse` reads it).
    pub fn header(&self) -> &[u8] {
        self.header.get(..self.header_len).unwrap_or_default()
    }

    /// The human-readable version (FUMO `PkgVersion`): a package's to-version name, or an
    /// MCUboot image's version as `ImageVersion::text` writes it (`1.2.3`, `1.2.3+4`).
    pub fn version_name(&self) -> &[u8] {
        if self.name_len > 0 {
            let end = self.header_len.saturating_add(self.name_len);
            return self.header.get(self.header_len..end).unwrap_or_default();
        }
        PackageHeader::parse(self.header())
            .map(|h| h.to_name())
            .unwrap_or_default()
    }
}

/// An installer error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The verb is not allowed in the current phase; nothing changed.
    BadState,
    /// The package was refused; nothing is installed.
    Package(PackageError),
    /// A flash operation failed.
    Flash(NorFlashErrorKind),
    /// The flash regions do not suit the installer (sizes, alignment).
    Layout,
    /// The backup region cannot hold the user data.
    BackupTooSmall,
    /// The backup does not match its digest; nothing was restored.
    BackupCorrupt,
    /// The MCUboot image was refused; nothing is installed (feature `mcuboot`).
    #[cfg(feature = "mcuboot")]
    Image(mcuboot::McubootError),
}

impl Error {
    /// The failure recorded for a refusal of the package or image; `None` for the other
    /// errors, which leave a download resumable.
    pub(crate) fn refusal(&self) -> Option<Failure> {
        match self {
            Self::Package(e) => Some(e.failure()),
            #[cfg(feature = "mcuboot")]
            Self::Image(e) => Some(e.failure()),
            _ => None,
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Error {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Self::BadState => defmt::write!(f, "BadState"),
            Self::Package(e) => defmt::write!(f, "Package({})", e),
            // embedded-storage has no defmt support: log the kind by its debug name.
            Self::Flash(k) => defmt::write!(f, "Flash({})", defmt::Debug2Format(k)),
            Self::Layout => defmt::write!(f, "Layout"),
            Self::BackupTooSmall => defmt::write!(f, "BackupTooSmall"),
            Self::BackupCorrupt => defmt::write!(f, "BackupCorrupt"),
            #[cfg(feature = "mcuboot")]
            Self::Image(e) => defmt::write!(f, "Image({})", e),
        }
    }
}

impl<E: NorFlashError> From<E> for Error {
    fn from(e: E) -> Self {
        Self::Flash(e.kind())
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadState => f.write_str("not allowed in the current update phase"),
            Self::Package(e) => write!(f, "package refused: {e}"),
            Self::Flash(k) => write!(f, "flash: {k}"),
            Self::Layout => f.write_str("flash regions unsuitable for the installer"),
            Self::BackupTooSmall => f.write_str("backup region too small for the user data"),
            Self::BackupCorrupt => f.write_str("backup does not match its digest"),
            #[cfg(feature = "mcuboot")]
            Self::Image(e) => write!(f, "image refused: {e}"),
        }
    }
}

impl core::error::Error for Error {}

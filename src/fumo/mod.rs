//! The FUMO management object (OMA-TS-DM-FUMO 1.0): its state machine, its result codes and
//! the Generic Alert reports that carry them. It decides what happens to a firmware package;
//! how bytes reach the device (the session's large objects, a `Downloader` with the feature
//! `fumo-url`) and how they reach flash ([`crate::firmware`]) belong to others. It never touches the codec or a
//! socket, and it never blocks except inside the traits it is handed.
//!
//! [`Fumo`] is one `./FUMO/<x>` node. It is the node handler of that subtree (bind it with
//! [`HandlerTable`](crate::tree::HandlerTable), or mount the tree with the `Fumo` itself as
//! its [`Handlers`](crate::tree::Handlers)), and it owns the firmware installer and a small
//! flash region of its own where its state survives reboots and power cuts.
//!
//! # How an update runs
//!
//! | when | who | what |
//! |---|---|---|
//! | in a session | server | `Replace` of a `PkgURL`, or of `PkgData` (streamed into the installer as it arrives) |
//! | in a session | server | `Exec` of `Download`, `Update` or `DownloadAndUpdate`: the [`FirmwareGate`] allows it or its status refuses it; accepted, the `Exec` gets 202 |
//! | after the session | firmware | [`Fumo::poll`]: asks the user, downloads (resuming after a reboot or a dropped connection), verifies, arms the trial boot |
//! | [`Poll::Reboot`] | firmware | reboots; the bootloader runs [`Installer::boot_decision`](crate::firmware::Installer::boot_decision) |
//! | on the new image | firmware | [`Fumo::confirm_update`] once it works (or [`Fumo::reject_update`]); an image never confirmed is rolled back by the bootloader |
//! | [`Poll::Report`] | firmware | a client-initiated session with [`Fumo::pending_report`] as its Generic Alert, then [`Fumo::report_delivered`] with the server's status |
//!
//! # States
//!
//! | operation | path through `State` |
//! |---|---|
//! | Download | 10 → 30 → 40 (report 200) → 50 once acknowledged; a failure: 30 → 20 (report) → 10 |
//! | Update | 50 → 60 → reboot → 100 (report 200) → 10; rolled back or failed: 80 (report) → 10; declined or not armed, the package still there: 70 (report) → 50 |
//! | DownloadAndUpdate | 10 → 30 → 40 → 60 → reboot → 100 (report 200) → 10, with the failures of both |
//! | PkgData replaced | → 30 while it streams → 50 when it verifies, or 20 (the refusal is reported by the next `Exec`) |
//!
//! State 90 (successful, package kept) is never entered: an A/B image that now runs from
//! its slot is no longer a package that could be installed again.
//!
//! # User interaction
//!
//! Before a download and before an update the user is asked through
//! [`UserInteraction`](crate::session::UserInteraction) with a confirm request:
//! [`UiAnswer::Ok`](crate::session::UiAnswer::Ok) accepts, `No` and `Timeout` defer (the
//! next [`Fumo::poll`] asks again, up to [`Config::max_deferrals`]), `Cancelled` rejects
//! (result 401, user cancelled), and a handset that cannot ask (`NotSupported`) goes ahead.
//!
//! # Without `fumo-url`
//!
//! The alternate download is optional in FUMO 1.0 (`Download` and `DownloadAndUpdate` are
//! zero-or-one nodes). A build without the feature answers an `Exec` on `Download`, and on
//! `DownloadAndUpdate` unless a package was pushed into its `PkgData`, and a `Replace` of a
//! `PkgURL`, with 406 (optional feature not supported), changing nothing. Packages then
//! arrive in `PkgData`, and `Update` installs them as always.

mod codes;
#[cfg(feature = "fumo-url")]
mod download;
mod object;
mod store;

pub use codes::{ResultCode, State};
#[cfg(feature = "fumo-url")]
pub use download::{DownloadError, Downloader, Opened, Progress};
pub use object::{Fumo, Io, Poll, Report};

use embedded_storage::nor_flash::{NorFlash, NorFlashError, NorFlashErrorKind};

use crate::codes::StatusCode;
use crate::firmware::{self, Installer, Outcome, PackageHeader, PackageVerifier, Phase};

/// Whether a server may start a firmware update now. The device's protection of service
/// programming (CDMA SPL and SPASM, IOTA FOTA-2 and FOTA-3) decides; a refusal is the
/// status the `Exec` gets.
pub trait FirmwareGate {
    /// May `server` (`None`: the device itself) execute a firmware update now?
    fn allow_update(&mut self, server: Option<&str>) -> Result<(), StatusCode>;
}

/// A device that does not gate firmware updates beyond the ACL.
#[derive(Debug, Default, Clone, Copy)]
pub struct Ungated;

impl FirmwareGate for Ungated {
    fn allow_update(&mut self, _server: Option<&str>) -> Result<(), StatusCode> {
        Ok(())
    }
}

/// The installer verbs the FUMO object drives. [`Installer`] implements it; a vendor wraps
/// it to add what happens around an update, such as backing up user data in
/// [`prepare_update`](Self::prepare_update).
pub trait FirmwareInstaller {
    /// Where the installer's update stands.
    fn phase(&self) -> Phase;
    /// The last finished update attempt, until acknowledged.
    fn last_outcome(&self) -> Option<Outcome>;
    /// Starts a new download, discarding an earlier one.
    fn begin(&mut self) -> Result<(), firmware::Error>;
    /// Continues an interrupted download: the package offset to go on from.
    fn resume(&mut self) -> Result<u32, firmware::Error>;
    /// The next bytes of the package.
    fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), firmware::Error>;
    /// Package bytes accepted in the current download.
    fn received(&self) -> u32;
    /// Total package length, once its header has arrived.
    fn package_len(&self) -> Option<u32>;
    /// The package header, once it has arrived and passed its checks.
    fn package_header(&self) -> Option<PackageHeader<'_>>;
    /// The header of an MCUboot image being installed instead of a package, once it has
    /// arrived and passed its checks (feature `mcuboot`): the FUMO object reports its
    /// version as `PkgVersion`. `None` by default, so a wrapper that does not pass it on
    /// leaves `PkgVersion` and `PkgName` as they were for an image.
    #[cfg(feature = "mcuboot")]
    fn image_header(&self) -> Option<firmware::mcuboot::ImageHeader> {
        None
    }
    /// Verifies what is in flash and makes it ready to arm: the new version code.
    fn finish(&mut self) -> Result<u32, firmware::Error>;
    /// Abandons a download or a ready image, recording `code`.
    fn abort(&mut self, code: ResultCode) -> Result<(), firmware::Error>;
    /// Runs just before the trial is armed, e.g. to back up user data. Called again when a
    /// power cut interrupted it.
    fn prepare_update(&mut self) -> Result<(), firmware::Error> {
        Ok(())
    }
    /// Arms the verified image for a trial boot.
    fn arm_trial(&mut self) -> Result<(), firmware::Error>;
    /// Boots the image on trial has had so far (0 until the reboot after arming).
    fn trial_boots(&self) -> u8;
    /// Keeps the image on trial (called by the new firmware).
    fn confirm(&mut self) -> Result<(), firmware::Error>;
    /// Gives up the image on trial.
    fn rollback(&mut self) -> Result<(), firmware::Error>;
    /// Forgets the last outcome once it has been reported.
    fn acknowledge_outcome(&mut self) -> Result<(), firmware::Error>;
}

impl<A, B, S, V> FirmwareInstaller for Installer<A, B, S, V>
where
    A: NorFlash,
    B: NorFlash,
    S: NorFlash,
    V: PackageVerifier,
{
    fn phase(&self) -> Phase {
        Installer::phase(self)
    }
    fn last_outcome(&self) -> Option<Outcome> {
        Installer::last_outcome(self)
    }
    fn begin(&mut self) -> Result<(), firmware::Error> {
        Installer::begin(self)
    }
    fn resume(&mut self) -> Result<u32, firmware::Error> {
        Installer::resume(self)
    }
    fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), firmware::Error> {
        Installer::write_chunk(self, chunk)
    }
    fn received(&self) -> u32 {
        Installer::received(self)
    }
    fn package_len(&self) -> Option<u32> {
        Installer::package_len(self)
    }
    fn package_header(&self) -> Option<PackageHeader<'_>> {
        Installer::staged_header(self)
    }
    #[cfg(feature = "mcuboot")]
    fn image_header(&self) -> Option<firmware::mcuboot::ImageHeader> {
        Installer::staged_image(self)
    }
    fn finish(&mut self) -> Result<u32, firmware::Error> {
        Installer::finish(self)
    }
    fn abort(&mut self, code: ResultCode) -> Result<(), firmware::Error> {
        Installer::abort(self, code.into())
    }
    fn arm_trial(&mut self) -> Result<(), firmware::Error> {
        Installer::arm_trial(self)
    }
    fn trial_boots(&self) -> u8 {
        self.state().trials()
    }
    fn confirm(&mut self) -> Result<(), firmware::Error> {
        Installer::confirm(self)
    }
    fn rollback(&mut self) -> Result<(), firmware::Error> {
        Installer::rollback(self).map(|_| ())
    }
    fn acknowledge_outcome(&mut self) -> Result<(), firmware::Error> {
        Installer::acknowledge_outcome(self)
    }
}

/// The `Meta/Type` strings of the FUMO Generic Alerts, one per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AlertTypes {
    /// The result of an `Exec` on `Download`.
    pub download: &'static str,
    /// The result of an `Exec` on `Update`.
    pub update: &'static str,
    /// The result of an `Exec` on `DownloadAndUpdate`.
    pub download_and_update: &'static str,
}

impl AlertTypes {
    /// The alert types of OMA-TS-DM-FUMO 1.0 (`org.openmobilealliance.dm.firmwareupdate.*`),
    /// as deployed FUMO servers and clients send them. The default.
    pub const FUMO_1_0: Self = Self {
        download: "org.openmobilealliance.dm.firmwareupdate.download",
        update: "org.openmobilealliance.dm.firmwareupdate.update",
        download_and_update: "org.openmobilealliance.dm.firmwareupdate.downloadandupdate",
    };

    /// The same alert types in the OMNA URN form (`urn:oma:at:fumo:1.0:*`), for servers
    /// that expect it.
    pub const URN: Self = Self {
        download: "urn:oma:at:fumo:1.0:download",
        update: "urn:oma:at:fumo:1.0:update",
        download_and_update: "urn:oma:at:fumo:1.0:downloadandupdate",
    };
}

impl Default for AlertTypes {
    fn default() -> Self {
        Self::FUMO_1_0
    }
}

/// Settings of the FUMO object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// The alert types of the reports.
    pub alert_types: AlertTypes,
    /// Ask the user before a download (with the feature `fumo-url`).
    pub confirm_download: bool,
    /// Ask the user before an update.
    pub confirm_update: bool,
    /// Times the user may defer one question; the next deferral rejects the operation
    /// (result 401). `None`: no limit.
    pub max_deferrals: Option<u8>,
    /// Times a download interrupted by the network is retried (each from where it
    /// stopped) before it fails with the network's result code (with the feature
    /// `fumo-url`).
    pub download_retries: u8,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            alert_types: AlertTypes::FUMO_1_0,
            confirm_download: true,
            confirm_update: true,
            max_deferrals: None,
            download_retries: 5,
        }
    }
}

/// The FUMO operation an `Exec` started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Op {
    /// None: idle, or a package pushed into `PkgData` without an `Exec` yet.
    None = 0,
    /// `Exec` on `Download`.
    Download = 1,
    /// `Exec` on `Update`.
    Update = 2,
    /// `Exec` on `DownloadAndUpdate`.
    DownloadAndUpdate = 3,
}

impl Op {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::None,
            1 => Self::Download,
            2 => Self::Update,
            3 => Self::DownloadAndUpdate,
            _ => return None,
        })
    }
}

/// What the device still has to do for the operation under way; persisted with the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Work {
    /// Nothing (a report may still be pending).
    None = 0,
    /// Ask the user whether to download.
    ConfirmDownload = 1,
    /// Download from the URL (resuming where the installer stopped).
    Download = 2,
    /// Ask the user whether to update.
    ConfirmUpdate = 3,
    /// Prepare and arm the trial boot.
    Install = 4,
    /// Armed: reboot, then the new image confirms.
    Trial = 5,
}

impl Work {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::None,
            1 => Self::ConfirmDownload,
            2 => Self::Download,
            3 => Self::ConfirmUpdate,
            4 => Self::Install,
            5 => Self::Trial,
            _ => return None,
        })
    }
}

/// A FUMO error: a local fault. Protocol refusals are status codes, and package and
/// download failures are FUMO results reported to the server, not errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The FUMO flash region failed.
    Flash(NorFlashErrorKind),
    /// The FUMO flash region does not suit the record log (two sectors of at least one
    /// record each, write size at most 64), or the instance name is unusable.
    Layout,
    /// The installer failed (its flash, usually); the operation can go on after a restart.
    Installer(firmware::Error),
    /// The call does not fit the current state (e.g. confirming an update that is not on
    /// trial); nothing changed.
    BadState,
    /// The schema has no FUMO object (`./FUMO/<x>` with its standard nodes).
    Schema,
}

#[cfg(feature = "defmt")]
impl defmt::Format for Error {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            // embedded-storage has no defmt support: log the kind by its debug name.
            Self::Flash(k) => defmt::write!(f, "Flash({})", defmt::Debug2Format(k)),
            Self::Layout => defmt::write!(f, "Layout"),
            Self::Installer(e) => defmt::write!(f, "Installer({})", e),
            Self::BadState => defmt::write!(f, "BadState"),
            Self::Schema => defmt::write!(f, "Schema"),
        }
    }
}

impl<E: NorFlashError> From<E> for Error {
    fn from(e: E) -> Self {
        Self::Flash(e.kind())
    }
}

impl From<firmware::Error> for Error {
    fn from(e: firmware::Error) -> Self {
        Self::Installer(e)
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Flash(k) => write!(f, "FUMO state region: {k}"),
            Self::Layout => f.write_str("FUMO state region or instance name unusable"),
            Self::Installer(e) => write!(f, "installer: {e}"),
            Self::BadState => f.write_str("not allowed in the current FUMO state"),
            Self::Schema => f.write_str("the schema has no FUMO object"),
        }
    }
}

impl core::error::Error for Error {}

//! FUMO `State` node values and the result codes sent in the Generic Alert, with the
//! mapping from the installer's failures and errors to those codes (the installer knows
//! nothing of FUMO).

use crate::firmware::{self, Failure, Outcome, PackageError};

enum_with_unknown! {
    /// Value of the FUMO `<x>/State` node.
    pub enum State(u8) {
        /// 10: nothing pending.
        Idle = 10,
        /// 20: the download failed.
        DownloadFailed = 20,
        /// 30: a download is under way.
        DownloadProgressing = 30,
        /// 40: the package has been downloaded.
        DownloadComplete = 40,
        /// 50: the package is in place and waits for an Exec on Update.
        ReadyToUpdate = 50,
        /// 60: the update is under way.
        UpdateProgressing = 60,
        /// 70: the update failed; the package is still present.
        UpdateFailedHaveData = 70,
        /// 80: the update failed; no package is present.
        UpdateFailedNoData = 80,
        /// 90: the update succeeded; the package is kept.
        UpdateSuccessfulHaveData = 90,
        /// 100: the update succeeded; the package is gone.
        UpdateSuccessfulNoData = 100,
    }
}

enum_with_unknown! {
    /// Result code reported in the FUMO Generic Alert (`Item/Data`).
    pub enum ResultCode(u16) {
        /// 200: successful.
        Successful = 200,
        /// 400: management client error.
        ClientError = 400,
        /// 401: the user cancelled.
        UserCancelled = 401,
        /// 402: corrupted firmware update package.
        CorruptedPackage = 402,
        /// 403: package and device do not match.
        PackageMismatch = 403,
        /// 404: the package failed validation (signature).
        FailedValidation = 404,
        /// 405: the package is not acceptable.
        PackageNotAcceptable = 405,
        /// 406: alternate download authentication failure.
        DownloadAuthenticationFailure = 406,
        /// 407: alternate download request time-out.
        DownloadTimeout = 407,
        /// 408: not implemented.
        NotImplemented = 408,
        /// 409: undefined error.
        UndefinedError = 409,
        /// 410: the firmware update failed.
        UpdateFailed = 410,
        /// 411: malformed or bad URL.
        BadUrl = 411,
        /// 412: alternate download server unavailable.
        DownloadServerUnavailable = 412,
        /// 500: alternate download server error.
        DownloadServerError = 500,
        /// 501: download failed: device out of memory.
        DownloadOutOfMemory = 501,
        /// 502: update failed: device out of memory.
        UpdateOutOfMemory = 502,
        /// 503: download failed: network issues.
        DownloadNetworkError = 503,
    }
}

impl ResultCode {
    /// Any 2xx result counts as success (200 and the vendor range 250-299).
    pub fn is_success(self) -> bool {
        (200..300).contains(&u16::from(self))
    }
}

impl From<Failure> for ResultCode {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Corrupted => Self::CorruptedPackage,
            Failure::Mismatch => Self::PackageMismatch,
            Failure::Unauthentic => Self::FailedValidation,
            Failure::NotAcceptable => Self::PackageNotAcceptable,
            Failure::TooLarge => Self::DownloadOutOfMemory,
            Failure::Abandoned(code) => Self::from(code),
        }
    }
}

/// A FUMO result code given to [`Installer::abort`](firmware::Installer::abort): the
/// installer keeps it as the caller's reason and hands it back.
impl From<ResultCode> for Failure {
    fn from(code: ResultCode) -> Self {
        Failure::from_code(u16::from(code))
    }
}

impl From<PackageError> for ResultCode {
    fn from(e: PackageError) -> Self {
        Self::from(e.failure())
    }
}

/// The result code to report for an installer error.
impl From<firmware::Error> for ResultCode {
    fn from(e: firmware::Error) -> Self {
        match e {
            firmware::Error::BadState => Self::ClientError,
            firmware::Error::Package(e) => Self::from(e),
            #[cfg(feature = "mcuboot")]
            firmware::Error::Image(e) => Self::from(e.failure()),
            firmware::Error::BackupTooSmall => Self::UpdateOutOfMemory,
            firmware::Error::Flash(_)
            | firmware::Error::Layout
            | firmware::Error::BackupCorrupt => Self::UpdateFailed,
        }
    }
}

/// The result code to report for how the last update attempt ended.
impl From<Outcome> for ResultCode {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Updated { .. } => Self::Successful,
            Outcome::RolledBack { .. } => Self::UpdateFailed,
            Outcome::Failed { reason } => Self::from(reason),
        }
    }
}

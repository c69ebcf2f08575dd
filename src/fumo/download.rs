//! The alternate download: how the FUMO object fetches a package from its `PkgURL`.
//!
//! A [`Downloader`] is the device's HTTP (or other) client, pulled a buffer at a time. The
//! FUMO object asks for the package from the offset the installer has durably in flash,
//! so a download cut by a reboot or a dropped connection goes on from there (an HTTP
//! `Range` request); a server that ignores the range and sends the whole body is handled
//! too. Failures map to the FUMO result codes of the alternate download (406, 407, 411,
//! 412, 500, 503).

use super::ResultCode;

/// Why a download failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DownloadError {
    /// The URL is malformed or of an unsupported scheme (result 411).
    BadUrl,
    /// The server cannot be reached (412).
    Unreachable,
    /// The server wants credentials the device does not have, or refused them (406).
    Authentication,
    /// The server did not answer in time (407).
    Timeout,
    /// The connection dropped or the network failed (503); worth retrying.
    Network,
    /// The server answered with an error, e.g. HTTP status `404` or `500` (result 500).
    Server(u16),
    /// The server's answer does not make sense (bad headers, a range other than the one
    /// asked for) (500).
    Protocol,
}

impl DownloadError {
    /// The FUMO result code for this failure.
    pub fn result_code(self) -> ResultCode {
        match self {
            Self::BadUrl => ResultCode::BadUrl,
            Self::Unreachable => ResultCode::DownloadServerUnavailable,
            Self::Authentication => ResultCode::DownloadAuthenticationFailure,
            Self::Timeout => ResultCode::DownloadTimeout,
            Self::Network => ResultCode::DownloadNetworkError,
            Self::Server(_) | Self::Protocol => ResultCode::DownloadServerError,
        }
    }

    /// Whether trying again later may succeed (the download then resumes).
    pub fn is_transient(self) -> bool {
        matches!(self, Self::Network | Self::Timeout | Self::Unreachable)
    }
}

impl core::fmt::Display for DownloadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadUrl => f.write_str("malformed or unsupported URL"),
            Self::Unreachable => f.write_str("download server unreachable"),
            Self::Authentication => f.write_str("download server refused authentication"),
            Self::Timeout => f.write_str("download server did not answer in time"),
            Self::Network => f.write_str("connection lost"),
            Self::Server(code) => write!(f, "download server answered {code}"),
            Self::Protocol => f.write_str("download server answer not understood"),
        }
    }
}

impl core::error::Error for DownloadError {}

/// What the server sends, as [`Downloader::open`] found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Opened {
    /// The package offset of the first body byte: the offset asked for, or 0 when the
    /// server ignored the range.
    pub offset: u32,
    /// The whole package's length, when the server says.
    pub total: Option<u32>,
}

/// How far a download is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Progress {
    /// Package bytes in flash so far (including those of an earlier, interrupted attempt).
    pub received: u32,
    /// The package length, once known.
    pub total: Option<u32>,
}

/// Fetches a package from a URL. One download at a time: `open`, then `read` until it
/// returns 0, then `close`.
pub trait Downloader {
    /// Starts fetching `url` from package byte `offset` (for HTTP, a `Range: bytes=offset-`
    /// request when `offset` is not 0).
    fn open(&mut self, url: &str, offset: u32) -> Result<Opened, DownloadError>;

    /// Reads the next body bytes into `buf`: how many, or 0 at the end of the body.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, DownloadError>;

    /// Ends the fetch (also after a failure); the connection may be kept for reuse.
    fn close(&mut self) {}
}

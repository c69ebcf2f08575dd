//! # iotadm-host
//!
//! What runs iotadm on a host rather than in firmware, with `std`:
//!
//! | module | owns |
//! |---|---|
//! | [`http`] | the HTTP binding of [`Transport`](iotadm::transport::Transport) (`ureq`; TLS on rustls) |
//! | [`delta`] | detools patches applied with the device's own code |
//! | [`download`] | the HTTP(S) downloader of FUMO's alternate download |
//! | [`file_flash`] | NOR flash kept in a file, for a handset that survives restarts |
//! | [`package`] | whole update packages, as a server delivers them |
//! | [`testserver`] | a scripted OMA DM server on loopback, independent of the client's code |
//! | [`sim`] | a simulated handset: provisioning, buffers, one call to run a session |
//!
//! and the `iotadm` command-line tool (`src/bin/iotadm`). The library itself
//! (`iotadm`) is only what a firmware links.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod delta;
pub mod download;
pub mod file_flash;
pub mod http;
pub mod package;
pub mod sim;
pub mod testserver;

pub use download::HttpDownloader;
pub use file_flash::{FileFlash, FileFlashError};
pub use http::{
    HttpConfig, HttpError, HttpTransport, TlsFailure, TlsIdentity, TlsSettings, ACCEPT,
};

//! Every capacity and limit of the library, in one place.
//!
//! The first group is set at build time: each constant reads the environment variable
//! its documentation names (`IOTADM_URI_LEN=1024 cargo build`), else takes its default; a
//! value out of its bounds stops the build with a message. Set them in the firmware's
//! `.cargo/config.toml` (`[env]`), and check in the firmware that they took, e.g.
//! `const _: () = assert!(iotadm::limits::URI_LEN == 1024);`, since Cargo reads that file
//! only when it runs inside the firmware's project. The C interface shows each as an
//! `IOTADM_*` macro in `iotadm.h`.
//!
//! The second group is fixed: bounds set by the specifications, or layouts kept on flash
//! that another build must read back.
//!
//! What is not here is memory the caller lends at run time and sizes as it likes: the
//! tree's [`TreeStorage`](crate::tree::TreeStorage) (whose default capacities are
//! [`TREE_ENTRIES`], [`TREE_ARENA`] and [`TREE_RECORD`]), the session's message buffers
//! ([`Buffers`](crate::session::Buffers)), and the message size limits of
//! [`session::Config`](crate::session::Config) and [`codec::Limits`](crate::codec::Limits).

include!(concat!(env!("OUT_DIR"), "/limits.rs"));

/// A limit the build sets ([`SETTINGS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The environment variable that sets it, e.g. `IOTADM_URI_LEN`.
    pub var: &'static str,
    /// Its value in this build.
    pub value: usize,
    /// What it limits.
    pub doc: &'static str,
}

/// Longest ACL a node keeps, in bytes (the TND's bound for a property).
pub const ACL_LEN: usize = 255;

/// Longest `Title` property, in bytes (TND).
pub const TITLE_LEN: usize = 255;

/// Deepest nesting of WBXML documents inside one another (TNDS in a message) the encoder
/// writes.
pub const EMBEDDED_DEPTH: usize = 32;

/// Longest `MsgID` or `CmdID` of a server a session keeps, in bytes.
pub const REF_LEN: usize = 16;

/// Longest package 0 (a notification), in bytes.
pub const PACKAGE0_LEN: usize = 1024;

/// Longest key of a bootstrap's security (`NETWPIN`, `USERPIN`), in bytes.
pub const BOOTSTRAP_KEY_LEN: usize = 128;

/// Longest FUMO instance name (`./FUMO/<name>`), in bytes.
pub const FUMO_NAME_LEN: usize = 32;

/// Longest `PkgURL` the FUMO object keeps, in bytes. Fixed: the FUMO record on flash is
/// sized for it.
pub const FUMO_URL_LEN: usize = 240;

/// Longest `Exec` correlator the FUMO object keeps for its report, in bytes (fixed, as
/// [`FUMO_URL_LEN`]).
pub const FUMO_CORRELATOR_LEN: usize = 64;

/// Longest `PkgName` the FUMO object keeps, in bytes (fixed, as [`FUMO_URL_LEN`]).
pub const FUMO_PKG_NAME_LEN: usize = 48;

/// Longest `PkgVersion` the FUMO object keeps, in bytes (fixed, as [`FUMO_URL_LEN`]).
pub const FUMO_PKG_VERSION_LEN: usize = 16;

/// Longest server id the CDMA service programming lock keeps for a grant, in bytes
/// (fixed: the lock's record on flash is sized for it).
pub const LOCK_SERVER_ID_LEN: usize = 64;

/// Longest SPASM challenge, in bytes.
pub const SPASM_CHALLENGE_LEN: usize = 32;

// What the code relies on, checked whatever the build's settings: the standard objects
// resolve (7 segments deep), and nested commands stay within the element nesting the
// codec reads.
const _: () = assert!(TREE_DEPTH >= 7);
const _: () = assert!(NESTED_COMMANDS < XML_DEPTH);

//! # iotadm
//!
//! An embeddable, `#![no_std]`, heap-free OMA DM 1.2 (SyncML DM) client for handset
//! baseband firmware, answering the 3GPP2 IOTA-DM requirements: remote reading and writing
//! of the management tree (CDMA C.S0016 parameters included), server- and client-initiated
//! sessions, DM security, and firmware updates (FUMO) written to flash with A/B rollback.
//!
//! The crate is layered bottom up; each layer is a module that owns one job:
//!
//! | module | owns |
//! |---|---|
//! | [`codec`] | SyncML DM messages in WBXML and (feature `xml`) XML, both directions |
//! | [`auth`] | credentials, nonces, digests and MACs |
//! | [`notification`] | the package 0 trigger and its WAP Push wrapping |
//! | `bootstrap` (feature `bootstrap`) | authentication of a bootstrap pushed over the air (`SEC`/`MAC`) |
//! | [`limits`] | every capacity and limit, with the build's `IOTADM_*` settings |
//! | [`flash`] | NOR flash helpers: partitions, a RAM flash, fault injection |
//! | [`ui`] | user-interaction alerts: their options, and the trait the handset's UI answers through |
//! | [`alert`] | the Generic Alert a management object raises for the session to send |
//! | [`firmware`] | the A/B firmware installer and the update package format |
//! | [`fumo`] | the FUMO management object and its codes |
//! | [`schema`] | the tree's shape: node types, the schema value, the standard objects' schema |
//! | [`tree`] | the management tree: nodes, values, ACLs and properties, persisted to flash |
//! | `cdma` (feature `cdma`) | C.S0016 provisioning objects: NAM parameter checks, roaming lists, SPL and SPASM |
//! | [`session`] | DM sessions: packages 1 to 4, every command, authentication, large objects |
//! | [`transport`] | the session's only I/O, one request and its reply |
//!
//! Nothing in the core allocates or panics on any input: every failure is a value.
//!
//! ## Example
//!
//! A tree in memory the caller lends, and a server's `Get` decoded in place and answered
//! from it, with no `std` and no heap (a firmware passes its NOR flash driver instead of
//! the RAM flash; [`session::Client`] runs whole sessions over a transport):
//!
//! ```
//! #![no_std]
//! # extern crate std;
//! use iotadm::codec::{self, Command};
//! use iotadm::flash::MemFlash;
//! use iotadm::schema::STANDARD;
//! use iotadm::session::DeviceInfo;
//! use iotadm::tree::{NoHandlers, Principal, Tree, TreeStorage, UriLimits};
//!
//! # fn main() {
//! let mut flash: MemFlash<[u8; 8192], 1024, 8> = MemFlash::new([0; 8192]);
//! flash.erase_all();
//! let mut storage = TreeStorage::<64, 4096, 512>::new();
//! let mut tree = Tree::mount(&mut storage, &STANDARD, flash, NoHandlers, UriLimits::DEFAULT)
//!     .expect("a blank region is formatted");
//! let info = DeviceInfo {
//!     dev_id: "MEID:A0000012345678",
//!     man: "Example Handsets",
//!     model: "EH-100",
//!     dm_version: "1.2",
//!     lang: "en-US",
//!     dev_type: "phone",
//!     oem: "Example Handsets",
//!     fw_version: "1.0.3",
//!     sw_version: "BB-2.4",
//!     hw_version: "rev C",
//! };
//! info.store(&mut tree).expect("the device information fits");
//!
//! let message = b"<SyncML><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
//!     <SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>MEID:A0000012345678</LocURI>\
//!     </Target><Source><LocURI>https://dm.example.com</LocURI></Source></SyncHdr><SyncBody>\
//!     <Get><CmdID>2</CmdID><Item><Target><LocURI>./DevInfo/Mod</LocURI></Target></Item></Get>\
//!     <Final/></SyncBody></SyncML>";
//! let msg = codec::parse(message).expect("a well-formed message");
//! let Some(Command::Get(get)) = msg.body.commands.iter().next() else {
//!     panic!("the message holds a Get");
//! };
//! let target = get.items.iter().next().and_then(|item| item.target).expect("a target");
//! let mut uri = [0u8; 64];
//! let uri = target.uri.to_str(&mut uri).expect("the URI fits");
//!
//! let mut value = [0u8; 32];
//! let read = tree.get(Principal::Server("dm.example.com"), uri, 0, &mut value).expect("readable");
//! assert_eq!(&value[..read.len], b"EH-100");
//! # }
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::todo,
        clippy::unimplemented
    )
)]

#[cfg(test)]
extern crate std;

#[macro_use]
mod macros;
#[macro_use]
mod fmt;

pub mod alert;
pub mod auth;
#[cfg(feature = "bootstrap")]
pub mod bootstrap;
#[cfg(feature = "cdma")]
pub mod cdma;
pub mod codec;
pub mod codes;
mod decimal;
pub mod firmware;
pub mod flash;
pub mod fumo;
pub mod limits;
pub mod notification;
pub mod platform;
pub mod schema;
pub mod session;
pub mod transport;
pub mod tree;
pub mod ui;

pub use codes::{AlertCode, StatusCode};

// The porting guide's Rust examples are compiled and run with the crate's doctests, so
// that the signatures it shows stay the crate's.
#[cfg(doctest)]
#[doc = include_str!("../docs/porting.md")]
mod porting_guide {}

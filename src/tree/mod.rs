//! The management tree.
//!
//! The DDF documents in `ddf/` are the source of truth for the tree's shape: `build.rs`
//! compiles them (with any vendor documents in the directories named by the
//! `IOTADM_DDF_DIRS` environment variable) into the static node table of [`schema`], so the
//! firmware carries no XML and spends no RAM on the tree's shape. A malformed DDF fails the
//! build with a message naming the file and the node.
//!
//! The same DDF compiler (`ddf_compiler.rs` in this directory, plain `std` Rust) runs inside
//! `build.rs` and behind `iotadm ddf check`; it is part of the library only for its tests.
//!
//! This module never touches wire formats: commands arrive here already decoded.
//!
//! ```
//! use iotadm::tree::schema::{self, Format};
//!
//! let devinfo = schema::child(0, "DevInfo").unwrap();
//! let devid = schema::child(devinfo, "DevId").unwrap();
//! assert_eq!(schema::node(devid).unwrap().format(), Format::Chr);
//!
//! let mut uri = String::new();
//! schema::write_uri(devid, &mut uri).unwrap();
//! assert_eq!(uri, "./DevInfo/DevId");
//! ```

pub mod acl;
mod handler;
mod runtime;
pub mod schema;
pub(crate) mod store;
pub mod uri;
mod value;

#[cfg(test)]
mod ddf_compiler;

pub use handler::{ExecOutcome, HandlerTable, Handlers, NoHandlers, NodeHandler, NodeRef};
pub use runtime::{
    NodeHandle, Principal, Read, Tree, TreeError, TreeStorage, WriteTicket, DDF_XML, TNDS_XML,
};
pub use schema::{AccessSet, DdfDocument, Format, NodeDef, NodeId, Occurrence, Scope, NO_NODE};
pub use store::StoreError;
pub use uri::{Property, Uri, UriError, UriLimits};

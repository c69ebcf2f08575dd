//! The management tree: the nodes that exist at run time over a [`schema`](crate::schema)
//! (its static shape), their values, ACLs and properties, the commands a server may run
//! on them with the checks in front of each, and their record in flash.
//!
//! This module never touches wire formats: commands arrive here already decoded.
//!
//! ```
//! use iotadm::flash::MemFlash;
//! use iotadm::schema::{Format, STANDARD};
//! use iotadm::tree::{NoHandlers, Principal, Tree, TreeStorage, UriLimits};
//!
//! let mut flash: MemFlash<[u8; 8192], 1024, 8> = MemFlash::new([0; 8192]);
//! flash.erase_all();
//! let mut storage = TreeStorage::<32, 2048, 512>::new();
//! let mut tree = Tree::mount(&mut storage, &STANDARD, flash, NoHandlers, UriLimits::DEFAULT)?;
//! tree.replace(Principal::Device, "./DevInfo/Mod", b"EH-100", None, None).unwrap();
//! assert_eq!(tree.format_at("./DevInfo/Mod"), Some(Format::Chr));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod acl;
mod handler;
mod runtime;
pub(crate) mod store;
pub mod uri;
mod value;

pub use handler::{
    write_in_one_chunk, ExecOutcome, HandlerTable, Handlers, NoHandlers, NodeHandler, NodeRef,
};
pub use runtime::{
    DefaultTreeStorage, NodeHandle, Principal, Read, Shortfall, Tree, TreeError, TreeStorage,
    WriteTicket, DDF_XML, TNDS_WBXML, TNDS_XML,
};
pub use store::StoreError;
pub use uri::{Property, Uri, UriError, UriLimits};
pub use value::{is_valid_value, parse_int};

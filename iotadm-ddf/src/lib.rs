//! The static shape of an OMA DM management tree, as DDF documents describe it.
//!
//! This crate owns the management tree's schema: which nodes exist, their formats, access
//! types, occurrences, scopes, default values and default ACLs. It has two parts:
//!
//! | part | owns |
//! |---|---|
//! | the crate root (`no_std`) | the node types ([`NodeDef`], [`Format`], [`AccessSet`], ...) and [`Schema`], a compiled tree as a value with its lookups |
//! | `compiler` (feature `compiler`) | reading and checking DDF documents, and turning them into a [`Schema`] at run time or into Rust source for a build script |
//!
//! It knows nothing of values, run-time nodes, ACL changes or wire formats: those belong
//! to the tree that uses a schema.
//!
//! A [`Schema`] lives in `static` data. Its nodes are numbered in preorder from 0, the
//! root `.`; an unnamed placeholder (`<x>` in the DM specifications) stands for every
//! run-time node created in its place. Every lookup takes ids that may be out of range and
//! answers `None`, or writes nothing, instead of panicking. Nothing in the `no_std` part
//! allocates.
//!
//! Each node also has a stable [`key`](NodeDef::key): a hash of its URI, which stays the
//! same when other nodes are added or removed, so that stored data can name nodes across
//! schema versions (see [`uri_key`]).
//!
//! ```
//! # #[cfg(feature = "compiler")] {
//! use iotadm_ddf::compiler::{compile, standard_documents};
//! use iotadm_ddf::Format;
//!
//! let schema = compile(standard_documents()).unwrap().leak();
//! let devid = schema.find("./DevInfo/DevId").unwrap();
//! assert_eq!(schema.node(devid).unwrap().format(), Format::Chr);
//!
//! let mut uri = String::new();
//! schema.write_uri(devid, &mut uri).unwrap();
//! assert_eq!(uri, "./DevInfo/DevId");
//! # }
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
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

#[cfg(all(test, not(feature = "std")))]
extern crate std;

mod node;
mod schema;
mod types;

#[cfg(feature = "compiler")]
pub mod compiler;

pub use node::{Node, NodeDef, NodeSpec, NodeStrings, StrId, NO_STRING};
pub use schema::{Document, DocumentDef, Schema, StringOffsets};
pub use types::{AccessSet, Format, Occurrence, Scope, UnknownFormat};

/// Index of a node in a [`Schema`], in preorder.
pub type NodeId = u16;

/// "No node": the parent of the root, the end of a sibling chain, the first child of a leaf.
pub const NO_NODE: NodeId = u16::MAX;

/// The `document` of the synthesised root `.`, which no DDF document describes.
pub const NO_DOCUMENT: u8 = u8::MAX;

/// The root `.`, the first node of every schema.
pub const ROOT: NodeId = 0;

/// The stable key of the node at schema URI `uri`: the 32-bit FNV-1a hash of the URI
/// without its leading `./`, placeholders written `<x>`.
///
/// `./DMAcc/<x>/AppAuth/<x>/AAuthType` and `DMAcc/<x>/AppAuth/<x>/AAuthType` give the same
/// key; the root (`.`, `./` or the empty string) hashes the empty string. A concrete
/// instance name (`./DMAcc/srv1`) gives a key of its own, matching no schema node: the
/// schema URI spells the placeholder.
pub const fn uri_key(uri: &str) -> u32 {
    let path = match uri.as_bytes() {
        [b'.', b'/', rest @ ..] => rest,
        [b'.'] => &[],
        other => other,
    };
    fnv1a(FNV_OFFSET, path)
}

/// The FNV-1a offset basis: the hash of nothing.
const FNV_OFFSET: u32 = 0x811c_9dc5;

/// Continues the 32-bit FNV-1a hash `hash` over `bytes`.
const fn fnv1a(mut hash: u32, mut bytes: &[u8]) -> u32 {
    while let [first, rest @ ..] = bytes {
        hash ^= *first as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        bytes = rest;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hash_the_uri_without_its_leading_dot() {
        // Reference values of 32-bit FNV-1a.
        assert_eq!(uri_key("."), 0x811c_9dc5);
        assert_eq!(uri_key(""), 0x811c_9dc5);
        assert_eq!(uri_key("./"), 0x811c_9dc5);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xe40c_292c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0xbf9c_f968);
        assert_eq!(uri_key("./DevInfo/DevId"), uri_key("DevInfo/DevId"));
        assert_eq!(
            uri_key("./DevInfo/DevId"),
            fnv1a(FNV_OFFSET, b"DevInfo/DevId")
        );
        assert_ne!(uri_key("./DMAcc/<x>"), uri_key("./DMAcc/srv1"));
    }
}

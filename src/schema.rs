//! The management tree's shape: the node types and [`Schema`] of `iotadm-ddf`, and
//! [`STANDARD`], the ready schema of the standard management objects (DevInfo, DevDetail,
//! DMAcc, FUMO and CDMA), compiled from their DDF documents at build time.
//!
//! A schema is a value the tree is mounted with ([`Tree::mount`](crate::tree::Tree::mount)).
//! A device with only the standard objects mounts [`STANDARD`]. A vendor with objects of
//! its own composes a schema in its build script from the standard DDF documents and its
//! own (`iotadm_ddf::compiler::Builder`): the generated code is a `static` [`Schema`] and
//! typed node constants (`nodes::vendor::COUNTER`), so a node missing from the DDF is a
//! compile error rather than a lookup that fails at run time. Lookups by path
//! ([`Schema::find`]) exist for what is only known at run time.
//!
//! The tables are `static` data: nothing here allocates, and a lookup with an id out of
//! range answers `None`. Node ids are positions in one schema; what outlives a schema
//! (records in flash) names nodes by their stable [`key`](NodeDef::key) instead.

pub use iotadm_ddf::{
    uri_key, AccessSet, Document, Format, Node, NodeDef, NodeId, Occurrence, Schema, Scope,
    UnknownFormat, NO_DOCUMENT, NO_NODE, ROOT,
};
// Named by the schema tables that build.rs generates into this crate (and that the DDF
// compiler generates for a firmware's own schema), not by hand: hidden from the docs.
#[doc(hidden)]
pub use iotadm_ddf::{DocumentDef, NodeSpec, NodeStrings, StrId, StringOffsets, NO_STRING};

include!(concat!(env!("OUT_DIR"), "/standard_schema.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_schema_holds_the_standard_objects() {
        for uri in [
            "./DevInfo/DevId",
            "./DevDetail/URI/MaxDepth",
            "./DMAcc/<x>/AppAuth/<x>/AAuthData",
            "./FUMO/<x>/State",
            #[cfg(feature = "cdma")]
            "./CDMA/NAM/<x>/IMSI_M",
        ] {
            let id = STANDARD.find(uri);
            assert!(id.is_some(), "{uri}");
            let mut back = std::string::String::new();
            STANDARD
                .write_uri(id.unwrap_or(NO_NODE), &mut back)
                .unwrap();
            assert_eq!(back, uri);
        }
        assert_eq!(STANDARD.descriptions(), cfg!(feature = "ddf-descriptions"));
        assert_eq!(
            STANDARD.find("./CDMA").is_some(),
            cfg!(feature = "cdma"),
            "the CDMA object is in the schema exactly when the feature is on"
        );
    }
}

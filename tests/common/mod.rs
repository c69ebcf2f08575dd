//! Helpers shared by the integration tests: the schema they mount, where the real-message
//! corpus lives and what its `SOURCES.md` says about each file, a generator of varied
//! messages, and the simulated handset that runs sessions against the test server.
#![allow(dead_code)]

pub mod corpus;
pub mod device;
pub mod gen;

#[allow(unused_imports)]
pub use corpus::{corpus, corpus_dir, corpus_file, CorpusFile};

use std::sync::OnceLock;

use iotadm::schema::Schema;

/// The schema the tests mount: the standard objects plus `./Test` (`tests/ddf/`), an
/// object with a leaf of every format, compiled once per test process.
pub fn test_schema() -> &'static Schema {
    static SCHEMA: OnceLock<&'static Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        iotadm_ddf::compiler::Builder::new()
            .dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ddf"))
            .build()
            .expect("the test DDF compiles")
            .leak()
    })
}

//! Helpers shared by the integration tests: the schema they mount, where the real-message
//! corpus lives and what its `SOURCES.md` says about each file, a generator of varied
//! messages, and the simulated handset that runs sessions against the test server.
#![allow(dead_code)]

pub mod certs;
pub mod corpus;
pub mod device;
pub mod gen;

#[allow(unused_imports)]
pub use corpus::{corpus, corpus_dir, corpus_file, CorpusFile};

use std::sync::OnceLock;

use embedded_storage::nor_flash::NorFlash;
use iotadm::schema::Schema;
use iotadm::tree::{Handlers, Principal, Tree};

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

/// Adds `./DMAcc/<name>` as bootstrap creates an account for `server`: the node, an ACL
/// giving that server Add, Delete, Get and Replace on it, and its ServerID. Returns the
/// account's URI.
pub fn owned_account<F: NorFlash, H: Handlers>(
    t: &mut Tree<'_, F, H>,
    name: &str,
    server: &str,
) -> String {
    let device = Principal::Device;
    let acc = format!("./DMAcc/{name}");
    t.add(device, &acc, None, None, Some(1_700_000_000))
        .unwrap();
    let acl = format!("Add={server}&Delete={server}&Get={server}&Replace={server}");
    t.replace(
        device,
        &format!("{acc}?prop=ACL"),
        acl.as_bytes(),
        None,
        None,
    )
    .unwrap();
    t.add(
        device,
        &format!("{acc}/ServerID"),
        Some(server.as_bytes()),
        None,
        None,
    )
    .unwrap();
    acc
}

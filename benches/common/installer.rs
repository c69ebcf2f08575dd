//! What the installer benches share: one whole install through the public verbs, on a
//! simulated NOR part of two slots and a state region.

use std::cell::RefCell;

use iotadm::firmware::{Config, DeviceIdentity, HmacSha256Verifier, Installer};
use iotadm::flash::{MemFlash, Partition};

/// Bytes per chunk handed to the installer, as a DM large object or HTTP read would.
pub const CHUNK: usize = 4096;
/// The model key every bench package is authenticated with.
pub const KEY: &[u8] = b"bench model key";

/// One whole install of `pkg` into slot B of a part laid out as slot A, slot B (both
/// `slot` bytes) and the state region (`state` bytes): begin, stream in [`CHUNK`]s,
/// finish (for a delta package: check and apply). The package must give version 2.
pub fn install<const E: usize, const W: usize>(
    flash: &RefCell<MemFlash<Vec<u8>, E, W, Vec<u32>>>,
    pkg: &[u8],
    slot: u32,
    state: u32,
) {
    let mut inst = Installer::new(
        Partition::new(flash, 0, slot).expect("slot A"),
        Partition::new(flash, slot, slot).expect("slot B"),
        Partition::new(flash, 2 * slot, state).expect("state"),
        DeviceIdentity::new("Bench", "hw1", 1).expect("identity"),
        HmacSha256Verifier::new(KEY).expect("key"),
        Config::default(),
    )
    .expect("installer");
    inst.begin().expect("begin");
    for chunk in pkg.chunks(CHUNK) {
        inst.write_chunk(chunk).expect("chunk");
    }
    assert_eq!(inst.finish().expect("finish"), 2);
}

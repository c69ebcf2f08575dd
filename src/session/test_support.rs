//! What the session's unit tests share: a handset's tree (blank flash, the standard
//! schema, the test device's information) and a counting random source.

use super::{DeviceInfo, Env};
use crate::flash::MemFlash;
use crate::platform::{NoClock, Rng};
use crate::schema::STANDARD;
use crate::tree::{NoHandlers, Tree, TreeStorage, UriLimits};
use crate::ui::NoUi;
use std::boxed::Box;
use std::vec;
use std::vec::Vec;

/// The flash of the session's unit tests.
pub(crate) type TestFlash = MemFlash<Vec<u8>, 4096, 8>;

/// The tree of the session's unit tests.
pub(crate) type TestTree = Tree<'static, TestFlash, NoHandlers>;

/// A random source that counts, so that nonces and session ids repeat from run to run.
pub(crate) struct Counter(pub(crate) u8);

impl Rng for Counter {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
    }
}

/// The test device's information.
pub(crate) const DEVICE: DeviceInfo<'static> = DeviceInfo {
    dev_id: "IMEI:490154203237518",
    man: "iotadm",
    model: "test",
    dm_version: "1.2",
    lang: "en-US",
    dev_type: "phone",
    oem: "iotadm",
    fw_version: "1",
    sw_version: "1",
    hw_version: "1",
};

/// A tree on 1 MiB of erased flash with room for 256 entries and values of up to 4 KiB,
/// nothing stored.
pub(crate) fn blank_tree() -> TestTree {
    let mut flash = MemFlash::new(vec![0u8; 1 << 20]);
    flash.erase_all();
    let storage = Box::leak(Box::new(TreeStorage::<256, 16_384, 4096>::new()));
    Tree::mount(storage, &STANDARD, flash, NoHandlers, UriLimits::DEFAULT).unwrap()
}

/// A handset: [`blank_tree`] with [`DEVICE`] stored, no account yet.
pub(crate) fn handset() -> TestTree {
    let mut tree = blank_tree();
    DEVICE.store(&mut tree).unwrap();
    tree
}

/// Runs `body` with an environment over `tree`: no user, a [`Counter`] from 0, no clock,
/// no alerts.
pub(crate) fn with_env<T>(
    tree: &mut TestTree,
    body: impl FnOnce(&mut Env<'_, 'static, TestFlash, NoHandlers>) -> T,
) -> T {
    let mut env = Env {
        tree,
        ui: &mut NoUi,
        rng: &mut Counter(0),
        clock: &NoClock,
        alerts: &[],
    };
    body(&mut env)
}

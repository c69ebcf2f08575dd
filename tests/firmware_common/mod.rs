//! Shared set-up for the firmware installer tests: one simulated NOR part split into two
//! slots, a state region, a backup region and a user-data region (the tree store).
#![allow(dead_code)]

#[path = "../common/peers.rs"]
mod peers;
#[allow(unused_imports)]
pub use peers::{
    detools_patch, imgtool_keygen, imgtool_sign_with, peer_scratch, python_peer, run_peer,
    ImgtoolKey,
};

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use iotadm::firmware::{
    Config, DeviceIdentity, HmacSha256Verifier, Installer, PackageBuilder, PackageHeader, Slot,
    IMAGE_OFFSET,
};
use iotadm::flash::{FaultPlan, FaultyFlash, MemFlash, Partition, Tear};
use sha2::{Digest, Sha256};

pub const SECTOR: usize = 1024;
pub const WORD: usize = 8;
pub type Mem = MemFlash<Vec<u8>, SECTOR, WORD, Vec<u32>>;
pub type Dev = FaultyFlash<Mem, SECTOR>;
pub type Part<'a> = Partition<'a, Dev>;
pub type Inst<'a> = Installer<Part<'a>, Part<'a>, Part<'a>>;

pub const SLOT_A: (u32, u32) = (0, 8 * 1024);
pub const SLOT_B: (u32, u32) = (8 * 1024, 8 * 1024);
pub const STATE: (u32, u32) = (16 * 1024, 2 * 1024);
pub const BACKUP: (u32, u32) = (18 * 1024, 5 * 1024);
pub const USER: (u32, u32) = (23 * 1024, 4 * 1024);
pub const FLASH_LEN: usize = 27 * 1024;

pub const MODEL: &str = "IOTA-1";
pub const HW: &str = "rev-c";
pub const KEY: &[u8] = b"model key for IOTA-1 handsets";

pub fn sector_range(region: (u32, u32)) -> std::ops::Range<usize> {
    region.0 as usize / SECTOR..(region.0 + region.1) as usize / SECTOR
}

/// A deterministic payload of `len` bytes for `version`.
pub fn payload(version: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(version) as u8 ^ version as u8)
        .collect()
}

/// A package to `version` (named `<version>.0`) of `payload` as its builder makes it, for
/// devices running 1 up to the version before: `build` turns the builder into the package.
fn to_version(
    version: u32,
    build: impl FnOnce(PackageBuilder<'_>) -> PackageBuilder<'_>,
    payload: &[u8],
) -> Vec<u8> {
    let name = format!("{}.0", version);
    let b = build(
        PackageBuilder::new(MODEL, HW)
            .from_versions(1, version.saturating_sub(1).max(1))
            .to_version(version, &name),
    );
    let mut p = b.header_hmac(payload, KEY).unwrap().to_vec();
    p.extend_from_slice(payload);
    p
}

pub fn package(version: u32, payload: &[u8]) -> Vec<u8> {
    to_version(version, |b| b, payload)
}

/// User data as version `version` of the firmware writes it.
pub fn user_data(version: u32) -> Vec<u8> {
    (0..USER.1 as usize)
        .map(|i| (i as u8).wrapping_mul(31) ^ (version as u8).wrapping_mul(101))
        .collect()
}

/// A factory-fresh part: version 1 in slot A, its user data in place.
pub fn factory(v1_len: usize) -> Mem {
    let mut m: Mem =
        MemFlash::with_erase_counters(vec![0xFF; FLASH_LEN], vec![0; FLASH_LEN / SECTOR]);
    let p = package(1, &payload(1, v1_len));
    let header = PackageHeader::parse(&p).unwrap();
    let hl = header.len();
    let raw = m.as_bytes_mut();
    raw[..hl].copy_from_slice(&p[..hl]);
    let img = SLOT_A.0 as usize + IMAGE_OFFSET as usize;
    raw[img..img + p.len() - hl].copy_from_slice(&p[hl..]);
    let u = USER.0 as usize;
    raw[u..u + USER.1 as usize].copy_from_slice(&user_data(1));
    m
}

pub fn part(flash: &RefCell<Dev>, region: (u32, u32)) -> Part<'_> {
    Partition::new(flash, region.0, region.1).unwrap()
}

pub fn device(version: u32) -> DeviceIdentity {
    DeviceIdentity::new(MODEL, HW, version).unwrap()
}

pub fn installer(flash: &RefCell<Dev>, version: u32) -> Result<Inst<'_>, iotadm::firmware::Error> {
    Installer::new(
        part(flash, SLOT_A),
        part(flash, SLOT_B),
        part(flash, STATE),
        device(version),
        HmacSha256Verifier::new(KEY).unwrap(),
        Config { max_trial_boots: 3 },
    )
}

pub fn wrap(mem: Mem) -> RefCell<Dev> {
    RefCell::new(FaultyFlash::new(mem, FaultPlan::none()))
}

fn region_of(slot: Slot) -> (u32, u32) {
    match slot {
        Slot::A => SLOT_A,
        Slot::B => SLOT_B,
    }
}

/// The version of the image in `slot`, checked independently of the installer: the header
/// parses and the payload hashes to the header's value. `None` for anything else.
pub fn valid_image(mem: &Mem, slot: Slot) -> Option<u32> {
    let (at, len) = region_of(slot);
    let raw = &mem.as_bytes()[at as usize..(at + len) as usize];
    let h = PackageHeader::parse(raw).ok()?;
    let image = h.image();
    let start = IMAGE_OFFSET as usize;
    let body = raw.get(start..start + image.len as usize)?;
    (Sha256::digest(body).as_slice() == image.sha256).then_some(h.to_code())
}

/// `imgtool sign` of `payload` with `key` at `version`, as the installer takes an image: a
/// 0x200-byte header padded in front, 8-byte alignment, for this part's 8 KiB slots (a
/// trailer for their 8 sectors, which the installer never writes). `extra` options come
/// last, so they override these (`--header-size 0x100`).
pub fn imgtool_sign(key: &ImgtoolKey, payload: &[u8], version: &str, extra: &[&str]) -> Vec<u8> {
    let slot = format!("{:#x}", SLOT_B.1);
    let mut options = vec![
        "--align",
        "8",
        "--max-sectors",
        "8",
        "--slot-size",
        &slot,
        "--version",
        version,
    ];
    options.extend_from_slice(extra);
    imgtool_sign_with(&key.pem, payload, &options)
}

/// A factory-fresh part whose slot A holds `image` as it is (an MCUboot image, at slot
/// offset 0), with version 1's user data in place.
pub fn factory_image(image: &[u8]) -> Mem {
    let mut m: Mem =
        MemFlash::with_erase_counters(vec![0xFF; FLASH_LEN], vec![0; FLASH_LEN / SECTOR]);
    let raw = m.as_bytes_mut();
    let a = SLOT_A.0 as usize;
    raw[a..a + image.len()].copy_from_slice(image);
    let u = USER.0 as usize;
    raw[u..u + USER.1 as usize].copy_from_slice(&user_data(1));
    m
}

/// The bytes of `slot`.
pub fn slot_bytes(mem: &Mem, slot: Slot) -> &[u8] {
    let (at, len) = region_of(slot);
    &mem.as_bytes()[at as usize..(at + len) as usize]
}

/// The delta package that turns version 1's image `base` into version `version`'s
/// `target`, with `patch` as its payload.
pub fn delta_package(version: u32, base: &[u8], target: &[u8], patch: &[u8]) -> Vec<u8> {
    use iotadm::firmware::package::ImageDigest;
    let (base, target) = (
        ImageDigest::of(base).unwrap(),
        ImageDigest::of(target).unwrap(),
    );
    to_version(version, |b| b.delta(base, target), patch)
}

/// Version `version` of the image `payload(1, len)` gives, as a new build changes it:
/// a run inserted, one deleted, a few bytes changed and a tail added.
pub fn next_build(base: &[u8], version: u32) -> Vec<u8> {
    let mut t = base.to_vec();
    let n = t.len();
    t.splice(n / 5..n / 5, payload(version, 300));
    t.drain(n / 2..n / 2 + 200);
    for i in (0..t.len()).step_by(97) {
        t[i] = t[i].wrapping_add(version as u8);
    }
    t.extend_from_slice(&payload(version + 7, 150));
    t
}

pub fn user_region(mem: &Mem) -> &[u8] {
    &mem.as_bytes()[USER.0 as usize..(USER.0 + USER.1) as usize]
}

/// Writes `data` over the user region the way the firmware's store would: erase, write.
pub fn write_user(flash: &RefCell<Dev>, data: &[u8]) -> Result<(), ()> {
    use embedded_storage::nor_flash::NorFlash;
    let mut u = part(flash, USER);
    u.erase(0, USER.1).map_err(|_| ())?;
    for (i, c) in data.chunks(512).enumerate() {
        u.write((i * 512) as u32, c).map_err(|_| ())?;
    }
    Ok(())
}

/// Streams `package[from..]` in chunks of varying size.
pub fn stream<A, B, S, V>(
    inst: &mut Installer<A, B, S, V>,
    package: &[u8],
    from: usize,
) -> Result<(), iotadm::firmware::Error>
where
    A: embedded_storage::nor_flash::NorFlash,
    B: embedded_storage::nor_flash::NorFlash,
    S: embedded_storage::nor_flash::NorFlash,
    V: iotadm::firmware::PackageVerifier,
{
    let sizes = [97usize, 1, 13, 256, 5, 700, 64];
    let mut at = from;
    let mut i = 0;
    while at < package.len() {
        let n = sizes[i % sizes.len()].min(package.len() - at);
        inst.write_chunk(&package[at..at + n])?;
        at += n;
        i += 1;
    }
    Ok(())
}

/// The power-cut sweeps of a whole update: every mutating flash operation cut with each
/// kind of tear, counted, and checked at the end.
pub struct CutSweep<K> {
    total: u64,
    survived: u64,
    failures: Vec<(K, u64, Tear)>,
}

impl<K: std::fmt::Debug> CutSweep<K> {
    pub fn new() -> Self {
        Self {
            total: 0,
            survived: 0,
            failures: Vec::new(),
        }
    }

    /// Cuts operation `k` of `ops` with every tear, for the case `key` (seeds drawn from
    /// `seed_base`). `run` drives the device on a flash with that plan: it must see the cut,
    /// restart on what it left and reach the case's end, or panic.
    pub fn cut_each(&mut self, key: K, seed_base: u64, ops: u64, run: impl Fn(FaultPlan))
    where
        K: Copy,
    {
        let tears = [
            Tear::NotStarted,
            Tear::Completed,
            Tear::Partial,
            Tear::Garbage,
        ];
        for k in 0..ops {
            for (t, tear) in tears.into_iter().enumerate() {
                self.total += 1;
                let seed = seed_base << 40 | k << 8 | t as u64;
                let plan = FaultPlan::cut_at(k, tear).with_seed(seed);
                match catch_unwind(AssertUnwindSafe(|| run(plan))) {
                    Ok(()) => self.survived += 1,
                    Err(_) => self.failures.push((key, k, tear)),
                }
            }
        }
    }

    /// Prints the sweep's line and checks that every cut point survived, of at least 1,000.
    pub fn finish(self) {
        self.finish_as("");
    }

    /// [`finish`](Self::finish), naming what was cut after the figures (`what` empty: nothing).
    pub fn finish_as(self, what: &str) {
        let (total, survived) = (self.total, self.survived);
        let what = if what.is_empty() {
            String::new()
        } else {
            format!(" ({what})")
        };
        println!("power-cut sweep: {total} cut points, {survived} survived{what}");
        assert!(total >= 1000, "too few cut points: {total}");
        assert!(
            self.failures.is_empty(),
            "cut points that did not survive: {:?}",
            self.failures
        );
        assert_eq!(survived, total);
    }
}

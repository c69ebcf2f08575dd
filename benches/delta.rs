//! A delta update against a full one of the same image, in the same run: the installer
//! taking a format 2 package (a detools patch, made here by the `detools` tool of
//! `scripts/peers-venv.sh`) and applying it from slot A into slot B, against the installer
//! taking the whole image as a format 1 package. Both end with the same verified image in
//! slot B. Also prints the patch's size against the image's for each compression.

#[path = "common/installer.rs"]
mod installer;
use installer::{install, KEY};

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use iotadm::firmware::package::ImageDigest;
use iotadm::firmware::PackageBuilder;
use iotadm::flash::MemFlash;

#[path = "../tests/common/peers.rs"]
mod peers;

const SECTOR: usize = 4096;
const WORD: usize = 8;
const IMAGE: usize = 512 * 1024;
const SLOT: u32 = (2 * IMAGE) as u32;
const STATE: u32 = 2 * SECTOR as u32;
const FLASH: usize = 2 * SLOT as usize + STATE as usize;

type Mem = MemFlash<Vec<u8>, SECTOR, WORD, Vec<u32>>;

/// Version 1: code-like bytes, repetitive enough for a patch to find matches.
fn base() -> Vec<u8> {
    (0..IMAGE as u32)
        .map(|i| ((i / 4).wrapping_mul(2_654_435_761) >> 24) as u8 & 0x3F | ((i % 4) << 6) as u8)
        .collect()
}

/// Version 2 as a rebuild changes it: a function inserted, one removed, constants moved.
fn next(base: &[u8]) -> Vec<u8> {
    let mut t = base.to_vec();
    t.splice(
        IMAGE / 3..IMAGE / 3,
        base[1000..3000].iter().map(|b| b ^ 0x11),
    );
    t.drain(IMAGE / 2..IMAGE / 2 + 1500);
    for i in (IMAGE - 64 * 1024..t.len()).step_by(256) {
        t[i] = t[i].wrapping_add(4);
    }
    t
}

fn builder() -> PackageBuilder<'static> {
    PackageBuilder::new("Bench", "hw1")
        .from_versions(1, 1)
        .to_version(2, "2.0")
}

fn with(header: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut p = header.to_vec();
    p.extend_from_slice(payload);
    p
}

/// Slot A holds version 1 (header and image), slot B is erased.
fn factory(base: &[u8]) -> Mem {
    let mut m = MemFlash::with_erase_counters(vec![0xFF; FLASH], vec![0; FLASH / SECTOR]);
    let header = builder()
        .to_version(1, "1.0")
        .header_hmac(base, KEY)
        .expect("header");
    let raw = m.as_bytes_mut();
    raw[..header.len()].copy_from_slice(&header);
    raw[512..512 + base.len()].copy_from_slice(base);
    m
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let base = base();
    let target = next(&base);
    let mut patches = Vec::new();
    for compression in ["none", "crle", "heatshrink"] {
        let Some(patch) = peers::detools_patch(&base, &target, compression) else {
            return;
        };
        println!(
            "patch ({compression}): {} bytes for an image of {} bytes ({:.2}%)",
            patch.len(),
            target.len(),
            100.0 * patch.len() as f64 / target.len() as f64
        );
        patches.push((compression, patch));
    }
    let full = with(&builder().header_hmac(&target, KEY).expect("full"), &target);
    let (_, patch) = patches.last().expect("heatshrink");
    let delta_builder = builder().delta(
        ImageDigest::of(&base).expect("base"),
        ImageDigest::of(&target).expect("target"),
    );
    let delta = with(
        &delta_builder.header_hmac(patch, KEY).expect("delta"),
        patch,
    );

    let start = factory(&base);
    let rounds = 15;
    let (mut full_t, mut delta_t) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let flash: RefCell<Mem> = RefCell::new(MemFlash::with_erase_counters(
            start.as_bytes().to_vec(),
            vec![0; FLASH / SECTOR],
        ));
        let t = Instant::now();
        install(&flash, black_box(&full), SLOT, STATE);
        full_t.push(t.elapsed());
        let flash: RefCell<Mem> = RefCell::new(MemFlash::with_erase_counters(
            start.as_bytes().to_vec(),
            vec![0; FLASH / SECTOR],
        ));
        let t = Instant::now();
        install(&flash, black_box(&delta), SLOT, STATE);
        delta_t.push(t.elapsed());
        let b = SLOT as usize + 512;
        assert_eq!(&flash.borrow().as_bytes()[b..b + target.len()], &target[..]);
    }
    let (f, d) = (median(full_t), median(delta_t));
    println!(
        "median over {rounds} interleaved rounds, {} KiB image: full install {:.2} ms ({} bytes sent), delta install {:.2} ms ({} bytes sent, heatshrink), ratio {:.2}",
        target.len() / 1024,
        f.as_secs_f64() * 1e3,
        full.len(),
        d.as_secs_f64() * 1e3,
        delta.len(),
        d.as_secs_f64() / f.as_secs_f64()
    );
    println!(
        "applier RAM: Patcher {} bytes, plus while applying a 1,024-byte workspace and a 256-byte patch buffer on the stack",
        std::mem::size_of::<iotadm::firmware::delta::Patcher<'static>>()
    );
}

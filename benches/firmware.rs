//! Streaming a 16 MiB update package into a simulated NOR flash, validation included,
//! against the floor of any installer: SHA-256 over the same bytes plus one copy of them.
//! Also counts the erases each slot sector takes per update.

#[path = "common/installer.rs"]
mod installer;
use installer::{install, CHUNK, KEY};

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use iotadm::firmware::PackageBuilder;
use iotadm::flash::MemFlash;
use sha2::{Digest, Sha256};

const SECTOR: usize = 4096;
const WORD: usize = 8;
const PAYLOAD: usize = 16 * 1024 * 1024;
const SLOT: u32 = (PAYLOAD + SECTOR) as u32;
const STATE: u32 = 2 * SECTOR as u32;
const FLASH: usize = 2 * SLOT as usize + STATE as usize;

type Mem = MemFlash<Vec<u8>, SECTOR, WORD, Vec<u32>>;

fn package() -> Vec<u8> {
    let payload: Vec<u8> = (0..PAYLOAD as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let header = PackageBuilder::new("Bench", "hw1")
        .to_version(2, "2.0")
        .header_hmac(&payload, KEY)
        .expect("package");
    let mut pkg = header.to_vec();
    pkg.extend_from_slice(&payload);
    pkg
}

fn flash() -> RefCell<Mem> {
    let mut m = MemFlash::with_erase_counters(vec![0xFF; FLASH], vec![0; FLASH / SECTOR]);
    m.erase_all();
    RefCell::new(m)
}

/// The floor: hash the bytes and copy them once.
fn hash_and_copy(pkg: &[u8], dst: &mut [u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    for (src, out) in pkg.chunks(CHUNK).zip(dst.chunks_mut(CHUNK)) {
        out.copy_from_slice(src);
        h.update(src);
    }
    h.finalize().into()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let pkg = package();
    let flash = flash();
    let mut dst = vec![0u8; pkg.len()];

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();
    let mut g = c.benchmark_group("firmware_16MiB");
    g.throughput(Throughput::Bytes(pkg.len() as u64));
    g.bench_function("installer_stream_and_validate", |b| {
        b.iter(|| install(&flash, black_box(&pkg), SLOT, STATE))
    });
    g.bench_function("sha256_plus_copy", |b| {
        b.iter(|| black_box(hash_and_copy(black_box(&pkg), &mut dst)))
    });
    g.finish();

    // Both measured again in the same run, interleaved, for the ratio.
    let rounds = 31;
    let (mut ours, mut floor) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        install(&flash, black_box(&pkg), SLOT, STATE);
        ours.push(t.elapsed());
        let t = Instant::now();
        black_box(hash_and_copy(black_box(&pkg), &mut dst));
        floor.push(t.elapsed());
    }
    let (ours, floor) = (median(ours), median(floor));
    println!(
        "median over {rounds} interleaved rounds: installer {:.2} ms, sha256+copy {:.2} ms, ratio {:.3}",
        ours.as_secs_f64() * 1e3,
        floor.as_secs_f64() * 1e3,
        ours.as_secs_f64() / floor.as_secs_f64()
    );

    // Erases per sector for one update.
    flash.borrow_mut().reset_stats();
    install(&flash, &pkg, SLOT, STATE);
    let m = flash.borrow();
    let slot_b = SLOT as usize / SECTOR..2 * SLOT as usize / SECTOR;
    let used = (512 + PAYLOAD).div_ceil(SECTOR);
    let counts = &m.erase_counts()[slot_b.clone()];
    let slot_erases: u32 = counts.iter().sum();
    let state_erases: u32 = m.erase_counts()[2 * SLOT as usize / SECTOR..].iter().sum();
    println!(
        "erases per update: slot sectors written {used}, slot erases {slot_erases}, max per sector {}, min over written sectors {}; state region erases {state_erases}; slot A erases {}",
        m.max_erases_in(slot_b.clone()),
        counts[..used].iter().min().copied().unwrap_or(0),
        m.erase_counts()[..SLOT as usize / SECTOR].iter().sum::<u32>(),
    );
    let s = m.stats();
    println!(
        "flash operations per update: {} writes ({} bytes), {} reads ({} bytes), {} sector erases",
        s.writes, s.bytes_written, s.reads, s.bytes_read, s.erases
    );
    c.final_summary();
}

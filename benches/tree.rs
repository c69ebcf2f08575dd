//! The management tree: Get and Replace of a deep node in a tree of about 2,000 nodes,
//! and what the tree costs in RAM per node created at run time.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use iotadm::flash::MemFlash;
use iotadm::schema::STANDARD;
use iotadm::tree::{NoHandlers, Principal, Tree, TreeStorage, UriLimits};

type Flash = MemFlash<Vec<u8>, 4096, 8>;
type Big = Tree<'static, Flash, NoHandlers>;

const DEVICE: Principal<'static> = Principal::Device;
const SRV: Principal<'static> = Principal::Server("srv1");

/// 180 DM accounts with addresses, ports and credentials, owned by `srv1`: about 2,000
/// nodes (counting the mandatory ones that exist with their parents).
fn big_tree() -> (Big, usize) {
    let mut f = MemFlash::new(vec![0u8; 4 << 20]);
    f.erase_all();
    let storage = Box::leak(Box::new(TreeStorage::<4096, 131_072, 512>::new()));
    let mut t: Big = Tree::mount(storage, &STANDARD, f, NoHandlers, UriLimits::DEFAULT).unwrap();
    for i in 0..180 {
        let acc = format!("./DMAcc/a{i}");
        t.add(DEVICE, &acc, None, None, None).unwrap();
        t.replace(
            DEVICE,
            &format!("{acc}?prop=ACL"),
            b"Add=srv1&Delete=srv1&Get=srv1&Replace=srv1",
            None,
            None,
        )
        .unwrap();
        t.add(
            DEVICE,
            &format!("{acc}/ServerID"),
            Some(b"srv1"),
            None,
            None,
        )
        .unwrap();
        t.add(
            DEVICE,
            &format!("{acc}/AppAddr/1/Addr"),
            Some(b"https://127.0.0.1/dm"),
            None,
            None,
        )
        .unwrap();
        t.add(
            DEVICE,
            &format!("{acc}/AppAddr/1/Port/p/PortNbr"),
            Some(b"443"),
            None,
            None,
        )
        .unwrap();
        t.add(
            DEVICE,
            &format!("{acc}/AppAuth/c/AAuthLevel"),
            Some(b"CLCRED"),
            None,
            None,
        )
        .unwrap();
        t.add(
            DEVICE,
            &format!("{acc}/AppAuth/c/AAuthName"),
            Some(b"device"),
            None,
            None,
        )
        .unwrap();
    }
    let root = t.find(&t.parse_uri(".").unwrap()).unwrap();
    let mut nodes = 0;
    t.walk(DEVICE, root, false, |_, _| {
        nodes += 1;
        true
    })
    .unwrap();
    (t, nodes)
}

fn bench(c: &mut Criterion) {
    let (mut t, nodes) = big_tree();
    println!(
        "tree: {nodes} nodes, {} run-time entries of {} bytes, {} arena bytes: {:.1} bytes of RAM per entry",
        t.entries_used(),
        Big::ENTRY_SIZE,
        t.arena_used(),
        (t.entries_used() * Big::ENTRY_SIZE + t.arena_used()) as f64 / t.entries_used() as f64
    );
    let mut buf = [0u8; 64];
    let mut group = c.benchmark_group("tree");
    group.bench_function("get leaf at depth 7", |b| {
        b.iter(|| {
            let r = t
                .get(
                    SRV,
                    black_box("./DMAcc/a150/AppAddr/1/Port/p/PortNbr"),
                    0,
                    &mut buf,
                )
                .unwrap();
            black_box(r.len)
        })
    });
    group.bench_function("get interior at depth 6", |b| {
        b.iter(|| {
            let r = t
                .get(SRV, black_box("./DMAcc/a150/AppAddr/1/Port/p"), 0, &mut buf)
                .unwrap();
            black_box(r.len)
        })
    });
    let mut n = 0u32;
    group.bench_function("replace leaf at depth 7", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            let v = [b'1', b'0' + (n % 10) as u8, b'0' + (n / 10 % 10) as u8];
            t.replace(
                SRV,
                black_box("./DMAcc/a150/AppAddr/1/Port/p/PortNbr"),
                &v,
                None,
                None,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

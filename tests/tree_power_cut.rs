//! Power cut at every flash operation of a series of tree updates (adds, replaces, ACL
//! changes, an Atomic committed and one rolled back, a rename, a delete, and enough writes
//! to move the log between banks), with the interrupted operation left not started,
//! completed, half-written or garbled. After each cut the tree is mounted again: every node
//! must hold its value from before the interrupted update or from after it, never garbage
//! and never a mix.

use iotadm::codes::StatusCode;
use iotadm::flash::{FaultPlan, FaultyFlash, MemFlash, Tear};
use iotadm::schema::STANDARD;
use iotadm::tree::{NoHandlers, Principal, Tree, TreeStorage, UriLimits};

type Mem = MemFlash<Vec<u8>, 256, 8>;
type Faulty = FaultyFlash<Mem>;

const DEVICE: Principal<'static> = Principal::Device;
const SRV: Principal<'static> = Principal::Server("srv1");
/// Two banks of 1 KiB: small, so the series moves the log between banks several times.
const REGION: usize = 2048;

type T<'s, F> = Tree<'s, F, NoHandlers>;
type Storage = TreeStorage<64, 4096, 512>;

/// What the test looks at after a restart.
const PROBES: &[&str] = &[
    "./DMAcc",
    "./DMAcc/a1/AppID",
    "./DMAcc/a1/ServerID",
    "./DMAcc/a1/Name",
    "./DMAcc/a1?prop=ACL",
    "./DMAcc/a1/AppAddr",
    "./DMAcc/a1/AppAddr/1/Addr",
    "./DMAcc/a1/AppAddr/2/Addr",
    "./DMAcc/a2/AppID",
];

type Snapshot = Vec<Result<Vec<u8>, StatusCode>>;

/// How an interrupted flash operation is left: every kind is tried at every cut.
const TEARS: [Tear; 4] = [
    Tear::NotStarted,
    Tear::Completed,
    Tear::Partial,
    Tear::Garbage,
];

fn snapshot<F: embedded_storage::nor_flash::NorFlash>(t: &mut T<'_, F>) -> Snapshot {
    snapshot_of(t, PROBES)
}

/// What `uris` read as, as the device.
fn snapshot_of<F: embedded_storage::nor_flash::NorFlash>(
    t: &mut T<'_, F>,
    uris: &[impl AsRef<str>],
) -> Snapshot {
    uris.iter()
        .map(|uri| {
            let mut buf = [0u8; 256];
            t.get(DEVICE, uri.as_ref(), 0, &mut buf)
                .map(|r| buf[..r.len].to_vec())
        })
        .collect()
}

type Op = fn(&mut T<'_, &mut Faulty>) -> Result<(), StatusCode>;

fn ops() -> Vec<Op> {
    let mut v: Vec<Op> = vec![
        |t| t.add(DEVICE, "./DMAcc/a1", None, None, Some(1)),
        |t| t.add(DEVICE, "./DMAcc/a1/ServerID", Some(b"srv1"), None, Some(2)),
        |t| {
            t.replace(
                DEVICE,
                "./DMAcc/a1?prop=ACL",
                b"Add=srv1&Delete=srv1&Get=srv1&Replace=srv1",
                None,
                Some(3),
            )
        },
        |t| {
            t.add(
                SRV,
                "./DMAcc/a1/AppAddr/1/Addr",
                Some(b"https://127.0.0.1/one"),
                None,
                Some(4),
            )
        },
        |t| t.replace(SRV, "./DMAcc/a1/AppID", b"first", None, Some(5)),
        |t| {
            t.begin_atomic()?;
            t.replace(SRV, "./DMAcc/a1/AppID", b"atomic", None, Some(6))?;
            t.add(SRV, "./DMAcc/a1/Name", Some(b"Acme"), None, Some(6))?;
            t.replace(
                SRV,
                "./DMAcc/a1/AppAddr/1/Addr",
                b"https://127.0.0.1/two",
                None,
                Some(6),
            )?;
            t.commit_atomic()
        },
        |t| {
            t.begin_atomic()?;
            t.replace(SRV, "./DMAcc/a1/AppID", b"never", None, Some(7))?;
            t.delete(SRV, "./DMAcc/a1/Name", Some(7))?;
            t.rollback_atomic()
        },
        |t| t.replace(SRV, "./DMAcc/a1/AppAddr/1?prop=Name", b"2", None, Some(8)),
        |t| t.add(DEVICE, "./DMAcc/a2/AppID", Some(b"other"), None, Some(9)),
    ];
    // Enough small updates to fill banks and force compactions mid-series.
    for _ in 0..40 {
        v.push(|t| {
            let mut buf = [0u8; 32];
            let r = t.get(DEVICE, "./DMAcc/a1/AppID", 0, &mut buf)?;
            let next = format!("{}+", String::from_utf8_lossy(&buf[..r.len]));
            t.replace(SRV, "./DMAcc/a1/AppID", next.as_bytes(), None, Some(10))
        });
    }
    v.push(|t| t.delete(SRV, "./DMAcc/a1/AppAddr/2", Some(11)));
    v.push(|t| t.delete(DEVICE, "./DMAcc/a2", Some(12)));
    v
}

fn blank() -> Mem {
    let mut m = MemFlash::new(vec![0u8; REGION]);
    m.erase_all();
    m
}

#[test]
fn every_cut_leaves_every_node_old_or_new() {
    let ops = ops();
    // The reference run: the state before and after each update, and how many flash
    // operations the whole series takes.
    let mut reference = FaultyFlash::new(blank(), FaultPlan::none());
    let mut storage = Box::new(Storage::new());
    let mut t: T<&mut Faulty> = Tree::mount(
        &mut storage,
        &STANDARD,
        &mut reference,
        NoHandlers,
        UriLimits::DEFAULT,
    )
    .unwrap();
    let mut states = vec![snapshot(&mut t)];
    for (i, op) in ops.iter().enumerate() {
        op(&mut t).unwrap_or_else(|e| panic!("reference run: update {i} failed: {e:?}"));
        states.push(snapshot(&mut t));
    }
    let total = reference.mutations();
    assert!(total > 100, "only {total} flash operations");
    assert_ne!(states.first(), states.last());

    let mut cuts = 0;
    let mut survived = 0;
    for k in 0..total {
        for tear in TEARS {
            cuts += 1;
            let mut faulty = FaultyFlash::new(blank(), FaultPlan::cut_at(k, tear).with_seed(k));
            // Run until power goes; `interrupted` is the update it went during (0 when it
            // went while the blank flash was being formatted).
            let interrupted = match T::<&mut Faulty>::mount(
                &mut storage,
                &STANDARD,
                &mut faulty,
                NoHandlers,
                UriLimits::DEFAULT,
            ) {
                Err(_) => 0,
                Ok(mut t) => ops
                    .iter()
                    .position(|op| op(&mut t).is_err())
                    .unwrap_or(ops.len()),
            };
            // Operation k exists in every run (runs are the same until the cut).
            assert!(faulty.is_cut(), "cut {k} ({tear:?}) never happened");
            if interrupted < ops.len() {
                assert!(
                    faulty.is_cut(),
                    "update {interrupted} failed without a power cut"
                );
            }
            // Restart on what the flash holds.
            let mut t: T<Mem> = match Tree::mount(
                &mut storage,
                &STANDARD,
                faulty.into_inner(),
                NoHandlers,
                UriLimits::DEFAULT,
            ) {
                Ok(t) => t,
                Err(e) => panic!("cut {k} {tear:?}: the tree does not mount: {e:?}"),
            };
            let after = snapshot(&mut t);
            let before = &states[interrupted];
            let after_op = states.get(interrupted + 1).unwrap_or(before);
            if &after == before || &after == after_op {
                survived += 1;
            } else {
                panic!(
                    "cut at operation {k} ({tear:?}) during update {interrupted}: state is neither before nor after:\n{after:?}\nbefore: {before:?}\nafter: {after_op:?}"
                );
            }
        }
    }
    println!("power-cut sweep (tree): {cuts} cut points, {survived} survived");
    assert_eq!(cuts, survived);
    assert!(cuts >= 400);
}

/// A tree on a larger region, for the sweep over Adds.
type BigStorage = TreeStorage<96, 8192, 512>;

/// The value each `Add` of a leaf gives `./DMAcc/a1/ToConRef/g<n>/ConRef`: 20 to 150 bytes.
fn con_ref(n: usize) -> Vec<u8> {
    let len = 20 + (n * 37) % 131;
    (0..len).map(|i| b'a' + ((n + i) % 26) as u8).collect()
}

/// Pairs of `Add`s as a server sends them (an interior node, then its leaf with a value),
/// cut at every flash operation of every update (between the node's record and its
/// value's, inside each record, during compactions) with every kind of tear. After each
/// cut the tree mounts and every node is as before or after the update it was cut in;
/// and every leaf is absent or whole: a node added before its leaf never shows the leaf
/// with an empty value.
#[test]
fn adds_of_nodes_and_valued_leaves_leave_values_absent_or_whole() {
    const PAIRS: usize = 16;
    const BIG: usize = 8192;
    type Big = MemFlash<Vec<u8>, 1024, 8>;
    type BigFaulty = FaultyFlash<Big>;
    let blank_big = || {
        let mut m: Big = MemFlash::new(vec![0u8; BIG]);
        m.erase_all();
        m
    };
    let probes: Vec<String> = (0..PAIRS)
        .flat_map(|n| {
            [
                format!("./DMAcc/a1/ToConRef/g{n}"),
                format!("./DMAcc/a1/ToConRef/g{n}/ConRef"),
            ]
        })
        .collect();
    // Step 0 makes the account its server may add to; then node, leaf, node, leaf, ...
    let step = |t: &mut T<'_, &mut BigFaulty>, i: usize| -> Result<(), StatusCode> {
        if i == 0 {
            t.add(DEVICE, "./DMAcc/a1/ServerID", Some(b"srv1"), None, Some(1))?;
            t.add(DEVICE, "./DMAcc/a1/ToConRef", None, None, Some(1))?;
            return t.replace(
                DEVICE,
                "./DMAcc/a1?prop=ACL",
                b"Add=srv1&Delete=srv1&Get=srv1&Replace=srv1",
                None,
                Some(1),
            );
        }
        let n = (i - 1) / 2;
        let node = format!("./DMAcc/a1/ToConRef/g{n}");
        if i % 2 == 1 {
            t.add(SRV, &node, None, None, Some(2))
        } else {
            t.add(
                SRV,
                &format!("{node}/ConRef"),
                Some(&con_ref(n)),
                None,
                Some(3),
            )
        }
    };
    let steps = 1 + 2 * PAIRS;

    let mut storage = Box::new(BigStorage::new());
    let mut reference: BigFaulty = FaultyFlash::new(blank_big(), FaultPlan::none());
    let mut states = Vec::new();
    {
        let mut t: T<&mut BigFaulty> = Tree::mount(
            &mut storage,
            &STANDARD,
            &mut reference,
            NoHandlers,
            UriLimits::DEFAULT,
        )
        .unwrap();
        states.push(snapshot_of(&mut t, &probes));
        for i in 0..steps {
            step(&mut t, i).unwrap_or_else(|e| panic!("reference run: step {i}: {e:?}"));
            states.push(snapshot_of(&mut t, &probes));
        }
    }
    let total = reference.mutations();
    assert!(total >= 200, "only {total} flash operations");

    let (mut cuts, mut survived) = (0u64, 0u64);
    for k in 0..total {
        for tear in TEARS {
            cuts += 1;
            let mut faulty: BigFaulty =
                FaultyFlash::new(blank_big(), FaultPlan::cut_at(k, tear).with_seed(k));
            let interrupted = match T::<&mut BigFaulty>::mount(
                &mut storage,
                &STANDARD,
                &mut faulty,
                NoHandlers,
                UriLimits::DEFAULT,
            ) {
                Err(_) => 0,
                Ok(mut t) => (0..steps)
                    .position(|i| step(&mut t, i).is_err())
                    .unwrap_or(steps),
            };
            assert!(faulty.is_cut(), "cut {k} ({tear:?}) never happened");
            let mut t: T<Big> = Tree::mount(
                &mut storage,
                &STANDARD,
                faulty.into_inner(),
                NoHandlers,
                UriLimits::DEFAULT,
            )
            .unwrap_or_else(|e| panic!("cut {k} {tear:?}: the tree does not mount: {e:?}"));
            let after = snapshot_of(&mut t, &probes);
            let before = &states[interrupted];
            let next = states.get(interrupted + 1).unwrap_or(before);
            assert!(
                &after == before || &after == next,
                "cut {k} ({tear:?}) during step {interrupted}: neither before nor after"
            );
            for n in 0..PAIRS {
                let leaf = &after[2 * n + 1];
                assert!(
                    leaf == &Err(StatusCode::NotFound) || leaf == &Ok(con_ref(n)),
                    "cut {k} ({tear:?}): g{n}/ConRef is {leaf:?}, neither absent nor whole"
                );
            }
            survived += 1;
        }
    }
    println!("power-cut sweep: {cuts} cut points, {survived} survived (tree: Adds of nodes and valued leaves)");
    assert_eq!(cuts, survived);
    assert!(cuts >= 800, "only {cuts} cut points");
}

/// The storage a tree is first written with, and a smaller one it is later mounted in (a
/// firmware update that changes the configuration): the final state fits, the log's peak
/// does not, so that first mount drops early what the log removes later and rewrites the
/// log as the state it holds.
type Before = TreeStorage<64, 4096, 512>;
type After = TreeStorage<16, 2048, 512>;

/// A log with churn: twenty accounts added and deleted, then the account that stays.
fn churned() -> (Vec<u8>, Vec<String>) {
    let mut flash = MemFlash::<Vec<u8>, 256, 8>::new(vec![0u8; 16 * 1024]);
    flash.erase_all();
    let mut storage = Box::new(Before::new());
    let mut t = Tree::mount(
        &mut storage,
        &STANDARD,
        flash,
        NoHandlers,
        UriLimits::DEFAULT,
    )
    .unwrap();
    for i in 0..20 {
        let acc = format!("./DMAcc/tmp{i}");
        t.add(DEVICE, &acc, None, None, None).unwrap();
        t.add(DEVICE, &format!("{acc}/AppID"), Some(b"tmp"), None, None)
            .unwrap();
    }
    assert!(
        t.entries_used() > 16,
        "the log's peak exceeds the smaller storage"
    );
    for i in 0..20 {
        t.delete(DEVICE, &format!("./DMAcc/tmp{i}"), None).unwrap();
    }
    t.add(DEVICE, "./DMAcc/a1", None, None, None).unwrap();
    t.replace(
        DEVICE,
        "./DMAcc/a1?prop=ACL",
        b"Get=srv1&Replace=srv1",
        None,
        None,
    )
    .unwrap();
    t.add(DEVICE, "./DMAcc/a1/ServerID", Some(b"srv1"), None, None)
        .unwrap();
    t.add(
        DEVICE,
        "./DMAcc/a1/AppAuth/c/AAuthData",
        Some(b"\x00nonce\xff"),
        None,
        None,
    )
    .unwrap();
    assert!(t.entries_used() <= 16);
    let probes = [
        "./DMAcc",
        "./DMAcc/a1?prop=ACL",
        "./DMAcc/a1/ServerID",
        "./DMAcc/a1/AppAuth/c/AAuthData",
    ]
    .map(String::from)
    .to_vec();
    let (flash, _) = t.into_parts();
    (flash.as_bytes().to_vec(), probes)
}

#[test]
fn every_cut_of_the_first_mount_in_a_smaller_storage_keeps_the_tree() {
    let (log, probes) = churned();
    let mut small = Box::new(After::new());
    let mut big = Box::new(Before::new());
    // The reference: the state, and how many flash operations the first mount takes.
    let mut reference: Faulty = FaultyFlash::new(MemFlash::new(log.clone()), FaultPlan::none());
    let expected = {
        let mut t = Tree::mount(
            &mut big,
            &STANDARD,
            Mem::new(log.clone()),
            NoHandlers,
            UriLimits::DEFAULT,
        )
        .unwrap();
        snapshot_of(&mut t, &probes)
    };
    assert!(expected.iter().all(Result::is_ok), "{expected:?}");
    Tree::mount(
        &mut small,
        &STANDARD,
        &mut reference,
        NoHandlers,
        UriLimits::DEFAULT,
    )
    .expect("the state fits the smaller storage");
    let total = reference.mutations();
    assert!(
        total >= 5,
        "the first mount rewrote the log: {total} flash operations"
    );

    let (mut cuts, mut survived) = (0u64, 0u64);
    for k in 0..total {
        for tear in TEARS {
            cuts += 1;
            let mut faulty: Faulty = FaultyFlash::new(
                MemFlash::new(log.clone()),
                FaultPlan::cut_at(k, tear).with_seed(k),
            );
            let _ = Tree::mount(
                &mut small,
                &STANDARD,
                &mut faulty,
                NoHandlers,
                UriLimits::DEFAULT,
            );
            assert!(faulty.is_cut(), "cut {k} ({tear:?}) never happened");
            let after = faulty.into_inner();
            // Restarted in the new configuration, and (rolled back) in the old one.
            let mut t = Tree::mount(
                &mut small,
                &STANDARD,
                Mem::new(after.as_bytes().to_vec()),
                NoHandlers,
                UriLimits::DEFAULT,
            )
            .unwrap_or_else(|e| panic!("cut {k} {tear:?}: does not mount again: {e:?}"));
            assert_eq!(
                snapshot_of(&mut t, &probes),
                expected,
                "cut {k} ({tear:?}), smaller storage"
            );
            let mut t = Tree::mount(&mut big, &STANDARD, after, NoHandlers, UriLimits::DEFAULT)
                .unwrap_or_else(|e| {
                    panic!("cut {k} {tear:?}: does not mount in the old storage: {e:?}")
                });
            assert_eq!(
                snapshot_of(&mut t, &probes),
                expected,
                "cut {k} ({tear:?}), larger storage"
            );
            survived += 1;
        }
    }
    println!("power-cut sweep: {cuts} cut points, {survived} survived (first mount in a smaller storage)");
    assert_eq!(cuts, survived);
    assert!(cuts >= 20);
}

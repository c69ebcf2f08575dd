//! Power cut at every flash operation, with the interrupted operation left not started,
//! completed, half-written or garbled, for the three stores behind `./CDMA`: the tree
//! holding NAM parameters changed in Atomics, the service lock's state, and the roaming
//! list store. After each cut everything is mounted again and must hold the state from
//! before the interrupted change or from after it, never a mix (a counted unlock attempt
//! may stay counted: that is the point of counting first).
#![cfg(feature = "cdma")]

use std::cell::RefCell;

use embedded_storage::nor_flash::NorFlash;
use iotadm::cdma::prl::PrlKind;
use iotadm::cdma::{
    Cdma, FlashPrlStore, HmacSpasm, Limits, LockError, Policy, PrlList, PrlStore, ServiceLock,
};
use iotadm::codes::StatusCode;
use iotadm::flash::{FaultPlan, FaultyFlash, MemFlash, Partition, Tear};
use iotadm::platform::{NoClock, Rng};
use iotadm::schema::STANDARD;
use iotadm::tree::{HandlerTable, NodeHandler, Principal, Tree, TreeStorage, UriLimits};

type Mem = MemFlash<Vec<u8>, 256, 8>;
type Faulty = FaultyFlash<Mem>;

const TEARS: [Tear; 4] = [
    Tear::NotStarted,
    Tear::Completed,
    Tear::Partial,
    Tear::Garbage,
];
const DEVICE: Principal<'static> = Principal::Device;

struct TestRng(u64);

impl Rng for TestRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
            *b = (self.0 >> 33) as u8;
        }
    }
}

fn blank(size: usize) -> Mem {
    let mut m = MemFlash::new(vec![0u8; size]);
    m.erase_all();
    m
}

fn copy(m: &Mem) -> Mem {
    MemFlash::new(m.as_bytes().to_vec())
}

// --- NAM parameters changed in Atomics ----------------------------------------------------

type DmTree<'h, F> = Tree<'h, F, HandlerTable<'h, 1>>;

/// Mounts the tree on `flash` with the CDMA handler bound, and runs `f`; `None` when the
/// tree does not mount (power went while a blank flash was being formatted).
fn with_tree<F: NorFlash, R>(flash: F, f: impl FnOnce(&mut DmTree<'_, F>) -> R) -> Option<R> {
    let lock = RefCell::new(
        ServiceLock::mount(
            blank(512),
            HmacSpasm::new([3; 32], TestRng(1)),
            NoClock,
            Policy::default(),
        )
        .unwrap(),
    );
    let store = FlashPrlStore::new(blank(4096), 1).unwrap();
    let mut cdma = Cdma::new(&STANDARD, &lock, store, Limits::default());
    let table = HandlerTable::new([(
        STANDARD.find("./CDMA").unwrap(),
        &mut cdma as &mut dyn NodeHandler,
    )]);
    let mut storage = Box::new(TreeStorage::<64, 4096, 512>::new());
    let mut t = Tree::mount(&mut storage, &STANDARD, flash, table, UriLimits::DEFAULT).ok()?;
    Some(f(&mut t))
}

const PROBES: &[&str] = &[
    "./CDMA/NAM",
    "./CDMA/NAM/0/MDN",
    "./CDMA/NAM/0/HOME_SID",
    "./CDMA/NAM/0/ACCOLC",
    "./CDMA/NAM/0/IMSI_M/MCC",
    "./CDMA/NAM/0/IMSI_M/IMSI_S",
    "./CDMA/NAM/0/SCM",
    "./CDMA/NAM/0/SID_NID",
    "./CDMA/NAM/0/SID_NID/1/SID",
    "./CDMA/NAM/0/SID_NID/2/SID",
];

type Snapshot = Vec<Result<Vec<u8>, StatusCode>>;

fn snapshot<F: NorFlash>(t: &mut DmTree<'_, F>) -> Snapshot {
    PROBES
        .iter()
        .map(|uri| {
            let mut buf = [0u8; 64];
            t.get(DEVICE, uri, 0, &mut buf)
                .map(|r| buf[..r.len].to_vec())
        })
        .collect()
}

type TreeOp = Box<dyn Fn(&mut DmTree<'_, &mut Faulty>) -> Result<(), StatusCode>>;

/// An Atomic of replaces (and adds, for SID/NID pairs) on NAM 0.
fn atomic(changes: &'static [(&'static str, &'static str)]) -> TreeOp {
    Box::new(move |t| {
        t.begin_atomic()?;
        for (leaf, value) in changes {
            let uri = format!("./CDMA/NAM/0/{leaf}");
            let r = if leaf.starts_with("SID_NID/") && leaf.ends_with("/SID") {
                match t.replace(DEVICE, &uri, value.as_bytes(), None, None) {
                    Err(StatusCode::NotFound) => {
                        t.add(DEVICE, &uri, Some(value.as_bytes()), None, None)
                    }
                    r => r,
                }
            } else {
                t.replace(DEVICE, &uri, value.as_bytes(), None, None)
            };
            if let Err(e) = r {
                t.rollback_atomic()?;
                return if e == StatusCode::BadRequest {
                    // The refused value is part of the series: the group is undone.
                    Ok(())
                } else {
                    Err(e)
                };
            }
        }
        t.commit_atomic()
    })
}

fn tree_ops() -> Vec<TreeOp> {
    let mut v: Vec<TreeOp> = vec![
        Box::new(|t| t.add(DEVICE, "./CDMA/NAM/0", None, None, Some(1))),
        atomic(&[
            ("MDN", "8580000001"),
            ("HOME_SID", "1"),
            ("ACCOLC", "1"),
            ("IMSI_M/MCC", "310"),
            ("IMSI_M/IMSI_S", "5550000001"),
            ("SID_NID/1/SID", "10"),
        ]),
        atomic(&[
            ("MDN", "8580000002"),
            ("HOME_SID", "2"),
            ("ACCOLC", "2"),
            ("SID_NID/1/SID", "20"),
            ("SID_NID/2/SID", "30"),
        ]),
        // A bad SCM undoes the whole group.
        atomic(&[("MDN", "8580000003"), ("ACCOLC", "3"), ("SCM", "256")]),
        Box::new(|t| {
            t.begin_atomic()?;
            t.delete(DEVICE, "./CDMA/NAM/0/SID_NID/1", None)?;
            t.replace(DEVICE, "./CDMA/NAM/0/SCM", b"4", None, None)?;
            t.replace(DEVICE, "./CDMA/NAM/0/IMSI_M/MCC", b"311", None, None)?;
            t.commit_atomic()
        }),
    ];
    // Enough groups to move the log between banks several times.
    const MDNS: [&str; 4] = ["8581111111", "8582222222", "8583333333", "8584444444"];
    for i in 0..24 {
        let changes: &'static [(&'static str, &'static str)] = match i % 4 {
            0 => &[("MDN", MDNS[0]), ("ACCOLC", "4"), ("HOME_SID", "40")],
            1 => &[("MDN", MDNS[1]), ("ACCOLC", "5"), ("HOME_SID", "50")],
            2 => &[("MDN", MDNS[2]), ("ACCOLC", "6"), ("HOME_SID", "60")],
            _ => &[("MDN", MDNS[3]), ("ACCOLC", "7"), ("HOME_SID", "70")],
        };
        v.push(atomic(changes));
    }
    v
}

#[test]
fn a_nam_changed_in_an_atomic_is_old_or_new_after_any_cut() {
    const REGION: usize = 2048;
    let ops = tree_ops();
    let mut reference: Faulty = FaultyFlash::new(blank(REGION), FaultPlan::none());
    let states = with_tree(&mut reference, |t| {
        let mut states = vec![snapshot(t)];
        for (i, op) in ops.iter().enumerate() {
            op(t).unwrap_or_else(|e| panic!("reference run: op {i}: {e:?}"));
            states.push(snapshot(t));
        }
        states
    })
    .unwrap();
    let total = reference.mutations();
    assert!(total > 150, "only {total} flash operations");
    // The bad group changed nothing; the others did.
    assert_eq!(states[3], states[4]);
    assert_ne!(states[2], states[3]);

    let mut cuts = 0;
    for k in 0..total {
        for tear in TEARS {
            cuts += 1;
            let mut faulty: Faulty =
                FaultyFlash::new(blank(REGION), FaultPlan::cut_at(k, tear).with_seed(k));
            let interrupted = with_tree(&mut faulty, |t| {
                ops.iter()
                    .position(|op| op(t).is_err())
                    .unwrap_or(ops.len())
            })
            .unwrap_or(0);
            // Operation k exists in every run (the runs are the same until the cut), so
            // the power went.
            assert!(faulty.is_cut(), "cut {k} ({tear:?}) never happened");
            if interrupted < ops.len() {
                assert!(
                    faulty.is_cut(),
                    "op {interrupted} failed without a power cut"
                );
            }
            let after = with_tree(faulty.into_inner(), snapshot)
                .unwrap_or_else(|| panic!("cut {k} {tear:?}: the tree does not mount"));
            let before = &states[interrupted];
            let next = states.get(interrupted + 1).unwrap_or(before);
            assert!(
                &after == before || &after == next,
                "cut at {k} ({tear:?}) during op {interrupted}: neither before nor after\n{after:?}\nbefore {before:?}\nafter {next:?}"
            );
        }
    }
    println!("power-cut sweep (NAM in Atomics): {cuts} cuts survived");
    assert!(cuts >= 600, "only {cuts} cut points");
}

// --- The service lock -----------------------------------------------------------------

type Lock<F> = ServiceLock<F, HmacSpasm<TestRng>, NoClock>;

fn mount_lock<F: NorFlash>(flash: F) -> Result<Lock<F>, LockError> {
    let policy = Policy {
        // No lockouts here: they would hide the SPC from the probe. Lockouts have tests
        // of their own.
        max_failures: 1000,
        ..Policy::default()
    };
    ServiceLock::mount(flash, HmacSpasm::new([3; 32], TestRng(7)), NoClock, policy)
}

/// What a restart finds: failures, NAM lock, and which code unlocks (tried on copies).
#[derive(Debug, Clone, PartialEq)]
struct LockSnapshot {
    failures: u16,
    nam_lock: bool,
    spc: Option<&'static str>,
}

fn lock_snapshot(flash: &Mem) -> LockSnapshot {
    let lock = mount_lock(copy(flash)).unwrap();
    let spc = ["000000", "111111", "222222"].into_iter().find(|code| {
        mount_lock(copy(flash))
            .unwrap()
            .unlock("probe", code.as_bytes())
            .is_ok()
    });
    LockSnapshot {
        failures: lock.failures(),
        nam_lock: lock.nam_lock(),
        spc,
    }
}

/// One step of the lock series.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// The device sets the SPC.
    DeviceSpc(&'static [u8]),
    /// srv1 presents a wrong code.
    Wrong,
    /// srv1 presents this code (the right one).
    Unlock(&'static [u8]),
    /// srv1, unlocked, changes the SPC.
    ServerSpc(&'static [u8]),
    /// Sets the NAM lock, as srv1 (`Some`) or the device.
    NamLock(Option<&'static str>, bool),
    EndSession,
    ClearLockout,
}

impl Step {
    /// Whether the step is an attempt, counted before it is compared.
    fn attempt(self) -> bool {
        matches!(self, Step::Wrong | Step::Unlock(_))
    }

    fn run<F: NorFlash>(self, l: &mut Lock<F>) -> Result<(), LockError> {
        match self {
            Step::DeviceSpc(code) => l.set_spc(None, code),
            Step::Wrong => match l.unlock("srv1", b"999999") {
                Err(LockError::WrongCode) => Ok(()),
                r => r,
            },
            Step::Unlock(code) => l.unlock("srv1", code),
            Step::ServerSpc(code) => l.set_spc(Some("srv1"), code),
            Step::NamLock(who, on) => l.set_nam_lock(who, on),
            Step::EndSession => {
                l.session_ended();
                Ok(())
            }
            Step::ClearLockout => l.clear_lockout(),
        }
    }
}

fn lock_steps() -> Vec<Step> {
    let mut v = vec![
        Step::DeviceSpc(b"111111"),
        Step::Wrong,
        Step::Wrong,
        Step::Unlock(b"111111"),
        Step::NamLock(Some("srv1"), true),
        Step::ServerSpc(b"222222"),
        Step::EndSession,
    ];
    v.extend([Step::Wrong; 12]);
    v.push(Step::Unlock(b"222222"));
    v.push(Step::NamLock(None, false));
    v.extend([Step::Wrong; 6]);
    v.push(Step::ClearLockout);
    v
}

#[test]
fn the_lock_state_is_old_or_new_after_any_cut_and_attempts_stay_counted() {
    const REGION: usize = 512;
    let steps = lock_steps();
    // The reference run, on a flash the test can read between steps.
    let cell = RefCell::new(blank(REGION));
    let mut states = Vec::new();
    let total = {
        let window = Partition::new(&cell, 0, REGION as u32).unwrap();
        let mut reference: FaultyFlash<_> = FaultyFlash::new(window, FaultPlan::none());
        let mut lock = mount_lock(&mut reference).unwrap();
        states.push(lock_snapshot(&cell.borrow()));
        for (i, step) in steps.iter().enumerate() {
            step.run(&mut lock)
                .unwrap_or_else(|e| panic!("reference run: step {i} {step:?}: {e:?}"));
            states.push(lock_snapshot(&cell.borrow()));
        }
        drop(lock);
        reference.mutations()
    };
    assert!(total > 30, "only {total} flash operations");
    assert_eq!(states.last().unwrap().spc, Some("222222"));
    assert_eq!(states[3].failures, 2);

    let mut cuts = 0;
    let mut counted = 0;
    for k in 0..total {
        for tear in TEARS {
            cuts += 1;
            let mut faulty: Faulty =
                FaultyFlash::new(blank(REGION), FaultPlan::cut_at(k, tear).with_seed(k));
            let interrupted = match mount_lock(&mut faulty) {
                Err(_) => 0,
                Ok(mut lock) => steps
                    .iter()
                    .position(|step| step.run(&mut lock).is_err())
                    .unwrap_or(steps.len()),
            };
            assert!(faulty.is_cut(), "cut {k} ({tear:?}) never happened");
            if interrupted < steps.len() {
                assert!(
                    faulty.is_cut(),
                    "step {interrupted} failed without a power cut"
                );
            }
            let after = lock_snapshot(faulty.inner());
            let before = &states[interrupted];
            let next = states.get(interrupted + 1).unwrap_or(before);
            let attempt = steps.get(interrupted).is_some_and(|s| s.attempt());
            let still_counted = LockSnapshot {
                failures: before.failures + 1,
                ..before.clone()
            };
            if attempt && after == still_counted && &after != next {
                counted += 1;
            } else {
                assert!(
                    &after == before || &after == next,
                    "cut at {k} ({tear:?}) during step {interrupted}: {after:?}\nbefore {before:?}\nafter {next:?}"
                );
            }
        }
    }
    // Cuts between counting a right code and clearing the count leave it counted.
    assert!(counted > 0);
    println!(
        "power-cut sweep (service lock): {cuts} cuts survived, {counted} left an attempt counted"
    );
    assert!(cuts >= 120, "only {cuts} cut points");
}

#[test]
fn a_code_is_not_judged_before_its_attempt_is_recorded() {
    // Write 0 formats the blank region; write 1 is the first attempt's record.
    for code in [&b"000000"[..], b"999999"] {
        let mut flash: Faulty = FaultyFlash::new(blank(512), FaultPlan::none().fail_write(1));
        let mut lock = mount_lock(&mut flash).unwrap();
        // Right or wrong, the answer is the same when the attempt cannot be recorded.
        assert!(
            matches!(lock.unlock("srv1", code), Err(LockError::Store(_))),
            "{code:?}"
        );
        assert!(!lock.is_unlocked("srv1"));
        assert_eq!(lock.failures(), 0);
        // The store recovers: the next attempt is recorded and judged.
        let next = lock.unlock("srv1", code);
        assert_eq!(next.is_ok(), code == b"000000", "{code:?}");
    }
}

// --- Roaming lists --------------------------------------------------------------------

fn list(kind: PrlKind, len: usize, id: u16) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len).map(|i| (i * 13 + usize::from(id)) as u8).collect();
    v[..2].copy_from_slice(&(len as u16).to_be_bytes());
    v[2..4].copy_from_slice(&id.to_be_bytes());
    v[4] = if kind == PrlKind::Extended { 3 } else { 0 };
    let crc = iotadm::cdma::prl::crc(&v[..len - 2]);
    v[len - 2..].copy_from_slice(&crc.to_be_bytes());
    v
}

const PRL: PrlList<'static> = PrlList {
    nam: "0",
    kind: PrlKind::Prl,
};
const EXT: PrlList<'static> = PrlList {
    nam: "0",
    kind: PrlKind::Extended,
};

fn put(s: &mut dyn PrlStore, which: PrlList<'_>, data: &[u8]) -> Result<(), String> {
    s.begin(which, Some(data.len() as u32))
        .map_err(|e| e.to_string())?;
    let mut at = 0u32;
    for chunk in data.chunks(100) {
        s.write(at, chunk).map_err(|e| e.to_string())?;
        at += chunk.len() as u32;
    }
    s.commit().map_err(|e| e.to_string())
}

fn read_lists(s: &mut dyn PrlStore) -> (Vec<u8>, Vec<u8>) {
    let mut read = |which| {
        let mut out = vec![0u8; 2048];
        let (n, total) = s.read(which, 0, &mut out).unwrap();
        assert_eq!(n, total);
        out.truncate(n);
        out
    };
    (read(PRL), read(EXT))
}

type StoreOp<'a> = Box<dyn Fn(&mut dyn PrlStore) -> Result<(), String> + 'a>;

#[test]
fn a_roaming_list_is_old_or_new_after_any_cut() {
    const REGION: usize = 4 * 1024;
    let a = list(PrlKind::Prl, 700, 1);
    let b = list(PrlKind::Prl, 300, 2);
    let c = list(PrlKind::Extended, 900, 3);
    let d = list(PrlKind::Prl, 1000, 4);
    let ops: Vec<StoreOp<'_>> = vec![
        Box::new(|s| put(s, PRL, &a)),
        Box::new(|s| put(s, PRL, &b)),
        Box::new(|s| put(s, EXT, &c)),
        // Begun and dropped: the list in force stays.
        Box::new(|s| {
            s.begin(PRL, Some(1000)).map_err(|e| e.to_string())?;
            s.write(0, &d[..500]).map_err(|e| e.to_string())?;
            s.abort();
            Ok(())
        }),
        Box::new(|s| put(s, PRL, &d)),
        Box::new(|s| put(s, PRL, &a)),
    ];
    let mut reference: Faulty = FaultyFlash::new(blank(REGION), FaultPlan::none());
    let states = {
        let mut s = FlashPrlStore::new(&mut reference, 1).unwrap();
        let mut states = vec![read_lists(&mut s)];
        for op in &ops {
            op(&mut s).unwrap();
            states.push(read_lists(&mut s));
        }
        states
    };
    assert_eq!(states.last().unwrap(), &(a.clone(), c.clone()));
    assert_eq!(states[3], states[4]);
    let total = reference.mutations();
    assert!(total >= 20, "only {total} flash operations");
    let mut cuts = 0;
    for k in 0..total {
        for tear in TEARS {
            cuts += 1;
            let mut faulty: Faulty =
                FaultyFlash::new(blank(REGION), FaultPlan::cut_at(k, tear).with_seed(k));
            let interrupted = {
                let mut s = FlashPrlStore::new(&mut faulty, 1).unwrap();
                ops.iter()
                    .position(|op| op(&mut s).is_err())
                    .unwrap_or(ops.len())
            };
            assert!(faulty.is_cut(), "cut {k} ({tear:?}) never happened");
            assert!(
                interrupted < ops.len(),
                "cut {k} ({tear:?}): every operation reported success"
            );
            let mut s = FlashPrlStore::new(faulty.into_inner(), 1).unwrap();
            let after = read_lists(&mut s);
            let before = &states[interrupted];
            let next = states.get(interrupted + 1).unwrap_or(before);
            assert!(
                &after == before || &after == next,
                "cut at {k} ({tear:?}) during op {interrupted}: lists of {} and {} bytes",
                after.0.len(),
                after.1.len()
            );
        }
    }
    println!("power-cut sweep (roaming lists): {cuts} cuts survived");
    assert!(cuts >= 80, "only {cuts} cut points");
}

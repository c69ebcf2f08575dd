//! The CDMA object through the public API: every parameter's check, the roaming list CRC
//! and store, write-only secrets, the service programming lock (lockout and back-off
//! across a reboot, re-lock at session end, SPC changes), SPASM, the firmware gate, and
//! what an Atomic may hold.
#![cfg(feature = "cdma")]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use iotadm::cdma::prl::{self, PrlKind};
use iotadm::cdma::{
    Cdma, FlashPrlStore, HmacSpasm, Limits, LockState, Policy, PrlList, PrlStore, ServiceLock,
    SpasmAuthenticator,
};
use iotadm::codes::StatusCode;
use iotadm::flash::MemFlash;
use iotadm::fumo::FirmwareGate;
use iotadm::platform::{Clock, Rng};
use iotadm::schema::STANDARD;
use iotadm::tree::{HandlerTable, Handlers, NodeHandler, Principal, Tree, TreeStorage, UriLimits};

/// Tree storage that lives as long as the test process.
fn storage<const N: usize, const A: usize, const R: usize>() -> &'static mut TreeStorage<N, A, R> {
    Box::leak(Box::new(TreeStorage::new()))
}

type Flash = MemFlash<Vec<u8>, 1024, 8>;
type Lock = ServiceLock<Flash, HmacSpasm<TestRng>, TestClock>;
type T<'h> = Tree<'h, Flash, HandlerTable<'h, 1>>;

const DEVICE: Principal<'static> = Principal::Device;
const SRV1: Principal<'static> = Principal::Server("srv1");
const SRV2: Principal<'static> = Principal::Server("srv2");
const KEY: [u8; 32] = [0x5A; 32];
const SPC: &[u8] = b"246810";
const NAM: &str = "./CDMA/NAM/0";

/// A 49-octet PRL read out of a handset (`PR_LIST_ID` 12345), as published with its CRC
/// in a 2005 comp.arch.embedded thread about this CRC: an independent vector for it.
const HANDSET_PRL: [u8; 49] = [
    0x00, 0x31, 0x30, 0x39, 0x00, 0x02, 0x40, 0x03, 0x10, 0x51, 0xc8, 0x49, 0x8c, 0x6b, 0xb9, 0x6a,
    0xb0, 0x74, 0xd8, 0xe1, 0xb8, 0x6e, 0x14, 0xa3, 0x70, 0x89, 0x94, 0xa3, 0x02, 0x5d, 0x63, 0x47,
    0x84, 0x57, 0x41, 0x15, 0xe0, 0x0c, 0x08, 0x22, 0xbc, 0x81, 0x02, 0x2b, 0x9c, 0x0a, 0x06, 0x98,
    0xdd,
];

#[derive(Clone, Default)]
struct TestClock(Rc<Cell<Option<u64>>>);

impl Clock for TestClock {
    fn unix_time(&self) -> Option<u64> {
        self.0.get()
    }
}

struct TestRng(u64);

impl Rng for TestRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *b = (self.0 >> 33) as u8;
        }
    }
}

fn blank(size: usize) -> Flash {
    let mut f = MemFlash::new(vec![0u8; size]);
    f.erase_all();
    f
}

fn id(uri: &str) -> u16 {
    STANDARD
        .find(uri)
        .unwrap_or_else(|| panic!("no node {uri}"))
}

/// The CRC of C.S0016 §3.5.5.1 computed bit by bit, independently of the library.
fn register_crc(body: &[u8]) -> u16 {
    let mut reg: u16 = 0xFFFF;
    for &byte in body {
        for bit in (0..8).rev() {
            let feedback = (reg & 0x8000 != 0) ^ ((byte >> bit) & 1 == 1);
            reg <<= 1;
            if feedback {
                reg ^= 0x1021;
            }
        }
    }
    !reg
}

/// A well-formed list of `len` octets with `PR_LIST_ID` `id`.
fn make_list(kind: PrlKind, len: usize, id: u16) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len).map(|i| (i * 31 + usize::from(id)) as u8).collect();
    v[..2].copy_from_slice(&(len as u16).to_be_bytes());
    v[2..4].copy_from_slice(&id.to_be_bytes());
    v[4] = match kind {
        PrlKind::Prl => 0x00,
        _ => 3,
    };
    let crc = register_crc(&v[..len - 2]);
    v[len - 2..].copy_from_slice(&crc.to_be_bytes());
    v
}

/// The flash a handset keeps between boots.
struct Handset {
    tree: Option<Flash>,
    lock: Option<Flash>,
    prl: Option<Flash>,
    clock: TestClock,
    policy: Policy,
    rng_seed: u64,
}

impl Handset {
    fn new() -> Handset {
        Handset {
            tree: Some(blank(32 * 1024)),
            lock: Some(blank(2 * 1024)),
            prl: Some(blank(64 * 1024)),
            clock: TestClock::default(),
            policy: Policy::default(),
            rng_seed: 1,
        }
    }

    /// Boots: mounts the lock, the list store and the tree, runs `f`, and powers off.
    fn boot<R>(&mut self, f: impl FnOnce(&mut T<'_>, &RefCell<Lock>) -> R) -> R {
        self.rng_seed += 1;
        let auth = HmacSpasm::new(KEY, TestRng(self.rng_seed));
        let lock = RefCell::new(
            ServiceLock::mount(
                self.lock.take().unwrap(),
                auth,
                self.clock.clone(),
                self.policy,
            )
            .unwrap(),
        );
        let store = FlashPrlStore::new(self.prl.take().unwrap(), 2).unwrap();
        let mut cdma = Cdma::new(&STANDARD, &lock, store, Limits::default());
        let result = {
            let table = HandlerTable::new([(id("./CDMA"), &mut cdma as &mut dyn NodeHandler)]);
            let mut t: T<'_> = Tree::mount(
                storage::<128, 8192, 512>(),
                &STANDARD,
                self.tree.take().unwrap(),
                table,
                UriLimits::DEFAULT,
            )
            .unwrap();
            let r = f(&mut t, &lock);
            self.tree = Some(t.into_parts().0);
            r
        };
        self.prl = Some(cdma.into_prl_store().into_inner());
        self.lock = Some(lock.into_inner().into_parts().0);
        result
    }
}

/// A handset as the factory leaves it: NAM 0, the SPC set, srv1 allowed to manage
/// `./CDMA`.
fn provisioned() -> Handset {
    let mut h = Handset::new();
    h.clock.0.set(Some(1_000_000));
    h.boot(|t, _| {
        t.add(DEVICE, NAM, None, None, None).unwrap();
        t.replace(
            DEVICE,
            "./CDMA?prop=ACL",
            b"Get=*&Exec=*&Replace=srv1&Add=srv1&Delete=srv1",
            None,
            None,
        )
        .unwrap();
        t.replace(DEVICE, "./CDMA/SPL/SPC", SPC, None, None)
            .unwrap();
    });
    h
}

fn get(t: &mut T<'_>, who: Principal<'_>, uri: &str) -> Result<Vec<u8>, StatusCode> {
    let mut buf = vec![0u8; 70_000];
    let r = t.get(who, uri, 0, &mut buf)?;
    buf.truncate(r.len);
    Ok(buf)
}

fn unlock(t: &mut T<'_>, who: Principal<'_>, code: &[u8]) -> Result<(), StatusCode> {
    t.exec(who, "./CDMA/SPL/Unlock", code, None).map(drop)
}

fn nam(leaf: &str) -> String {
    format!("{NAM}/{leaf}")
}

/// A leaf, values that fit it, and values that do not.
type Case<'a> = (&'a str, Vec<&'a [u8]>, Vec<&'a [u8]>);

#[test]
fn every_nam_parameter_is_checked_and_a_bad_value_stores_nothing() {
    let secret16 = [0xA5u8; 16];
    let secret17 = [0xA5u8; 17];
    let long_nai = format!("{}@example.com", "u".repeat(61));
    let cases: Vec<Case<'_>> = vec![
        (
            "IMSI_M/MCC",
            vec![b"310", b"000"],
            vec![b"31", b"3100", b"31a", b""],
        ),
        (
            "IMSI_M/IMSI_11_12",
            vec![b"00", b"99"],
            vec![b"1", b"100", b"a1"],
        ),
        (
            "IMSI_M/IMSI_S",
            vec![b"5550123456", b"0000000000"],
            vec![b"555012345", b"55501234567", b"555012345x"],
        ),
        ("IMSI_T/MCC", vec![b"460"], vec![b"46", b"4600"]),
        ("IMSI_T/IMSI_11_12", vec![b"03"], vec![b"3", b"003"]),
        (
            "IMSI_T/IMSI_S",
            vec![b"1234567890"],
            vec![b"123456789", b"12345 7890"],
        ),
        (
            "MDN",
            vec![b"8585550123", b"", b"123456789012345"],
            vec![b"1234567890123456", b"858-555", b"+18585550123"],
        ),
        ("ACCOLC", vec![b"0", b"15"], vec![b"16", b"-1", b"x"]),
        ("HOME_SID", vec![b"0", b"32767"], vec![b"32768", b"-5"]),
        ("HOME_NID", vec![b"0", b"65535"], vec![b"65536"]),
        ("MOB_TERM_HOME", vec![b"false", b"true"], vec![b"0", b"yes"]),
        ("MOB_TERM_FOR_SID", vec![b"false"], vec![b"1"]),
        ("MOB_TERM_FOR_NID", vec![b"false"], vec![b"TRUE"]),
        ("SCM", vec![b"234", b"255"], vec![b"256", b"1000"]),
        ("SLOT_CYCLE_INDEX", vec![b"0", b"7"], vec![b"8", b"255"]),
        (
            "3GPD/SimpleIP/NAI",
            vec![b"user@example.com", b"user"],
            vec![b"us er@x.com", b"u@", b"u@a@b", long_nai.as_bytes()],
        ),
        (
            "3GPD/MobileIP/NAI",
            vec![b"mip@ha.example.net"],
            vec![b"mip@ha..net"],
        ),
        (
            "3GPD/MobileIP/HOME_ADDR",
            vec![b"10.0.0.1", b"0.0.0.0"],
            vec![b"10.0.0.256", b"10.0.0", b"::1", b"10.0.0.1.2"],
        ),
        (
            "3GPD/MobileIP/PRI_HA_ADDR",
            vec![b"192.0.2.1"],
            vec![b"192.0.2"],
        ),
        (
            "3GPD/MobileIP/SEC_HA_ADDR",
            vec![b"192.0.2.2"],
            vec![b"300.0.2.2"],
        ),
        (
            "3GPD/MobileIP/MN_HA_SPI",
            vec![b"0", b"4294967295"],
            vec![b"4294967296", b"-1", b"0x10"],
        ),
        ("3GPD/MobileIP/MN_AAA_SPI", vec![b"2"], vec![b"99999999999"]),
        (
            "3GPD/SimpleIP/CHAP_SS",
            vec![b"chap-secret", &secret16],
            vec![&secret17, b""],
        ),
        ("3GPD/MobileIP/MN_HA_SS", vec![&secret16], vec![&secret17]),
        ("3GPD/MobileIP/MN_AAA_SS", vec![b"k"], vec![&secret17]),
    ];
    let mut h = provisioned();
    h.boot(|t, _| {
        unlock(t, SRV1, SPC).unwrap();
        for (leaf, good, bad) in &cases {
            let uri = nam(leaf);
            for value in good {
                t.replace(SRV1, &uri, value, None, None)
                    .unwrap_or_else(|e| panic!("{leaf} = {value:?}: {e:?}"));
                assert_eq!(get(t, DEVICE, &uri).unwrap(), *value, "{leaf}");
            }
            let kept = get(t, DEVICE, &uri).unwrap();
            for value in bad {
                assert_eq!(
                    t.replace(SRV1, &uri, value, None, None),
                    Err(StatusCode::BadRequest),
                    "{leaf} = {:?}",
                    String::from_utf8_lossy(value)
                );
                // The device is checked too.
                assert_eq!(
                    t.replace(DEVICE, &uri, value, None, None),
                    Err(StatusCode::BadRequest),
                    "{leaf}"
                );
                assert_eq!(get(t, DEVICE, &uri).unwrap(), kept, "{leaf} changed");
            }
        }
        // SID/NID pairs are added with their values, checked the same way.
        let sid = nam("SID_NID/1/SID");
        assert_eq!(
            t.add(SRV1, &sid, Some(b"32768"), None, None),
            Err(StatusCode::BadRequest)
        );
        assert_eq!(
            get(t, DEVICE, &nam("SID_NID")).unwrap(),
            b"",
            "the refused Add left the pair behind"
        );
        t.add(SRV1, &sid, Some(b"4139"), None, None).unwrap();
        // A pair's NID stands for every NID of its SID until set.
        assert_eq!(get(t, SRV1, &nam("SID_NID/1/NID")).unwrap(), b"65535");
        assert_eq!(
            t.replace(SRV1, &nam("SID_NID/1/NID"), b"65536", None, None),
            Err(StatusCode::BadRequest)
        );
        t.replace(SRV1, &nam("SID_NID/1/NID"), b"7", None, None)
            .unwrap();
        t.add(SRV1, &nam("SID_NID/2/SID"), Some(b"4140"), None, None)
            .unwrap();
        assert_eq!(get(t, SRV1, &nam("SID_NID")).unwrap(), b"1/2");
        t.delete(SRV1, &nam("SID_NID/1"), None).unwrap();
        assert_eq!(get(t, SRV1, &nam("SID_NID")).unwrap(), b"2");
    });
}

#[test]
fn a_value_sent_in_chunks_is_checked_like_a_whole_one() {
    let mut h = provisioned();
    h.boot(|t, _| {
        unlock(t, SRV1, SPC).unwrap();
        t.replace(SRV1, &nam("MDN"), b"8585550123", None, None)
            .unwrap();
        let bad = b"85855501234567890";
        let mut w = t
            .begin_write(SRV1, &nam("MDN"), false, Some(bad.len() as u64), None)
            .unwrap();
        for chunk in bad.chunks(5) {
            t.write_chunk(&mut w, chunk).unwrap();
        }
        assert_eq!(
            t.end_write(SRV1, w, true, None),
            Err(StatusCode::BadRequest)
        );
        assert_eq!(get(t, DEVICE, &nam("MDN")).unwrap(), b"8585550123");
    });
}

#[test]
fn the_prl_crc_matches_a_list_from_a_handset() {
    assert_eq!(prl::crc(&HANDSET_PRL[..47]), 0x98DD);
    assert_eq!(register_crc(&HANDSET_PRL[..47]), 0x98DD);
    let header = prl::check(PrlKind::Prl, &HANDSET_PRL).unwrap();
    assert_eq!((header.size, header.id, header.crc), (49, 12345, 0x98DD));
}

#[test]
fn roaming_lists_are_checked_then_streamed_to_their_store() {
    let mut h = provisioned();
    let big = make_list(PrlKind::Prl, 6000, 77);
    let ext = make_list(PrlKind::Extended, 300, 78);
    h.boot(|t, _| {
        unlock(t, SRV1, SPC).unwrap();
        // Nothing yet: an empty value.
        assert_eq!(get(t, SRV1, &nam("PRL")).unwrap(), b"");
        t.replace(SRV1, &nam("PRL"), &HANDSET_PRL, None, None)
            .unwrap();
        assert_eq!(get(t, SRV1, &nam("PRL")).unwrap(), HANDSET_PRL);

        // A bit flipped anywhere: refused with 400, the list in force stays.
        for at in [0, 3, 20, 47, 48] {
            let mut bad = big.clone();
            bad[at] ^= 0x10;
            assert_eq!(
                t.replace(SRV1, &nam("PRL"), &bad, None, None),
                Err(StatusCode::BadRequest),
                "flip at {at}"
            );
            assert_eq!(get(t, SRV1, &nam("PRL")).unwrap(), HANDSET_PRL);
        }
        // PR_LIST_SIZE must be the length received.
        assert_eq!(
            t.replace(SRV1, &nam("PRL"), &big[..5999], None, None),
            Err(StatusCode::BadRequest)
        );

        // A large object, in chunks, as a session delivers it.
        let mut w = t
            .begin_write(SRV1, &nam("PRL"), false, Some(big.len() as u64), None)
            .unwrap();
        for chunk in big.chunks(333) {
            t.write_chunk(&mut w, chunk).unwrap();
        }
        t.end_write(SRV1, w, true, None).unwrap();
        assert_eq!(get(t, SRV1, &nam("PRL")).unwrap(), big);

        // One whose CRC fails at the end is dropped whole.
        let mut bad = make_list(PrlKind::Prl, 5000, 79);
        bad[4000] ^= 1;
        let mut w = t
            .begin_write(SRV1, &nam("PRL"), false, Some(bad.len() as u64), None)
            .unwrap();
        for chunk in bad.chunks(1000) {
            t.write_chunk(&mut w, chunk).unwrap();
        }
        assert_eq!(
            t.end_write(SRV1, w, true, None),
            Err(StatusCode::BadRequest)
        );
        assert_eq!(get(t, SRV1, &nam("PRL")).unwrap(), big);

        // Too long for PR_LIST_SIZE, or for the store: refused before a byte is taken.
        assert_eq!(
            t.begin_write(SRV1, &nam("PRL"), false, Some(70_000), None)
                .err(),
            Some(StatusCode::RequestEntityTooLarge)
        );
        assert_eq!(
            t.begin_write(SRV1, &nam("PRL"), false, Some(9_000), None)
                .err(),
            Some(StatusCode::DeviceFull)
        );

        // The extended list names its revision; a PRL is not one.
        t.replace(SRV1, &nam("EXT_PRL"), &ext, None, None).unwrap();
        assert_eq!(
            t.replace(SRV1, &nam("EXT_PRL"), &HANDSET_PRL, None, None),
            Err(StatusCode::BadRequest)
        );
        assert_eq!(get(t, SRV1, &nam("EXT_PRL")).unwrap(), ext);
        // And the PRL was not touched by the extended list.
        assert_eq!(get(t, SRV1, &nam("PRL")).unwrap(), big);
    });
    // The lists survive a reboot, and the baseband reads them from the store.
    h.boot(|t, _| {
        assert_eq!(get(t, DEVICE, &nam("PRL")).unwrap(), big);
        assert_eq!(get(t, DEVICE, &nam("EXT_PRL")).unwrap(), ext);
    });
    let mut store = FlashPrlStore::new(h.prl.take().unwrap(), 2).unwrap();
    let mut out = vec![0u8; 8000];
    let (n, total) = store
        .read(
            PrlList {
                nam: "0",
                kind: PrlKind::Prl,
            },
            100,
            &mut out,
        )
        .unwrap();
    assert_eq!((n, total), (5900, 6000));
    assert_eq!(&out[..n], &big[100..]);
}

#[test]
fn secrets_and_the_spc_are_never_read_by_a_server() {
    let mut h = provisioned();
    h.boot(|t, _| {
        unlock(t, SRV1, SPC).unwrap();
        for leaf in [
            "3GPD/SimpleIP/CHAP_SS",
            "3GPD/MobileIP/MN_HA_SS",
            "3GPD/MobileIP/MN_AAA_SS",
        ] {
            let uri = nam(leaf);
            t.replace(SRV1, &uri, b"s3cret", None, None).unwrap();
            assert_eq!(
                get(t, SRV1, &uri),
                Err(StatusCode::CommandNotAllowed),
                "{leaf}"
            );
            assert_eq!(
                get(t, SRV2, &uri),
                Err(StatusCode::CommandNotAllowed),
                "{leaf}"
            );
            // Copying it elsewhere would read it.
            assert_eq!(
                t.copy(SRV1, &uri, &nam("MDN"), None, &mut [0; 512]),
                Err(StatusCode::CommandNotAllowed)
            );
            // The baseband reads what it needs to authenticate.
            assert_eq!(get(t, DEVICE, &uri).unwrap(), b"s3cret");
        }
        assert_eq!(
            get(t, SRV1, "./CDMA/SPL/SPC"),
            Err(StatusCode::CommandNotAllowed)
        );
        assert_eq!(
            get(t, DEVICE, "./CDMA/SPL/SPC"),
            Err(StatusCode::CommandNotAllowed)
        );
        // The structure lists them, without values.
        assert_eq!(get(t, SRV1, &nam("3GPD/SimpleIP")).unwrap(), b"NAI/CHAP_SS");
    });
}

#[test]
fn the_lock_gates_every_nam_change_and_engages_again_when_the_session_ends() {
    let mut h = provisioned();
    h.boot(|t, lock| {
        let mdn = nam("MDN");
        t.replace(DEVICE, &mdn, b"1111111111", None, None).unwrap();
        // Locked: nothing changes, whatever the command.
        let denied = Err(StatusCode::PermissionDenied);
        assert_eq!(t.replace(SRV1, &mdn, b"2222222222", None, None), denied);
        assert_eq!(
            t.add(SRV1, &nam("SID_NID/1/SID"), Some(b"1"), None, None),
            denied
        );
        assert_eq!(
            t.replace(SRV1, &nam("PRL"), &HANDSET_PRL, None, None),
            denied
        );
        assert_eq!(
            t.begin_write(SRV1, &nam("PRL"), false, Some(49), None)
                .err(),
            Some(StatusCode::PermissionDenied)
        );
        assert_eq!(get(t, SRV1, "./CDMA/SPL/State").unwrap(), b"Locked");
        // Reading is not programming.
        assert_eq!(get(t, SRV1, &mdn).unwrap(), b"1111111111");

        // A wrong code is refused and counted; a malformed one is only refused.
        assert_eq!(
            unlock(t, SRV1, b"135790"),
            Err(StatusCode::InvalidCredentials)
        );
        assert_eq!(lock.borrow().failures(), 1);
        assert_eq!(unlock(t, SRV1, b"12345"), Err(StatusCode::BadRequest));
        assert_eq!(unlock(t, SRV1, b"12345x"), Err(StatusCode::BadRequest));
        assert_eq!(lock.borrow().failures(), 1);
        assert_eq!(t.replace(SRV1, &mdn, b"2222222222", None, None), denied);

        unlock(t, SRV1, SPC).unwrap();
        assert_eq!(lock.borrow().failures(), 0);
        assert_eq!(get(t, SRV1, "./CDMA/SPL/State").unwrap(), b"Unlocked");
        t.replace(SRV1, &mdn, b"2222222222", None, None).unwrap();
        // Unlocked for srv1, not for anyone else.
        assert_eq!(get(t, SRV2, "./CDMA/SPL/State").unwrap(), b"Locked");
        assert_eq!(lock.borrow().state("srv2"), LockState::Locked);
        // The device is never gated.
        t.replace(DEVICE, &mdn, b"3333333333", None, None).unwrap();

        // The session ends: locked again.
        t.handlers_mut().session_ended();
        assert_eq!(get(t, SRV1, "./CDMA/SPL/State").unwrap(), b"Locked");
        assert_eq!(t.replace(SRV1, &mdn, b"4444444444", None, None), denied);
        assert_eq!(get(t, SRV1, &mdn).unwrap(), b"3333333333");
    });
    // A reboot starts locked too.
    h.boot(|t, _| {
        assert_eq!(
            t.replace(SRV1, &nam("MDN"), b"5", None, None),
            Err(StatusCode::PermissionDenied)
        );
    });
}

#[test]
fn the_spc_changes_only_in_an_unlocked_session() {
    let mut h = provisioned();
    h.boot(|t, _| {
        let spc = "./CDMA/SPL/SPC";
        assert_eq!(
            t.replace(SRV1, spc, b"111111", None, None),
            Err(StatusCode::PermissionDenied)
        );
        unlock(t, SRV1, SPC).unwrap();
        assert_eq!(
            t.replace(SRV1, spc, b"11111", None, None),
            Err(StatusCode::BadRequest)
        );
        t.replace(SRV1, spc, b"111111", None, None).unwrap();
        t.handlers_mut().session_ended();
        assert_eq!(unlock(t, SRV1, SPC), Err(StatusCode::InvalidCredentials));
        unlock(t, SRV1, b"111111").unwrap();
    });
    // The new code survives a reboot.
    h.boot(|t, _| {
        unlock(t, SRV1, b"111111").unwrap();
    });
    // A handset whose user forbids SPC changes.
    h.policy.spc_change_allowed = false;
    h.boot(|t, _| {
        unlock(t, SRV1, b"111111").unwrap();
        assert_eq!(
            t.replace(SRV1, "./CDMA/SPL/SPC", b"222222", None, None),
            Err(StatusCode::Forbidden)
        );
        // The device still may.
        t.replace(DEVICE, "./CDMA/SPL/SPC", b"222222", None, None)
            .unwrap();
    });
}

#[test]
fn wrong_codes_lock_out_with_a_back_off_that_survives_a_reboot() {
    let mut h = provisioned();
    h.policy = Policy {
        max_failures: 3,
        backoff_secs: 60,
        max_backoff_secs: 3600,
        ..Policy::default()
    };
    let t0 = 1_000_000;
    h.boot(|t, lock| {
        for n in 1..=3u16 {
            assert_eq!(
                unlock(t, SRV1, b"000001"),
                Err(StatusCode::InvalidCredentials)
            );
            assert_eq!(lock.borrow().failures(), n);
        }
        // Locked out: even the right code is not taken, and not counted.
        assert_eq!(unlock(t, SRV1, SPC), Err(StatusCode::ServiceUnavailable));
        assert_eq!(lock.borrow().failures(), 3);
        assert_eq!(get(t, SRV1, "./CDMA/SPL/State").unwrap(), b"LockedOut");
    });
    // Power off and on: still locked out, still three failures.
    h.boot(|t, lock| {
        assert_eq!(lock.borrow().failures(), 3);
        assert_eq!(unlock(t, SRV1, SPC), Err(StatusCode::ServiceUnavailable));
    });
    h.clock.0.set(Some(t0 + 59));
    h.boot(|t, _| {
        assert_eq!(unlock(t, SRV1, SPC), Err(StatusCode::ServiceUnavailable));
    });
    // The minute is over: one more try; wrong again, and the back-off doubles.
    h.clock.0.set(Some(t0 + 61));
    h.boot(|t, lock| {
        assert_eq!(
            unlock(t, SRV1, b"000002"),
            Err(StatusCode::InvalidCredentials)
        );
        assert_eq!(lock.borrow().failures(), 4);
    });
    h.clock.0.set(Some(t0 + 61 + 119));
    h.boot(|t, _| {
        assert_eq!(unlock(t, SRV1, SPC), Err(StatusCode::ServiceUnavailable));
    });
    h.clock.0.set(Some(t0 + 61 + 121));
    h.boot(|t, lock| {
        unlock(t, SRV1, SPC).unwrap();
        assert_eq!(lock.borrow().failures(), 0);
        assert_eq!(get(t, SRV1, "./CDMA/SPL/State").unwrap(), b"Unlocked");
    });
}

#[test]
fn a_lockout_begun_without_the_time_runs_once_the_time_is_known() {
    let mut h = provisioned();
    h.policy = Policy {
        max_failures: 1,
        backoff_secs: 30,
        max_backoff_secs: 100,
        ..Policy::default()
    };
    h.clock.0.set(None);
    h.boot(|t, _| {
        assert_eq!(
            unlock(t, SRV1, b"999999"),
            Err(StatusCode::InvalidCredentials)
        );
        assert_eq!(unlock(t, SRV1, SPC), Err(StatusCode::ServiceUnavailable));
    });
    // Time known at last: the 30 s start now.
    h.clock.0.set(Some(5_000));
    h.boot(|t, _| {
        assert_eq!(unlock(t, SRV1, SPC), Err(StatusCode::ServiceUnavailable));
    });
    h.clock.0.set(Some(5_031));
    h.boot(|t, _| unlock(t, SRV1, SPC).unwrap());
    h.boot(|t, _| {
        assert_eq!(
            unlock(t, SRV1, b"999999"),
            Err(StatusCode::InvalidCredentials)
        );
    });
    // The clock is set far back: the lockout (to 5061) is cut to the longest back-off
    // from now, instead of lasting until the clock catches up.
    h.clock.0.set(Some(100));
    h.boot(|t, _| {
        assert_eq!(unlock(t, SRV1, SPC), Err(StatusCode::ServiceUnavailable));
    });
    h.clock.0.set(Some(201));
    h.boot(|t, _| unlock(t, SRV1, SPC).unwrap());
    // The device can end a lockout (a service centre, say); servers cannot.
    h.boot(|t, lock| {
        assert_eq!(
            unlock(t, SRV1, b"999999"),
            Err(StatusCode::InvalidCredentials)
        );
        assert_eq!(unlock(t, SRV1, SPC), Err(StatusCode::ServiceUnavailable));
        lock.borrow_mut().clear_lockout().unwrap();
        unlock(t, SRV1, SPC).unwrap();
    });
}

fn answer(t: &mut T<'_>, server: &str) -> Vec<u8> {
    let hex = get(t, Principal::Server(server), "./CDMA/SPASM/Challenge").unwrap();
    assert_eq!(hex.len(), 32);
    let challenge: Vec<u8> = hex
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect();
    HmacSpasm::<TestRng>::answer(&KEY, server, &challenge).to_vec()
}

#[test]
fn spasm_gates_nam_changes_while_the_nam_lock_is_set() {
    let mut h = provisioned();
    h.boot(|t, lock| {
        unlock(t, SRV1, SPC).unwrap();
        // srv1 may set the NAM lock while it may program.
        assert_eq!(get(t, SRV1, "./CDMA/SPASM/NAM_LOCK").unwrap(), b"false");
        t.replace(SRV1, "./CDMA/SPASM/NAM_LOCK", b"true", None, None)
            .unwrap();
        assert!(lock.borrow().nam_lock());
        // From now on, the SPC alone is not enough.
        assert_eq!(
            t.replace(SRV1, &nam("ACCOLC"), b"3", None, None),
            Err(StatusCode::PermissionDenied)
        );
        // An answer before any challenge, or a wrong one, is refused (and counted).
        assert_eq!(
            t.exec(SRV1, "./CDMA/SPASM/Validate", b"00", None),
            Err(StatusCode::Forbidden)
        );
        let right = answer(t, "srv1");
        let mut wrong = right.clone();
        wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            t.exec(SRV1, "./CDMA/SPASM/Validate", &wrong, None),
            Err(StatusCode::InvalidCredentials)
        );
        assert_eq!(lock.borrow().failures(), 1);
        // A challenge is answered once: the right answer to the spent one is refused.
        assert_eq!(
            t.exec(SRV1, "./CDMA/SPASM/Validate", &right, None),
            Err(StatusCode::Forbidden)
        );
        // The answer is bound to the server that asked.
        let for_srv2 = {
            let hex = get(t, SRV1, "./CDMA/SPASM/Challenge").unwrap();
            let ch: Vec<u8> = hex
                .chunks(2)
                .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
                .collect();
            HmacSpasm::<TestRng>::answer(&KEY, "srv2", &ch)
        };
        assert_eq!(
            t.exec(SRV1, "./CDMA/SPASM/Validate", &for_srv2, None),
            Err(StatusCode::InvalidCredentials)
        );
        let right = answer(t, "srv1");
        t.exec(SRV1, "./CDMA/SPASM/Validate", &right, None).unwrap();
        assert_eq!(lock.borrow().failures(), 0);
        t.replace(SRV1, &nam("ACCOLC"), b"3", None, None).unwrap();
        t.handlers_mut().session_ended();
    });
    // The NAM lock survives a reboot; SPASM without the SPC is not enough either.
    h.boot(|t, lock| {
        assert!(lock.borrow().nam_lock());
        let right = answer(t, "srv1");
        t.exec(SRV1, "./CDMA/SPASM/Validate", &right, None).unwrap();
        assert_eq!(
            t.replace(SRV1, &nam("ACCOLC"), b"4", None, None),
            Err(StatusCode::PermissionDenied)
        );
        // Clearing the NAM lock takes what changing a NAM takes.
        assert_eq!(
            t.replace(SRV2, "./CDMA/SPASM/NAM_LOCK", b"false", None, None),
            Err(StatusCode::PermissionDenied)
        );
        unlock(t, SRV1, SPC).unwrap();
        t.replace(SRV1, &nam("ACCOLC"), b"4", None, None).unwrap();
        t.replace(SRV1, "./CDMA/SPASM/NAM_LOCK", b"false", None, None)
            .unwrap();
        assert!(!lock.borrow().nam_lock());
    });
}

#[test]
fn the_firmware_gate_follows_the_spl_and_spasm() {
    let mut h = provisioned();
    h.boot(|t, lock| {
        let mut gate = lock;
        // The device's own updates are not gated.
        assert_eq!(gate.allow_update(None), Ok(()));
        // FOTA-2: a server needs the SPL unlocked in its session.
        assert_eq!(
            gate.allow_update(Some("srv1")),
            Err(StatusCode::PermissionDenied)
        );
        unlock(t, SRV1, SPC).unwrap();
        assert_eq!(gate.allow_update(Some("srv1")), Ok(()));
        assert_eq!(
            gate.allow_update(Some("srv2")),
            Err(StatusCode::PermissionDenied)
        );
        // FOTA-3: with the NAM lock set, SPASM too.
        t.replace(SRV1, "./CDMA/SPASM/NAM_LOCK", b"true", None, None)
            .unwrap();
        assert_eq!(
            gate.allow_update(Some("srv1")),
            Err(StatusCode::PermissionDenied)
        );
        let right = answer(t, "srv1");
        t.exec(SRV1, "./CDMA/SPASM/Validate", &right, None).unwrap();
        assert_eq!(gate.allow_update(Some("srv1")), Ok(()));
        // The session ends, and so does the permission.
        t.handlers_mut().session_ended();
        assert_eq!(
            gate.allow_update(Some("srv1")),
            Err(StatusCode::PermissionDenied)
        );
    });
    // A handset configured to gate firmware by SPASM only.
    h.policy.firmware_needs_spl = false;
    h.boot(|t, lock| {
        let mut gate = lock;
        assert_eq!(
            gate.allow_update(Some("srv1")),
            Err(StatusCode::PermissionDenied)
        );
        let right = answer(t, "srv1");
        t.exec(SRV1, "./CDMA/SPASM/Validate", &right, None).unwrap();
        assert_eq!(gate.allow_update(Some("srv1")), Ok(()));
    });
    // And one that does not gate firmware at all.
    h.policy.firmware_needs_spasm = false;
    h.boot(|_, lock| {
        let mut gate = lock;
        assert_eq!(gate.allow_update(Some("srv1")), Ok(()));
    });
}

#[test]
fn an_atomic_nam_change_applies_all_or_nothing() {
    let mut h = provisioned();
    h.boot(|t, _| {
        unlock(t, SRV1, SPC).unwrap();
        t.replace(SRV1, &nam("MDN"), b"1000000000", None, None)
            .unwrap();
        t.replace(SRV1, &nam("HOME_SID"), b"100", None, None)
            .unwrap();
        // One bad value: the whole group is undone.
        t.begin_atomic().unwrap();
        t.replace(SRV1, &nam("MDN"), b"2000000000", None, None)
            .unwrap();
        t.add(SRV1, &nam("SID_NID/1/SID"), Some(b"200"), None, None)
            .unwrap();
        assert_eq!(
            t.replace(SRV1, &nam("HOME_SID"), b"40000", None, None),
            Err(StatusCode::BadRequest)
        );
        t.rollback_atomic().unwrap();
        assert_eq!(get(t, SRV1, &nam("MDN")).unwrap(), b"1000000000");
        assert_eq!(get(t, SRV1, &nam("SID_NID")).unwrap(), b"");
        // Values the handler keeps cannot be rolled back, so an Atomic refuses them.
        t.begin_atomic().unwrap();
        t.replace(SRV1, &nam("MDN"), b"3000000000", None, None)
            .unwrap();
        for (uri, value) in [
            (nam("PRL"), &HANDSET_PRL[..]),
            ("./CDMA/SPL/SPC".to_string(), b"000111"),
            ("./CDMA/SPASM/NAM_LOCK".to_string(), b"true"),
        ] {
            assert_eq!(
                t.replace(SRV1, &uri, value, None, None),
                Err(StatusCode::OptionalFeatureNotSupported),
                "{uri}"
            );
        }
        t.commit_atomic().unwrap();
        assert_eq!(get(t, SRV1, &nam("PRL")).unwrap(), b"");
        // Outside an Atomic they are taken again.
        t.replace(SRV1, &nam("PRL"), &HANDSET_PRL, None, None)
            .unwrap();
    });
    h.boot(|t, _| {
        assert_eq!(get(t, SRV1, &nam("MDN")).unwrap(), b"3000000000");
        assert_eq!(get(t, SRV1, &nam("HOME_SID")).unwrap(), b"100");
        unlock(t, SRV1, b"000111").unwrap_err();
    });
}

#[test]
fn the_challenge_comes_from_the_authenticator_once_per_session() {
    struct Fixed(u32);
    impl SpasmAuthenticator for Fixed {
        fn challenge(&mut self, out: &mut [u8; iotadm::limits::SPASM_CHALLENGE_LEN]) -> usize {
            self.0 += 1;
            out[..4].copy_from_slice(&self.0.to_be_bytes());
            4
        }
        fn verify(&mut self, _: &str, challenge: &[u8], answer: &[u8]) -> bool {
            challenge == answer
        }
    }
    let clock = TestClock::default();
    let mut lock = ServiceLock::mount(blank(2048), Fixed(0), clock, Policy::default()).unwrap();
    assert_eq!(lock.challenge("srv1").unwrap(), [0, 0, 0, 1]);
    assert_eq!(lock.challenge("srv1").unwrap(), [0, 0, 0, 1]);
    lock.validate_spasm("srv1", &[0, 0, 0, 1]).unwrap();
    assert!(lock.is_spasm_validated("srv1"));
    lock.session_ended();
    assert!(!lock.is_spasm_validated("srv1"));
    assert_eq!(lock.challenge("srv1").unwrap(), [0, 0, 0, 2]);
}

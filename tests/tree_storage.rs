//! A stored tree is independent of the storage and the schema it was written with: it
//! mounts in a smaller storage it fits (even when its log, before compaction, needed more
//! room along the way) and in a larger one, with every value, ACL and nonce; a storage it
//! does not fit refuses it and leaves the flash as it was; and a schema that gained nodes
//! (which moves every node id after them) reads it too. The power-cut sweep of the first
//! mount under a new storage is in `tree_power_cut.rs`.

mod common;

use iotadm::flash::MemFlash;
use iotadm::schema::{Schema, STANDARD};
use iotadm::tree::{NoHandlers, Principal, Shortfall, Tree, TreeError, TreeStorage, UriLimits};

type Flash = MemFlash<Vec<u8>, 1024, 8>;

const DEVICE: Principal<'static> = Principal::Device;

/// The storage the tree is written with.
type Written = TreeStorage<64, 4096, 512>;
/// Smaller, with room for the final state but not for the log's peak.
type Smaller = TreeStorage<24, 1536, 512>;
/// Larger everywhere.
type Larger = TreeStorage<256, 16_384, 1024>;

/// A nonce as bytes a server provisioned: binary, not text.
const NONCE: &[u8] = b"\x00\x01\xfe\xffnonce\x80";

/// The nodes and properties compared across mounts.
const PROBES: &[&str] = &[
    "./DMAcc",
    "./DMAcc/a1?prop=ACL",
    "./DMAcc/a1/ServerID",
    "./DMAcc/a1/AppAddr/1/Addr",
    "./DMAcc/a1/AppAuth/c/AAuthType",
    "./DMAcc/a1/AppAuth/c/AAuthName",
    "./DMAcc/a1/AppAuth/c/AAuthSecret",
    "./DMAcc/a1/AppAuth/c/AAuthData",
    "./DMAcc/a1/AppAuth/c?prop=ACL",
    "./DMAcc/a1/Name",
    "./DMAcc/a2/ServerID",
    "./DMAcc/a2/AppAuth/s/AAuthData",
    "./DevInfo/Mod",
    "./DevInfo/Mod?prop=ACL",
];

type Snapshot = Vec<(String, Result<Vec<u8>, iotadm::codes::StatusCode>)>;

fn blank() -> Flash {
    let mut f = MemFlash::new(vec![0u8; 32 * 1024]);
    f.erase_all();
    f
}

fn snapshot<F: embedded_storage::nor_flash::NorFlash>(t: &mut Tree<'_, F>) -> Snapshot {
    PROBES
        .iter()
        .map(|uri| {
            let mut buf = [0u8; 1024];
            let read = t
                .get(DEVICE, uri, 0, &mut buf)
                .map(|r| buf[..r.len].to_vec());
            (uri.to_string(), read)
        })
        .collect()
}

fn account(t: &mut Tree<'_, Flash>, name: &str, server: &str, auth: &str) {
    let acc = common::owned_account(t, name, server);
    let auth_node = format!("{acc}/AppAuth/{auth}");
    for (leaf, value) in [
        ("AAuthType", &b"DIGEST"[..]),
        ("AAuthName", b"dev"),
        ("AAuthSecret", b"s3cr3t"),
        ("AAuthData", NONCE),
    ] {
        t.add(
            DEVICE,
            &format!("{auth_node}/{leaf}"),
            Some(value),
            None,
            None,
        )
        .unwrap();
    }
}

/// The tree as a device writes it with [`Written`]: two accounts with credentials and
/// nonces, an ACL on a credential, a long value, and (before those) 25 accounts added
/// and deleted again, so that the log needs far more entries along the way than
/// its final state. Returns the flash, the final number of entries and the log's peak.
fn written() -> (Vec<u8>, Snapshot, usize, usize) {
    let mut storage = Box::new(Written::new());
    let mut t = Tree::mount(
        &mut storage,
        &STANDARD,
        blank(),
        NoHandlers,
        UriLimits::DEFAULT,
    )
    .unwrap();
    t.replace(DEVICE, "./DevInfo/Mod", b"EH-100", None, None)
        .unwrap();
    let mut peak = 0;
    for i in 0..25 {
        let acc = format!("./DMAcc/tmp{i}");
        t.add(DEVICE, &acc, None, None, None).unwrap();
        t.add(
            DEVICE,
            &format!("{acc}/ServerID"),
            Some(acc.as_bytes()),
            None,
            None,
        )
        .unwrap();
        peak = peak.max(t.entries_used());
    }
    for i in 0..25 {
        t.delete(DEVICE, &format!("./DMAcc/tmp{i}"), None).unwrap();
    }
    account(&mut t, "a1", "srv1", "c");
    account(&mut t, "a2", "srv2", "s");
    t.add(
        DEVICE,
        "./DMAcc/a1/AppAddr/1/Addr",
        Some(b"https://127.0.0.1/dm"),
        None,
        None,
    )
    .unwrap();
    t.replace(
        DEVICE,
        "./DMAcc/a1/AppAuth/c?prop=ACL",
        b"Replace=srv1",
        None,
        None,
    )
    .unwrap();
    t.add(DEVICE, "./DMAcc/a1/Name", Some(&[b'n'; 300]), None, None)
        .unwrap();
    t.replace(DEVICE, "./DevInfo/Mod?prop=ACL", b"Get=*", None, None)
        .unwrap();
    let snap = snapshot(&mut t);
    let entries = t.entries_used();
    let (flash, _) = t.into_parts();
    (flash.as_bytes().to_vec(), snap, entries, peak)
}

fn mount_in<'s, const N: usize, const A: usize, const R: usize>(
    storage: &'s mut TreeStorage<N, A, R>,
    schema: &'static Schema,
    bytes: Vec<u8>,
) -> Result<Tree<'s, Flash>, TreeError> {
    Tree::mount(
        storage,
        schema,
        MemFlash::new(bytes),
        NoHandlers,
        UriLimits::DEFAULT,
    )
}

#[test]
fn a_stored_tree_mounts_in_a_smaller_storage_it_fits_and_a_larger_one() {
    let (bytes, expected, entries, peak) = written();
    // The scenario is what it says: the final state fits the smaller storage, the log's
    // peak does not.
    assert!(entries <= 24, "{entries} entries at the end");
    assert!(peak > 24, "the log's peak is {peak} entries");
    assert!(expected.iter().all(|(_, r)| r.is_ok()), "{expected:?}");

    let mut small = Box::new(Smaller::new());
    let mut t = mount_in(&mut small, &STANDARD, bytes.clone()).expect("fits the smaller");
    assert_eq!(snapshot(&mut t), expected);
    assert_eq!(t.entries_used(), entries);
    // The first mount rewrote the log as the state it holds; the next reads only that.
    let (flash, _) = t.into_parts();
    let compacted = flash.as_bytes().to_vec();
    assert_ne!(compacted, bytes, "the log was rewritten");
    let mut t = mount_in(&mut small, &STANDARD, compacted.clone()).unwrap();
    assert_eq!(snapshot(&mut t), expected);
    // Changes go on in the smaller storage, and back in the one it was written with.
    t.replace(DEVICE, "./DMAcc/a1/ServerID", b"srv9", None, None)
        .unwrap();
    let (flash, _) = t.into_parts();
    let mut again = Box::new(Written::new());
    let mut t = mount_in(&mut again, &STANDARD, flash.as_bytes().to_vec()).unwrap();
    let mut buf = [0u8; 8];
    let r = t.get(DEVICE, "./DMAcc/a1/ServerID", 0, &mut buf).unwrap();
    assert_eq!(&buf[..r.len], b"srv9");

    for bytes in [bytes, compacted] {
        let mut large = Box::new(Larger::new());
        let mut t = mount_in(&mut large, &STANDARD, bytes).expect("fits the larger");
        assert_eq!(snapshot(&mut t), expected);
    }
}

/// Mounts `bytes` in `storage`, expecting a refusal that leaves the flash as it was.
fn refused<const N: usize, const A: usize, const R: usize>(bytes: &[u8], why: Shortfall) {
    let mut storage = Box::new(TreeStorage::<N, A, R>::new());
    let mut flash = MemFlash::<Vec<u8>, 1024, 8>::new(bytes.to_vec());
    let result = Tree::mount(
        &mut storage,
        &STANDARD,
        &mut flash,
        NoHandlers,
        UriLimits::DEFAULT,
    );
    assert_eq!(result.err(), Some(TreeError::Capacity(why)));
    assert!(
        flash.as_bytes() == bytes,
        "the refused tree is left on flash as it was"
    );
}

#[test]
fn a_storage_the_tree_does_not_fit_refuses_it_and_leaves_it_intact() {
    let (bytes, expected, ..) = written();
    // Too few entries even for the final state.
    refused::<8, 4096, 512>(&bytes, Shortfall::Entries);
    // Too few arena bytes for the names, ACLs and values.
    refused::<64, 256, 512>(&bytes, Shortfall::Arena);
    // A record buffer shorter than a stored record (the 300-byte name).
    refused::<64, 4096, 256>(&bytes, Shortfall::Record);
    // An image with room for it mounts it, all of it.
    let mut storage = Box::new(Written::new());
    let mut t = mount_in(&mut storage, &STANDARD, bytes).unwrap();
    assert_eq!(snapshot(&mut t), expected);
}

/// The standard objects and one vendor object attached under `./CDMA`, the first object
/// in preorder: every standard node after it moves to another id.
fn grown_schema() -> &'static Schema {
    const VENDOR: &str = r#"<MgmtTree><VerDTD>1.2</VerDTD>
      <Node><NodeName>Vendor</NodeName><Path>./CDMA</Path>
        <DFProperties><AccessType><Get/></AccessType><DFFormat><node/></DFFormat>
          <Scope><Permanent/></Scope><DFType><DDFName>urn:x-vendor:mo:1.0</DDFName></DFType></DFProperties>
        <Node><NodeName>Level</NodeName>
          <DFProperties><AccessType><Get/><Replace/></AccessType><DFFormat><int/></DFFormat>
            <Scope><Permanent/></Scope><DFType><MIME>text/plain</MIME></DFType></DFProperties>
        </Node>
      </Node></MgmtTree>"#;
    iotadm_ddf::compiler::Builder::new()
        .document("vendor.xml", VENDOR)
        .build()
        .unwrap()
        .leak()
}

#[test]
fn a_stored_tree_mounts_under_a_schema_that_gained_or_lost_nodes() {
    let (bytes, expected, ..) = written();
    let grown = grown_schema();
    // The vendor object moved the standard nodes to other ids.
    assert_ne!(grown.find("./DMAcc/<x>"), STANDARD.find("./DMAcc/<x>"));
    assert_ne!(grown.find("./DevInfo/Mod"), STANDARD.find("./DevInfo/Mod"));

    let mut storage = Box::new(Written::new());
    let mut t = mount_in(&mut storage, grown, bytes).unwrap();
    assert_eq!(snapshot(&mut t), expected);
    t.replace(DEVICE, "./CDMA/Vendor/Level", b"7", None, None)
        .unwrap();
    t.add(DEVICE, "./DMAcc/a3", None, None, None).unwrap();
    let (flash, _) = t.into_parts();

    // Back under the standard schema: the vendor's value has no node there and is left
    // out; everything else is as it was.
    let mut storage = Box::new(Written::new());
    let mut t = mount_in(&mut storage, &STANDARD, flash.as_bytes().to_vec()).unwrap();
    // (The listing of ./DMAcc, the first probe, has a3 now.)
    assert_eq!(snapshot(&mut t)[1..], expected[1..]);
    let mut buf = [0u8; 64];
    let r = t.get(DEVICE, "./DMAcc", 0, &mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..r.len]).contains("a3"));
    assert_eq!(
        t.get(DEVICE, "./CDMA/Vendor/Level", 0, &mut buf).err(),
        Some(iotadm::codes::StatusCode::NotFound)
    );
}

//! The runtime management tree through its public API: accounts, ACLs per command and per
//! server, inheritance and ACL changes, access types, URIs and their limits, Add and Delete
//! of interior nodes with their subtrees, properties, Atomic, and persistence.

mod common;

use iotadm::codes::StatusCode;
use iotadm::flash::MemFlash;
use iotadm::schema::STANDARD;
use iotadm::tree::{NoHandlers, Principal, Tree, TreeStorage, UriLimits};

type Flash = MemFlash<Vec<u8>, 1024, 8>;
type Storage = TreeStorage<256, 16384, 512>;
type DmTree = Tree<'static, Flash, NoHandlers>;

/// Storage for a tree that lives as long as the test.
fn storage() -> &'static mut Storage {
    Box::leak(Box::new(Storage::new()))
}

const DEVICE: Principal<'static> = Principal::Device;
const SRV1: Principal<'static> = Principal::Server("srv1");
const SRV2: Principal<'static> = Principal::Server("srv2");

fn blank() -> Flash {
    let mut f = MemFlash::new(vec![0u8; 16 * 1024]);
    f.erase_all();
    f
}

fn mount(flash: Flash) -> DmTree {
    Tree::mount(storage(), &STANDARD, flash, NoHandlers, UriLimits::DEFAULT).expect("mount")
}

fn get(t: &mut DmTree, who: Principal<'_>, uri: &str) -> Result<String, StatusCode> {
    let mut buf = [0u8; 512];
    let r = t.get(who, uri, 0, &mut buf)?;
    assert_eq!(r.len, r.total, "{uri} did not fit");
    Ok(String::from_utf8(buf[..r.len].to_vec()).unwrap())
}

/// A DM account for `server`, as bootstrap creates it, owned by that server, with its
/// AppID and address.
fn bootstrap(t: &mut DmTree, name: &str, server: &str) {
    let acc = common::owned_account(t, name, server);
    t.add(DEVICE, &format!("{acc}/AppID"), Some(b"w7"), None, None)
        .unwrap();
    t.add(
        DEVICE,
        &format!("{acc}/AppAddr/1/Addr"),
        Some(b"http://127.0.0.1:8080/dm"),
        None,
        None,
    )
    .unwrap();
    t.add(
        DEVICE,
        &format!("{acc}/AppAuth/cli/AAuthLevel"),
        Some(b"CLCRED"),
        None,
        None,
    )
    .unwrap();
    t.add(
        DEVICE,
        &format!("{acc}/AppAuth/cli/AAuthSecret"),
        Some(b"s3cret"),
        None,
        None,
    )
    .unwrap();
}

#[test]
fn accounts_are_private_to_their_server() {
    let mut t = mount(blank());
    bootstrap(&mut t, "a1", "srv1");
    bootstrap(&mut t, "a2", "srv2");
    assert_eq!(get(&mut t, SRV1, "./DMAcc/a1/ServerID").unwrap(), "srv1");
    assert_eq!(get(&mut t, SRV2, "./DMAcc/a2/ServerID").unwrap(), "srv2");
    // Each server sees only its own account; nobody lists ./DMAcc.
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc/a2/ServerID"),
        Err(StatusCode::PermissionDenied)
    );
    assert_eq!(
        get(&mut t, SRV2, "./DMAcc/a1"),
        Err(StatusCode::PermissionDenied)
    );
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc"),
        Err(StatusCode::PermissionDenied)
    );
    // The device sees everything.
    assert_eq!(get(&mut t, DEVICE, "./DMAcc").unwrap(), "a1/a2");
    assert_eq!(get(&mut t, SRV1, "./DMAcc/a1/AppAuth").unwrap(), "cli");
    // A secret is never readable by a server, whatever the ACL says: its access type has no Get.
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc/a1/AppAuth/cli/AAuthSecret"),
        Err(StatusCode::CommandNotAllowed)
    );
    // Servers cannot create accounts.
    assert_eq!(
        t.add(SRV1, "./DMAcc/a3", None, None, None),
        Err(StatusCode::PermissionDenied)
    );
}

#[test]
fn acl_per_command_and_server_with_inheritance() {
    let mut t = mount(blank());
    bootstrap(&mut t, "a1", "srv1");
    // Give srv2 Get only, on the account's AppAddr subtree.
    t.replace(
        DEVICE,
        "./DMAcc/a1/AppAddr?prop=ACL",
        b"Get=srv2&Replace=srv1",
        None,
        None,
    )
    .unwrap();
    // Inherited by AppAddr/1/Addr (no ACL of its own).
    assert_eq!(
        get(&mut t, SRV2, "./DMAcc/a1/AppAddr/1/Addr").unwrap(),
        "http://127.0.0.1:8080/dm"
    );
    assert_eq!(
        t.replace(SRV2, "./DMAcc/a1/AppAddr/1/Addr", b"x", None, None),
        Err(StatusCode::PermissionDenied)
    );
    // No per-command inheritance: srv1's Get on the account is not inherited past AppAddr's ACL.
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc/a1/AppAddr/1/Addr"),
        Err(StatusCode::PermissionDenied)
    );
    t.replace(
        SRV1,
        "./DMAcc/a1/AppAddr/1/Addr",
        b"http://127.0.0.1:9/dm",
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        get(&mut t, SRV2, "./DMAcc/a1/AppAddr/1/Addr").unwrap(),
        "http://127.0.0.1:9/dm"
    );
    // Anything else under the account still follows the account's ACL.
    assert_eq!(
        get(&mut t, SRV2, "./DMAcc/a1/ServerID"),
        Err(StatusCode::PermissionDenied)
    );
    // A denial changes nothing.
    assert_eq!(
        t.delete(SRV2, "./DMAcc/a1", None),
        Err(StatusCode::PermissionDenied)
    );
    assert_eq!(get(&mut t, SRV1, "./DMAcc/a1/ServerID").unwrap(), "srv1");
    // The root's default: any server may Get and Add at the top.
    assert_eq!(get(&mut t, SRV2, ".?prop=ACL").unwrap(), "Add=*&Get=*");
}

#[test]
fn who_may_change_an_acl() {
    let mut t = mount(blank());
    bootstrap(&mut t, "a1", "srv1");
    // Interior node: Replace on the node itself suffices.
    t.replace(
        SRV1,
        "./DMAcc/a1/AppAuth?prop=ACL",
        b"Get=srv1+srv2",
        None,
        None,
    )
    .unwrap();
    // Leaf: its own Replace right does not extend to its ACL ...
    t.replace(
        DEVICE,
        "./DMAcc/a1/AppID?prop=ACL",
        b"Replace=srv2&Get=srv2",
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        t.replace(SRV2, "./DMAcc/a1/AppID?prop=ACL", b"Get=*", None, None),
        Err(StatusCode::PermissionDenied)
    );
    // ... but Replace on the parent does.
    t.replace(SRV1, "./DMAcc/a1/AppID?prop=ACL", b"Get=*", None, None)
        .unwrap();
    assert_eq!(
        get(&mut t, SRV2, "./DMAcc/a1/AppID?prop=ACL").unwrap(),
        "Get=*"
    );
    // Malformed ACLs are refused and change nothing.
    assert_eq!(
        t.replace(SRV1, "./DMAcc/a1/AppID?prop=ACL", b"Copy=srv1", None, None),
        Err(StatusCode::BadRequest)
    );
    // The root keeps Add for every server.
    assert_eq!(
        t.replace(DEVICE, ".?prop=ACL", b"Get=*", None, None),
        Err(StatusCode::CommandNotAllowed)
    );
}

#[test]
fn a_server_adding_an_interior_node_without_replace_on_the_parent_owns_it() {
    let mut t = mount(blank());
    bootstrap(&mut t, "a1", "srv1");
    t.replace(
        DEVICE,
        "./DMAcc/a1/AppAddr?prop=ACL",
        b"Add=srv2&Get=srv1",
        None,
        None,
    )
    .unwrap();
    t.add(SRV2, "./DMAcc/a1/AppAddr/2", None, None, None)
        .unwrap();
    // TND §7.7.1.3: Add, Delete and Replace for the server that added it; not Get...
    assert_eq!(
        get(&mut t, DEVICE, "./DMAcc/a1/AppAddr/2?prop=ACL").unwrap(),
        "Add=srv2&Delete=srv2&Replace=srv2"
    );
    assert_eq!(
        get(&mut t, SRV2, "./DMAcc/a1/AppAddr/2"),
        Err(StatusCode::PermissionDenied)
    );
    // ...which Replace lets it give itself.
    t.replace(
        SRV2,
        "./DMAcc/a1/AppAddr/2?prop=ACL",
        b"Add=srv2&Delete=srv2&Get=srv2&Replace=srv2",
        None,
        None,
    )
    .unwrap();
    // Its mandatory AddrType has a default; Addr exists once it is added.
    assert_eq!(
        get(&mut t, SRV2, "./DMAcc/a1/AppAddr/2").unwrap(),
        "AddrType"
    );
    t.add(
        SRV2,
        "./DMAcc/a1/AppAddr/2/Addr",
        Some(b"http://127.0.0.1/2"),
        None,
        None,
    )
    .unwrap();
    t.delete(SRV2, "./DMAcc/a1/AppAddr/2", None).unwrap();
    // With Replace on the parent, the new node inherits instead.
    t.add(SRV1, "./DMAcc/a1/AppAuth/srv", None, None, None)
        .unwrap();
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc/a1/AppAuth/srv?prop=ACL").unwrap(),
        ""
    );
}

#[test]
fn access_types_and_formats_are_enforced() {
    let mut t = mount(blank());
    bootstrap(&mut t, "a1", "srv1");
    t.replace(
        DEVICE,
        "./DevInfo/DevId",
        b"MEID:A0000012345678",
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        get(&mut t, SRV1, "./DevInfo/DevId").unwrap(),
        "MEID:A0000012345678"
    );
    assert_eq!(
        t.replace(SRV1, "./DevInfo/DevId", b"x", None, None),
        Err(StatusCode::CommandNotAllowed)
    );
    assert_eq!(
        t.delete(SRV1, "./DevInfo", None),
        Err(StatusCode::CommandNotAllowed)
    );
    // Interior nodes have no value to replace; leaves no children to add.
    assert_eq!(
        t.replace(SRV1, "./DMAcc/a1/AppAuth", b"x", None, None),
        Err(StatusCode::CommandNotAllowed)
    );
    assert_eq!(
        t.add(SRV1, "./DMAcc/a1/AppID/x", None, None, None),
        Err(StatusCode::CommandNotAllowed)
    );
    // Nodes the DDF does not describe cannot be added.
    assert_eq!(
        t.add(SRV1, "./DMAcc/a1/Bogus", Some(b"1"), None, None),
        Err(StatusCode::CommandNotAllowed)
    );
    // A value must match the node's format.
    assert_eq!(
        t.replace(
            SRV1,
            "./DMAcc/a1/AppID",
            b"x",
            Some(iotadm::schema::Format::Int),
            None
        ),
        Err(StatusCode::UnsupportedMediaType)
    );
}

#[test]
fn uris_are_normalised_and_limited() {
    let limits = UriLimits {
        max_depth: 5,
        max_tot_len: 40,
        max_seg_len: 10,
    };
    let mut t: DmTree = Tree::mount(storage(), &STANDARD, blank(), NoHandlers, limits).unwrap();
    t.replace(DEVICE, "DevInfo/Mod", b"X1", None, None).unwrap();
    assert_eq!(get(&mut t, SRV1, "./DevInfo/Mod/").unwrap(), "X1");
    assert_eq!(get(&mut t, SRV1, "DevInfo/Mod").unwrap(), "X1");
    assert_eq!(
        get(&mut t, SRV1, "./DevInfo/../DevInfo/Mod"),
        Err(StatusCode::BadRequest)
    );
    assert_eq!(
        get(&mut t, SRV1, "/DevInfo/Mod"),
        Err(StatusCode::BadRequest)
    );
    assert_eq!(
        get(&mut t, SRV1, "./DevInfo//Mod"),
        Err(StatusCode::BadRequest)
    );
    assert_eq!(
        get(&mut t, SRV1, "./DevInfo/ModelNameTooLong"),
        Err(StatusCode::UriTooLong)
    );
    assert_eq!(
        get(&mut t, SRV1, "./a/b/c/d/e/f"),
        Err(StatusCode::UriTooLong)
    );
    assert_eq!(
        get(&mut t, SRV1, "./DevInfo/Nope"),
        Err(StatusCode::NotFound)
    );
    // The limits are reported in DevDetail.
    assert_eq!(get(&mut t, SRV1, "./DevDetail/URI/MaxDepth").unwrap(), "5");
    assert_eq!(
        get(&mut t, SRV1, "./DevDetail/URI/MaxTotLen").unwrap(),
        "40"
    );
    assert_eq!(
        get(&mut t, SRV1, "./DevDetail/URI/MaxSegLen").unwrap(),
        "10"
    );
}

#[test]
fn add_and_delete_interior_nodes_with_their_subtrees() {
    let flash = blank();
    let mut t = mount(flash);
    bootstrap(&mut t, "a1", "srv1");
    // Missing interior nodes on the way are created.
    t.add(
        SRV1,
        "./DMAcc/a1/AppAddr/2/Port/p1/PortNbr",
        Some(b"8443"),
        None,
        None,
    )
    .unwrap();
    assert_eq!(get(&mut t, SRV1, "./DMAcc/a1/AppAddr").unwrap(), "1/2");
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc/a1/AppAddr/2/Port/p1/PortNbr").unwrap(),
        "8443"
    );
    assert_eq!(
        t.add(SRV1, "./DMAcc/a1/AppAddr/2", None, None, None),
        Err(StatusCode::AlreadyExists)
    );
    t.delete(SRV1, "./DMAcc/a1/AppAddr/2", None).unwrap();
    assert_eq!(get(&mut t, SRV1, "./DMAcc/a1/AppAddr").unwrap(), "1");
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc/a1/AppAddr/2/Port/p1/PortNbr"),
        Err(StatusCode::NotFound)
    );
    // Re-adding gives a fresh node, not the old subtree back.
    t.add(SRV1, "./DMAcc/a1/AppAddr/2", None, None, None)
        .unwrap();
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc/a1/AppAddr/2/Port"),
        Err(StatusCode::NotFound)
    );
    // Deleting the account removes everything under it, persistently.
    let used = t.entries_used();
    // The names of the nodes added take arena bytes (`a1`, `AppAddr`, `1`, `2`, ...).
    let arena = t.arena_used();
    assert!(arena >= 12 && arena <= t.arena_capacity(), "{arena}");
    t.delete(DEVICE, "./DMAcc/a1", None).unwrap();
    assert!(t.entries_used() < used);
    // Only ./DMAcc's own entry is left: its TStamp and VerNo record the change.
    assert_eq!(t.entries_used(), 1);
    assert_eq!(get(&mut t, DEVICE, "./DMAcc?prop=VerNo").unwrap(), "2");
    let (flash, _) = t.into_parts();
    let mut t = mount(flash);
    assert_eq!(get(&mut t, DEVICE, "./DMAcc").unwrap(), "");
}

#[test]
fn properties() {
    let mut t = mount(blank());
    bootstrap(&mut t, "a1", "srv1");
    let p = |t: &mut DmTree, uri: &str| get(t, SRV1, uri);
    assert_eq!(p(&mut t, "./DMAcc/a1/AppID?prop=Format").unwrap(), "chr");
    assert_eq!(p(&mut t, "./DMAcc/a1?prop=Format").unwrap(), "node");
    assert_eq!(
        p(&mut t, "./DMAcc/a1/AppID?prop=Type").unwrap(),
        "text/plain"
    );
    assert_eq!(p(&mut t, "./DMAcc/a1/AppID?prop=Size").unwrap(), "2");
    assert_eq!(
        p(&mut t, "./DMAcc/a1?prop=Size"),
        Err(StatusCode::CommandNotAllowed)
    );
    assert_eq!(p(&mut t, "./DMAcc/a1?prop=Name").unwrap(), "a1");
    assert_eq!(p(&mut t, "./DMAcc/a1/AppID?prop=Name").unwrap(), "AppID");
    assert_eq!(
        p(&mut t, "./DMAcc/a1?prop=TStamp").unwrap(),
        "20231114T221320Z"
    );
    let v0: u32 = p(&mut t, "./DMAcc/a1/AppID?prop=VerNo")
        .unwrap()
        .parse()
        .unwrap();
    t.replace(SRV1, "./DMAcc/a1/AppID", b"w8", None, Some(1_800_000_000))
        .unwrap();
    let v1: u32 = p(&mut t, "./DMAcc/a1/AppID?prop=VerNo")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(v1, v0 + 1);
    assert_eq!(
        p(&mut t, "./DMAcc/a1/AppID?prop=TStamp").unwrap(),
        "20270115T080000Z"
    );
    // Replacing with the same value changes nothing.
    t.replace(SRV1, "./DMAcc/a1/AppID", b"w8", None, Some(1_900_000_000))
        .unwrap();
    assert_eq!(
        p(&mut t, "./DMAcc/a1/AppID?prop=VerNo").unwrap(),
        v1.to_string()
    );
    // Title: read and replace.
    t.replace(
        SRV1,
        "./DMAcc/a1?prop=Title",
        b"Operator account",
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        p(&mut t, "./DMAcc/a1?prop=Title").unwrap(),
        "Operator account"
    );
    // A node the DDF describes and nothing has changed yet takes a title too.
    t.replace(
        DEVICE,
        "./DevInfo/Mod?prop=Title",
        b"Model name",
        None,
        None,
    )
    .unwrap();
    assert_eq!(p(&mut t, "./DevInfo/Mod?prop=Title").unwrap(), "Model name");
    // Name: rename a dynamic node; its subtree follows.
    t.replace(
        SRV1,
        "./DMAcc/a1/AppAuth/cli?prop=Name",
        b"client",
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        p(&mut t, "./DMAcc/a1/AppAuth/client/AAuthLevel").unwrap(),
        "CLCRED"
    );
    assert_eq!(
        p(&mut t, "./DMAcc/a1/AppAuth/cli"),
        Err(StatusCode::NotFound)
    );
    assert_eq!(
        t.replace(SRV1, "./DMAcc/a1/AppID?prop=Name", b"x", None, None),
        Err(StatusCode::CommandNotAllowed)
    );
    // Read-only properties and unknown ones.
    for prop in ["Format", "Type", "Size", "TStamp", "VerNo"] {
        assert_eq!(
            t.replace(
                SRV1,
                &format!("./DMAcc/a1/AppID?prop={prop}"),
                b"x",
                None,
                None
            ),
            Err(StatusCode::CommandNotAllowed),
            "{prop}"
        );
    }
    assert_eq!(
        p(&mut t, "./DMAcc/a1?prop=Bogus"),
        Err(StatusCode::OptionalFeatureNotSupported)
    );
    assert_eq!(
        t.add(SRV1, "./DMAcc/a1?prop=Title", Some(b"x"), None, None),
        Err(StatusCode::CommandNotAllowed)
    );
}

#[test]
fn atomic_commits_or_rolls_back_and_survives_a_restart() {
    let mut t = mount(blank());
    bootstrap(&mut t, "a1", "srv1");
    t.begin_atomic().unwrap();
    t.replace(SRV1, "./DMAcc/a1/AppID", b"one", None, None)
        .unwrap();
    t.add(SRV1, "./DMAcc/a1/Name", Some(b"Acme"), None, None)
        .unwrap();
    t.rollback_atomic().unwrap();
    assert_eq!(get(&mut t, SRV1, "./DMAcc/a1/AppID").unwrap(), "w7");
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc/a1/Name"),
        Err(StatusCode::NotFound)
    );
    t.begin_atomic().unwrap();
    t.replace(SRV1, "./DMAcc/a1/AppID", b"two", None, None)
        .unwrap();
    t.commit_atomic().unwrap();
    // An Atomic open when power goes is gone at restart.
    t.begin_atomic().unwrap();
    t.replace(SRV1, "./DMAcc/a1/AppID", b"three", None, None)
        .unwrap();
    let (flash, _) = t.into_parts();
    let mut t = mount(flash);
    assert_eq!(get(&mut t, SRV1, "./DMAcc/a1/AppID").unwrap(), "two");
    assert!(!t.in_atomic());
}

#[test]
fn everything_persists_across_restarts_and_compactions() {
    let mut t = mount(blank());
    bootstrap(&mut t, "a1", "srv1");
    // Enough changes to fill a bank several times over.
    for i in 0..400u32 {
        let v = format!("value-{i}");
        t.replace(
            SRV1,
            "./DMAcc/a1/AppID",
            v.as_bytes(),
            None,
            Some(u64::from(i) + 1),
        )
        .unwrap();
    }
    t.replace(
        DEVICE,
        "./DMAcc/a1/AppAddr?prop=ACL",
        b"Get=srv2",
        None,
        None,
    )
    .unwrap();
    let (flash, _) = t.into_parts();
    let mut t = mount(flash);
    assert_eq!(get(&mut t, SRV1, "./DMAcc/a1/AppID").unwrap(), "value-399");
    assert_eq!(
        get(&mut t, SRV2, "./DMAcc/a1/AppAddr/1/Addr").unwrap(),
        "http://127.0.0.1:8080/dm"
    );
    assert_eq!(
        get(&mut t, DEVICE, "./DMAcc/a1/AppAuth/cli/AAuthSecret").unwrap(),
        "s3cret"
    );
}

#[test]
fn copy_a_leaf() {
    let mut t = mount(blank());
    bootstrap(&mut t, "a1", "srv1");
    t.copy(
        SRV1,
        "./DMAcc/a1/AppAddr/1/Addr",
        "./DMAcc/a1/AppAddr/9/Addr",
        None,
        &mut [0; 512],
    )
    .unwrap();
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc/a1/AppAddr/9/Addr").unwrap(),
        "http://127.0.0.1:8080/dm"
    );
    assert_eq!(
        t.copy(
            SRV2,
            "./DMAcc/a1/AppAddr/1/Addr",
            "./DMAcc/a1/Name",
            None,
            &mut [0; 512]
        ),
        Err(StatusCode::PermissionDenied)
    );
}

/// A tree over flash and storage the test keeps, so that both outlive the tree.
type SliceTree<'m> = Tree<'m, MemFlash<&'m mut [u8], 1024, 8>, NoHandlers>;

fn get_in(t: &mut SliceTree<'_>, who: Principal<'_>, uri: &str) -> Result<String, StatusCode> {
    let mut buf = [0u8; 512];
    let r = t.get(who, uri, 0, &mut buf)?;
    Ok(String::from_utf8(buf[..r.len].to_vec()).unwrap())
}

/// Runs `f` on the tree mounted over `mem` in `storage`.
fn mounted_in(storage: &mut Storage, mem: &mut [u8], f: impl FnOnce(&mut SliceTree<'_>)) {
    let mut t = Tree::mount(
        storage,
        &STANDARD,
        MemFlash::new(mem),
        NoHandlers,
        UriLimits::DEFAULT,
    )
    .expect("mount");
    f(&mut t);
}

/// Storage the caller keeps serves one mount after another: what a mount leaves in it
/// (entries, arena) is not taken for the next tree's state, which comes from flash alone.
#[test]
fn storage_serves_mount_after_mount() {
    let mut t = mount(blank());
    bootstrap(&mut t, "a1", "srv1");
    t.replace(SRV1, "./DMAcc/a1/AppID", b"first", None, None)
        .unwrap();
    let (flash, _) = t.into_parts();
    let mut mem = flash.as_bytes().to_vec();
    let mut storage = Box::new(Storage::new());
    mounted_in(&mut storage, &mut mem, |t| {
        assert_eq!(get_in(t, SRV1, "./DMAcc/a1/AppID").unwrap(), "first");
        t.replace(SRV1, "./DMAcc/a1/AppID", b"second", None, None)
            .unwrap();
        t.add(DEVICE, "./DMAcc/a2", None, None, None).unwrap();
    });
    // The same storage over a blank region: nothing of the tree before is seen.
    let mut other = blank().as_bytes().to_vec();
    mounted_in(&mut storage, &mut other, |t| {
        assert_eq!(
            get_in(t, DEVICE, "./DMAcc/a1/AppID"),
            Err(StatusCode::NotFound)
        );
        assert_eq!(t.entries_used(), 0);
        t.add(DEVICE, "./DMAcc/b1", None, None, None).unwrap();
    });
    mounted_in(&mut storage, &mut mem, |t| {
        assert_eq!(get_in(t, SRV1, "./DMAcc/a1/AppID").unwrap(), "second");
        assert!(get_in(t, DEVICE, "./DMAcc").unwrap().contains("a2"));
        assert!(!get_in(t, DEVICE, "./DMAcc").unwrap().contains("b1"));
    });
    let mut t = mount(MemFlash::new(other));
    assert!(get(&mut t, DEVICE, "./DMAcc").unwrap().contains("b1"));
}

/// The device's mark on a value: stored with it (a restart keeps it), invisible to
/// servers (no VerNo or TStamp change), and gone when the value changes.
#[test]
fn a_value_mark_lives_as_long_as_its_value() {
    let mut t = mount(blank());
    bootstrap(&mut t, "a1", "srv1");
    let leaf = "./DMAcc/a1/Name";
    t.add(DEVICE, leaf, Some(b"one"), None, None).unwrap();
    let verno = get(&mut t, DEVICE, &format!("{leaf}?prop=VerNo")).unwrap();
    assert!(!t.value_marked(leaf));
    t.mark_value(leaf).unwrap();
    assert!(t.value_marked(leaf));
    assert_eq!(
        get(&mut t, DEVICE, &format!("{leaf}?prop=VerNo")).unwrap(),
        verno
    );
    let (flash, _) = t.into_parts();
    let mut t = mount(flash);
    assert!(t.value_marked(leaf), "kept across a restart");
    // The same value written again changes nothing, the mark included.
    t.replace(SRV1, leaf, b"one", None, None).unwrap();
    assert!(t.value_marked(leaf));
    t.replace(SRV1, leaf, b"two", None, None).unwrap();
    assert!(!t.value_marked(leaf), "a new value has no mark");
    assert_eq!(
        t.mark_value("./DMAcc/a1"),
        Err(StatusCode::CommandNotAllowed)
    );
    assert_eq!(
        t.mark_value("./DMAcc/a1/PrefConRef"),
        Err(StatusCode::NotFound)
    );
}

/// A value the tree keeps travels in one record of its record buffer (512 bytes here): a
/// longer one is refused with 413, whatever its length, and the value before stays.
#[test]
fn a_value_longer_than_a_record_is_refused_and_the_old_one_kept() {
    let mut t = mount(blank());
    t.add(DEVICE, "./DMAcc/a1", None, None, None).unwrap();
    t.add(DEVICE, "./DMAcc/a1/Name", Some(b"old"), None, None)
        .unwrap();
    let name = "./DMAcc/a1/Name";
    let fits = |t: &mut DmTree, n: usize| t.replace(DEVICE, name, &vec![b'n'; n], None, None);
    let longest = (1..512).find(|&n| fits(&mut t, n + 1).is_err()).unwrap();
    assert!(longest > 400, "{longest}");
    fits(&mut t, longest).unwrap();
    for n in [longest + 1, longest + 2, longest + 40, 512, 4096] {
        assert_eq!(
            fits(&mut t, n),
            Err(StatusCode::RequestEntityTooLarge),
            "{n} bytes"
        );
        assert_eq!(get(&mut t, DEVICE, name).unwrap().len(), longest);
    }
}

/// An empty value is a value: set on a leaf with a DDF default, it is what a Get reads,
/// also when the leaf had a run-time entry without a value (its ACL set before).
#[test]
fn an_empty_value_replaces_the_default() {
    let mut t = mount(blank());
    t.add(DEVICE, "./DMAcc/a1", None, None, None).unwrap();
    assert_eq!(get(&mut t, DEVICE, "./DMAcc/a1/AppID").unwrap(), "w7");
    t.replace(DEVICE, "./DMAcc/a1/AppID?prop=ACL", b"Get=*", None, None)
        .unwrap();
    assert_eq!(get(&mut t, DEVICE, "./DMAcc/a1/AppID").unwrap(), "w7");
    t.replace(DEVICE, "./DMAcc/a1/AppID", b"", None, None)
        .unwrap();
    assert_eq!(get(&mut t, DEVICE, "./DMAcc/a1/AppID").unwrap(), "");
}

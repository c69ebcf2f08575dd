//! Scenarios of the DM session engine, through the public API: the real engine runs on a
//! simulated handset over HTTP on 127.0.0.1 against the scripted test server, which records
//! the status the handset gave every command, the results it sent and every protocol rule
//! it broke. Each test checks one family of commands and the status codes they must get.

mod common;

use common::device::{
    account, add_fumo, cred, handset, node_id, provision, run, run_with, value, Asked, DmTree,
    Platform, Reply, Run, ScriptedUser,
};
use iotadm::auth::AuthScheme;
use iotadm::codec::Encoding;
use iotadm::session::{Config, GenericAlert, Initiation, NoUi, Outcome, UiKind};
use iotadm::tree::{HandlerTable, NoHandlers, NodeHandler};
use iotadm::ui::{EchoType, InputType};
use iotadm_host::testserver::{
    Account, Cmd, Script, ServerOptions, SessionState, TestServer, Transcript,
};

/// The test server's account for `srv1`, which asks basic credentials of the handset.
fn srv1() -> Account {
    Account::new("srv1").client_basic("dev", "devpw")
}

/// A handset with account `srv1` at `server`, and account `srv2` of another server (whose
/// nodes `srv1` may not touch).
fn handset_for(server: &TestServer) -> DmTree {
    let mut tree = handset(NoHandlers);
    provision_accounts(&mut tree, server);
    tree
}

fn provision_accounts<H: iotadm::tree::Handlers>(tree: &mut DmTree<H>, server: &TestServer) {
    let url = server.url("srv1");
    provision(
        tree,
        &account(
            "srv1",
            &url,
            Some(cred(AuthScheme::Basic, "dev", "devpw", b"")),
            None,
        ),
    );
    provision(tree, &account("srv2", "http://127.0.0.1:9/dm", None, None));
}

/// Runs a session of `srv1` against `script` and checks it went by the rules.
fn session(script: Script) -> (Transcript, DmTree) {
    session_with(script, ServerOptions::default(), Config::default())
}

fn session_with(script: Script, options: ServerOptions, cfg: Config) -> (Transcript, DmTree) {
    let server = TestServer::start_with(vec![srv1()], script, options).unwrap();
    let mut tree = handset_for(&server);
    let outcome = run(&mut tree, cfg, Initiation::Client);
    let t = server.finish();
    assert_clean(&t, &outcome);
    (t, tree)
}

/// The session ended normally and the server saw no rule broken.
fn assert_clean<E: std::fmt::Debug>(t: &Transcript, outcome: &Result<Outcome, E>) {
    assert!(outcome.is_ok(), "{outcome:?}\n{}", t.render());
    assert!(
        t.violations().is_empty(),
        "{:#?}\n{}",
        t.violations(),
        t.render()
    );
    assert_eq!(
        t.sessions()[0].state,
        SessionState::Completed,
        "{outcome:?}\n{}",
        t.render()
    );
}

/// Runs a session of each account in turn; each must end well.
fn run_accounts(tree: &mut DmTree, accounts: &[&str]) {
    for &account in accounts {
        let outcome = run_with(
            tree,
            &mut NoUi,
            Run {
                account,
                ..Run::default()
            },
        );
        assert!(outcome.is_ok(), "{account}: {outcome:?}");
    }
}

/// The data of the only result item of the command labelled `label`.
fn result(t: &Transcript, label: &str) -> String {
    let items = t.results_for(label);
    assert_eq!(items.len(), 1, "{label}: {items:#?}");
    items[0].data_str().into_owned()
}

/// The data of the items of the Status the command labelled `label` got (what the user
/// answered an alert).
fn status_items(t: &Transcript, label: &str) -> Vec<String> {
    let index = t
        .commands()
        .iter()
        .rposition(|c| c.label.as_deref() == Some(label));
    assert!(index.is_some(), "no command {label}");
    t.statuses()
        .iter()
        .filter(|s| s.command == index)
        .flat_map(|s| s.items.iter().map(|i| i.data_str().into_owned()))
        .collect()
}

fn statuses(t: &Transcript, label: &str) -> Vec<u16> {
    t.command(label)
        .unwrap_or_else(|| panic!("no command {label}"))
        .statuses
        .clone()
}

/// IOTA-DM-5: a client-initiated session opens with Alert 1201 and the device's
/// capabilities: a Replace of every DevInfo leaf with its value, and the client's
/// MaxMsgSize and MaxObjSize in the header.
#[test]
fn package_1_opens_with_alert_1201_and_the_devinfo() {
    let cfg = Config {
        max_msg_size: 3000,
        max_obj_size: 40_000,
        ..Config::default()
    };
    let (t, _) = session_with(Script::new(), ServerOptions::default(), cfg);
    let pkg1: Vec<_> = t
        .client_commands()
        .iter()
        .filter(|c| c.package == 1)
        .collect();
    assert_eq!(pkg1[0].name, "Alert");
    assert_eq!(pkg1[0].alert, Some(1201));
    let devinfo = pkg1
        .iter()
        .find(|c| c.name == "Replace")
        .expect("package 1 replaces the DevInfo");
    let items: Vec<(&str, String)> = devinfo
        .items
        .iter()
        .map(|i| (i.source.as_deref().unwrap_or(""), i.data_str().into_owned()))
        .collect();
    assert_eq!(
        items,
        [
            ("./DevInfo/DevId", common::device::DEVICE.to_string()),
            ("./DevInfo/Man", "iotadm".to_string()),
            ("./DevInfo/Mod", "test-handset".to_string()),
            ("./DevInfo/DmV", "1.2".to_string()),
            ("./DevInfo/Lang", "en-US".to_string()),
        ]
    );
    assert_eq!(devinfo.answered, 200);
    let session = &t.sessions()[0];
    assert_eq!(session.max_msg_size, Some(3000));
    assert_eq!(session.max_obj_size, Some(40_000));
}

#[test]
fn add_creates_nodes_and_answers_418_425_405_413_415() {
    let big = "x".repeat(1500);
    let script = Script::new()
        .package([
            Cmd::add("./DMAcc/srv1/Name", "Lab server").label("add"),
            Cmd::add("./DMAcc/srv1/Name", "again").label("exists"),
            // Missing interior nodes on the way are created.
            Cmd::add("./DMAcc/srv1/ToConRef/c1/ConRef", "net1").label("implicit"),
            Cmd::add_node("./DMAcc/srv1/AppAddr/2").label("interior"),
            // DMAcc's ACL lets no server add accounts.
            Cmd::add("./DMAcc/rogue/ServerID", "rogue").label("acl"),
            // Nothing in the DDF may be called so.
            Cmd::add("./DevInfo/Colour", "blue").label("unknown"),
            Cmd::add("./DMAcc/srv1/PrefConRef", &big).label("too-large"),
            Cmd::add("./DMAcc/srv1/ToConRef/c2/ConRef", "7")
                .format("int")
                .label("format"),
            Cmd::add("./DMAcc/srv1/ToConRef/c3/ConRef", "7")
                .format("chr-ish")
                .label("no-format"),
        ])
        .package([
            Cmd::get("./DMAcc/srv1/Name").label("name"),
            Cmd::get("./DMAcc/srv1/ToConRef").label("conrefs"),
            Cmd::get("./DMAcc/srv1/AppAddr").label("addrs"),
            Cmd::get("./DMAcc/srv1/PrefConRef").label("pref"),
        ]);
    let options = ServerOptions {
        // To see the handset refuse an object above its MaxObjSize.
        respect_max_obj_size: false,
        ..ServerOptions::default()
    };
    let cfg = Config {
        max_obj_size: 1024,
        ..Config::default()
    };
    let (t, mut tree) = session_with(script, options, cfg);
    assert_eq!(t.status("add"), Some(200));
    assert_eq!(t.status("exists"), Some(418));
    assert_eq!(t.status("implicit"), Some(200));
    assert_eq!(t.status("interior"), Some(200));
    assert_eq!(t.status("acl"), Some(425));
    assert_eq!(t.status("unknown"), Some(405));
    assert_eq!(t.status("too-large"), Some(413));
    assert_eq!(t.status("format"), Some(415));
    assert_eq!(t.status("no-format"), Some(415));
    // What failed left nothing behind, not even the interior nodes on its way.
    assert_eq!(result(&t, "name"), "Lab server");
    assert_eq!(result(&t, "conrefs"), "c1");
    assert_eq!(result(&t, "addrs"), "1/2");
    assert_eq!(t.status("pref"), Some(404));
    assert_eq!(
        value(&mut tree, "./DMAcc/srv1/ToConRef/c1/ConRef").unwrap(),
        b"net1"
    );
    assert_eq!(value(&mut tree, "./DMAcc/rogue"), None);
}

#[test]
fn replace_sets_leaves_and_properties_and_answers_404_405_415_425() {
    let script = Script::new()
        .package([
            Cmd::replace("./DMAcc/srv1/AppID", "w7x").label("leaf"),
            Cmd::replace("./DMAcc/srv1/Name", "absent").label("missing"),
            Cmd::replace("./DevInfo/Mod", "other").label("read-only"),
            Cmd::replace("./DMAcc/srv1/AppAddr", "x").label("interior"),
            Cmd::replace("./DMAcc/srv1/AppID", "1")
                .format("int")
                .label("format"),
            Cmd::replace("./DMAcc/srv2/AppID", "mine").label("acl"),
            Cmd::replace(
                "./DMAcc/srv1/AppAddr?prop=ACL",
                "Get=srv1&Replace=srv1&Add=srv1",
            )
            .label("acl-prop"),
            // An alert the handset has no business with, and one it answers plainly.
            Cmd::alert(1299, &[]).label("unknown-alert"),
            Cmd::alert(1222, &[]).label("next-message"),
        ])
        .package([
            Cmd::get("./DMAcc/srv1/AppID").label("appid"),
            Cmd::get("./DMAcc/srv1/AppAddr?prop=ACL").label("acl-now"),
        ]);
    let (t, mut tree) = session(script);
    assert_eq!(t.status("leaf"), Some(200));
    assert_eq!(t.status("missing"), Some(404));
    assert_eq!(t.status("read-only"), Some(405));
    assert_eq!(t.status("interior"), Some(405));
    assert_eq!(t.status("format"), Some(415));
    assert_eq!(t.status("acl"), Some(425));
    assert_eq!(t.status("acl-prop"), Some(200));
    assert_eq!(t.status("unknown-alert"), Some(406));
    assert_eq!(t.status("next-message"), Some(200));
    assert_eq!(result(&t, "appid"), "w7x");
    assert_eq!(result(&t, "acl-now"), "Get=srv1&Replace=srv1&Add=srv1");
    assert_eq!(value(&mut tree, "./DMAcc/srv2/AppID").unwrap(), b"w7");
    assert_eq!(value(&mut tree, "./DevInfo/Mod").unwrap(), b"test-handset");
}

#[test]
fn copy_duplicates_a_leaf_and_answers_404_405_425() {
    let script = Script::new()
        .package([
            Cmd::add("./DMAcc/srv1/Name", "n1"),
            Cmd::copy("./DMAcc/srv1/PrefConRef", "./DMAcc/srv1/Name").label("new"),
            Cmd::replace("./DMAcc/srv1/Name", "n2"),
            Cmd::copy("./DMAcc/srv1/PrefConRef", "./DMAcc/srv1/Name").label("over"),
            Cmd::copy("./DMAcc/srv1/PrefConRef", "./DMAcc/srv1/Nothing").label("missing"),
            Cmd::copy("./DMAcc/srv1/PrefConRef", "./DMAcc/srv1/AppAddr").label("interior"),
            Cmd::copy("./DMAcc/srv1/PrefConRef", "./DMAcc/srv2/ServerID").label("acl"),
        ])
        .package([Cmd::get("./DMAcc/srv1/PrefConRef").label("copied")]);
    let (t, _) = session(script);
    assert_eq!(t.status("new"), Some(200));
    assert_eq!(t.status("over"), Some(200));
    assert_eq!(t.status("missing"), Some(404));
    assert_eq!(t.status("interior"), Some(405));
    assert_eq!(t.status("acl"), Some(425));
    assert_eq!(result(&t, "copied"), "n2");
}

#[test]
fn delete_removes_leaves_and_whole_subtrees_and_answers_404_405_425() {
    let script = Script::new()
        .package([
            Cmd::add("./DMAcc/srv1/ToConRef/c1/ConRef", "net1"),
            Cmd::add("./DMAcc/srv1/ToConRef/c2/ConRef", "net2"),
            Cmd::add("./DMAcc/srv1/Name", "n"),
            Cmd::delete("./DMAcc/srv1/Name").label("leaf"),
            Cmd::delete("./DMAcc/srv1/ToConRef").label("subtree"),
            Cmd::delete("./DMAcc/srv1/Name").label("missing"),
            Cmd::delete("./DevInfo/Mod").label("permanent"),
            Cmd::delete("./DMAcc/srv2").label("acl"),
        ])
        .package([
            Cmd::get("./DMAcc/srv1/ToConRef").label("gone"),
            Cmd::get("./DMAcc/srv1/ToConRef/c2/ConRef").label("child-gone"),
            Cmd::get("./DMAcc/srv1").label("account"),
        ]);
    let (t, mut tree) = session(script);
    assert_eq!(t.status("leaf"), Some(200));
    assert_eq!(t.status("subtree"), Some(200));
    assert_eq!(t.status("missing"), Some(404));
    assert_eq!(t.status("permanent"), Some(405));
    assert_eq!(t.status("acl"), Some(425));
    assert_eq!(t.status("gone"), Some(404));
    assert_eq!(t.status("child-gone"), Some(404));
    assert!(!result(&t, "account")
        .split('/')
        .any(|c| c == "ToConRef" || c == "Name"));
    assert!(value(&mut tree, "./DMAcc/srv2/ServerID").is_some());
}

#[test]
fn exec_reaches_the_bound_handler_with_its_data_and_correlator() {
    let script = Script::new().package([
        Cmd::exec("./FUMO/fw1/Update")
            .data("now")
            .correlator("corr-42")
            .label("accepted"),
        Cmd::exec("./FUMO/fw1/Download").label("done"),
        Cmd::exec("./DevInfo/Mod").label("not-executable"),
        Cmd::exec("./FUMO/fw9/Update").label("missing"),
    ]);
    let server = TestServer::start(vec![srv1()], script).unwrap();
    let mut platform = Platform::default();
    {
        let handlers =
            HandlerTable::new([(node_id("./FUMO"), &mut platform as &mut dyn NodeHandler)]);
        let mut tree = handset(handlers);
        provision_accounts(&mut tree, &server);
        add_fumo(&mut tree, "fw1");
        let outcome = run(&mut tree, Config::default(), Initiation::Client);
        let t = server.finish();
        assert_clean(&t, &outcome);
        assert_eq!(t.status("accepted"), Some(202));
        assert_eq!(t.status("done"), Some(200));
        assert_eq!(t.status("not-executable"), Some(405));
        assert_eq!(t.status("missing"), Some(404));
    }
    assert_eq!(
        platform.execs,
        [
            (
                "FUMO/fw1/Update".to_string(),
                b"now".to_vec(),
                Some("corr-42".to_string())
            ),
            ("FUMO/fw1/Download".to_string(), Vec::new(), None),
        ]
    );
    assert!(
        platform.sessions_ended >= 1,
        "handlers learn the session ended"
    );
}

#[test]
fn exec_without_a_handler_is_not_allowed() {
    let script = Script::new().package([Cmd::exec("./FUMO/fw1/Update").label("exec")]);
    let server = TestServer::start(vec![srv1()], script).unwrap();
    let mut tree = handset_for(&server);
    add_fumo(&mut tree, "fw1");
    let outcome = run(&mut tree, Config::default(), Initiation::Client);
    let t = server.finish();
    assert_clean(&t, &outcome);
    assert_eq!(t.status("exec"), Some(405));
}

#[test]
fn get_reads_leaves_child_lists_properties_and_listings() {
    let long_segment = format!("./DMAcc/srv1/{}", "s".repeat(70));
    let long_uri = format!("./DMAcc/srv1/{}", "a/".repeat(300));
    let script = Script::new().package([
        Cmd::get("./DevInfo/Mod").label("leaf"),
        Cmd::get("./DevInfo").label("children"),
        Cmd::get("./DMAcc/srv1?prop=ACL").label("acl"),
        Cmd::get("./DevInfo/Mod?prop=Format").label("format"),
        Cmd::get("./DevInfo/Mod?prop=Type").label("type"),
        Cmd::get("./DMAcc/srv1/AppAddr?list=Struct").label("struct"),
        Cmd::get("./DMAcc/srv1/AppAddr?list=StructData").label("struct-data"),
        Cmd::get("./DMAcc/srv1/AppAddr?list=TNDS+Value+ACL").label("tnds"),
        Cmd::get_all(&["./DevInfo/Man", "./DevInfo/Lang"]).label("two"),
        Cmd::get("./DevInfo/Colour").label("missing"),
        Cmd::get("./DMAcc/srv2/AppID").label("acl-denied"),
        Cmd::get("./DMAcc/srv1/AppAuth/Client/AAuthSecret").label("secret"),
        Cmd::get(&long_segment).label("long-segment"),
        Cmd::get(&long_uri).label("long-uri"),
        Cmd::get("./DevInfo?list=Nonsense").label("bad-list"),
    ]);
    let (t, _) = session(script);
    for label in [
        "leaf",
        "children",
        "acl",
        "format",
        "type",
        "struct",
        "struct-data",
        "tnds",
    ] {
        assert_eq!(t.status(label), Some(200), "{label}");
    }
    let leaf = &t.results_for("leaf")[0];
    assert_eq!(
        (
            leaf.source.as_deref(),
            leaf.format.as_deref(),
            leaf.data_str()
        ),
        (Some("./DevInfo/Mod"), Some("chr"), "test-handset".into())
    );
    let children = &t.results_for("children")[0];
    assert_eq!(children.format.as_deref(), Some("node"));
    let listed = children.data_str();
    let mut names: Vec<&str> = listed.split('/').collect();
    names.sort_unstable();
    assert_eq!(names, ["DevId", "DmV", "Ext", "Lang", "Man", "Mod"]);
    assert_eq!(
        result(&t, "acl"),
        "Get=srv1&Replace=srv1&Add=srv1&Delete=srv1"
    );
    assert_eq!(result(&t, "format"), "chr");
    assert_eq!(result(&t, "type"), "text/plain");
    // Struct: every node of the subtree, no data; StructData: with the leaves' values.
    let uris = |label: &str| -> Vec<String> {
        t.results_for(label)
            .iter()
            .map(|i| i.source.clone().unwrap_or_default())
            .collect()
    };
    let subtree = [
        "./DMAcc/srv1/AppAddr",
        "./DMAcc/srv1/AppAddr/1",
        "./DMAcc/srv1/AppAddr/1/Addr",
        "./DMAcc/srv1/AppAddr/1/AddrType",
    ];
    for label in ["struct", "struct-data"] {
        let mut got = uris(label);
        got.sort();
        assert_eq!(got, subtree, "{label}");
    }
    assert!(t.results_for("struct").iter().all(|i| i.data.is_empty()));
    let addr_type = t
        .results_for("struct-data")
        .into_iter()
        .find(|i| i.source.as_deref() == Some("./DMAcc/srv1/AppAddr/1/AddrType"))
        .unwrap();
    assert_eq!(addr_type.data_str(), "URI");
    let tnds = &t.results_for("tnds")[0];
    assert_eq!(
        tnds.type_.as_deref(),
        Some("application/vnd.syncml.dmtnds+xml")
    );
    let doc = tnds.data_str();
    assert!(
        doc.contains("<MgmtTree") && doc.contains("<NodeName>AddrType</NodeName>"),
        "{doc}"
    );
    assert!(
        doc.contains("<Value>URI</Value>") && !doc.contains("<Format>"),
        "{doc}"
    );
    // One status per item, one Results with both.
    assert_eq!(statuses(&t, "two"), [200, 200]);
    let two: Vec<String> = t
        .results_for("two")
        .iter()
        .map(|i| i.data_str().into_owned())
        .collect();
    assert_eq!(two, ["iotadm", "en-US"]);
    assert_eq!(t.status("missing"), Some(404));
    assert_eq!(t.status("acl-denied"), Some(425));
    assert_eq!(t.status("secret"), Some(405));
    assert_eq!(t.status("long-segment"), Some(414));
    assert_eq!(t.status("long-uri"), Some(414));
    assert_eq!(t.status("bad-list"), Some(406));
    for label in [
        "missing",
        "acl-denied",
        "secret",
        "long-segment",
        "long-uri",
        "bad-list",
    ] {
        assert!(
            t.results_for(label).is_empty(),
            "{label}: no Results after a failure"
        );
    }
}

#[test]
fn atomic_commits_all_or_rolls_back_with_507_and_216() {
    let script = Script::new()
        .package([
            Cmd::atomic([
                Cmd::add("./DMAcc/srv1/Name", "kept").label("ok-add"),
                Cmd::replace("./DMAcc/srv1/AppID", "w8").label("ok-replace"),
            ])
            .label("ok"),
            Cmd::atomic([
                Cmd::replace("./DMAcc/srv1/Name", "lost").label("rb-replace"),
                Cmd::add("./DMAcc/srv1/PrefConRef", "lost too").label("rb-add"),
                Cmd::delete("./DMAcc/srv1/AppAddr/1").label("rb-delete"),
                Cmd::replace("./DevInfo/Mod", "forbidden").label("rb-fail"),
                Cmd::replace("./DMAcc/srv1/AppID", "never").label("rb-after"),
            ])
            .label("rolled-back"),
        ])
        .package([
            Cmd::get("./DMAcc/srv1/Name").label("name"),
            Cmd::get("./DMAcc/srv1/PrefConRef").label("pref"),
            Cmd::get("./DMAcc/srv1/AppAddr/1/Addr").label("addr"),
            Cmd::get("./DMAcc/srv1/AppID").label("appid"),
        ]);
    let (t, mut tree) = session(script);
    assert_eq!(t.status("ok"), Some(200));
    assert_eq!(t.status("ok-add"), Some(200));
    assert_eq!(t.status("ok-replace"), Some(200));
    assert_eq!(t.status("rolled-back"), Some(507));
    for label in ["rb-replace", "rb-add", "rb-delete"] {
        assert_eq!(t.status(label), Some(216), "{label}");
    }
    assert_eq!(t.status("rb-fail"), Some(405));
    // After the failure nothing more ran (215), so nothing of it was rolled back either.
    assert_eq!(t.status("rb-after"), Some(215));
    // The tree is as the first Atomic left it.
    assert_eq!(result(&t, "name"), "kept");
    assert_eq!(t.status("pref"), Some(404));
    assert_eq!(t.status("addr"), Some(200));
    assert_eq!(result(&t, "appid"), "w8");
    assert_eq!(value(&mut tree, "./DMAcc/srv1/Name").unwrap(), b"kept");
    assert_eq!(value(&mut tree, "./DMAcc/srv1/PrefConRef"), None);
}

/// An Alert counts as one command of an Atomic: the statuses after a failure fall on the
/// commands they belong to whether or not an Alert came first.
#[test]
fn an_alert_inside_a_failed_atomic_keeps_the_statuses_in_place() {
    let script = Script::new().package([Cmd::atomic([
        Cmd::display("", "Updating").label("display"),
        Cmd::replace("./DMAcc/srv1/AppID", "lost").label("rb-replace"),
        Cmd::replace("./DevInfo/Mod", "forbidden").label("rb-fail"),
        Cmd::replace("./DMAcc/srv1/AppAddr/1/Addr", "never").label("rb-after"),
    ])
    .label("atomic")]);
    let (t, mut tree) = session(script);
    assert_eq!(t.status("atomic"), Some(507));
    assert_eq!(t.status("display"), Some(216));
    assert_eq!(t.status("rb-replace"), Some(216));
    assert_eq!(t.status("rb-fail"), Some(405));
    assert_eq!(t.status("rb-after"), Some(215));
    assert_ne!(
        value(&mut tree, "./DMAcc/srv1/AppID").as_deref(),
        Some(&b"lost"[..])
    );
}

#[test]
fn atomic_fails_on_a_no_a_get_or_a_nested_atomic() {
    let script = Script::new()
        .package([
            Cmd::atomic([
                Cmd::replace("./DMAcc/srv1/AppID", "maybe").label("no-replace"),
                Cmd::confirm("", "Apply?").label("no-confirm"),
            ])
            .label("no"),
            Cmd::atomic([
                Cmd::replace("./DMAcc/srv1/AppID", "read").label("get-replace"),
                Cmd::get("./DevInfo/Mod").label("get-get"),
            ])
            .label("get"),
            Cmd::atomic([
                Cmd::add("./DMAcc/srv1/Name", "outer").label("nested-add"),
                Cmd::atomic([Cmd::add("./DMAcc/srv1/PrefConRef", "inner").label("nested-inner")])
                    .label("nested-atomic"),
            ])
            .label("nested"),
        ])
        .package([Cmd::get("./DMAcc/srv1/AppID").label("appid")]);
    let server = TestServer::start(vec![srv1()], script).unwrap();
    let mut tree = handset_for(&server);
    let mut user = ScriptedUser::answering([Reply::No]);
    let outcome = run_with(&mut tree, &mut user, Run::default());
    let t = server.finish();
    assert_clean(&t, &outcome);
    // A No inside an Atomic fails it: what ran is rolled back.
    assert_eq!(t.status("no"), Some(507));
    assert_eq!(t.status("no-replace"), Some(216));
    assert_eq!(t.status("no-confirm"), Some(304));
    // A Get's Results could not be taken back: it has no place in an Atomic.
    assert_eq!(t.status("get"), Some(507));
    assert_eq!(t.status("get-replace"), Some(216));
    assert_eq!(t.status("get-get"), Some(500));
    assert!(t.results_for("get-get").is_empty());
    // Nor has an Atomic: it fails with its commands unrun, its parent with it.
    assert_eq!(t.status("nested"), Some(507));
    assert_eq!(t.status("nested-add"), Some(216));
    assert_eq!(t.status("nested-atomic"), Some(500));
    assert_eq!(t.status("nested-inner"), Some(500));
    assert_eq!(result(&t, "appid"), "w7");
    assert_eq!(value(&mut tree, "./DMAcc/srv1/Name"), None);
    assert_eq!(value(&mut tree, "./DMAcc/srv1/PrefConRef"), None);
}

#[test]
fn sequence_skips_its_rest_with_215_after_the_user_says_no() {
    let script = Script::new()
        .package([
            Cmd::sequence([
                Cmd::replace("./DMAcc/srv1/AppID", "before").label("before"),
                Cmd::confirm("MINDT=2", "Install the new settings?").label("confirm"),
                Cmd::replace("./DMAcc/srv1/AppID", "after").label("after"),
                Cmd::get("./DevInfo/Mod").label("get-after"),
            ])
            .label("seq"),
            // Outside the Sequence, the No changes nothing.
            Cmd::add("./DMAcc/srv1/Name", "outside").label("outside"),
        ])
        .package([Cmd::get("./DMAcc/srv1/AppID").label("appid")]);
    let server = TestServer::start(vec![srv1()], script).unwrap();
    let mut tree = handset_for(&server);
    let mut user = ScriptedUser::answering([Reply::No]);
    let outcome = run_with(&mut tree, &mut user, Run::default());
    let t = server.finish();
    assert_clean(&t, &outcome);
    assert_eq!(t.status("seq"), Some(200));
    assert_eq!(t.status("before"), Some(200));
    assert_eq!(t.status("confirm"), Some(304));
    assert_eq!(t.status("after"), Some(215));
    assert_eq!(t.status("get-after"), Some(215));
    assert!(t.results_for("get-after").is_empty());
    assert_eq!(t.status("outside"), Some(200));
    assert_eq!(result(&t, "appid"), "before");
    assert_eq!(user.asked.len(), 1);
    assert_eq!(user.asked[0].text, "Install the new settings?");
    assert_eq!(user.asked[0].min_display, Some(2));
}

#[test]
fn user_interaction_alerts_reach_the_user_and_bring_back_the_answers() {
    let script = Script::new().package([
        Cmd::display("MINDT=3&MAXDT=30", "Your phone will be updated").label("display"),
        Cmd::confirm("DR=1", "Proceed?").label("confirm"),
        Cmd::text_input("MAXLEN=8&IT=N&ET=P&DR=0000", "Enter your PIN").label("text"),
        Cmd::text_input("MAXLEN=5", "Nickname").label("text-cut"),
        Cmd::single_choice("DR=2", "Network", &["Home", "Roaming", "Off"]).label("single"),
        Cmd::multiple_choice("", "Services", &["Voice", "SMS", "Data"]).label("multiple"),
    ]);
    let server = TestServer::start(vec![srv1()], script).unwrap();
    let mut tree = handset_for(&server);
    let mut user = ScriptedUser::answering([
        Reply::Ok,
        Reply::Ok,
        Reply::Text("4321".into()),
        Reply::Text("Maximilian".into()),
        Reply::Choices(vec![3]),
        Reply::Choices(vec![1, 3]),
    ]);
    let outcome = run_with(
        &mut tree,
        &mut user,
        Run {
            cfg: Config {
                encoding: Encoding::Xml,
                ..Config::default()
            },
            ..Run::default()
        },
    );
    let t = server.finish();
    assert_clean(&t, &outcome);
    for label in [
        "display", "confirm", "text", "text-cut", "single", "multiple",
    ] {
        assert_eq!(t.status(label), Some(200), "{label}");
    }
    let answer = |label: &str| status_items(&t, label);
    assert_eq!(answer("display"), Vec::<String>::new());
    assert_eq!(answer("text"), ["4321"]);
    assert_eq!(answer("text-cut"), ["Maxim"], "MAXLEN bounds the text");
    assert_eq!(answer("single"), ["3"]);
    assert_eq!(answer("multiple"), ["1", "3"]);
    let kinds: Vec<UiKind> = user.asked.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            UiKind::Display,
            UiKind::Confirm,
            UiKind::TextInput,
            UiKind::TextInput,
            UiKind::SingleChoice,
            UiKind::MultipleChoice
        ]
    );
    let display: &Asked = &user.asked[0];
    assert_eq!(
        (
            display.text.as_str(),
            display.min_display,
            display.max_display
        ),
        ("Your phone will be updated", Some(3), Some(30))
    );
    let pin = &user.asked[2];
    assert_eq!(
        (
            pin.max_len,
            pin.input_type,
            pin.echo_type,
            pin.default_response.as_deref()
        ),
        (
            Some(8),
            InputType::Numeric,
            EchoType::Password,
            Some("0000")
        )
    );
    assert_eq!(user.asked[4].choices, ["Home", "Roaming", "Off"]);
    assert_eq!(user.asked[4].default_response.as_deref(), Some("2"));
}

#[test]
fn a_handset_without_a_ui_answers_every_alert_406() {
    let script = Script::new().package([
        Cmd::display("", "Hello").label("1100"),
        Cmd::confirm("", "Sure?").label("1101"),
        Cmd::text_input("", "Name?").label("1102"),
        Cmd::single_choice("", "One", &["a", "b"]).label("1103"),
        Cmd::multiple_choice("", "Some", &["a", "b"]).label("1104"),
        Cmd::replace("./DMAcc/srv1/AppID", "still").label("after"),
    ]);
    let server = TestServer::start(vec![srv1()], script).unwrap();
    let mut tree = handset_for(&server);
    let outcome = run_with(&mut tree, &mut NoUi, Run::default());
    let t = server.finish();
    assert_clean(&t, &outcome);
    for label in ["1100", "1101", "1102", "1103", "1104"] {
        assert_eq!(t.status(label), Some(406), "{label}");
    }
    assert_eq!(t.status("after"), Some(200));
}

#[test]
fn a_cancelled_alert_gets_214_and_the_rest_of_the_package_215() {
    let script = Script::new()
        .package([
            Cmd::replace("./DMAcc/srv1/AppID", "first").label("first"),
            Cmd::confirm("", "Continue?").label("cancelled"),
            Cmd::replace("./DMAcc/srv1/AppID", "second").label("skipped"),
            Cmd::sequence([Cmd::get("./DevInfo/Mod").label("in-seq")]).label("seq"),
            Cmd::atomic([
                Cmd::add("./DMAcc/srv1/Name", "no").label("in-atomic"),
                Cmd::sequence([Cmd::delete("./DMAcc/srv1/AppID").label("deeper")])
                    .label("seq-in-atomic"),
            ])
            .label("atomic"),
            Cmd::display("", "Never shown").label("skipped-alert"),
        ])
        // The next package runs again.
        .package([
            Cmd::get("./DMAcc/srv1/AppID").label("appid"),
            Cmd::text_input("MAXDT=5", "Anyone?").label("timeout"),
            Cmd::add("./DMAcc/srv1/Name", "after timeout").label("after-timeout"),
        ]);
    let server = TestServer::start(vec![srv1()], script).unwrap();
    let mut tree = handset_for(&server);
    let mut user = ScriptedUser::answering([Reply::Cancel, Reply::Timeout]);
    let outcome = run_with(&mut tree, &mut user, Run::default());
    let t = server.finish();
    assert_clean(&t, &outcome);
    assert_eq!(t.status("first"), Some(200));
    assert_eq!(t.status("cancelled"), Some(214));
    // Commands inside a skipped Sequence get their own 215 as well.
    for label in [
        "skipped",
        "seq",
        "in-seq",
        "atomic",
        "in-atomic",
        "seq-in-atomic",
        "deeper",
        "skipped-alert",
    ] {
        assert_eq!(t.status(label), Some(215), "{label}");
    }
    assert_eq!(result(&t, "appid"), "first");
    assert_eq!(t.status("timeout"), Some(408));
    assert_eq!(t.status("after-timeout"), Some(200));
    assert_eq!(user.asked.len(), 2, "the skipped alert was never shown");
}

#[test]
fn no_resp_commands_run_without_a_status() {
    let script = Script::new()
        .package([
            Cmd::replace("./DMAcc/srv1/AppID", "quiet")
                .no_resp()
                .label("quiet"),
            Cmd::sequence([Cmd::add("./DMAcc/srv1/Name", "seq").label("in-quiet-seq")])
                .no_resp()
                .label("quiet-seq"),
            Cmd::get("./DevInfo/Lang").label("loud"),
        ])
        .package([Cmd::get("./DMAcc/srv1/AppID").label("appid")]);
    let (t, mut tree) = session(script);
    assert!(statuses(&t, "quiet").is_empty());
    assert!(statuses(&t, "quiet-seq").is_empty());
    assert_eq!(t.status("in-quiet-seq"), Some(200));
    assert_eq!(t.status("loud"), Some(200));
    assert_eq!(result(&t, "appid"), "quiet");
    assert_eq!(value(&mut tree, "./DMAcc/srv1/Name").unwrap(), b"seq");
}

#[test]
fn the_session_moves_to_the_servers_resp_uri() {
    let script = Script::new()
        .package([Cmd::get("./DevInfo/Mod").label("model")])
        .package([Cmd::get("./DevInfo/Man").label("man")]);
    let options = ServerOptions {
        resp_uri: true,
        ..ServerOptions::default()
    };
    let (t, _) = session_with(script, options, Config::default());
    let paths: Vec<&str> = t
        .records()
        .iter()
        .filter(|r| r.direction == iotadm_host::testserver::Direction::ClientToServer)
        .map(|r| r.path.as_str())
        .collect();
    assert!(paths.len() >= 3, "{paths:?}");
    assert_eq!(paths[0], "/dm/srv1");
    assert!(paths[1..].iter().all(|p| *p == "/dm/srv1/s0"), "{paths:?}");
    assert_eq!(result(&t, "man"), "iotadm");
}

#[test]
fn generic_alerts_go_in_package_1_and_their_statuses_come_back() {
    let alerts = [
        GenericAlert {
            correlator: Some("corr-9"),
            source: Some("./FUMO/fw1"),
            target: None,
            alert_type: "urn:oma:at:fumo:1.0:downloadandupdate",
            format: "int",
            mark: Some("critical"),
            data: "200",
        },
        GenericAlert {
            correlator: None,
            source: Some("./FUMO/fw2"),
            target: Some("./Server/Inbox"),
            alert_type: "urn:oma:at:fumo:1.0:update",
            format: "int",
            mark: None,
            data: "410",
        },
    ];
    let script = Script::new().package([Cmd::get("./DevInfo/Mod")]);
    let server = TestServer::start(vec![srv1()], script).unwrap();
    let mut tree = handset_for(&server);
    let outcome = run_with(
        &mut tree,
        &mut NoUi,
        Run {
            alerts: &alerts,
            ..Run::default()
        },
    );
    let t = server.finish();
    assert_clean(&t, &outcome);
    let outcome = outcome.unwrap();
    assert_eq!(
        outcome.alert_status.as_slice(),
        [Some(200.into()), Some(200.into())]
    );
    let sent: Vec<_> = t.generic_alerts().collect();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|a| a.package == 1 && a.answered == 200));
    assert_eq!(sent[0].correlator.as_deref(), Some("corr-9"));
    let item = &sent[0].items[0];
    assert_eq!(
        (
            item.source.as_deref(),
            item.type_.as_deref(),
            item.format.as_deref(),
            item.mark.as_deref(),
            item.data_str()
        ),
        (
            Some("./FUMO/fw1"),
            Some("urn:oma:at:fumo:1.0:downloadandupdate"),
            Some("int"),
            Some("critical"),
            "200".into()
        )
    );
    assert_eq!(sent[1].correlator, None);
    assert_eq!(sent[1].items[0].target.as_deref(), Some("./Server/Inbox"));
    assert_eq!(sent[1].items[0].data_str(), "410");
    let opening = &t.client_commands()[0];
    assert_eq!(opening.alert, Some(1201));
}

#[test]
fn the_server_ends_the_session_with_alert_1223() {
    let script = Script::new()
        .package([
            Cmd::alert(1222, &[]).label("next"),
            Cmd::replace("./DMAcc/srv1/AppID", "before").label("before"),
            Cmd::alert(1223, &[]).label("abort"),
            Cmd::replace("./DMAcc/srv1/AppID", "after").label("after"),
        ])
        .package([Cmd::get("./DevInfo/Mod").label("never")]);
    let server = TestServer::start(vec![srv1()], script).unwrap();
    let mut tree = handset_for(&server);
    let outcome = run(&mut tree, Config::default(), Initiation::Client).unwrap();
    let t = server.finish();
    assert!(outcome.aborted_by_server);
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
    // The handset sent package 1 only, and stopped at the abort.
    assert_eq!(outcome.messages_sent, 1);
    assert!(t.command("never").is_none());
    assert_eq!(value(&mut tree, "./DMAcc/srv1/AppID").unwrap(), b"before");
}

#[test]
fn two_servers_each_with_its_credentials_and_its_acl() {
    let servers = vec![
        Account::new("srv1").client_basic("dev1", "pw1"),
        Account::new("srv2").client_md5("dev2", "pw2", b"n-2"),
    ];
    let script = Script::new()
        .package([
            Cmd::get("./DMAcc/srv1/AppID").label("1-get-own"),
            Cmd::replace("./DMAcc/srv1/AppID", "one").label("1-replace-own"),
            // srv2's ACL lets srv1 read its account, not change it.
            Cmd::get("./DMAcc/srv2/AppID").label("1-get-other"),
            Cmd::replace("./DMAcc/srv2/AppID", "hijack").label("1-replace-other"),
        ])
        .next_session()
        .package([
            Cmd::get("./DMAcc/srv2/AppID").label("2-get-own"),
            Cmd::replace("./DMAcc/srv2/AppID", "two").label("2-replace-own"),
            Cmd::get("./DMAcc/srv1/AppID").label("2-get-other"),
            Cmd::replace("./DMAcc/srv1/AppID", "hijack").label("2-replace-other"),
        ]);
    let server = TestServer::start(servers, script).unwrap();
    let mut tree = handset(NoHandlers);
    let (url1, url2) = (server.url("srv1"), server.url("srv2"));
    provision(
        &mut tree,
        &account(
            "srv1",
            &url1,
            Some(cred(AuthScheme::Basic, "dev1", "pw1", b"")),
            None,
        ),
    );
    let mut srv2 = account(
        "srv2",
        &url2,
        Some(cred(AuthScheme::Md5Digest, "dev2", "pw2", b"n-2")),
        None,
    );
    srv2.acl = Some("Get=srv1+srv2&Replace=srv2&Add=srv2&Delete=srv2");
    provision(&mut tree, &srv2);
    run_accounts(&mut tree, &["srv1", "srv2"]);
    let t = server.finish();
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
    let sessions = t.sessions();
    assert_eq!(
        (
            sessions[0].server_id.as_str(),
            sessions[1].server_id.as_str()
        ),
        ("srv1", "srv2")
    );
    assert!(sessions
        .iter()
        .all(|s| s.authenticated && s.state == SessionState::Completed));
    assert_eq!(result(&t, "1-get-own"), "w7");
    assert_eq!(t.status("1-replace-own"), Some(200));
    assert_eq!(result(&t, "1-get-other"), "w7");
    assert_eq!(t.status("1-replace-other"), Some(425));
    assert_eq!(result(&t, "2-get-own"), "w7");
    assert_eq!(t.status("2-replace-own"), Some(200));
    assert_eq!(t.status("2-get-other"), Some(425));
    assert_eq!(t.status("2-replace-other"), Some(425));
    assert_eq!(value(&mut tree, "./DMAcc/srv1/AppID").unwrap(), b"one");
    assert_eq!(value(&mut tree, "./DMAcc/srv2/AppID").unwrap(), b"two");
    // Each session carried its own account's credentials, and the server accepted them.
    let names: Vec<String> = t
        .records()
        .iter()
        .filter(|r| {
            r.direction == iotadm_host::testserver::Direction::ClientToServer && r.msg_id == 1
        })
        .map(|r| {
            let m = r.message().unwrap();
            let mut v = Vec::new();
            for c in m.header.source.name.unwrap().chunks() {
                v.extend_from_slice(c.as_bytes());
            }
            String::from_utf8(v).unwrap()
        })
        .collect();
    assert_eq!(names, ["dev1", "dev2"]);
    let accepted: Vec<(usize, u16)> = t.header_statuses().map(|s| (s.session, s.code)).collect();
    assert!(
        accepted.contains(&(0, 200)) && accepted.contains(&(1, 200)),
        "{accepted:?}"
    );
}

/// Text of `len` bytes with multi-byte characters and characters XML escapes, so that
/// chunks must end on character boundaries and escaping changes the size.
fn long_text(len: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < len {
        s.push_str(&format!("Grüße & <Tschüß> ☕ {i:05} "));
        i += 1;
    }
    while s.len() > len {
        s.pop();
    }
    s
}

/// Bytes of every value, in an order no compressor would guess.
fn binary(len: usize) -> Vec<u8> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// What the server saw of a Results: source, format and data of each item.
fn results_of(t: &Transcript, label: &str) -> Vec<(Option<String>, Option<String>, Vec<u8>)> {
    t.results_for(label)
        .iter()
        .map(|i| (i.source.clone(), i.format.clone(), i.data.clone()))
        .collect()
}

/// Client messages the server received, and how many carried a chunk of a large Results.
fn client_messages(t: &Transcript) -> (Vec<usize>, usize) {
    let mut sizes = Vec::new();
    let mut chunked = 0;
    for r in t.records() {
        if r.direction != iotadm_host::testserver::Direction::ClientToServer {
            continue;
        }
        sizes.push(r.body.len());
        let m = r.message().unwrap();
        let more = m.body.commands.iter().any(|c| match c {
            iotadm::codec::Command::Results(res) => res.items.iter().any(|i| i.more_data),
            _ => false,
        });
        chunked += usize::from(more);
    }
    (sizes, chunked)
}

/// One session of large Results at the server's MaxMsgSize `max`: a value the platform
/// keeps, one the tree keeps, a `StructData` listing of every account and a TNDS document,
/// then a package of 40 changes.
fn large_results(encoding: Encoding, max: usize, value_len: usize) -> Transcript {
    let script = Script::new()
        .package([
            Cmd::get("./FUMO/fw1/PkgName").label("platform-value"),
            Cmd::get("./DMAcc/srv1/Name").label("tree-value"),
            Cmd::get("./DMAcc?list=StructData").label("struct-data"),
            Cmd::get("./DMAcc/srv1?list=TNDS+Value").label("tnds"),
            Cmd::get("./DevInfo/Mod").label("small"),
        ])
        .package((0..40).map(|i| {
            Cmd::replace("./DMAcc/srv1/AppID", &format!("id {i}")).label(&format!("r{i}"))
        }));
    let options = ServerOptions {
        max_msg_size: Some(max),
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(vec![srv1()], script, options).unwrap();
    let mut platform = Platform::default();
    platform
        .values
        .insert("FUMO/fw1/PkgName".into(), long_text(value_len).into_bytes());
    let handlers = HandlerTable::new([(node_id("./FUMO"), &mut platform as &mut dyn NodeHandler)]);
    let mut tree = handset(handlers);
    provision_accounts(&mut tree, &server);
    add_fumo(&mut tree, "fw1");
    // Accounts of other servers that let srv1 read them, and a DMAcc srv1 may list.
    let other = ["srvA", "srvB", "srvC", "srvD", "srvE", "srvF"];
    let acls: Vec<String> = other
        .iter()
        .map(|id| format!("Get=srv1+{id}&Replace={id}&Add={id}&Delete={id}"))
        .collect();
    for (id, acl) in other.iter().zip(&acls) {
        let mut spec = account(
            id,
            "http://127.0.0.1:9/dm",
            Some(cred(
                AuthScheme::Md5Digest,
                "device-name",
                "secret",
                b"nonce",
            )),
            Some(cred(AuthScheme::Md5Digest, id, "server-secret", b"nonce")),
        );
        spec.acl = Some(acl);
        provision(&mut tree, &spec);
    }
    tree.replace(
        iotadm::tree::Principal::Device,
        "./DMAcc?prop=ACL",
        b"Get=srv1&Exec=*",
        None,
        None,
    )
    .unwrap();
    tree.add(
        iotadm::tree::Principal::Device,
        "./DMAcc/srv1/Name",
        Some(long_text(400).as_bytes()),
        None,
        None,
    )
    .unwrap();
    let cfg = Config {
        encoding,
        max_msg_size: 16 * 1024,
        ..Config::default()
    };
    let outcome = run(&mut tree, cfg, Initiation::Client);
    let t = server.finish();
    assert_clean(&t, &outcome);
    t
}

#[test]
fn large_results_are_split_to_any_max_msg_size_and_arrive_whole() {
    let reference = large_results(Encoding::Wbxml, 64 * 1024, 40_000);
    assert_eq!(
        results_of(&reference, "platform-value")[0].2,
        long_text(40_000).into_bytes()
    );
    assert_eq!(
        results_of(&reference, "tree-value")[0].2,
        long_text(400).into_bytes()
    );
    let listing = results_of(&reference, "struct-data");
    assert!(listing.len() > 90, "{} nodes", listing.len());
    assert!(listing.iter().any(|(uri, _, data)| {
        uri.as_deref() == Some("./DMAcc/srvF/AppAddr/1/Addr") && data == b"http://127.0.0.1:9/dm"
    }));
    assert!(
        !listing
            .iter()
            .any(|(uri, ..)| uri.as_deref().is_some_and(|u| u.ends_with("AAuthSecret"))),
        "secrets are never listed"
    );
    for (encoding, max, value_len) in [
        (Encoding::Wbxml, 512, 3_000),
        (Encoding::Xml, 2048, 12_000),
        (Encoding::Wbxml, 16 * 1024, 40_000),
    ] {
        let label = format!("{encoding:?} at {max}");
        let t = large_results(encoding, max, value_len);
        let (sizes, chunked) = client_messages(&t);
        assert!(sizes.iter().all(|&n| n <= max), "{label}: {sizes:?}");
        assert!(
            chunked >= value_len / max,
            "{label}: {chunked} chunked Results"
        );
        assert_eq!(
            results_of(&t, "platform-value")[0].2,
            long_text(value_len).into_bytes(),
            "{label}"
        );
        if encoding == Encoding::Xml {
            // The first chunk announced the size as sent: the text, escaped or not.
            assert_eq!(
                t.results_for("platform-value")[0].size.as_deref(),
                Some(long_text(value_len).len().to_string().as_str()),
                "{label}"
            );
        }
        for what in ["tree-value", "small"] {
            assert_eq!(
                results_of(&t, what),
                results_of(&reference, what),
                "{label}: {what}"
            );
        }
        // The listings name the server's own address, which differs from run to run.
        let own_url = |t: &Transcript| {
            t.records()[0].message().map(|m| {
                let mut v = Vec::new();
                for c in m.header.target.uri.chunks() {
                    v.extend_from_slice(c.as_bytes());
                }
                v
            })
        };
        let (ours, theirs) = (own_url(&t).unwrap(), own_url(&reference).unwrap());
        let mut expected = results_of(&reference, "struct-data");
        for (uri, _, data) in &mut expected {
            if *data == theirs {
                data.clone_from(&ours);
            }
            // A value no message could carry beside its listing item goes without: the
            // server reads it with a Get, in chunks ("tree-value").
            if max < 512 + 64 && uri.as_deref() == Some("./DMAcc/srv1/Name") {
                data.clear();
            }
        }
        let got = results_of(&t, "struct-data");
        assert_eq!(got.len(), expected.len(), "{label}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g, e, "{label}");
        }
        let tnds = |t: &Transcript, url: &[u8]| {
            String::from_utf8(results_of(t, "tnds")[0].2.clone())
                .unwrap()
                .replace(std::str::from_utf8(url).unwrap(), "URL")
        };
        assert_eq!(tnds(&t, &ours), tnds(&reference, &theirs), "{label}: tnds");
        for i in 0..40 {
            assert_eq!(t.status(&format!("r{i}")), Some(200), "{label}: r{i}");
        }
    }
}

#[test]
fn a_large_object_streams_into_the_platform_213_per_chunk_then_200() {
    let package = binary(20_000);
    let b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&package)
    };
    for encoding in [Encoding::Wbxml, Encoding::Xml] {
        let cmd = match encoding {
            Encoding::Wbxml => Cmd::replace_value(
                "./FUMO/fw1/Update/PkgData",
                iotadm_host::testserver::Value::Bytes(package.clone()),
            )
            .format("bin"),
            // Binary data travels in XML as Base64, decoded on its way into the node.
            _ => Cmd::replace("./FUMO/fw1/Update/PkgData", &b64).format("b64"),
        };
        let script =
            Script::new().package([cmd.label("pkg"), Cmd::get("./DevInfo/Mod").label("after")]);
        let server = TestServer::start(vec![srv1()], script).unwrap();
        let mut platform = Platform::default();
        {
            let handlers =
                HandlerTable::new([(node_id("./FUMO"), &mut platform as &mut dyn NodeHandler)]);
            let mut tree = handset(handlers);
            provision_accounts(&mut tree, &server);
            add_fumo(&mut tree, "fw1");
            let cfg = Config {
                encoding,
                max_msg_size: 4096,
                ..Config::default()
            };
            let outcome = run(&mut tree, cfg, Initiation::Client);
            let t = server.finish();
            assert_clean(&t, &outcome);
            let codes = statuses(&t, "pkg");
            let sends = t.command("pkg").unwrap().sends.len();
            assert!(sends >= 5, "{encoding:?}: {sends} chunks");
            assert_eq!(codes.len(), sends, "{encoding:?}");
            assert!(
                codes[..sends - 1].iter().all(|&c| c == 213),
                "{encoding:?}: {codes:?}"
            );
            assert_eq!(codes[sends - 1], 200, "{encoding:?}");
            assert_eq!(t.status("after"), Some(200));
        }
        assert_eq!(
            platform.values.get("FUMO/fw1/Update/PkgData"),
            Some(&package),
            "{encoding:?}"
        );
        assert!(platform.chunks >= 5, "streamed, not buffered whole");
    }
}

#[test]
fn a_large_object_into_a_leaf_the_tree_keeps() {
    let text = long_text(300);
    let script = Script::new()
        .package([Cmd::add("./DMAcc/srv1/Name", &text).label("name")])
        .package([Cmd::get("./DMAcc/srv1/Name").label("read-back")]);
    let cfg = Config {
        max_msg_size: 512,
        ..Config::default()
    };
    let (t, mut tree) = session_with(script, ServerOptions::default(), cfg);
    let codes = statuses(&t, "name");
    assert!(codes.len() >= 2, "{codes:?}");
    assert!(
        codes[..codes.len() - 1].iter().all(|&c| c == 213),
        "{codes:?}"
    );
    assert_eq!(codes.last(), Some(&200));
    assert_eq!(
        value(&mut tree, "./DMAcc/srv1/Name").unwrap(),
        text.as_bytes()
    );
    assert_eq!(result(&t, "read-back"), text);
}

#[test]
fn a_large_object_over_max_obj_size_is_refused_413() {
    let script = Script::new().package([
        Cmd::replace_value(
            "./FUMO/fw1/Update/PkgData",
            iotadm_host::testserver::Value::Bytes(binary(8000)),
        )
        .format("bin")
        .label("pkg"),
        Cmd::get("./DevInfo/Mod").label("after"),
    ]);
    let options = ServerOptions {
        respect_max_obj_size: false,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(vec![srv1()], script, options).unwrap();
    let mut platform = Platform::default();
    {
        let handlers =
            HandlerTable::new([(node_id("./FUMO"), &mut platform as &mut dyn NodeHandler)]);
        let mut tree = handset(handlers);
        provision_accounts(&mut tree, &server);
        add_fumo(&mut tree, "fw1");
        let cfg = Config {
            max_msg_size: 2048,
            max_obj_size: 4096,
            ..Config::default()
        };
        let outcome = run(&mut tree, cfg, Initiation::Client);
        let t = server.finish();
        assert_clean(&t, &outcome);
        assert_eq!(
            t.sessions()[0].max_obj_size,
            Some(4096),
            "declared in package 1"
        );
        assert_eq!(statuses(&t, "pkg"), [413], "refused at the first chunk");
        assert_eq!(t.status("after"), Some(200));
    }
    assert!(platform.values.is_empty() && platform.chunks == 0);
}

/// TND §7.7.2: binary data is `bin` in the tree and travels in XML as Base64 with the
/// Format `b64`. A plain Add of a `bin` node with Format `b64` stores the bytes, and a Get
/// answers them as Base64 (`b64`) in XML and as opaque bytes (`bin`) in WBXML.
#[test]
fn binary_values_travel_as_b64_in_xml_and_are_stored_as_bytes() {
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let script = Script::new()
            .package([
                Cmd::add_node("./Test/b"),
                Cmd::add("./Test/b/Bin", "AAEC/v8=")
                    .format("b64")
                    .label("add"),
            ])
            .package([
                Cmd::get("./Test/b/Bin").label("get"),
                Cmd::get("./Test/b/Bin?prop=Format").label("format"),
                Cmd::get("./Test/b/Bin?prop=Size").label("size"),
            ]);
        let cfg = Config {
            encoding,
            ..Config::default()
        };
        let (t, mut tree) = session_with(script, ServerOptions::default(), cfg);
        assert_eq!(t.status("add"), Some(200), "{encoding:?}");
        assert_eq!(
            value(&mut tree, "./Test/b/Bin").unwrap(),
            [0, 1, 2, 0xFE, 0xFF]
        );
        let got = t.results_for("get");
        assert_eq!(got.len(), 1);
        match encoding {
            Encoding::Xml => {
                assert_eq!(got[0].format.as_deref(), Some("b64"));
                assert_eq!(got[0].data_str(), "AAEC/v8=");
            }
            Encoding::Wbxml => {
                assert_eq!(got[0].format.as_deref(), Some("bin"));
                assert_eq!(got[0].data, [0, 1, 2, 0xFE, 0xFF]);
            }
        }
        assert_eq!(result(&t, "format"), "bin");
        assert_eq!(result(&t, "size"), "5");
    }
}

/// A node's value is the same through Get, `?list=StructData` and `?list=TNDS`, whoever
/// keeps it: here the URI limits of DevDetail, which the tree computes.
#[test]
fn a_value_is_the_same_through_get_struct_data_and_tnds() {
    let leaves = ["MaxDepth", "MaxTotLen", "MaxSegLen"];
    let mut first: Vec<Cmd> = leaves
        .iter()
        .map(|l| Cmd::get(&format!("./DevDetail/URI/{l}")).label(l))
        .collect();
    first.push(Cmd::get("./DevDetail/URI?list=StructData").label("struct"));
    first.push(Cmd::get("./DevDetail/URI?list=TNDS+Value").label("tnds"));
    let (t, _) = session(Script::new().package(first));
    let structure = t.results_for("struct");
    let tnds = result(&t, "tnds");
    for leaf in leaves {
        let got = result(&t, leaf);
        assert!(!got.is_empty(), "{leaf}");
        let uri = format!("./DevDetail/URI/{leaf}");
        let item = structure
            .iter()
            .find(|i| i.source.as_deref() == Some(uri.as_str()))
            .unwrap_or_else(|| panic!("{uri} not in StructData"));
        assert_eq!(item.data_str(), got, "{leaf} through StructData");
        assert!(
            tnds.contains(&format!(
                "<NodeName>{leaf}</NodeName><RTProperties></RTProperties><Value>{got}</Value>"
            )),
            "{leaf} = {got} not in {tnds}"
        );
    }
}

/// DM Protocol 1.2 §2.5.3: alert options are URL-encoded. The user sees, and the server
/// gets back, the decoded default response.
#[test]
fn default_responses_are_url_decoded_for_the_user_and_the_server() {
    let script = Script::new().package([
        Cmd::text_input("DR=Some+text&MAXLEN=20", "Name?").label("text"),
        Cmd::text_input("IT=P&DR=%2B390523884182", "Number?").label("phone"),
        Cmd::multiple_choice("DR=1-3", "Which?", &["a", "b", "c"]).label("multi"),
    ]);
    // The default answers: each alert answered with its DR.
    let (t, _) = session(script);
    assert_eq!(status_items(&t, "text"), ["Some text"]);
    assert_eq!(status_items(&t, "phone"), ["+390523884182"]);
    assert_eq!(status_items(&t, "multi"), ["1", "3"]);
}

/// No server may ever act with another server's identity: a session acts as the account
/// it authenticated with, whose `ServerID` no server can rewrite (its DDF access is Add and
/// Get only) and no other account can share. Server B cannot take A's ServerID, neither by
/// Replace nor through a new account, and in its next session it still cannot read or
/// change A's account.
#[test]
fn a_server_cannot_take_another_servers_identity() {
    let servers = vec![
        Account::new("srvA").client_basic("devA", "pwA"),
        Account::new("srvB").client_basic("devB", "pwB"),
    ];
    let script = Script::new()
        .next_session()
        .package([
            Cmd::replace("./DMAcc/srvB/ServerID", "srvA").label("rename"),
            Cmd::add("./DMAcc/evil/ServerID", "srvA").label("clone"),
            Cmd::add("./DMAcc/fresh/ServerID", "srvC").label("new-identity"),
        ])
        .next_session()
        .package([
            Cmd::get("./DMAcc/srvA/AppAddr/1/Addr").label("read-a"),
            Cmd::replace("./DMAcc/srvA/AppAuth/Client/AAuthSecret", "mine").label("steal-a"),
            Cmd::get("./DMAcc/srvB/ServerID").label("own-id"),
        ]);
    let server = TestServer::start(servers, script).unwrap();
    let mut tree = handset(NoHandlers);
    for (id, name, pw) in [("srvA", "devA", "pwA"), ("srvB", "devB", "pwB")] {
        provision(
            &mut tree,
            &account(
                id,
                &server.url(id),
                Some(cred(AuthScheme::Basic, name, pw, b"")),
                None,
            ),
        );
    }
    // The operator lets B create accounts, so that only the identity rule stands in the way.
    tree.replace(
        iotadm::tree::Principal::Device,
        "./DMAcc?prop=ACL",
        b"Add=srvB&Exec=*",
        None,
        None,
    )
    .unwrap();
    run_accounts(&mut tree, &["srvA", "srvB", "srvB"]);
    let t = server.finish();
    assert_eq!(t.status("rename"), Some(405), "ServerID cannot be replaced");
    assert_eq!(
        t.status("clone"),
        Some(403),
        "no second account with A's ServerID"
    );
    assert_eq!(
        t.status("new-identity"),
        Some(200),
        "a new identity is fine"
    );
    assert_eq!(value(&mut tree, "./DMAcc/srvB/ServerID").unwrap(), b"srvB");
    assert_eq!(
        value(&mut tree, "./DMAcc/evil"),
        None,
        "the refused Add left nothing"
    );
    assert_eq!(t.status("read-a"), Some(425));
    assert_eq!(t.status("steal-a"), Some(425));
    assert_eq!(result(&t, "own-id"), "srvB");
    assert_eq!(
        value(&mut tree, "./DMAcc/srvA/AppAuth/Client/AAuthSecret").unwrap(),
        b"pwA"
    );
}

/// Client messages of a transcript, with their sizes.
fn client_sizes(t: &Transcript) -> Vec<usize> {
    t.records()
        .iter()
        .filter(|r| r.direction == iotadm_host::testserver::Direction::ClientToServer)
        .map(|r| r.body.len())
        .collect()
}

/// A session answers within the server's MaxMsgSize down to what its header and its
/// largest command need (300 bytes in WBXML here, 1,000 in XML): statuses lose the
/// references the DTD makes optional, DevInfo and listings spread over messages, values go
/// in chunks. Below that it ends cleanly with an error naming the limit, never with a
/// message over it.
#[test]
fn a_small_server_max_msg_size_is_honoured_or_the_session_ends_cleanly() {
    let script = || {
        Script::new().package([
            Cmd::get("./DevInfo/Mod").label("mod"),
            Cmd::get("./DMAcc/srv1?list=Struct").label("struct"),
            Cmd::get("./DevDetail?list=StructData").label("data"),
            Cmd::add(
                "./DMAcc/srv1/Name",
                "a name long enough to need a chunk of its own",
            )
            .label("name"),
            Cmd::text_input("DR=Some+text", "Name?").label("ask"),
            Cmd::get("./DMAcc/srv1/Name").label("read"),
        ])
    };
    for (encoding, max) in [(Encoding::Wbxml, 300), (Encoding::Xml, 1000)] {
        let options = ServerOptions {
            max_msg_size: Some(max),
            ..ServerOptions::default()
        };
        let cfg = Config {
            encoding,
            server_max_msg_size: max as u32,
            ..Config::default()
        };
        let (t, _) = session_with(script(), options, cfg);
        let sizes = client_sizes(&t);
        assert!(sizes.iter().all(|&n| n <= max), "{encoding:?}: {sizes:?}");
        assert!(sizes.len() > 4, "{encoding:?}: {sizes:?}");
        for label in ["mod", "struct", "data", "name", "ask", "read"] {
            assert_eq!(t.status(label), Some(200), "{encoding:?} {label}");
        }
        assert_eq!(
            result(&t, "read"),
            "a name long enough to need a chunk of its own"
        );
        assert_eq!(status_items(&t, "ask"), ["Some text"]);
    }

    // Declared with a challenge: the package 1 sent again fits.
    let options = ServerOptions {
        max_msg_size: Some(300),
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(
        vec![Account::new("srv1").client_md5("dev", "devpw", b"fresh")],
        script(),
        options,
    )
    .unwrap();
    // The first message cannot know the limit, and its nonce is stale: both on purpose.
    server.expect_violations();
    let mut tree = common::device::device(
        &server.url("srv1"),
        cred(AuthScheme::Md5Digest, "dev", "devpw", b"stale"),
        None,
    );
    let outcome = run(&mut tree, Config::default(), Initiation::Client);
    let t = server.finish();
    assert!(outcome.is_ok(), "{outcome:?}\n{}", t.render());
    let sizes = client_sizes(&t);
    assert!(sizes[1..].iter().all(|&n| n <= 300), "{sizes:?}");
    assert_eq!(t.violations().len(), 2, "{:#?}", t.violations());

    // Below what a command needs: a clean end, nothing over the limit sent.
    let options = ServerOptions {
        max_msg_size: Some(200),
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(vec![srv1()], script(), options).unwrap();
    let mut tree = handset_for(&server);
    let cfg = Config {
        server_max_msg_size: 200,
        ..Config::default()
    };
    let outcome = run(&mut tree, cfg, Initiation::Client);
    let t = server.finish();
    match outcome {
        Err(iotadm::session::ClientError::Session(iotadm::session::Error::ServerMaxMsgSize {
            limit: 200,
            header,
        })) => assert!(header > 100, "{header}"),
        other => panic!("{other:?}"),
    }
    assert!(client_sizes(&t).iter().all(|&n| n <= 200));
}

/// An Atomic's statuses are answered in one message whatever their number, as long as the
/// message holds them (DM RepPro 1.2: 517 is for an answer larger than a message, not for
/// a queue): a hundred commands succeed with 200 each, or fail with 507, 216 for what had
/// run, the failing code, and 215 for what never ran. One whose answer cannot fit even a
/// message of its own gets 517; one that does not fit after other commands goes first in
/// the next message.
#[test]
fn an_atomic_is_answered_whole_whatever_its_size() {
    let adds = |prefix: &str, n: usize| -> Vec<Cmd> {
        (0..n)
            .map(|i| Cmd::add_node(&format!("./Test/{prefix}{i}")).label(&format!("{prefix}{i}")))
            .collect()
    };
    let mut failing = adds("f", 100);
    failing[40] = Cmd::replace("./DevInfo/Mod", "forbidden").label("f40");
    let script = Script::new()
        .package([Cmd::atomic(adds("a", 100)).label("ok")])
        .package([Cmd::atomic(failing).label("failed")]);
    let options = ServerOptions {
        max_msg_size: Some(60_000),
        ..ServerOptions::default()
    };
    let cfg = Config {
        max_msg_size: 32 * 1024,
        ..Config::default()
    };
    let (t, mut tree) = session_with(script, options, cfg);
    assert_eq!(t.status("ok"), Some(200));
    for i in 0..100 {
        assert_eq!(t.status(&format!("a{i}")), Some(200), "a{i}");
    }
    assert!(value(&mut tree, "./Test/a99").is_some());
    assert_eq!(t.status("failed"), Some(507));
    for i in 0..100 {
        let expect = match i {
            0..40 => 216,
            40 => 405,
            _ => 215,
        };
        assert_eq!(t.status(&format!("f{i}")), Some(expect), "f{i}");
    }
    assert_eq!(value(&mut tree, "./Test/f0"), None, "rolled back");

    // A server MaxMsgSize that cannot hold the answer: 517, and nothing of it stays.
    let options = ServerOptions {
        max_msg_size: Some(1500),
        ..ServerOptions::default()
    };
    let cfg = Config {
        server_max_msg_size: 1500,
        ..Config::default()
    };
    let script = Script::new()
        .package([
            Cmd::get("./DevInfo/Mod").label("before"),
            Cmd::atomic(adds("b", 60)).label("big"),
        ])
        .package([Cmd::atomic(adds("c", 8)).label("small")]);
    let (t, mut tree) = session_with(script, options, cfg);
    assert_eq!(t.status("before"), Some(200));
    assert_eq!(t.status("big"), Some(517));
    assert_eq!(t.status("b0"), None, "only the Atomic's own status");
    assert_eq!(value(&mut tree, "./Test/b0"), None);
    assert_eq!(t.status("small"), Some(200));
    // Each client message kept to the limit, the Atomic's answer in one of them.
    assert!(
        client_sizes(&t).iter().all(|&n| n <= 1500),
        "{:?}",
        client_sizes(&t)
    );
}

/// A leaf whose value its handler keeps, counting how it is read: with an empty buffer
/// (to learn the size) and with room for the bytes.
#[derive(Default)]
struct CountingReads {
    probes: usize,
    reads: usize,
}

impl NodeHandler for CountingReads {
    fn stores_values(&self, node: &iotadm::tree::NodeRef<'_>) -> bool {
        node.path.ends_with("/HwV")
    }

    fn read(
        &mut self,
        _node: &iotadm::tree::NodeRef<'_>,
        offset: usize,
        out: &mut [u8],
    ) -> Result<(usize, usize), iotadm::codes::StatusCode> {
        const VALUE: &[u8] = b"kept by its handler";
        if out.is_empty() {
            self.probes += 1;
        } else {
            self.reads += 1;
        }
        let from = VALUE.get(offset..).unwrap_or(&[]);
        let n = from.len().min(out.len());
        out[..n].copy_from_slice(&from[..n]);
        Ok((n, VALUE.len()))
    }
}

/// What `NodeHandler::read` documents: a Get of a value that fits one message reads it
/// three times, twice with an empty buffer (when the Get is checked, and before its
/// Results is written) and once for its bytes. `./DevDetail/HwV` is device information,
/// which the session also probes once as it starts (it must not be empty).
#[test]
fn a_get_of_a_handlers_value_probes_its_size_twice_and_reads_it_once() {
    let script = Script::new().package([Cmd::get("./DevDetail/HwV").label("hwv")]);
    let server = TestServer::start(vec![srv1()], script).unwrap();
    let mut counting = CountingReads::default();
    let handlers = HandlerTable::new([(
        node_id("./DevDetail/HwV"),
        &mut counting as &mut dyn NodeHandler,
    )]);
    let mut tree = handset(handlers);
    provision_accounts(&mut tree, &server);
    let outcome = run(&mut tree, Config::default(), Initiation::Client);
    let t = server.finish();
    assert_clean(&t, &outcome);
    let hwv = t.results_for("hwv");
    assert_eq!(hwv.len(), 1, "{}", t.render());
    assert_eq!(hwv[0].data_str(), "kept by its handler");
    drop(tree);
    assert_eq!((counting.probes, counting.reads), (1 + 2, 1));
}

//! How sessions and accounts come about, through the public API: a package 0 from the test
//! server is verified before anything starts (forged, altered, truncated, replayed, foreign
//! or of another version: refused, and no session follows), its UI mode is honoured, and a
//! valid one, raw or in a WAP Push, starts the session it names. A bootstrap is applied
//! only when authentic, and all or nothing.

mod common;

use common::device::{
    account, cred, handset, provision, run_with, value, DmTree, Run, ScriptedUser,
};
use iotadm::auth::AuthScheme;
use iotadm::bootstrap::{compute_mac, imsi_key, mac_hex, BootstrapError, BootstrapKeys, SecMethod};
use iotadm::codec::{self, Encoding};
use iotadm::codes::StatusCode;
use iotadm::notification::wsp::{
    AppId, MediaType, Param, ParamName, ParamValue, PushRepr, APP_SYNCML_DM, CT_SYNCML_DM_WBXML,
};
use iotadm::notification::{Initiator, NotificationError, NotificationRepr, UiMode, VERSION_1_2};
use iotadm::session::{
    accept_notification, apply_bootstrap, BootstrapSource, Error, Initiation, NoUi, Trigger,
};
use iotadm::tree::NoHandlers;
use iotadm_host::sim::AccountSpec;
use iotadm_host::testserver::{Account, Cmd, Script, SessionState, TestServer};

/// A server that signs its package 0 (and its messages) with MD5 credentials, and a
/// handset provisioned for it.
fn notifying_server(script: Script) -> (TestServer, DmTree) {
    let server = TestServer::start(
        vec![Account::new("srv1")
            .client_basic("dev", "devpw")
            .server_cred(AuthScheme::Md5Digest, "srv1", "srvpw", b"s-1")],
        script,
    )
    .unwrap();
    let mut tree = handset(NoHandlers);
    provision(
        &mut tree,
        &account(
            "srv1",
            &server.url("srv1"),
            Some(cred(AuthScheme::Basic, "dev", "devpw", b"")),
            Some(cred(AuthScheme::Md5Digest, "srv1", "srvpw", b"s-1")),
        ),
    );
    (server, tree)
}

fn start(
    tree: &mut DmTree,
    trigger: &Trigger,
) -> Result<iotadm::session::Outcome, common::device::RunError> {
    run_with(
        tree,
        &mut NoUi,
        Run {
            account: &trigger.account,
            initiation: trigger.initiation,
            ..Run::default()
        },
    )
}

#[test]
fn a_valid_package_0_raw_or_pushed_starts_the_session_it_names() {
    for (push, session_id, hex) in [(false, 0x0BEE_u16, "BEE"), (true, 0x1A2B, "1A2B")] {
        let script = Script::new().package([Cmd::get("./DevInfo/Man").label("man")]);
        let (server, mut tree) = notifying_server(script);
        let bytes = if push {
            server.package0_push("srv1", UiMode::Background, session_id)
        } else {
            server.package0("srv1", UiMode::Background, session_id)
        }
        .unwrap();
        let mut user = ScriptedUser::default();
        let trigger = accept_notification(&mut tree, &mut user, &bytes).unwrap();
        assert_eq!(
            trigger,
            Trigger {
                account: "srv1".try_into().unwrap(),
                initiation: Initiation::Server { session_id },
                ui_mode: UiMode::Background,
                initiator: Initiator::Server,
                nonce_resync: false,
            }
        );
        assert!(user.consulted.is_empty() && user.informed.is_empty());
        let outcome = start(&mut tree, &trigger);
        let t = server.finish();
        assert!(outcome.is_ok(), "push {push}: {outcome:?}\n{}", t.render());
        assert!(
            t.violations().is_empty(),
            "push {push}: {:#?}",
            t.violations()
        );
        assert_eq!(t.sessions()[0].session_id, hex);
        assert_eq!(t.sessions()[0].state, SessionState::Completed);
        assert_eq!(t.client_commands()[0].alert, Some(1200));
        assert_eq!(t.results_for("man")[0].data_str(), "iotadm");
    }
}

#[test]
fn a_forged_altered_truncated_foreign_or_unknown_package_0_starts_nothing() {
    let (server, mut tree) = notifying_server(Script::new());
    let genuine = server
        .package0("srv1", UiMode::UserInteraction, 0x42)
        .unwrap();
    let mut user = ScriptedUser::default();
    let mut refuse = |tree: &mut DmTree, bytes: &[u8]| {
        accept_notification(tree, &mut user, bytes).expect_err("refused")
    };
    // Signed with a secret the handset does not share.
    let mut forger = server.account("srv1").unwrap();
    forger.server.secret = b"guess".to_vec();
    server.set_account(forger);
    let forged = server
        .package0("srv1", UiMode::UserInteraction, 0x42)
        .unwrap();
    assert_eq!(
        refuse(&mut tree, &forged),
        Error::Notification(NotificationError::DigestMismatch)
    );
    // The genuine one with another session id.
    let mut altered = genuine.clone();
    let last = altered.len() - 1;
    altered[last - 5] ^= 0x01;
    assert_eq!(
        refuse(&mut tree, &altered),
        Error::Notification(NotificationError::DigestMismatch)
    );
    // Cut short: in the server id, and in the header.
    for cut in [genuine.len() - 1, 20] {
        assert!(
            matches!(
                refuse(&mut tree, &genuine[..cut]),
                Error::Notification(NotificationError::Truncated { .. })
            ),
            "{cut}"
        );
    }
    // From a server the handset has no account for.
    let stranger = TestServer::start(
        vec![Account::new("srv9").server_cred(AuthScheme::Md5Digest, "srv9", "pw9", b"n")],
        Script::new(),
    )
    .unwrap();
    let foreign = stranger.package0("srv9", UiMode::Background, 7).unwrap();
    assert_eq!(
        refuse(&mut tree, &foreign),
        Error::Account(StatusCode::NotFound)
    );
    // Of a version this client does not read, correctly signed.
    let repr = NotificationRepr {
        version: VERSION_1_2 + 2,
        ui_mode: UiMode::Background,
        initiator: Initiator::Server,
        session_id: 9,
        server_id: b"srv1",
        vendor_specific: &[],
    };
    let mut future = vec![0u8; repr.buffer_len()];
    let n = repr.emit(b"srvpw", b"s-1", &mut future).unwrap();
    assert_eq!(
        refuse(&mut tree, &future[..n]),
        Error::Notification(NotificationError::UnsupportedVersion(VERSION_1_2 + 2))
    );
    assert!(user.consulted.is_empty(), "nobody asked the user");
    // The genuine one still passes, and nothing reached the server.
    accept_notification(&mut tree, &mut ScriptedUser::default(), &genuine).unwrap();
    assert!(server.finish().records().is_empty());
    assert!(stranger.finish().records().is_empty());
}

#[test]
fn a_package_0_replayed_after_its_nonce_moved_on_is_refused() {
    let script = Script::new().package([Cmd::get("./DevInfo/Mod")]);
    let (server, mut tree) = notifying_server(script);
    let old = server.package0("srv1", UiMode::Background, 0x77).unwrap();
    let trigger = accept_notification(&mut tree, &mut NoUi, &old).unwrap();
    // The session hands the server a new nonce for its credentials...
    assert!(start(&mut tree, &trigger).is_ok());
    let stored = value(&mut tree, "./DMAcc/srv1/AppAuth/Server/AAuthData").unwrap();
    assert_ne!(stored, b"s-1");
    // ...so the package 0 digested over the old one no longer verifies, while a new one does.
    assert_eq!(
        accept_notification(&mut tree, &mut NoUi, &old),
        Err(Error::Notification(NotificationError::DigestMismatch))
    );
    let fresh = server.package0("srv1", UiMode::Background, 0x78).unwrap();
    assert!(accept_notification(&mut tree, &mut NoUi, &fresh).is_ok());
}

#[test]
fn the_ui_mode_decides_whether_the_user_is_told_or_asked() {
    let (server, mut tree) = notifying_server(Script::new());
    for (mode, refuse, informed, consulted) in [
        (UiMode::NotSpecified, false, false, false),
        (UiMode::Background, false, false, false),
        (UiMode::Informative, false, true, false),
        (UiMode::UserInteraction, false, false, true),
        (UiMode::UserInteraction, true, false, true),
    ] {
        let bytes = server.package0("srv1", mode, 5).unwrap();
        let mut user = ScriptedUser {
            refuse_sessions: refuse,
            ..ScriptedUser::default()
        };
        let result = accept_notification(&mut tree, &mut user, &bytes);
        if refuse {
            assert_eq!(result, Err(Error::Declined), "{mode:?}");
        } else {
            assert_eq!(result.unwrap().ui_mode, mode);
        }
        assert_eq!(user.informed == ["srv1"], informed, "{mode:?}");
        assert_eq!(user.consulted == ["srv1"], consulted, "{mode:?}");
        assert!(user.informed.len() + user.consulted.len() <= 1);
    }
    assert!(server.finish().records().is_empty());
}

/// An account as a bootstrap document: XML, or WBXML as pushed over the air.
fn bootstrap_document(spec: &AccountSpec<'_>, encoding: Encoding) -> Vec<u8> {
    let xml = spec.bootstrap_message();
    let msg = codec::parse(xml.as_bytes()).unwrap();
    let mut out = vec![0u8; msg.encoded_len(encoding).unwrap()];
    let n = msg.encode(encoding, &mut out).unwrap();
    out.truncate(n);
    out
}

fn push(params: &[Param<'_>], body: &[u8]) -> Vec<u8> {
    let repr = PushRepr {
        transaction_id: 1,
        media: MediaType::WellKnown(CT_SYNCML_DM_WBXML),
        params,
        application_id: Some(AppId::Code(APP_SYNCML_DM)),
        body,
    };
    let mut out = vec![0u8; body.len() + 128];
    let n = repr.emit(&mut out).unwrap();
    out.truncate(n);
    out
}

fn sec(code: u64) -> Param<'static> {
    Param {
        name: ParamName::WellKnown(iotadm::notification::wsp::PARAM_SEC),
        value: ParamValue::Integer(code),
    }
}

fn mac(hex: &[u8]) -> Param<'_> {
    Param {
        name: ParamName::WellKnown(iotadm::notification::wsp::PARAM_MAC),
        value: ParamValue::Text(hex),
    }
}

#[test]
fn a_pushed_bootstrap_is_applied_only_when_its_mac_verifies() {
    let server = TestServer::start(
        vec![Account::new("srvB").client_md5("dev", "devpw", b"n-1")],
        Script::new().package([Cmd::get("./DMAcc/srvB/ServerID").label("id")]),
    )
    .unwrap();
    let url = server.url("srvB");
    let spec = account(
        "srvB",
        &url,
        Some(cred(AuthScheme::Md5Digest, "dev", "devpw", b"n-1")),
        None,
    );
    let doc = bootstrap_document(&spec, Encoding::Wbxml);
    let imsi = imsi_key(b"310150123456789").unwrap();
    let keys = BootstrapKeys {
        network_secret: Some(&imsi),
        user_pin: None,
    };
    let good = mac_hex(&compute_mac(SecMethod::NetworkPin, &doc, &keys).unwrap());
    let other_key = BootstrapKeys {
        network_secret: Some(b"another network"),
        user_pin: None,
    };
    let bad = mac_hex(&compute_mac(SecMethod::NetworkPin, &doc, &other_key).unwrap());
    let mut altered = doc.clone();
    let at = altered.len() / 2;
    altered[at] ^= 0x20;
    let mut scratch = [0u8; 4096];
    for (label, pdu, expected) in [
        (
            "wrong MAC",
            push(&[sec(0), mac(&bad)], &doc),
            BootstrapError::MacMismatch,
        ),
        (
            "altered",
            push(&[sec(0), mac(&good)], &altered),
            BootstrapError::MacMismatch,
        ),
        (
            "no SEC",
            push(&[mac(&good)], &doc),
            BootstrapError::Unauthenticated,
        ),
        ("no MAC", push(&[sec(0)], &doc), BootstrapError::MissingMac),
    ] {
        let mut tree = handset(NoHandlers);
        let result = apply_bootstrap(
            &mut tree,
            &pdu,
            BootstrapSource::Push(keys),
            None,
            &mut scratch,
        );
        assert_eq!(result, Err(Error::BootstrapAuth(expected)), "{label}");
        assert_eq!(
            value(&mut tree, "./DMAcc/srvB"),
            None,
            "{label}: nothing stored"
        );
    }
    // The authentic one provisions an account the handset can use at once.
    let mut tree = handset(NoHandlers);
    let pdu = push(&[sec(0), mac(&good)], &doc);
    let applied = apply_bootstrap(
        &mut tree,
        &pdu,
        BootstrapSource::Push(keys),
        None,
        &mut scratch,
    );
    assert!(applied.unwrap() > 10);
    let outcome = run_with(
        &mut tree,
        &mut NoUi,
        Run {
            account: "srvB",
            ..Run::default()
        },
    );
    let t = server.finish();
    assert!(outcome.is_ok(), "{outcome:?}\n{}", t.render());
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
    assert!(t.sessions()[0].authenticated);
    assert_eq!(t.results_for("id")[0].data_str(), "srvB");
}

#[test]
fn a_bootstrap_with_a_textual_content_type_is_verified_the_same_way() {
    let spec = account(
        "srvC",
        "http://127.0.0.1:9/dm",
        Some(cred(AuthScheme::Basic, "dev", "pw", b"")),
        None,
    );
    let doc = bootstrap_document(&spec, Encoding::Wbxml);
    let keys = BootstrapKeys {
        network_secret: None,
        user_pin: Some(b"1234"),
    };
    let hex = mac_hex(&compute_mac(SecMethod::UserPin, &doc, &keys).unwrap());
    let header = |media: &str, sec: &str| {
        format!(
            "{media}; SEC={sec}; MAC={}",
            std::str::from_utf8(&hex).unwrap()
        )
    };
    let wbxml = "application/vnd.syncml.dm+wbxml";
    let wrong_pin = BootstrapKeys {
        network_secret: None,
        user_pin: Some(b"4321"),
    };
    let mut scratch = [0u8; 4096];
    for (label, ct, keys, expected) in [
        ("right PIN", header(wbxml, "USERPIN"), keys, Ok(())),
        (
            "wrong PIN",
            header(wbxml, "USERPIN"),
            wrong_pin,
            Err(BootstrapError::MacMismatch),
        ),
        (
            "no SEC",
            format!("{wbxml}; MAC={}", std::str::from_utf8(&hex).unwrap()),
            keys,
            Err(BootstrapError::Unauthenticated),
        ),
        (
            "XML",
            header("application/vnd.syncml.dm+xml", "USERPIN"),
            keys,
            Err(BootstrapError::UnsupportedContentType),
        ),
    ] {
        let mut tree = handset(NoHandlers);
        let result = apply_bootstrap(
            &mut tree,
            &doc,
            BootstrapSource::ContentType(ct.as_bytes(), keys),
            None,
            &mut scratch,
        );
        match expected {
            Ok(()) => {
                assert!(result.is_ok(), "{label}: {result:?}");
                assert_eq!(value(&mut tree, "./DMAcc/srvC/ServerID").unwrap(), b"srvC");
                assert_eq!(
                    value(&mut tree, "./DMAcc/srvC/AppAuth/Client/AAuthName").unwrap(),
                    b"dev"
                );
            }
            Err(e) => {
                assert_eq!(result, Err(Error::BootstrapAuth(e)), "{label}");
                assert_eq!(value(&mut tree, "./DMAcc/srvC"), None, "{label}");
            }
        }
    }
}

#[test]
fn a_bootstrap_is_stored_all_or_nothing() {
    // A trusted document whose last command fails: the account before it is not kept.
    let spec = account("srvD", "http://127.0.0.1:9/dm", None, None);
    let xml = spec.bootstrap_message().replace(
        "<Final/>",
        "<Add><CmdID>9</CmdID><Item><Target><LocURI>./DevInfo/Colour</LocURI></Target>\
         <Data>blue</Data></Item></Add><Final/>",
    );
    let mut tree = handset(NoHandlers);
    let mut scratch = [0u8; 4096];
    let result = apply_bootstrap(
        &mut tree,
        xml.as_bytes(),
        BootstrapSource::Trusted,
        None,
        &mut scratch,
    );
    assert_eq!(result, Err(Error::Bootstrap(StatusCode::CommandNotAllowed)));
    assert_eq!(value(&mut tree, "./DMAcc/srvD"), None);
    // The same document without the bad command applies whole.
    let applied = apply_bootstrap(
        &mut tree,
        spec.bootstrap_message().as_bytes(),
        BootstrapSource::Trusted,
        None,
        &mut scratch,
    )
    .unwrap();
    assert_eq!(applied, 5, "four leaves and the ACL");
    assert_eq!(value(&mut tree, "./DMAcc/srvD/ServerID").unwrap(), b"srvD");
}

/// A TNDS bootstrap of an account whose nonce is Base64 (`b64`) and which names no ACL.
fn tnds_bootstrap(url: &str, nonce: &[u8]) -> String {
    use base64::Engine as _;
    let nonce = base64::engine::general_purpose::STANDARD.encode(nonce);
    let tnds = format!(
        "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD><Node><NodeName>op</NodeName>\
         <Path>./DMAcc</Path>\
         <Node><NodeName>AppID</NodeName><Value>w7</Value></Node>\
         <Node><NodeName>ServerID</NodeName><Value>srv1</Value></Node>\
         <Node><NodeName>AppAddr</NodeName><Node><NodeName>1</NodeName>\
          <Node><NodeName>Addr</NodeName><Value>{url}</Value></Node></Node></Node>\
         <Node><NodeName>AAuthPref</NodeName><Value>DIGEST</Value></Node>\
         <Node><NodeName>AppAuth</NodeName><Node><NodeName>c</NodeName>\
          <Node><NodeName>AAuthLevel</NodeName><Value>CLCRED</Value></Node>\
          <Node><NodeName>AAuthType</NodeName><Value>DIGEST</Value></Node>\
          <Node><NodeName>AAuthName</NodeName><Value>dev</Value></Node>\
          <Node><NodeName>AAuthSecret</NodeName><Value>devpw</Value></Node>\
          <Node><NodeName>AAuthData</NodeName><RTProperties><Format><b64/></Format></RTProperties>\
          <Value>{nonce}</Value></Node></Node></Node>\
         </Node></MgmtTree>"
    );
    format!(
        "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
         <SessionID>0</SessionID><MsgID>1</MsgID><Target><LocURI>dev</LocURI></Target>\
         <Source><LocURI>operator</LocURI></Source></SyncHdr><SyncBody><Add><CmdID>1</CmdID>\
         <Item><Target><LocURI>./DMAcc</LocURI></Target><Meta><Type xmlns=\"syncml:metinf\">\
         application/vnd.syncml.dmtnds+xml</Type></Meta><Data>{tnds}</Data></Item></Add><Final/>\
         </SyncBody></SyncML>"
    )
}

/// An account bootstrapped without an ACL (OMA-TS-DM_Bootstrap leaves its rights to the
/// device for the DM profile) gives its own server Add, Delete, Get and Replace over it,
/// and no one else anything; an account the device had already keeps its ACL. Its nonce
/// came as Base64 and is stored decoded, so its first session authenticates at once.
#[test]
fn a_bootstrapped_account_without_an_acl_belongs_to_its_own_server() {
    let nonce = [7u8, 0, 0xFF, 42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x80];
    let script = Script::new().package([
        Cmd::add("./DMAcc/op/AppAddr/2/Addr", "http://127.0.0.1:9/two").label("add"),
        Cmd::get("./DMAcc/op/ServerID").label("get"),
        Cmd::add("./DMAcc/op/Name", "Operator").label("name"),
        Cmd::replace("./DMAcc/op/Name", "Operator, renamed").label("replace"),
        Cmd::delete("./DMAcc/op/AppAddr/2").label("delete"),
        Cmd::get("./DMAcc/other/ServerID").label("foreign"),
    ]);
    let server = TestServer::start(
        vec![Account::new("srv1").client_md5("dev", "devpw", &nonce)],
        script,
    )
    .unwrap();
    let mut tree = handset(NoHandlers);
    // An account of another server, with the ACL its bootstrap gave it.
    provision(
        &mut tree,
        &account("other", "http://127.0.0.1:9/dm", None, None),
    );
    let other_acl = value(&mut tree, "./DMAcc/other?prop=ACL").unwrap();
    let doc = tnds_bootstrap(&server.url("srv1"), &nonce);
    let mut scratch = [0u8; 4096];
    apply_bootstrap(
        &mut tree,
        doc.as_bytes(),
        BootstrapSource::Trusted,
        None,
        &mut scratch,
    )
    .unwrap();
    assert_eq!(
        value(&mut tree, "./DMAcc/op?prop=ACL").unwrap(),
        b"Add=srv1&Delete=srv1&Get=srv1&Replace=srv1"
    );
    assert_eq!(
        value(&mut tree, "./DMAcc/other?prop=ACL").unwrap(),
        other_acl
    );
    assert_eq!(
        value(&mut tree, "./DMAcc/op/AppAuth/c/AAuthData").unwrap(),
        nonce,
        "the b64 nonce is stored as its bytes"
    );
    let outcome = run_with(
        &mut tree,
        &mut NoUi,
        Run {
            account: "op",
            ..Run::default()
        },
    );
    let t = server.finish();
    assert!(outcome.is_ok(), "{outcome:?}\n{}", t.render());
    // The first credentials the handset sent were accepted: no challenge at all.
    let first_reply = t
        .records()
        .iter()
        .find(|r| r.direction == iotadm_host::testserver::Direction::ServerToClient)
        .unwrap();
    let verdict = first_reply
        .message()
        .unwrap()
        .body
        .commands
        .iter()
        .find_map(|c| match c {
            codec::Command::Status(s) if s.cmd_ref.is_some_and(|r| r == "0") => {
                s.data.map(|d| d.to_string())
            }
            _ => None,
        });
    assert_eq!(verdict.as_deref(), Some("212"), "{}", t.render());
    for (label, code) in [
        ("add", 200),
        ("get", 200),
        ("name", 200),
        ("replace", 200),
        ("delete", 200),
        ("foreign", 425),
    ] {
        assert_eq!(t.status(label), Some(code), "{label}");
    }
    assert_eq!(t.results_for("get")[0].data_str(), "srv1");
}

/// DM Notification 1.2 §6.2: a server that lost the device's nonce signs package 0 with
/// the resynchronisation nonce `00 00 00 00`. That is honoured once per stored nonce: a
/// replay is refused until the session the first one started has given the server a new
/// nonce; a session in which the server fails to authenticate changes nothing.
#[test]
fn a_resynchronising_package_0_is_honoured_once_per_stored_nonce() {
    let script = Script::new()
        .package([Cmd::get("./DevInfo/Mod")])
        .next_session()
        .package([Cmd::get("./DevInfo/Mod")]);
    let (server, mut tree) = notifying_server(script);
    // The server starts a session after losing its nonce; it failed once with the stored
    // one on the way (its own digest is refused once in the session), on purpose.
    server.expect_violations();
    let lose_nonce = |server: &TestServer| {
        let mut a = server.account("srv1").unwrap();
        a.server.nonce = vec![0, 0, 0, 0];
        server.set_account(a);
    };
    lose_nonce(&server);
    let resync = server.package0("srv1", UiMode::Background, 0x51).unwrap();
    let trigger = accept_notification(&mut tree, &mut NoUi, &resync).unwrap();
    assert!(trigger.nonce_resync);
    // A replay, before or after a restart of the handset, is refused.
    let replayed = accept_notification(&mut tree, &mut NoUi, &resync);
    assert_eq!(
        replayed,
        Err(Error::Notification(NotificationError::ResyncReplayed))
    );
    let mut tree = common::device::mount(tree.into_parts().0, NoHandlers);
    assert_eq!(
        accept_notification(&mut tree, &mut NoUi, &resync),
        Err(Error::Notification(NotificationError::ResyncReplayed))
    );
    // The session it started gives the server a new nonce...
    let outcome = start(&mut tree, &trigger);
    assert!(outcome.is_ok(), "{outcome:?}");
    let stored = value(&mut tree, "./DMAcc/srv1/AppAuth/Server/AAuthData").unwrap();
    assert_eq!(stored, server.account("srv1").unwrap().server.nonce);
    // ...after which the old resync is still refused (the digest does not depend on the
    // stored nonce, the mark does), a package 0 with the new nonce is accepted, and a
    // new loss of the nonce can be resynchronised once more.
    let fresh = server.package0("srv1", UiMode::Background, 0x52).unwrap();
    let trigger = accept_notification(&mut tree, &mut NoUi, &fresh).unwrap();
    assert!(!trigger.nonce_resync);
    lose_nonce(&server);
    let again = server.package0("srv1", UiMode::Background, 0x53).unwrap();
    assert!(
        accept_notification(&mut tree, &mut NoUi, &again)
            .unwrap()
            .nonce_resync
    );
    assert_eq!(
        accept_notification(&mut tree, &mut NoUi, &again),
        Err(Error::Notification(NotificationError::ResyncReplayed))
    );
}

/// An impostor who replays a resynchronising package 0 and then cannot authenticate
/// gets nothing more: its failed session does not replace the stored nonce, so the resync
/// stays spent.
#[test]
fn a_failed_session_does_not_reopen_a_spent_resync() {
    let (server, mut tree) = notifying_server(Script::new().package([Cmd::get(".")]));
    server.expect_violations();
    let mut a = server.account("srv1").unwrap();
    a.server.nonce = vec![0, 0, 0, 0];
    a.server.secret = b"srvpw".to_vec();
    server.set_account(a.clone());
    let resync = server.package0("srv1", UiMode::Background, 0x61).unwrap();
    // The impostor knows the package, not the secret.
    a.server.secret = b"guess".to_vec();
    server.set_account(a);
    let before = value(&mut tree, "./DMAcc/srv1/AppAuth/Server/AAuthData").unwrap();
    let trigger = accept_notification(&mut tree, &mut NoUi, &resync).unwrap();
    assert!(start(&mut tree, &trigger).is_err());
    assert_eq!(
        value(&mut tree, "./DMAcc/srv1/AppAuth/Server/AAuthData").unwrap(),
        before,
        "the stored nonce did not move"
    );
    assert_eq!(
        accept_notification(&mut tree, &mut NoUi, &resync),
        Err(Error::Notification(NotificationError::ResyncReplayed))
    );
}

//! Authentication scenarios of the DM session engine against the test server over HTTP on
//! 127.0.0.1: the handset's credentials in every scheme (wrong, missing, challenged into
//! another scheme), the server's credentials checked by the handset (accepted, wrong,
//! missing, replayed, a bad MAC), and nonces kept in `AAuthData` across sessions and a
//! restart of the handset.

mod common;

use common::device::{
    account, cred, device, handset, mount, provision, run, run_with, value, Run, RunError, DEVICE,
};
use iotadm::auth::{AuthScheme, Challenge};
use iotadm::codec::{Command, Message};
use iotadm::codes::StatusCode;
use iotadm::session::{ClientError, Config, Error, Initiation, NoUi, Outcome};
use iotadm::tree::NoHandlers;
use iotadm_host::testserver::{
    Account, Cmd, Direction, Party, Record, Script, ServerOptions, SessionState, TestServer,
    Transcript,
};

fn text(t: &iotadm::codec::Text<'_>) -> String {
    let mut v = Vec::new();
    for c in t.chunks() {
        v.extend_from_slice(c.as_bytes());
    }
    String::from_utf8(v).unwrap()
}

fn client_records(t: &Transcript) -> Vec<&Record> {
    t.records()
        .iter()
        .filter(|r| r.direction == Direction::ClientToServer)
        .collect()
}

fn server_records(t: &Transcript) -> Vec<&Record> {
    t.records()
        .iter()
        .filter(|r| r.direction == Direction::ServerToClient)
        .collect()
}

/// The status of a message's `SyncHdr` status and its challenge, if it carries one.
fn header_status(m: &Message<'_>) -> Option<(u16, Option<Challenge>)> {
    m.body.commands.iter().find_map(|c| match c {
        Command::Status(s) if s.cmd_ref.is_some_and(|r| r == "0") => {
            let code = s.data.and_then(|d| d.parse_u32()).unwrap_or(0) as u16;
            let chal = s.chal.and_then(|c| c.meta).map(|m| {
                let t = m.type_().map(|t| text(&t));
                let f = m.format().map(|t| text(&t));
                let n = m.next_nonce().map(|t| text(&t));
                Challenge::parse(
                    t.as_deref().map(str::as_bytes),
                    f.as_deref().map(str::as_bytes),
                    n.as_deref().map(str::as_bytes),
                )
                .unwrap()
            });
            Some((code, chal))
        }
        _ => None,
    })
}

/// What the server answered the handset's credentials, message by message.
fn server_verdicts(t: &Transcript) -> Vec<u16> {
    server_records(t)
        .iter()
        .filter_map(|r| header_status(&r.message().unwrap()).map(|(c, _)| c))
        .collect()
}

/// The `Cred/Data` of each client message (empty when it carried none).
fn client_creds(t: &Transcript) -> Vec<String> {
    client_records(t)
        .iter()
        .map(|r| {
            r.message()
                .unwrap()
                .header
                .cred
                .map(|c| text(&c.data))
                .unwrap_or_default()
        })
        .collect()
}

/// Only authentication failures were noted.
fn only_auth_failures(t: &Transcript) -> usize {
    let v = t.violations();
    assert!(
        v.iter()
            .all(|v| v.by == Party::Client && v.what.starts_with("authentication failed")),
        "{v:#?}"
    );
    v.len()
}

fn rejected(outcome: &Result<Outcome, RunError>) -> Option<StatusCode> {
    match outcome {
        Err(ClientError::Session(Error::Rejected(code))) => Some(*code),
        _ => None,
    }
}

#[test]
fn wrong_credentials_are_retried_up_to_the_bound_then_rejected() {
    for scheme in [AuthScheme::Basic, AuthScheme::Md5Digest, AuthScheme::Hmac] {
        let account = match scheme {
            AuthScheme::Basic => Account::new("srv1").client_basic("dev", "devpw"),
            AuthScheme::Md5Digest => Account::new("srv1").client_md5("dev", "devpw", b"n-1"),
            _ => Account::new("srv1").client_hmac("dev", "devpw", b"n-1"),
        }
        .server_cred(AuthScheme::None, "srv1", "srvpw", b"s-1");
        let options = ServerOptions {
            max_auth_attempts: 10,
            ..ServerOptions::default()
        };
        let script = Script::new().package([Cmd::replace("./DMAcc/srv1/AppID", "never")]);
        let server = TestServer::start_with(vec![account], script, options).unwrap();
        // The test fails authentication on purpose.
        server.expect_violations();
        let server_cred =
            (scheme == AuthScheme::Hmac).then(|| cred(AuthScheme::Hmac, "srv1", "srvpw", b"s-1"));
        let mut tree = device(
            &server.url("srv1"),
            cred(scheme, "dev", "wrong", b"n-1"),
            server_cred,
        );
        let cfg = Config {
            auth_retries: 2,
            ..Config::default()
        };
        let outcome = run(&mut tree, cfg, Initiation::Client);
        let t = server.finish();
        assert_eq!(
            rejected(&outcome),
            Some(StatusCode::InvalidCredentials),
            "{scheme:?}: {outcome:?}"
        );
        // Package 1, then once for each retry allowed; nothing more.
        let sent = client_records(&t);
        assert_eq!(sent.len(), 3, "{scheme:?}");
        assert!(sent.iter().all(|r| r.package == 1), "{scheme:?}");
        assert_eq!(only_auth_failures(&t), 3, "{scheme:?}");
        assert_eq!(server_verdicts(&t), [401, 401, 401], "{scheme:?}");
        match scheme {
            // Each retry answers the latest challenge's nonce: no two credentials alike.
            AuthScheme::Md5Digest => {
                let creds = client_creds(&t);
                assert!(creds[0] != creds[1] && creds[1] != creds[2], "{creds:?}");
            }
            AuthScheme::Hmac => {
                let macs: Vec<_> = sent.iter().map(|r| r.hmac.clone().unwrap()).collect();
                assert!(macs[0] != macs[1] && macs[1] != macs[2], "{macs:?}");
            }
            _ => {}
        }
        assert!(t
            .commands()
            .iter()
            .all(|c| c.name == "Status" || c.statuses.is_empty()));
        assert_eq!(value(&mut tree, "./DMAcc/srv1/AppID").unwrap(), b"w7");
    }
}

#[test]
fn missing_credentials_get_407_until_the_server_stops_challenging() {
    // The server allows three tries, the handset would make four: the server's refusal
    // without a challenge ends it, before the handset talks to a closed session.
    let server = TestServer::start(
        vec![Account::new("srv1").client_basic("dev", "devpw")],
        Script::new().package([Cmd::get("./DevInfo/Mod")]),
    )
    .unwrap();
    // The test fails authentication on purpose.
    server.expect_violations();
    let mut tree = handset(NoHandlers);
    provision(&mut tree, &account("srv1", &server.url("srv1"), None, None));
    let cfg = Config {
        auth_retries: 3,
        ..Config::default()
    };
    let outcome = run(&mut tree, cfg, Initiation::Client);
    let t = server.finish();
    assert_eq!(
        rejected(&outcome),
        Some(StatusCode::MissingCredentials),
        "{outcome:?}"
    );
    assert!(client_creds(&t).iter().all(String::is_empty));
    assert_eq!(client_records(&t).len(), 3);
    let verdicts: Vec<(u16, bool)> = server_records(&t)
        .iter()
        .filter_map(|r| header_status(&r.message().unwrap()))
        .map(|(code, chal)| (code, chal.is_some()))
        .collect();
    assert_eq!(verdicts, [(407, true), (407, true), (407, false)]);
    assert_eq!(only_auth_failures(&t), 3);
    assert_eq!(t.sessions().len(), 1);
    assert_eq!(t.sessions()[0].state, SessionState::AuthFailed);
}

#[test]
fn a_challenge_moves_the_handset_to_the_scheme_the_server_asks() {
    // The handset prefers basic; the server wants the digest with its nonce.
    let server = TestServer::start(
        vec![Account::new("srv1").client_md5("dev", "devpw", b"server-nonce")],
        Script::new().package([Cmd::get("./DevInfo/Mod").label("model")]),
    )
    .unwrap();
    // The test fails authentication on purpose.
    server.expect_violations();
    let mut tree = device(
        &server.url("srv1"),
        cred(AuthScheme::Basic, "dev", "devpw", b""),
        None,
    );
    let outcome = run(&mut tree, Config::default(), Initiation::Client);
    let t = server.finish();
    assert!(outcome.is_ok(), "{outcome:?}\n{}", t.render());
    assert_eq!(only_auth_failures(&t), 1);
    assert_eq!(server_verdicts(&t)[..2], [401, 212]);
    let schemes: Vec<String> = client_records(&t)[..2]
        .iter()
        .map(|r| {
            let m = r.message().unwrap();
            text(&m.header.cred.unwrap().meta.unwrap().type_().unwrap())
        })
        .collect();
    assert_eq!(schemes, ["syncml:auth-basic", "syncml:auth-md5"]);
    assert_eq!(t.status("model"), Some(200));
    assert_eq!(t.sessions()[0].state, SessionState::Completed);
}

/// A server and handset that authenticate each other with MD5 digests.
fn md5_both_ways() -> Account {
    Account::new("srv1")
        .client_md5("dev", "devpw", b"n-1")
        .server_cred(AuthScheme::Md5Digest, "srv1", "srvpw", b"s-1")
}

#[test]
fn nonces_survive_in_aauthdata_across_sessions_and_a_restart() {
    let script = Script::new()
        .package([Cmd::get("./DevInfo/Mod").label("first")])
        .next_session()
        .package([Cmd::get("./DevInfo/Man").label("second")]);
    let server = TestServer::start(vec![md5_both_ways()], script).unwrap();
    let url = server.url("srv1");
    let mut tree = handset(NoHandlers);
    provision(
        &mut tree,
        &account(
            "srv1",
            &url,
            Some(cred(AuthScheme::Md5Digest, "dev", "devpw", b"n-1")),
            Some(cred(AuthScheme::Md5Digest, "srv1", "srvpw", b"s-1")),
        ),
    );
    let first = run_with(&mut tree, &mut NoUi, Run::default());
    assert!(first.is_ok(), "{first:?}");
    // The nonces each side handed the other at the end of the session...
    let after = server.account("srv1").unwrap();
    assert_ne!(
        after.client.nonce, b"n-1",
        "the server gave a nonce for next time"
    );
    assert_ne!(
        after.server.nonce, b"s-1",
        "the handset gave the server a nonce"
    );
    let stored = |tree: &mut common::device::DmTree, entry: &str| {
        value(tree, &format!("./DMAcc/srv1/AppAuth/{entry}/AAuthData")).unwrap()
    };
    assert_eq!(stored(&mut tree, "Client"), after.client.nonce);
    assert_eq!(stored(&mut tree, "Server"), after.server.nonce);
    // ...are in flash: a handset restarted on the same bytes authenticates at once.
    let (flash, _) = tree.into_parts();
    let mut tree = mount(flash, NoHandlers);
    let second = run_with(
        &mut tree,
        &mut NoUi,
        Run {
            seed: 8,
            ..Run::default()
        },
    );
    let t = server.finish();
    assert!(second.is_ok(), "{second:?}\n{}", t.render());
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
    let session2: Vec<&Record> = client_records(&t)
        .into_iter()
        .filter(|r| r.session == 1)
        .collect();
    assert_eq!(session2[0].package, 1);
    assert_eq!(
        session2.iter().filter(|r| r.package == 1).count(),
        1,
        "no challenge: package 1 went once"
    );
    // The handset accepted the server's digest made with the nonce it had handed out.
    let accepted: Vec<u16> = t
        .header_statuses()
        .filter(|s| s.session == 1)
        .map(|s| s.code)
        .collect();
    assert_eq!(accepted[0], 212);
    assert_eq!(t.status("second"), Some(200));
}

#[test]
fn hmac_nonces_survive_a_session_that_ends_on_the_servers_message() {
    // With HMAC every server message is checked, and every accepted one is answered with a
    // fresh nonce; but the server's last message (statuses only) gets no answer, so the
    // nonce the server holds for the next session is the one in the handset's last
    // message.
    let account = Account::new("srv1")
        .client_hmac("dev", "devpw", b"n-1")
        .server_cred(AuthScheme::Hmac, "srv1", "srvpw", b"s-1");
    let script = Script::new()
        .package([Cmd::get("./DevInfo/Mod").label("first")])
        .next_session()
        .package([Cmd::get("./DevInfo/Man").label("second")]);
    let server = TestServer::start(vec![account], script).unwrap();
    let mut tree = device(
        &server.url("srv1"),
        cred(AuthScheme::Hmac, "dev", "devpw", b"n-1"),
        Some(cred(AuthScheme::Hmac, "srv1", "srvpw", b"s-1")),
    );
    let first = run_with(&mut tree, &mut NoUi, Run::default());
    assert!(first.is_ok(), "{first:?}");
    let after = server.account("srv1").unwrap();
    assert_eq!(
        value(&mut tree, "./DMAcc/srv1/AppAuth/Server/AAuthData").unwrap(),
        after.server.nonce,
        "the handset keeps the nonce it last handed the server"
    );
    let (flash, _) = tree.into_parts();
    let mut tree = mount(flash, NoHandlers);
    let second = run_with(
        &mut tree,
        &mut NoUi,
        Run {
            seed: 8,
            ..Run::default()
        },
    );
    let t = server.finish();
    assert!(second.is_ok(), "{second:?}\n{}", t.render());
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
    let verdicts: Vec<u16> = t
        .header_statuses()
        .filter(|s| s.session == 1)
        .map(|s| s.code)
        .collect();
    assert!(
        !verdicts.is_empty() && verdicts.iter().all(|&c| c == 200),
        "{verdicts:?}"
    );
    assert_eq!(t.status("second"), Some(200));
}

#[test]
fn a_server_digest_replayed_after_the_nonce_moved_on_is_refused() {
    let script = Script::new()
        .package([Cmd::get("./DevInfo/Mod").label("first")])
        .next_session()
        .package([Cmd::replace("./DMAcc/srv1/AppID", "w8").label("replayed")]);
    let server = TestServer::start(vec![md5_both_ways()], script).unwrap();
    let mut tree = handset(NoHandlers);
    let url = server.url("srv1");
    provision(
        &mut tree,
        &account(
            "srv1",
            &url,
            Some(cred(AuthScheme::Md5Digest, "dev", "devpw", b"n-1")),
            Some(cred(AuthScheme::Md5Digest, "srv1", "srvpw", b"s-1")),
        ),
    );
    assert!(run_with(&mut tree, &mut NoUi, Run::default()).is_ok());
    // An attacker replays the server's credentials of the first session: a digest over
    // the old nonce, which the handset has since replaced.
    let mut stale = server.account("srv1").unwrap();
    stale.server.nonce = b"s-1".to_vec();
    server.set_account(stale);
    let outcome = run_with(
        &mut tree,
        &mut NoUi,
        Run {
            seed: 9,
            ..Run::default()
        },
    );
    let t = server.finish();
    assert!(outcome.is_ok(), "{outcome:?}\n{}", t.render());
    let verdicts: Vec<(u16, Option<String>)> = t
        .header_statuses()
        .filter(|s| s.session == 1)
        .map(|s| (s.code, s.chal.as_ref().and_then(|c| c.0.clone())))
        .collect();
    // Refused with a challenge and a fresh nonce; the server's next try with it passes.
    assert_eq!(
        verdicts[0],
        (401, Some("syncml:auth-md5".into())),
        "{verdicts:?}"
    );
    assert_eq!(verdicts[1].0, 212, "{verdicts:?}");
    let replayed = t
        .commands()
        .iter()
        .filter(|c| c.label.as_deref() == Some("replayed"))
        .map(|c| c.statuses.clone())
        .collect::<Vec<_>>();
    assert_eq!(replayed, [vec![401], vec![200]], "refused, then run once");
}

/// The account of a server that proves itself with basic credentials, `secret` being
/// what it sends; the handset expects `srvpw`.
fn server_with_secret(
    scheme: AuthScheme,
    secret: &str,
    script: Script,
) -> (TestServer, common::device::DmTree) {
    let account = Account::new("srv1")
        .client_basic("dev", "devpw")
        .server_cred(scheme, "srv1", secret, b"s-1");
    let options = ServerOptions {
        max_auth_attempts: 10,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(vec![account], script, options).unwrap();
    let tree = device(
        &server.url("srv1"),
        cred(AuthScheme::Basic, "dev", "devpw", b""),
        Some(cred(AuthScheme::Basic, "srv1", "srvpw", b"s-1")),
    );
    (server, tree)
}

#[test]
fn the_handset_accepts_a_server_with_the_right_credentials() {
    let script = Script::new().package([Cmd::replace("./DMAcc/srv1/AppID", "w8").label("set")]);
    let (server, mut tree) = server_with_secret(AuthScheme::Basic, "srvpw", script);
    let outcome = run(&mut tree, Config::default(), Initiation::Client);
    let t = server.finish();
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
    assert_eq!(t.header_statuses().next().map(|s| s.code), Some(212));
    assert_eq!(t.status("set"), Some(200));
    assert_eq!(value(&mut tree, "./DMAcc/srv1/AppID").unwrap(), b"w8");
    // Basic has no nonce: accepting a server's basic credentials challenges nothing.
    let accepted: Vec<_> = client_records(&t)
        .iter()
        .filter_map(|r| header_status(&r.message().unwrap()))
        .collect();
    assert!(!accepted.is_empty());
    assert!(
        accepted.iter().all(|(_, chal)| chal.is_none()),
        "{accepted:?}"
    );
}

#[test]
fn a_server_with_wrong_credentials_gets_401_for_everything_and_is_dropped() {
    let script = Script::new().package([
        Cmd::replace("./DMAcc/srv1/AppID", "evil").label("set"),
        Cmd::sequence([Cmd::get("./DevInfo/Mod").label("inner")]).label("seq"),
    ]);
    let (server, mut tree) = server_with_secret(AuthScheme::Basic, "guess", script);
    let cfg = Config {
        server_auth_failures: 2,
        ..Config::default()
    };
    let outcome = run(&mut tree, cfg, Initiation::Client);
    let t = server.finish();
    assert!(
        matches!(
            outcome,
            Err(ClientError::Session(Error::ServerNotAuthenticated))
        ),
        "{outcome:?}"
    );
    let verdicts: Vec<(u16, Option<String>)> = t
        .header_statuses()
        .map(|s| (s.code, s.chal.as_ref().and_then(|c| c.0.clone())))
        .collect();
    assert_eq!(
        verdicts,
        [
            (401, Some("syncml:auth-basic".into())),
            (401, Some("syncml:auth-basic".into()))
        ]
    );
    // Every command of every refused message, nested ones included, got the same 401.
    for c in t.commands() {
        assert!(c.statuses.iter().all(|&s| s == 401), "{c:?}");
    }
    // The third try ended the session unanswered.
    let inner: Vec<Vec<u16>> = t
        .commands()
        .iter()
        .filter(|c| c.label.as_deref() == Some("inner"))
        .map(|c| c.statuses.clone())
        .collect();
    assert_eq!(inner, [vec![401], vec![401], vec![]]);
    assert!(t.results().is_empty());
    assert_eq!(value(&mut tree, "./DMAcc/srv1/AppID").unwrap(), b"w7");
}

#[test]
fn a_server_without_credentials_is_challenged_407_and_then_accepted() {
    let script = Script::new().package([Cmd::replace("./DMAcc/srv1/AppID", "w8").label("set")]);
    // The server sends no credentials until challenged.
    let (server, mut tree) = server_with_secret(AuthScheme::None, "srvpw", script);
    let outcome = run(&mut tree, Config::default(), Initiation::Client);
    let t = server.finish();
    assert!(outcome.is_ok(), "{outcome:?}\n{}", t.render());
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
    let verdicts: Vec<(u16, Option<String>)> = t
        .header_statuses()
        .map(|s| (s.code, s.chal.as_ref().and_then(|c| c.0.clone())))
        .collect();
    assert_eq!(verdicts[0], (407, Some("syncml:auth-basic".into())));
    assert_eq!(verdicts[1].0, 212);
    let set: Vec<Vec<u16>> = t
        .commands()
        .iter()
        .filter(|c| c.label.as_deref() == Some("set"))
        .map(|c| c.statuses.clone())
        .collect();
    assert_eq!(set, [vec![407], vec![200]]);
    assert_eq!(value(&mut tree, "./DMAcc/srv1/AppID").unwrap(), b"w8");
}

#[test]
fn a_server_message_with_a_bad_mac_is_refused() {
    for (client_ok, label) in [(true, "server MAC bad"), (false, "client MAC bad")] {
        // HMAC both ways; one side signs with a secret the other does not expect.
        let (server_secret, client_secret) = if client_ok {
            ("forged", "devpw")
        } else {
            ("srvpw", "forged")
        };
        let account = Account::new("srv1")
            .client_hmac("dev", "devpw", b"n-1")
            .server_cred(AuthScheme::None, "srv1", server_secret, b"s-1");
        let options = ServerOptions {
            max_auth_attempts: 10,
            ..ServerOptions::default()
        };
        let script =
            Script::new().package([Cmd::replace("./DMAcc/srv1/AppID", "evil").label("set")]);
        let server = TestServer::start_with(vec![account], script, options).unwrap();
        // The test fails authentication on purpose.
        server.expect_violations();
        let mut tree = device(
            &server.url("srv1"),
            cred(AuthScheme::Hmac, "dev", client_secret, b"n-1"),
            Some(cred(AuthScheme::Hmac, "srv1", "srvpw", b"s-1")),
        );
        let cfg = Config {
            server_auth_failures: 1,
            auth_retries: 1,
            ..Config::default()
        };
        let outcome = run(&mut tree, cfg, Initiation::Client);
        let t = server.finish();
        if client_ok {
            assert!(
                matches!(
                    outcome,
                    Err(ClientError::Session(Error::ServerNotAuthenticated))
                ),
                "{label}: {outcome:?}\n{}",
                t.render()
            );
            let verdicts: Vec<u16> = t.header_statuses().map(|s| s.code).collect();
            assert_eq!(verdicts, [401], "{label}");
            assert!(t.header_statuses().all(|s| s.chal.is_some()), "{label}");
            assert!(t
                .commands()
                .iter()
                .all(|c| c.statuses.iter().all(|&s| s == 401)));
        } else {
            assert_eq!(
                rejected(&outcome),
                Some(StatusCode::InvalidCredentials),
                "{label}"
            );
            assert_eq!(only_auth_failures(&t), 2, "{label}");
        }
        assert_eq!(
            value(&mut tree, "./DMAcc/srv1/AppID").unwrap(),
            b"w7",
            "{label}"
        );
    }
}

#[test]
fn a_handset_with_hmac_signs_every_message_and_checks_every_reply() {
    let account = Account::new("srv1")
        .client_hmac("dev", "devpw", b"n-1")
        .server_cred(AuthScheme::None, "srv1", "srvpw", b"s-1");
    let script = Script::new()
        .package([Cmd::get("./DevInfo/Mod").label("model")])
        .package((0..20).map(|i| Cmd::replace("./DMAcc/srv1/AppID", &format!("v{i}"))));
    let options = ServerOptions {
        max_msg_size: Some(700),
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(vec![account], script, options).unwrap();
    let mut tree = device(
        &server.url("srv1"),
        cred(AuthScheme::Hmac, "dev", "devpw", b"n-1"),
        Some(cred(AuthScheme::Hmac, "srv1", "srvpw", b"s-1")),
    );
    let outcome = run(&mut tree, Config::default(), Initiation::Client);
    let t = server.finish();
    assert!(outcome.is_ok(), "{outcome:?}\n{}", t.render());
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
    let sent = client_records(&t);
    assert!(sent.len() >= 4, "{} messages", sent.len());
    assert!(
        sent.iter().all(|r| r.hmac.is_some()),
        "every message signed"
    );
    assert!(sent
        .iter()
        .all(|r| r.message().unwrap().header.cred.is_none()));
    // The handset answers each server message 200 and hands it the nonce for the next.
    // (The server's last message, statuses only, needs no answer.)
    let verdicts: Vec<_> = t.header_statuses().collect();
    assert_eq!(verdicts.len(), server_records(&t).len() - 1);
    assert!(verdicts
        .iter()
        .all(|s| s.code == 200 && s.chal.as_ref().is_some_and(|c| c.1.is_some())));
    assert_eq!(t.sessions()[0].device, DEVICE);
}

/// An account read in place replaces all of what the account held: the next account's
/// address and identity, and no credentials left over from the one before.
#[test]
fn an_account_loaded_in_place_keeps_nothing_of_the_one_before() {
    let mut tree = handset(NoHandlers);
    let client = cred(AuthScheme::Hmac, "handset", "client-secret", b"n1");
    let server = cred(AuthScheme::Hmac, "srv", "server-secret", b"n2");
    provision(
        &mut tree,
        &account("srv1", "http://127.0.0.1:1/dm", Some(client), Some(server)),
    );
    provision(
        &mut tree,
        &account("srv2", "http://127.0.0.1:2/dm", None, None),
    );

    let mut acc = iotadm::session::Account::load(&mut tree, "srv1").unwrap();
    assert_eq!(acc.addr.as_str(), "http://127.0.0.1:1/dm");
    assert_eq!(
        acc.client.as_ref().map(|c| c.name.as_str()),
        Some("handset")
    );
    assert_eq!(
        acc.server.as_ref().map(|c| c.scheme),
        Some(AuthScheme::Hmac)
    );

    acc.load_in(&mut tree, "srv2").unwrap();
    assert_eq!(acc.node.as_str(), "srv2");
    assert_eq!(acc.server_id.as_str(), "srv2");
    assert_eq!(acc.addr.as_str(), "http://127.0.0.1:2/dm");
    assert!(acc.client.is_none());
    assert!(acc.server.is_none());

    // An account that is not there is refused.
    assert_eq!(acc.load_in(&mut tree, "srv3"), Err(StatusCode::NotFound));
}

/// DM Security 1.2 §5.1.4.1: a challenge is answered in its scheme or the session ends.
/// A handset whose account says digest (or HMAC) never answers a challenge for basic: its
/// password would cross the wire in clear. The session ends with a clear error and no
/// weaker credentials go out.
#[test]
fn a_challenge_for_a_weaker_scheme_ends_the_session_unanswered() {
    for (account_scheme, server) in [
        (
            AuthScheme::Md5Digest,
            Account::new("srv1").client_basic("dev", "devpw"),
        ),
        (
            AuthScheme::Hmac,
            Account::new("srv1").client_md5("dev", "devpw", b"n-1"),
        ),
    ] {
        let server =
            TestServer::start(vec![server], Script::new().package([Cmd::get(".")])).unwrap();
        // The server refuses the handset's first credentials on purpose.
        server.expect_violations();
        let mut tree = device(
            &server.url("srv1"),
            cred(account_scheme, "dev", "devpw", b"n-0"),
            None,
        );
        let outcome = run(&mut tree, Config::default(), Initiation::Client);
        let t = server.finish();
        match outcome {
            Err(ClientError::Session(Error::AuthDowngrade(s))) => {
                assert!(!s.at_least(account_scheme), "{s:?}")
            }
            other => panic!("{account_scheme:?}: {other:?}\n{}", t.render()),
        }
        // One message went out, with the account's own scheme.
        assert_eq!(client_records(&t).len(), 1, "{}", t.render());
        for r in client_records(&t) {
            if let Some(cred) = r.message().unwrap().header.cred {
                let t = text(&cred.meta.unwrap().type_().unwrap());
                assert_ne!(t, "syncml:auth-basic");
            }
        }
    }
}

/// DM Security 1.2 §5.1.3.4: a nonce from a server that has not authenticated is used to
/// answer its challenge but never stored: a server that fails to prove itself cannot
/// replace the handset's nonce, and the next session with the genuine server opens with
/// the stored one and is accepted at once.
#[test]
fn a_nonce_from_an_unauthenticated_server_is_not_stored() {
    let genuine = || {
        Account::new("srv1")
            .client_md5("dev", "devpw", b"client-nonce")
            .server_cred(AuthScheme::Md5Digest, "srv1", "srvpw", b"server-nonce")
    };
    // An impostor: wrong server secret, and a nonce of its own for the handset.
    let impostor = Account::new("srv1")
        .client_md5("dev", "devpw", b"impostor-nonce")
        .server_cred(AuthScheme::Md5Digest, "srv1", "guess", b"server-nonce");
    let server = TestServer::start(vec![impostor], Script::new().package([Cmd::get(".")])).unwrap();
    server.expect_violations();
    let mut tree = device(
        &server.url("srv1"),
        cred(AuthScheme::Md5Digest, "dev", "devpw", b"client-nonce"),
        Some(cred(
            AuthScheme::Md5Digest,
            "srv1",
            "srvpw",
            b"server-nonce",
        )),
    );
    let stored = |tree: &mut common::device::DmTree| {
        value(tree, "./DMAcc/srv1/AppAuth/Client/AAuthData").unwrap()
    };
    let outcome = run(&mut tree, Config::default(), Initiation::Client);
    let t = server.finish();
    assert!(
        outcome.is_err(),
        "the impostor never authenticated\n{}",
        t.render()
    );
    // It challenged the handset with a nonce of its own...
    assert!(server_verdicts(&t).contains(&401), "{}", t.render());
    // ...which the handset used, but did not keep.
    assert_eq!(stored(&mut tree), b"client-nonce");

    let server =
        TestServer::start(vec![genuine()], Script::new().package([Cmd::get(".")])).unwrap();
    let url = server.url("srv1");
    tree.replace(
        iotadm::tree::Principal::Device,
        "./DMAcc/srv1/AppAddr/1/Addr",
        url.as_bytes(),
        None,
        None,
    )
    .unwrap();
    let outcome = run(&mut tree, Config::default(), Initiation::Client);
    let t = server.finish();
    assert!(outcome.is_ok(), "{outcome:?}\n{}", t.render());
    assert_eq!(server_verdicts(&t)[0], 212, "{}", t.render());
}

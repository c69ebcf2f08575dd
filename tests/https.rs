//! The HTTP binding over TLS: whole DM sessions to the test server serving HTTPS with
//! certificates `openssl` made for this run, and the handshakes that must fail, each
//! before the handset's first message leaves it, with the reason a user can act on.

mod common;

use common::certs::{pki, Pki};
use common::device::{cred, device, DmTree};
use iotadm::auth::AuthScheme;
use iotadm::platform::NoClock;
use iotadm::session::{ClientError, Config, DefaultAnswers, Env, Initiation, Outcome};
use iotadm_host::sim::{run_session, SeededRng};
use iotadm_host::testserver::{
    Account, Cmd, Script, ServerOptions, ServerTls, SessionState, TestServer, Transcript,
};
use iotadm_host::{HttpConfig, HttpError, HttpTransport, TlsFailure, TlsIdentity};

/// A server for `srv1` serving `tls`, whose one package reads the handset's model.
fn server(tls: ServerTls) -> TestServer {
    TestServer::start_with(
        vec![Account::new("srv1").client_basic("dev", "devpw")],
        Script::new().package([Cmd::get("./DevInfo/Mod").label("model")]),
        ServerOptions {
            tls: Some(tls),
            ..ServerOptions::default()
        },
    )
    .unwrap()
}

/// A handset whose account `srv1` is the server's `https://` address.
fn handset(server: &TestServer) -> DmTree {
    let url = server.url("srv1");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    device(&url, cred(AuthScheme::Basic, "dev", "devpw", b""), None)
}

/// Trusts the test CA besides the platform's roots, and shows `client` if given.
fn http(pki: &Pki, client: Option<&TlsIdentity>) -> HttpConfig {
    let mut config = HttpConfig::new();
    config.tls.extra_roots.push(pki.ca.clone());
    config.tls.client_identity = client.cloned();
    config
}

/// Runs one client-initiated session of `srv1` over HTTP with `config`.
fn session(tree: &mut DmTree, config: HttpConfig) -> Result<Outcome, ClientError<HttpError>> {
    let mut transport = HttpTransport::with_config(config).expect("usable TLS settings");
    session_over(tree, &mut transport)
}

/// Runs one client-initiated session of `srv1` over `transport`, which the caller keeps
/// (with its open connection).
fn session_over(
    tree: &mut DmTree,
    transport: &mut HttpTransport,
) -> Result<Outcome, ClientError<HttpError>> {
    let (mut ui, mut rng) = (DefaultAnswers, SeededRng::new(7));
    let mut env = Env {
        tree,
        ui: &mut ui,
        rng: &mut rng,
        clock: &NoClock,
        alerts: &[],
    };
    run_session(
        &mut env,
        Config::default(),
        "srv1",
        Initiation::Client,
        transport,
        |_| {},
    )
}

/// The session ran to its end and the server read the model.
fn assert_completed(outcome: Result<Outcome, ClientError<HttpError>>, t: &Transcript) {
    let outcome = outcome.unwrap_or_else(|e| panic!("session failed: {e}"));
    assert!(!outcome.aborted_by_server);
    assert_eq!(t.results_for("model")[0].data_str(), "test-handset");
    let sessions = t.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].state, SessionState::Completed);
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
}

/// The session failed in the TLS handshake for `expected`, with `words` in its message,
/// and the server received nothing: package 1 was never sent.
/// A session with a server presenting `identity`, through a transport with `config`,
/// refused as [`assert_refused`] says.
fn refused_by(
    identity: &TlsIdentity,
    config: HttpConfig,
    expected: impl Fn(&TlsFailure) -> bool,
    words: &str,
) {
    let server = server(ServerTls::new(identity.clone()));
    let mut tree = handset(&server);
    let outcome = session(&mut tree, config);
    assert_refused(outcome, &server.finish(), expected, words);
}

fn assert_refused(
    outcome: Result<Outcome, ClientError<HttpError>>,
    t: &Transcript,
    expected: impl Fn(&TlsFailure) -> bool,
    words: &str,
) {
    let failure = match outcome {
        Err(ClientError::Transport(HttpError::Tls(failure))) => failure,
        other => panic!("expected a TLS failure, got {other:?}"),
    };
    assert!(expected(&failure), "{failure:?}");
    let text = HttpError::Tls(failure).to_string();
    assert!(text.contains(words), "{text}");
    assert!(
        t.records().is_empty(),
        "the server received:\n{}",
        t.render()
    );
    assert!(t.sessions().is_empty());
}

#[test]
fn a_session_runs_over_https_with_the_extra_ca_trusted() {
    let Some(pki) = pki() else { return };
    let server = server(ServerTls::new(pki.server.clone()));
    let mut tree = handset(&server);
    let outcome = session(&mut tree, http(pki, None));
    assert_completed(outcome, &server.finish());
}

/// One transport runs two sessions, its connection kept alive between exchanges; a server
/// that stops while it is open ends it, and the transport's next exchange fails instead
/// of waiting.
#[test]
fn one_transport_runs_two_sessions_and_its_connection_ends_with_the_server() {
    let Some(pki) = pki() else { return };
    let server = TestServer::start_with(
        vec![Account::new("srv1").client_basic("dev", "devpw")],
        Script::new()
            .package([Cmd::get("./DevInfo/Mod").label("model")])
            .next_session()
            .package([Cmd::get("./DevInfo/Man").label("man")]),
        ServerOptions {
            tls: Some(ServerTls::new(pki.server.clone())),
            ..ServerOptions::default()
        },
    )
    .unwrap();
    let mut tree = handset(&server);
    let mut transport = HttpTransport::with_config(http(pki, None)).unwrap();
    session_over(&mut tree, &mut transport).unwrap();
    session_over(&mut tree, &mut transport).unwrap();
    let t = server.finish();
    assert_eq!(t.sessions().len(), 2);
    assert!(t
        .sessions()
        .iter()
        .all(|s| s.state == SessionState::Completed));
    assert_eq!(t.results_for("man")[0].data_str(), "iotadm");
    match session_over(&mut tree, &mut transport) {
        Err(ClientError::Transport(HttpError::Connection(_))) => {}
        other => panic!("expected a connection failure, got {other:?}"),
    }
}

#[test]
fn a_certificate_from_an_untrusted_ca_is_refused_before_package_1() {
    let Some(pki) = pki() else { return };
    refused_by(
        &pki.untrusted,
        http(pki, None),
        |f| *f == TlsFailure::UnknownIssuer,
        "not issued by a trusted authority",
    );
}

#[test]
fn without_the_extra_ca_the_test_ca_is_not_trusted() {
    let Some(pki) = pki() else { return };
    refused_by(
        &pki.server,
        HttpConfig::new(),
        |f| *f == TlsFailure::UnknownIssuer,
        "not issued by a trusted authority",
    );
}

#[test]
fn an_expired_certificate_is_refused_before_package_1() {
    let Some(pki) = pki() else { return };
    refused_by(
        &pki.expired,
        http(pki, None),
        |f| *f == TlsFailure::Expired,
        "certificate has expired",
    );
}

#[test]
fn a_certificate_for_another_name_is_refused_before_package_1() {
    let Some(pki) = pki() else { return };
    refused_by(
        &pki.other_name,
        http(pki, None),
        |f| matches!(f, TlsFailure::WrongName { .. }),
        "for another name (dm.example.com), not 127.0.0.1",
    );
}

/// A server that asks for client certificates from the test CA.
fn mutual(pki: &Pki) -> ServerTls {
    ServerTls {
        client_roots_pem: Some(pki.ca.clone()),
        ..ServerTls::new(pki.server.clone())
    }
}

#[test]
fn a_server_asking_for_a_client_certificate_gets_the_configured_one() {
    let Some(pki) = pki() else { return };
    let server = server(mutual(pki));
    let mut tree = handset(&server);
    let outcome = session(&mut tree, http(pki, Some(&pki.client)));
    assert_completed(outcome, &server.finish());
}

#[test]
fn a_server_asking_for_a_client_certificate_refuses_a_client_without_one() {
    let Some(pki) = pki() else { return };
    let server = server(mutual(pki));
    let mut tree = handset(&server);
    let outcome = session(&mut tree, http(pki, None));
    assert_refused(
        outcome,
        &server.finish(),
        |f| matches!(f, TlsFailure::Refused(_)),
        "the server refused the connection",
    );
}

#[test]
fn a_server_asking_for_a_client_certificate_refuses_one_it_does_not_trust() {
    let Some(pki) = pki() else { return };
    let server = server(mutual(pki));
    let mut tree = handset(&server);
    let outcome = session(&mut tree, http(pki, Some(&pki.untrusted_client)));
    assert_refused(
        outcome,
        &server.finish(),
        |f| matches!(f, TlsFailure::Refused(_)),
        "the server refused the connection",
    );
}

#[test]
fn unusable_tls_settings_are_refused_when_the_transport_is_made() {
    let Some(pki) = pki() else { return };
    let settings = |config: HttpConfig| match HttpTransport::with_config(config) {
        Err(HttpError::Tls(TlsFailure::Settings(why))) => why,
        other => panic!("expected unusable settings, got {other:?}"),
    };
    let mut no_cert = HttpConfig::new();
    no_cert.tls.extra_roots.push(pki.client.key_pem.clone());
    assert!(
        settings(no_cert).contains("CA document 1: no CERTIFICATE"),
        "a key is no CA certificate"
    );
    let mut wrong_key = HttpConfig::new();
    wrong_key.tls.client_identity = Some(TlsIdentity {
        chain_pem: pki.client.chain_pem.clone(),
        key_pem: pki.server.key_pem.clone(),
    });
    let why = settings(wrong_key);
    assert!(why.contains("client certificate and key"), "{why}");
}

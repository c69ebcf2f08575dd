//! The scripted DM test server, driven through the HTTP binding on 127.0.0.1 by client
//! messages built by hand with the codec model: authentication in every scheme, package
//! flow, MaxMsgSize splitting, large objects, package 0 and the transcript.

mod common;

use iotadm::auth::{self, AuthScheme, Challenge, Credentials, HmacHeader, Nonce};
use iotadm::codec::{
    self, Alert, Command, Cred, Data, Encoding, Item, ItemCommand, List, Location, Message, MetInf,
    Meta, Results, Status, SyncBody, SyncHdr, Text,
};
use iotadm::notification::{DigestCheck, Notification, UiMode};
use iotadm::transport::{Request, Transport};
use iotadm_host::testserver::{
    Account, Cmd, Decision, Party, Script, ServerOptions, SessionState, TestServer, Value,
};
use iotadm_host::{HttpError, HttpTransport};

use common::device::DEVICE;

/// A reply as the test sees it.
struct Reply {
    body: Vec<u8>,
    hmac: Option<String>,
    encoding: Option<Encoding>,
}

impl Reply {
    fn message(&self) -> Message<'_> {
        codec::parse(&self.body).expect("server message decodes")
    }
}

/// Something to send: a command built from owned strings, lowered when sent.
#[derive(Clone)]
enum Out {
    Alert(u16),
    AlertWith(u16, Option<String>, Vec<(String, String, String)>), // code, correlator, (source, type, data)
    DevInfo(String, String),
    Status {
        msg_ref: u32,
        cmd_ref: u32,
        cmd: String,
        code: u16,
        chal: Option<(String, String)>,
    },
    Results {
        msg_ref: u32,
        cmd_ref: u32,
        source: String,
        data: String,
        more: bool,
        size: Option<usize>,
    },
}

/// A hand-driven client: the test decides every message.
struct Client {
    http: HttpTransport,
    url: String,
    session: String,
    msg_id: u32,
    encoding: Encoding,
    max_msg_size: Option<usize>,
    /// `Cred` Meta Type and Data.
    cred: Option<(String, String)>,
    /// HMAC name, secret and nonce.
    hmac: Option<(String, String, Vec<u8>)>,
}

impl Client {
    fn new(url: &str, session: &str, encoding: Encoding) -> Self {
        Client {
            http: HttpTransport::new(),
            url: url.to_string(),
            session: session.to_string(),
            msg_id: 0,
            encoding,
            max_msg_size: Some(16 * 1024),
            cred: None,
            hmac: None,
        }
    }

    fn basic(&mut self, name: &str, secret: &str) {
        let mut buf = [0u8; 128];
        let c = auth::build_cred(
            AuthScheme::Basic,
            &Credentials::new(name.as_bytes(), secret.as_bytes()),
            b"",
            &mut buf,
        )
        .unwrap()
        .unwrap();
        self.cred = Some((
            AuthScheme::BASIC_TYPE.to_string(),
            String::from_utf8(c.data.to_vec()).unwrap(),
        ));
    }

    fn md5(&mut self, name: &str, secret: &str, nonce: &[u8]) {
        let d = auth::md5_digest_b64(&Credentials::new(name.as_bytes(), secret.as_bytes()), nonce);
        self.cred = Some((AuthScheme::MD5_TYPE.to_string(), d.as_str().to_string()));
    }

    /// Encodes one message with these commands.
    fn build(&mut self, commands: &[Out], is_final: bool) -> Vec<u8> {
        self.msg_id += 1;
        let ids: Vec<String> = (1..=commands.len() + 1).map(|i| i.to_string()).collect();
        let nums: Vec<(String, String, String, String)> = commands
            .iter()
            .map(|c| match c {
                Out::Status {
                    msg_ref,
                    cmd_ref,
                    code,
                    ..
                } => (
                    msg_ref.to_string(),
                    cmd_ref.to_string(),
                    code.to_string(),
                    String::new(),
                ),
                Out::Results {
                    msg_ref,
                    cmd_ref,
                    size,
                    ..
                } => (
                    msg_ref.to_string(),
                    cmd_ref.to_string(),
                    String::new(),
                    size.map(|s| s.to_string()).unwrap_or_default(),
                ),
                Out::Alert(code) | Out::AlertWith(code, ..) => (
                    String::new(),
                    String::new(),
                    code.to_string(),
                    String::new(),
                ),
                Out::DevInfo(..) => Default::default(),
            })
            .collect();
        let metas: Vec<Vec<MetInf>> = commands
            .iter()
            .zip(&nums)
            .map(|(c, n)| match c {
                Out::Status {
                    chal: Some((t, nonce)),
                    ..
                } => vec![MetInf {
                    type_: Some(Text::new(t)),
                    format: Some(Text::new("b64")),
                    next_nonce: Some(Text::new(nonce)),
                    ..MetInf::default()
                }],
                Out::Results { size: Some(_), .. } => vec![MetInf {
                    size: Some(Text::new(&n.3)),
                    ..MetInf::default()
                }],
                Out::AlertWith(_, _, items) => items
                    .iter()
                    .map(|(_, t, _)| MetInf {
                        type_: Some(Text::new(t)),
                        format: Some(Text::new("int")),
                        mark: Some(Text::new("critical")),
                        ..MetInf::default()
                    })
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let items: Vec<Vec<Item>> = commands
            .iter()
            .zip(&metas)
            .map(|(c, m)| match c {
                Out::DevInfo(uri, v) => vec![Item {
                    source: Some(Location::new(uri)),
                    data: Some(Data::Text(Text::new(v))),
                    ..Item::default()
                }],
                Out::Results {
                    source, data, more, ..
                } => vec![Item {
                    source: Some(Location::new(source)),
                    meta: m.first().map(Meta::new),
                    data: Some(Data::Text(Text::new(data))),
                    more_data: *more,
                    ..Item::default()
                }],
                Out::AlertWith(_, _, items) => items
                    .iter()
                    .zip(m)
                    .map(|((source, _, data), meta)| Item {
                        source: Some(Location::new(source)),
                        meta: Some(Meta::new(meta)),
                        data: Some(Data::Text(Text::new(data))),
                        ..Item::default()
                    })
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let cmds: Vec<Command> = commands
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let cmd_id = Text::new(&ids[k]);
                match c {
                    Out::Alert(_) | Out::AlertWith(..) => Command::Alert(Alert {
                        cmd_id,
                        no_resp: false,
                        cred: None,
                        data: Some(Text::new(&nums[k].2)),
                        correlator: match c {
                            Out::AlertWith(_, Some(corr), _) => Some(Text::new(corr)),
                            _ => None,
                        },
                        items: List::new(&items[k]),
                    }),
                    Out::DevInfo(..) => Command::Replace(ItemCommand {
                        cmd_id,
                        no_resp: false,
                        cred: None,
                        meta: None,
                        items: List::new(&items[k]),
                    }),
                    Out::Status { cmd, chal, .. } => Command::Status(Status {
                        cmd_id,
                        msg_ref: Some(Text::new(&nums[k].0)),
                        cmd_ref: Some(Text::new(&nums[k].1)),
                        cmd: Some(Text::new(cmd)),
                        target_refs: List::empty(),
                        source_refs: List::empty(),
                        cred: None,
                        chal: chal.as_ref().map(|_| codec::Chal {
                            meta: Some(Meta::new(&metas[k][0])),
                        }),
                        data: Some(Text::new(&nums[k].2)),
                        items: List::empty(),
                    }),
                    Out::Results { .. } => Command::Results(Results {
                        cmd_id,
                        msg_ref: Some(Text::new(&nums[k].0)),
                        cmd_ref: Some(Text::new(&nums[k].1)),
                        cmd: None,
                        meta: None,
                        target_refs: List::empty(),
                        source_refs: List::empty(),
                        items: List::new(&items[k]),
                    }),
                }
            })
            .collect();
        let max = self.max_msg_size.map(|n| n.to_string());
        let header_meta = MetInf {
            max_msg_size: max.as_deref().map(Text::new),
            ..MetInf::default()
        };
        let cred_meta = self.cred.as_ref().map(|(t, _)| MetInf {
            type_: Some(Text::new(t)),
            format: Some(Text::new("b64")),
            ..MetInf::default()
        });
        let msg_id = self.msg_id.to_string();
        let msg = Message {
            header: SyncHdr {
                ver_dtd: Text::new("1.2"),
                ver_proto: Text::new("DM/1.2"),
                session_id: Text::new(&self.session),
                msg_id: Text::new(&msg_id),
                target: Location::new(&self.url),
                source: Location::new(DEVICE),
                resp_uri: None,
                no_resp: false,
                cred: self.cred.as_ref().map(|(_, d)| Cred {
                    meta: cred_meta.as_ref().map(Meta::new),
                    data: Text::new(d),
                }),
                meta: Some(Meta::new(&header_meta)),
            },
            body: SyncBody {
                commands: List::new(&cmds),
                is_final,
            },
        };
        let mut buf = vec![0u8; msg.encoded_len(self.encoding).unwrap()];
        let n = msg.encode(self.encoding, &mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    fn send_body(&mut self, body: &[u8], hmac: Option<&str>) -> Result<Reply, HttpError> {
        let mut rx = vec![0u8; 1 << 20];
        let mut hdr = [0u8; 256];
        let reply = self.http.exchange(
            &Request {
                url: &self.url,
                encoding: self.encoding,
                hmac,
                body,
            },
            &mut rx,
            &mut hdr,
        )?;
        rx.truncate(reply.len);
        Ok(Reply {
            body: rx,
            hmac: reply
                .hmac_len
                .map(|n| String::from_utf8(hdr[..n].to_vec()).unwrap()),
            encoding: reply.encoding,
        })
    }

    fn send(&mut self, commands: &[Out], is_final: bool) -> Reply {
        let body = self.build(commands, is_final);
        let header = self.hmac.as_ref().map(|(name, secret, nonce)| {
            let mac = auth::mac_b64(
                &Credentials::new(name.as_bytes(), secret.as_bytes()),
                nonce,
                &body,
            );
            let mut out = [0u8; 200];
            let n = HmacHeader::emit(name.as_bytes(), &mac, &mut out).unwrap();
            String::from_utf8(out[..n].to_vec()).unwrap()
        });
        let reply = self.send_body(&body, header.as_deref()).expect("exchange");
        assert!(
            self.max_msg_size.is_none_or(|m| reply.body.len() <= m),
            "server message of {} bytes exceeds MaxMsgSize {:?}",
            reply.body.len(),
            self.max_msg_size
        );
        reply
    }
}

/// The statuses of a message: (MsgRef, CmdRef, Cmd, code).
fn statuses(msg: &Message<'_>) -> Vec<(String, String, String, u16)> {
    msg.body
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Status(s) => Some((
                s.msg_ref.map(|t| str_of(&t)).unwrap_or_default(),
                s.cmd_ref.map(|t| str_of(&t)).unwrap_or_default(),
                s.cmd.map(|t| str_of(&t)).unwrap_or_default(),
                s.data.and_then(|t| t.parse_u32()).unwrap() as u16,
            )),
            _ => None,
        })
        .collect()
}

fn str_of(t: &Text<'_>) -> String {
    let mut buf = vec![0u8; t.len()];
    t.to_str(&mut buf).unwrap().to_string()
}

/// The header status's code and its Chal (Type, NextNonce).
fn header_status(msg: &Message<'_>) -> (u16, Option<Challenge>) {
    let s = msg
        .body
        .commands
        .iter()
        .find_map(|c| match c {
            Command::Status(s) if s.cmd_ref.is_some_and(|r| r == "0") => Some(s),
            _ => None,
        })
        .expect("a status for the client's SyncHdr");
    let code = s.data.and_then(|t| t.parse_u32()).unwrap() as u16;
    let chal = s.chal.map(|c| {
        let m = c.meta.unwrap().to_metinf();
        let t = m.type_.map(|t| str_of(&t));
        let f = m.format.map(|t| str_of(&t));
        let n = m.next_nonce.map(|t| str_of(&t));
        Challenge::parse(
            t.as_deref().map(str::as_bytes),
            f.as_deref().map(str::as_bytes),
            n.as_deref().map(str::as_bytes),
        )
        .unwrap()
    });
    (code, chal)
}

/// The server commands of a message other than Status, with their CmdIDs.
fn commands(msg: &Message<'_>) -> Vec<(String, String)> {
    msg.body
        .commands
        .iter()
        .filter(|c| !matches!(c, Command::Status(_)))
        .map(|c| (c.name().to_string(), str_of(&c.cmd_id())))
        .collect()
}

fn pkg1() -> Vec<Out> {
    vec![
        Out::Alert(1201),
        Out::DevInfo("./DevInfo/DevId".into(), DEVICE.into()),
    ]
}

fn ok_for(msg: &Message<'_>, msg_id: &str) -> Vec<Out> {
    // 200 for the header and for every command of `msg`.
    let mut out = vec![Out::Status {
        msg_ref: msg_id.parse().unwrap(),
        cmd_ref: 0,
        cmd: "SyncHdr".into(),
        code: 200,
        chal: None,
    }];
    fn walk(list: List<'_, Command<'_>>, msg_id: &str, out: &mut Vec<Out>) {
        for c in list.iter() {
            if matches!(c, Command::Status(_)) {
                continue;
            }
            out.push(Out::Status {
                msg_ref: msg_id.parse().unwrap(),
                cmd_ref: str_of(&c.cmd_id()).parse().unwrap(),
                cmd: c.name().to_string(),
                code: 200,
                chal: None,
            });
            if let Command::Atomic(k) | Command::Sequence(k) = c {
                walk(k.commands, msg_id, out);
            }
        }
    }
    walk(msg.body.commands, msg_id, &mut out);
    out
}

fn msg_id_of(msg: &Message<'_>) -> String {
    str_of(&msg.header.msg_id)
}

#[test]
fn basic_credentials_get_212_and_the_scripted_package_then_the_session_ends() {
    let script = Script::new().package([
        Cmd::get("./DevInfo/Mod").label("model"),
        Cmd::replace("./Vendor/Volume", "7")
            .format("int")
            .label("volume"),
    ]);
    let server = TestServer::start(
        vec![Account::new("srv1").client_basic("dev", "devpw")],
        script,
    )
    .unwrap();
    let mut client = Client::new(&server.url("srv1"), "1", Encoding::Xml);
    client.basic("dev", "devpw");

    let pkg2 = client.send(&pkg1(), true);
    assert_eq!(pkg2.encoding, Some(Encoding::Xml));
    let msg = pkg2.message();
    assert!(msg.body.is_final);
    let (code, chal) = header_status(&msg);
    assert_eq!(code, 212);
    assert!(chal.is_none(), "basic needs no nonce");
    let st = statuses(&msg);
    assert_eq!(
        st[1..],
        [
            ("1".into(), "1".into(), "Alert".into(), 200),
            ("1".into(), "2".into(), "Replace".into(), 200)
        ]
    );
    let cmds = commands(&msg);
    assert_eq!(
        cmds.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        ["Get", "Replace"]
    );
    assert_eq!(str_of(&msg.header.target.uri), DEVICE);
    assert_eq!(str_of(&msg.header.source.uri), server.url("srv1"));

    // Package 3: statuses and the Results of the Get.
    let mid = msg_id_of(&msg);
    let get_id: u32 = cmds[0].1.parse().unwrap();
    let mut pkg3 = ok_for(&msg, &mid);
    pkg3.push(Out::Results {
        msg_ref: mid.parse().unwrap(),
        cmd_ref: get_id,
        source: "./DevInfo/Mod".into(),
        data: "X1".into(),
        more: false,
        size: None,
    });
    let pkg4 = client.send(&pkg3, true);
    let msg = pkg4.message();
    assert!(msg.body.is_final);
    assert!(
        commands(&msg).is_empty(),
        "no more commands: the session ends"
    );
    assert_eq!(header_status(&msg).0, 200);

    let t = server.finish();
    assert!(t.violations().is_empty(), "{:?}", t.violations());
    assert_eq!(t.status("model"), Some(200));
    assert_eq!(t.status("volume"), Some(200));
    let results = t.results_for("model");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].data_str(), "X1");
    assert_eq!(results[0].source.as_deref(), Some("./DevInfo/Mod"));
    assert_eq!(t.sessions()[0].state, SessionState::Completed);
    assert_eq!(t.sessions()[0].max_msg_size, Some(16 * 1024));
    let packages: Vec<u32> = t.records().iter().map(|r| r.package).collect();
    assert_eq!(packages, [1, 2, 3, 4]);
    let devinfo = t
        .client_commands()
        .iter()
        .find(|c| c.name == "Replace")
        .unwrap();
    assert_eq!(devinfo.items[0].data_str(), DEVICE);
}

#[test]
fn missing_or_wrong_credentials_are_challenged_and_nothing_runs() {
    let script = Script::new().package([Cmd::get("./DevInfo/Mod")]);
    let server = TestServer::start(
        vec![Account::new("srv1").client_basic("dev", "devpw")],
        script,
    )
    .unwrap();
    // The test makes the client break rules on purpose.
    server.expect_violations();
    let mut client = Client::new(&server.url("srv1"), "2A", Encoding::Wbxml);

    // No credentials: 407, a basic challenge, every command 407, no server command.
    let reply = client.send(&pkg1(), true);
    assert_eq!(reply.encoding, Some(Encoding::Wbxml));
    let msg = reply.message();
    let (code, chal) = header_status(&msg);
    assert_eq!(code, 407);
    assert_eq!(chal.unwrap().scheme, AuthScheme::Basic);
    assert!(statuses(&msg).iter().all(|s| s.3 == 407));
    assert!(commands(&msg).is_empty());

    // Wrong password: 401.
    client.basic("dev", "wrong");
    let msg_reply = client.send(&pkg1(), true);
    let msg = msg_reply.message();
    assert_eq!(header_status(&msg).0, 401);
    assert!(commands(&msg).is_empty());

    // Right: 212 and the scripted Get, as package 2 again.
    client.basic("dev", "devpw");
    let reply = client.send(&pkg1(), true);
    let msg = reply.message();
    assert_eq!(header_status(&msg).0, 212);
    assert_eq!(commands(&msg)[0].0, "Get");

    let t = server.transcript();
    let packages: Vec<u32> = t.records().iter().map(|r| r.package).collect();
    assert_eq!(
        packages,
        [1, 2, 1, 2, 1, 2],
        "the client starts over with package 1"
    );
    let auth_failures = t
        .violations()
        .iter()
        .filter(|v| v.by == Party::Client && v.what.contains("authentication"))
        .count();
    assert_eq!(auth_failures, 2);
}

#[test]
fn authentication_gives_up_after_the_allowed_attempts() {
    let options = ServerOptions {
        max_auth_attempts: 2,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(
        vec![Account::new("srv1").client_basic("dev", "devpw")],
        Script::new(),
        options,
    )
    .unwrap();
    // The test makes the client break rules on purpose.
    server.expect_violations();
    let mut client = Client::new(&server.url("srv1"), "3", Encoding::Xml);
    client.basic("dev", "bad");
    let (_, chal) = header_status(&client.send(&pkg1(), true).message());
    assert!(chal.is_some());
    let (code, chal) = header_status(&client.send(&pkg1(), true).message());
    assert_eq!(code, 401);
    assert!(
        chal.is_none(),
        "no more challenges once the attempts are spent"
    );
    assert_eq!(
        server.transcript().sessions()[0].state,
        SessionState::AuthFailed
    );
}

#[test]
fn md5_digest_uses_the_nonce_and_a_replayed_digest_is_refused() {
    let server = TestServer::start(
        vec![Account::new("srv1").client_md5("dev", "devpw", b"first-nonce")],
        Script::new()
            .package([Cmd::get("./DevInfo/Man")])
            .next_session(),
    )
    .unwrap();
    // The test makes the client break rules on purpose.
    server.expect_violations();
    let url = server.url("srv1");
    let mut client = Client::new(&url, "10", Encoding::Wbxml);
    // A digest over the wrong nonce: 401 and a fresh nonce.
    client.md5("dev", "devpw", b"not-the-nonce");
    let (code, chal) = header_status(&client.send(&pkg1(), true).message());
    assert_eq!(code, 401);
    let chal = chal.unwrap();
    assert_eq!(chal.scheme, AuthScheme::Md5Digest);
    let nonce = chal.nonce.unwrap();
    assert_eq!(nonce.len(), 16);
    assert_eq!(
        server.account("srv1").unwrap().client.nonce,
        nonce.as_bytes()
    );

    // The digest over the challenged nonce: 212, with the nonce for the next session.
    client.md5("dev", "devpw", nonce.as_bytes());
    let reply = client.send(&pkg1(), true);
    let (code, chal) = header_status(&reply.message());
    assert_eq!(code, 212);
    let next = chal.expect("a NextNonce with 212").nonce.unwrap();
    assert_ne!(next, nonce);
    let replayed = client.cred.clone();

    // A new session replaying the accepted digest is refused.
    let mut again = Client::new(&url, "11", Encoding::Wbxml);
    again.cred = replayed;
    assert_eq!(header_status(&again.send(&pkg1(), true).message()).0, 401);
    let fresh = server.account("srv1").unwrap().client.nonce;
    again.md5("dev", "devpw", &fresh);
    assert_eq!(header_status(&again.send(&pkg1(), true).message()).0, 212);
}

#[test]
fn hmac_is_checked_on_every_message_both_ways_and_a_bad_mac_is_refused() {
    let account = Account::new("srv1")
        .client_hmac("dev", "devpw", b"client-nonce-1")
        .server_cred(AuthScheme::None, "srv1", "srvpw", b"server-nonce-1");
    let script = Script::new().package([Cmd::get("./DevInfo/Lang")]);
    let server = TestServer::start(vec![account], script).unwrap();
    // The test makes the client break rules on purpose.
    server.expect_violations();
    let mut client = Client::new(&server.url("srv1"), "20", Encoding::Wbxml);
    let server_creds = Credentials::new(b"srv1", b"srvpw");

    // No header: 407 with a MAC challenge.
    let (code, chal) = header_status(&client.send(&pkg1(), true).message());
    assert_eq!(code, 407);
    let chal = chal.unwrap();
    assert_eq!(chal.scheme, AuthScheme::Hmac);
    let nonce = chal.nonce.unwrap();

    // A MAC over the challenged nonce: 200 (not 212) and a new nonce for the next message.
    client.hmac = Some(("dev".into(), "devpw".into(), nonce.as_bytes().to_vec()));
    let reply = client.send(&pkg1(), true);
    let msg = reply.message();
    let (code, chal) = header_status(&msg);
    assert_eq!(code, 200);
    let next = chal.unwrap().nonce.unwrap();
    assert_ne!(next, nonce);
    // The server's message carries its own MAC, made with the nonce the client gave it.
    let header = reply
        .hmac
        .as_deref()
        .expect("x-syncml-hmac on the server's message");
    let parsed = HmacHeader::parse(header.as_bytes()).unwrap();
    assert!(parsed.username_is(b"srv1"));
    parsed
        .verify(&server_creds, b"server-nonce-1", &reply.body)
        .expect("server MAC verifies");
    assert!(parsed.verify(&server_creds, b"other", &reply.body).is_err());
    assert_eq!(str_of(&msg.header.source.name.unwrap()), "srv1");

    // Package 3 gives the server a new nonce in the Chal of the header status; a MAC made
    // with the stale nonce is refused.
    let mid = msg_id_of(&msg);
    let mut pkg3 = ok_for(&msg, &mid);
    if let Out::Status { chal, .. } = &mut pkg3[0] {
        *chal = Some((
            AuthScheme::MAC_TYPE.into(),
            Nonce::new(b"server-nonce-2").unwrap().to_b64().to_string(),
        ));
    }
    let body = client.build(&pkg3, true);
    let stale = {
        let mac = auth::mac_b64(&Credentials::new(b"dev", b"devpw"), nonce.as_bytes(), &body);
        let mut out = [0u8; 200];
        let n = HmacHeader::emit(b"dev", &mac, &mut out).unwrap();
        String::from_utf8(out[..n].to_vec()).unwrap()
    };
    let refused = client.send_body(&body, Some(&stale)).unwrap();
    let (code, chal) = header_status(&refused.message());
    assert_eq!(code, 401);
    let retry_nonce = chal.unwrap().nonce.unwrap();
    assert!(commands(&refused.message()).is_empty());

    // The same package with a good MAC (over the latest nonce) is accepted.
    client.hmac = Some((
        "dev".into(),
        "devpw".into(),
        retry_nonce.as_bytes().to_vec(),
    ));
    let reply = client.send(&pkg1(), true);
    let msg = reply.message();
    assert_eq!(header_status(&msg).0, 200);
    let mid = msg_id_of(&msg);
    let mut pkg3 = ok_for(&msg, &mid);
    if let Out::Status { chal, .. } = &mut pkg3[0] {
        *chal = Some((
            AuthScheme::MAC_TYPE.into(),
            Nonce::new(b"server-nonce-2").unwrap().to_b64().to_string(),
        ));
    }
    let (_, chal) = header_status(&msg);
    client.hmac = Some((
        "dev".into(),
        "devpw".into(),
        chal.unwrap().nonce.unwrap().as_bytes().to_vec(),
    ));
    let reply = client.send(&pkg3, true);
    assert_eq!(header_status(&reply.message()).0, 200);
    HmacHeader::parse(reply.hmac.as_deref().unwrap().as_bytes())
        .unwrap()
        .verify(&server_creds, b"server-nonce-2", &reply.body)
        .expect("the server signs with the nonce the client gave it");
}

#[test]
fn the_server_proves_itself_and_resends_its_package_when_challenged() {
    let account = Account::new("srv1")
        .client_basic("dev", "devpw")
        .server_cred(AuthScheme::Basic, "srv1", "srvpw", b"");
    let script = Script::new()
        .package([Cmd::get("./DevInfo/Mod").label("model")])
        .package([Cmd::delete("./Vendor/Tmp")]);
    let server = TestServer::start(vec![account], script).unwrap();
    let mut client = Client::new(&server.url("srv1"), "30", Encoding::Xml);
    client.basic("dev", "devpw");
    let reply = client.send(&pkg1(), true);
    let msg = reply.message();
    let cred = msg.header.cred.expect("the server's Cred");
    let meta = cred.meta.unwrap().to_metinf();
    let data = str_of(&cred.data);
    let meta_type = str_of(&meta.type_.unwrap());
    let view = auth::Cred {
        meta_type: Some(&meta_type),
        format: Some("b64"),
        data: data.as_bytes(),
    };
    auth::verify_cred(
        AuthScheme::Basic,
        &Credentials::new(b"srv1", b"srvpw"),
        b"",
        Some(&view),
    )
    .expect("server credentials verify");

    // The client refuses them and asks for MD5 with its nonce: the package comes again,
    // with an MD5 Cred over that nonce.
    let mid = msg_id_of(&msg);
    let mut pkg3 = ok_for(&msg, &mid);
    if let Out::Status { code, chal, .. } = &mut pkg3[0] {
        *code = 401;
        *chal = Some((
            AuthScheme::MD5_TYPE.into(),
            Nonce::new(b"client-says").unwrap().to_b64().to_string(),
        ));
    }
    // Its commands were not run.
    for s in &mut pkg3[1..] {
        if let Out::Status { code, .. } = s {
            *code = 401;
        }
    }
    let reply = client.send(&pkg3, true);
    let msg = reply.message();
    assert_eq!(
        commands(&msg)[0].0,
        "Get",
        "the refused package is sent again"
    );
    let cred = msg.header.cred.expect("credentials again");
    // B64(MD5(B64(MD5("srv1:srvpw")) ":" "client-says")), computed apart from both sides.
    assert_eq!(str_of(&cred.data), "bbZ7rS+6MzkSJv5bEDYX1w==");

    // 212 for the server: no more Cred, and the script goes on.
    let mid = msg_id_of(&msg);
    let mut pkg3 = ok_for(&msg, &mid);
    if let Out::Status { code, .. } = &mut pkg3[0] {
        *code = 212;
    }
    let msg_reply = client.send(&pkg3, true);
    let msg = msg_reply.message();
    assert!(msg.header.cred.is_none());
    assert_eq!(commands(&msg)[0].0, "Delete");
    let t = server.transcript();
    let model: Vec<_> = t
        .commands()
        .iter()
        .filter(|c| c.label.as_deref() == Some("model"))
        .collect();
    assert_eq!(model.len(), 2);
    assert_eq!(model[0].statuses, [401]);
    assert_eq!(model[1].statuses, [200]);
}

#[test]
fn a_large_package_is_split_to_the_clients_max_msg_size_with_1222_between_parts() {
    for (encoding, limit) in [(Encoding::Xml, 1024), (Encoding::Wbxml, 512)] {
        let cmds: Vec<Cmd> = (0..40)
            .map(|i| {
                Cmd::replace(
                    &format!("./Vendor/Settings/Key{i}"),
                    &format!("value number {i}"),
                )
            })
            .collect();
        let server = TestServer::start(
            vec![Account::new("srv1").client_basic("dev", "devpw")],
            Script::new().package(cmds),
        )
        .unwrap();
        let mut client = Client::new(&server.url("srv1"), "40", encoding);
        client.max_msg_size = Some(limit);
        client.basic("dev", "devpw");
        let mut reply = client.send(&pkg1(), true);
        let mut parts = 0;
        let mut received = 0;
        let mut done = false;
        // Bounded: a server that makes no progress fails the test instead of hanging it.
        for _ in 0..100 {
            let msg = reply.message();
            assert!(reply.body.len() <= limit);
            parts += 1;
            received += commands(&msg).len();
            let mid = msg_id_of(&msg);
            let mut answer = ok_for(&msg, &mid);
            if msg.body.is_final {
                let end = client.send(&answer, true);
                assert!(end.message().body.is_final);
                assert!(commands(&end.message()).is_empty());
                done = true;
                break;
            }
            // Not the last part: statuses and Alert 1222 for the next one, no Final.
            answer.push(Out::Alert(1222));
            reply = client.send(&answer, false);
        }
        assert!(done, "the package ended");
        assert!(
            parts > 3,
            "{encoding:?}: 40 commands in {parts} messages of {limit} bytes"
        );
        assert_eq!(received, 40);
        let t = server.finish();
        assert!(t.violations().is_empty(), "{:?}", t.violations());
        assert!(t.commands().iter().all(|c| c.statuses == [200]));
        // Every server message of the package but the last went without Final.
        let finals = t
            .records()
            .iter()
            .filter(|r| r.direction == iotadm_host::testserver::Direction::ServerToClient)
            .filter(|r| r.message().unwrap().body.is_final)
            .count();
        assert_eq!(finals, 2, "package 2 and the closing package 4");
    }
}

#[test]
fn answering_a_part_without_1222_or_results_is_noted() {
    let cmds: Vec<Cmd> = (0..20)
        .map(|i| Cmd::replace(&format!("./Vendor/K{i}"), "some value to fill the message"))
        .collect();
    let server =
        TestServer::start(vec![Account::new("srv1")], Script::new().package(cmds)).unwrap();
    // The test makes the client break rules on purpose.
    server.expect_violations();
    let mut client = Client::new(&server.url("srv1"), "41", Encoding::Xml);
    client.max_msg_size = Some(1024);
    let msg_reply = client.send(&pkg1(), true);
    let msg = msg_reply.message();
    assert!(!msg.body.is_final);
    let mid = msg_id_of(&msg);
    client.send(&ok_for(&msg, &mid), false);
    let t = server.transcript();
    assert!(
        t.violations().iter().any(|v| v.what.contains("1222")),
        "{:?}",
        t.violations()
    );
}

#[test]
fn a_large_object_goes_in_chunks_each_answered_213_and_1222() {
    let object: String = (0..3000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let script = Script::new().package([
        Cmd::get("./DevInfo/Mod"),
        Cmd::replace("./Vendor/Blob", &object)
            .format("chr")
            .mime("text/plain")
            .label("blob"),
    ]);
    let server = TestServer::start(vec![Account::new("srv1")], script).unwrap();
    let mut client = Client::new(&server.url("srv1"), "50", Encoding::Wbxml);
    client.max_msg_size = Some(1024);
    let mut reply = client.send(&pkg1(), true);
    let mut joined = String::new();
    let mut chunks = 0;
    let mut done = false;
    // Bounded: a server that makes no progress fails the test instead of hanging it.
    for _ in 0..100 {
        let msg = reply.message();
        let mid = msg_id_of(&msg);
        let mut answer = ok_for(&msg, &mid);
        let mut more = false;
        for c in msg.body.commands.iter() {
            if let Command::Replace(r) = c {
                let item = r.items.first().unwrap();
                let meta = item.meta.unwrap().to_metinf();
                assert_eq!(meta.format.unwrap(), "chr", "Meta repeated on every chunk");
                assert_eq!(
                    meta.size.is_some(),
                    chunks == 0,
                    "Size on the first chunk only"
                );
                if chunks == 0 {
                    assert_eq!(meta.size.unwrap().parse_u32(), Some(3000));
                }
                joined.push_str(&str_of(&item.data.unwrap().content().unwrap()));
                more = item.more_data;
                chunks += 1;
                let id = str_of(&c.cmd_id());
                assert_eq!(
                    msg.body.commands.iter().last().map(|l| str_of(&l.cmd_id())),
                    Some(id.clone()),
                    "a chunk ends its message"
                );
                if more {
                    for a in answer.iter_mut() {
                        if let Out::Status { cmd_ref, code, .. } = a {
                            if cmd_ref.to_string() == id {
                                *code = 213;
                            }
                        }
                    }
                }
            }
            if let Command::Get(g) = c {
                answer.push(Out::Results {
                    msg_ref: mid.parse().unwrap(),
                    cmd_ref: str_of(&g.cmd_id).parse().unwrap(),
                    source: "./DevInfo/Mod".into(),
                    data: "X1".into(),
                    more: false,
                    size: None,
                });
            }
        }
        if msg.body.is_final {
            assert!(!more);
            client.send(&answer, true);
            done = true;
            break;
        }
        answer.push(Out::Alert(1222));
        reply = client.send(&answer, false);
    }
    assert!(done, "the object ended");
    assert!(chunks >= 3, "3000 bytes in {chunks} chunks of under 1 KiB");
    assert_eq!(joined, object);
    let t = server.finish();
    assert!(t.violations().is_empty(), "{:?}", t.violations());
    let blob = t.command("blob").unwrap();
    assert_eq!(blob.sends.len(), chunks);
    let mut expected = vec![213; chunks - 1];
    expected.push(200);
    assert_eq!(blob.statuses, expected);
}

#[test]
fn large_text_is_cut_at_character_boundaries() {
    let object = "é€x".repeat(400); // 2-, 3- and 1-byte characters
    let server = TestServer::start(
        vec![Account::new("srv1")],
        Script::new().package([Cmd::replace("./Vendor/Text", &object).label("text")]),
    )
    .unwrap();
    let mut client = Client::new(&server.url("srv1"), "53", Encoding::Xml);
    client.max_msg_size = Some(1100);
    let mut reply = client.send(&pkg1(), true);
    let mut joined = String::new();
    let mut done = false;
    // Bounded: a server that makes no progress fails the test instead of hanging it.
    for _ in 0..100 {
        let msg = reply.message();
        let mid = msg_id_of(&msg);
        let mut answer = ok_for(&msg, &mid);
        for c in msg.body.commands.iter() {
            if let Command::Replace(r) = c {
                let item = r.items.first().unwrap();
                joined.push_str(&str_of(&item.data.unwrap().content().unwrap()));
                if item.more_data {
                    if let Some(Out::Status { code, .. }) = answer.last_mut() {
                        *code = 213;
                    }
                }
            }
        }
        if msg.body.is_final {
            client.send(&answer, true);
            done = true;
            break;
        }
        answer.push(Out::Alert(1222));
        reply = client.send(&answer, false);
    }
    assert!(done, "the object ended");
    let t = server.finish();
    assert!(t.violations().is_empty(), "{:?}", t.violations());
    assert_eq!(joined, object);
    assert!(t.command("text").unwrap().sends.len() > 3);
    assert!(t.violations().is_empty(), "{:?}", t.violations());
}

#[test]
fn a_refused_chunk_stops_the_object_and_oversized_objects_wait_for_max_obj_size() {
    let object = "z".repeat(4000);
    let script = Script::new().package([Cmd::replace("./Vendor/Blob", &object).label("blob")]);
    let server = TestServer::start(vec![Account::new("srv1")], script).unwrap();
    // The test makes the client break rules on purpose.
    server.expect_violations();
    let mut client = Client::new(&server.url("srv1"), "51", Encoding::Xml);
    client.max_msg_size = Some(1500);
    let reply = client.send(&pkg1(), true);
    let msg = reply.message();
    assert!(!msg.body.is_final);
    let mid = msg_id_of(&msg);
    let mut answer = ok_for(&msg, &mid);
    for a in answer.iter_mut().skip(1) {
        if let Out::Status { cmd, code, .. } = a {
            if cmd == "Replace" {
                *code = 413;
            }
        }
    }
    answer.push(Out::Alert(1222));
    let reply = client.send(&answer, false);
    let msg = reply.message();
    assert!(commands(&msg).is_empty(), "no more chunks after 413");
    assert!(msg.body.is_final);
    assert_eq!(server.transcript().status("blob"), Some(413));

    // With a MaxObjSize below the object, the server does not send it at all.
    let script = Script::new().package([
        Cmd::replace("./Vendor/Blob", &object),
        Cmd::get("./DevInfo/Mod"),
    ]);
    let server = TestServer::start(vec![Account::new("srv1")], script).unwrap();
    // The test makes the client break rules on purpose.
    server.expect_violations();
    let mut client = Client::new(&server.url("srv1"), "52", Encoding::Xml);
    let body = {
        // MaxObjSize in the header Meta.
        let b = client.build(&pkg1(), true);
        let xml = String::from_utf8(b).unwrap();
        xml.replace(
            "</MaxMsgSize>",
            "</MaxMsgSize><MaxObjSize xmlns=\"syncml:metinf\">1000</MaxObjSize>",
        )
    };
    let reply = client.send_body(body.as_bytes(), None).unwrap();
    let names: Vec<String> = commands(&reply.message())
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(names, ["Get"]);
    let t = server.transcript();
    assert_eq!(t.sessions()[0].max_obj_size, Some(1000));
    assert!(t
        .violations()
        .iter()
        .any(|v| v.by == Party::Script && v.what.contains("MaxObjSize")));
}

#[test]
fn a_client_package_without_final_gets_the_header_status_and_1222_only() {
    let server = TestServer::start(
        vec![Account::new("srv1").client_basic("dev", "devpw")],
        Script::new().package([Cmd::get("./DevInfo/Mod")]),
    )
    .unwrap();
    let mut client = Client::new(&server.url("srv1"), "60", Encoding::Wbxml);
    client.basic("dev", "devpw");
    let reply = client.send(&[Out::Alert(1201)], false);
    let msg = reply.message();
    assert!(!msg.body.is_final);
    let all: Vec<String> = msg
        .body
        .commands
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert_eq!(all, ["Status", "Alert"]);
    assert_eq!(header_status(&msg).0, 212);
    match msg.body.commands.iter().nth(1).unwrap() {
        Command::Alert(a) => assert_eq!(a.data.unwrap(), "1222"),
        other => panic!("{other:?}"),
    }

    client.cred = None; // accepted for the rest of the session
                        // The server's Alert 1222 is answered like any command.
    let mut answer = ok_for(&msg, &msg_id_of(&msg));
    answer.push(Out::DevInfo("./DevInfo/Lang".into(), "en-US".into()));
    let reply = client.send(&answer, true);
    let msg = reply.message();
    assert!(msg.body.is_final);
    let st = statuses(&msg);
    assert!(
        st.contains(&("1".into(), "1".into(), "Alert".into(), 200)),
        "{st:?}"
    );
    assert!(
        st.contains(&("2".into(), "3".into(), "Replace".into(), 200)),
        "{st:?}"
    );
    assert_eq!(commands(&msg)[0].0, "Get");
    assert!(server.transcript().violations().is_empty());
}

#[test]
fn large_results_from_the_client_are_joined_and_their_size_checked() {
    let server = TestServer::start(
        vec![Account::new("srv1")],
        Script::new().package([Cmd::get("./Vendor/Log").label("log")]),
    )
    .unwrap();
    let mut client = Client::new(&server.url("srv1"), "61", Encoding::Xml);
    let reply = client.send(&pkg1(), true);
    let msg = reply.message();
    let mid: u32 = msg_id_of(&msg).parse().unwrap();
    let get: u32 = commands(&msg)[0].1.parse().unwrap();
    let mut first = ok_for(&msg, &mid.to_string());
    first.push(Out::Results {
        msg_ref: mid,
        cmd_ref: get,
        source: "./Vendor/Log".into(),
        data: "0123456789".into(),
        more: true,
        size: Some(15),
    });
    let reply = client.send(&first, false);
    let next = reply.message();
    assert_eq!(commands(&next).len(), 1, "Alert 1222 only");
    let mut last = ok_for(&next, &msg_id_of(&next));
    last.push(Out::Results {
        msg_ref: mid,
        cmd_ref: get,
        source: "./Vendor/Log".into(),
        data: "ABCDE".into(),
        more: false,
        size: None,
    });
    client.send(&last, true);
    let t = server.transcript();
    let items = t.results_for("log");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].data_str(), "0123456789ABCDE");
    assert!(t.violations().is_empty(), "{:?}", t.violations());
}

#[test]
fn package_0_verifies_with_the_server_credentials_and_names_the_session() {
    let account = Account::new("srv1")
        .client_basic("dev", "devpw")
        .server_cred(AuthScheme::Md5Digest, "srv1", "srvpw", b"pkg0-nonce");
    let server = TestServer::start(vec![account], Script::new().next_session()).unwrap();
    // The test makes the client break rules on purpose.
    server.expect_violations();
    let raw = server
        .package0("srv1", UiMode::Informative, 0x1A2B)
        .unwrap();
    let pkg0 = Notification::parse(&raw).unwrap();
    assert_eq!(
        pkg0.verify(b"srvpw", b"pkg0-nonce").unwrap(),
        DigestCheck::Verified
    );
    assert!(pkg0.verify(b"other", b"pkg0-nonce").is_err());
    assert_eq!(pkg0.server_id(), b"srv1");
    assert_eq!(pkg0.repr().ui_mode, UiMode::Informative);
    assert_eq!(pkg0.session_id_hex().as_str(), "1A2B");

    let push = server
        .package0_push("srv1", UiMode::Background, 0x0042)
        .unwrap();
    let inner = Notification::from_push(&push).unwrap();
    assert_eq!(
        inner.verify(b"srvpw", b"pkg0-nonce").unwrap(),
        DigestCheck::Verified
    );
    assert_eq!(inner.session_id(), 0x42);
    assert!(server.package0("nobody", UiMode::Background, 1).is_err());

    // The triggered sessions must open with Alert 1200 and the session id given: 1201 is
    // noted, and so is a 1200 under another id while a package 0 is outstanding.
    let mut client = Client::new(&server.url("srv1"), "1A2B", Encoding::Xml);
    client.basic("dev", "devpw");
    client.send(&pkg1(), true);
    let mut right = Client::new(&server.url("srv1"), "42", Encoding::Xml);
    right.basic("dev", "devpw");
    right.send(&[Out::Alert(1200)], true);
    let t = server.transcript();
    let v: Vec<_> = t
        .violations()
        .iter()
        .map(|v| (v.session, v.what.clone()))
        .collect();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].0, 0);
    assert!(v[0].1.contains("1200"));
}

#[test]
fn the_transcript_records_both_ways_and_renders_readable_xml() {
    let tnds = r#"<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>
        <Node><NodeName>Acc2</NodeName><Node><NodeName>ServerID</NodeName><Value>srv2</Value></Node></Node></MgmtTree>"#;
    let script = Script::new()
        .package([
            Cmd::get("./DevDetail?list=Struct").label("struct"),
            Cmd::add_tnds("./DMAcc", tnds).unwrap().label("account"),
            Cmd::atomic([
                Cmd::add_node("./Vendor/A"),
                Cmd::replace("./Vendor/A/B", "1"),
            ])
            .label("atomic"),
            Cmd::exec("./FUMO/1/Update")
                .correlator("corr-7")
                .label("exec"),
            Cmd::confirm("MINDT=5&DR=1", "Install the update?").label("confirm"),
            Cmd::replace_value("./Vendor/Bin", Value::Bytes(vec![0, 1, 2, 0xFF])).format("bin"),
        ])
        .on_package(|pkg| {
            // React to the Results of package 3: ask for the reported node.
            match pkg.results().flat_map(|r| r.items.iter()).next() {
                Some(item) => Decision::Send(vec![Cmd::get(&item.data_str()).label("follow-up")]),
                None => Decision::Scripted,
            }
        });
    let server = TestServer::start(vec![Account::new("srv1")], script).unwrap();
    let mut client = Client::new(&server.url("srv1"), "70", Encoding::Wbxml);
    let reply = client.send(&pkg1(), true);
    let msg = reply.message();
    // The TNDS arrives as embedded XML, the Atomic whole, the Exec with its correlator.
    let mut seen = Vec::new();
    for c in msg.body.commands.iter() {
        match c {
            Command::Add(a) => {
                let item = a.items.first().unwrap();
                assert!(matches!(item.data, Some(Data::Xml(_))));
                seen.push("tnds");
            }
            Command::Atomic(k) => {
                assert_eq!(k.commands.len(), 2);
                seen.push("atomic");
            }
            Command::Exec(e) => {
                assert_eq!(e.correlator.unwrap(), "corr-7");
                seen.push("exec");
            }
            Command::Alert(a) => {
                assert_eq!(a.data.unwrap(), "1101");
                let texts: Vec<String> = a
                    .items
                    .iter()
                    .map(|i| str_of(&i.data.unwrap().content().unwrap()))
                    .collect();
                assert_eq!(texts, ["MINDT=5&DR=1", "Install the update?"]);
                seen.push("alert");
            }
            Command::Replace(r) => {
                let d = r.items.first().unwrap().data.unwrap();
                assert!(d.content().unwrap().eq_bytes(&[0, 1, 2, 0xFF]));
                seen.push("bin");
            }
            _ => {}
        }
    }
    assert_eq!(seen, ["tnds", "atomic", "exec", "alert", "bin"]);

    let mid = msg_id_of(&msg);
    let mut pkg3 = ok_for(&msg, &mid);
    let get = commands(&msg)[0].1.parse().unwrap();
    pkg3.push(Out::Results {
        msg_ref: mid.parse().unwrap(),
        cmd_ref: get,
        source: "./DevDetail".into(),
        data: "./DevDetail/FwV".into(),
        more: false,
        size: None,
    });
    pkg3.push(Out::AlertWith(
        1226,
        Some("corr-7".into()),
        vec![(
            "./FUMO/1".into(),
            "org.openmobilealliance.dm.firmwareupdate.update".into(),
            "200".into(),
        )],
    ));
    let reply = client.send(&pkg3, true);
    let msg = reply.message();
    let follow: Vec<String> = commands(&msg).into_iter().map(|c| c.0).collect();
    assert_eq!(follow, ["Get"], "the hook chose the next package");
    let t = server.finish();
    assert_eq!(t.command("follow-up").unwrap().targets, ["./DevDetail/FwV"]);
    assert_eq!(t.status("atomic"), Some(200));
    let atomic = t
        .commands()
        .iter()
        .position(|c| c.label.as_deref() == Some("atomic"))
        .unwrap();
    assert_eq!(
        t.commands()
            .iter()
            .filter(|c| c.parent == Some(atomic))
            .count(),
        2
    );
    let alerts: Vec<_> = t.generic_alerts().collect();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].correlator.as_deref(), Some("corr-7"));
    assert_eq!(alerts[0].items[0].source.as_deref(), Some("./FUMO/1"));
    assert_eq!(alerts[0].items[0].mark.as_deref(), Some("critical"));
    assert_eq!(alerts[0].items[0].data_str(), "200");
    assert_eq!(alerts[0].answered, 200);
    // The server answered the Generic Alert with 200.
    let answered = statuses(&msg)
        .into_iter()
        .any(|s| s.2 == "Alert" && s.3 == 200);
    assert!(answered);
    assert!(t.violations().is_empty(), "{:?}", t.violations());

    let directions: Vec<_> = t
        .records()
        .iter()
        .map(|r| (r.direction, r.msg_id))
        .collect();
    use iotadm_host::testserver::Direction::*;
    assert_eq!(
        directions,
        [
            (ClientToServer, 1),
            (ServerToClient, 1),
            (ClientToServer, 2),
            (ServerToClient, 2)
        ]
    );
    let xml = t.records()[0].to_xml();
    assert!(
        xml.starts_with("<SyncML xmlns=\"SYNCML:SYNCML1.2\">\n  <SyncHdr>"),
        "{xml}"
    );
    let text = t.render();
    assert!(text.contains("=== client -> server: package 1, message 1 (Wbxml"));
    assert!(text.contains("<MgmtTree"));
    assert!(text.contains("<Correlator>corr-7</Correlator>"));
}

#[test]
fn the_http_binding_refuses_what_does_not_fit_and_reports_http_errors() {
    let server = TestServer::start(
        vec![Account::new("srv1")],
        Script::new().package([Cmd::get("./DevInfo/Mod")]),
    )
    .unwrap();
    let mut client = Client::new(&server.url("srv1"), "80", Encoding::Xml);
    let body = client.build(&pkg1(), true);
    let mut http = HttpTransport::new();
    let mut rx = [0u8; 64];
    let mut hdr = [0u8; 16];
    let request = Request {
        url: &client.url,
        encoding: Encoding::Xml,
        hmac: None,
        body: &body,
    };
    assert!(matches!(
        http.exchange(&request, &mut rx, &mut hdr),
        Err(HttpError::ReplyTooLarge { capacity: 64 })
    ));
    let missing = format!("http://{}/dm/nobody", server.addr());
    let request = Request {
        url: &missing,
        ..request
    };
    let mut rx = [0u8; 4096];
    assert!(matches!(
        http.exchange(&request, &mut rx, &mut hdr),
        Err(HttpError::Status(404))
    ));
}

#[test]
fn client_mistakes_are_noted_as_violations() {
    let script = Script::new()
        .package([
            Cmd::get("./A").label("a"),
            Cmd::get("./B").no_resp(),
            Cmd::delete("./C"),
        ])
        .package([Cmd::get("./D")]);
    let options = ServerOptions {
        max_msg_size: Some(2000),
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(vec![Account::new("srv1")], script, options).unwrap();
    // The test makes the client break rules on purpose.
    server.expect_violations();
    let mut client = Client::new(&server.url("srv1"), "90", Encoding::Xml);
    let reply = client.send(&pkg1(), true);
    let msg = reply.message();
    let mid: u32 = msg_id_of(&msg).parse().unwrap();
    let ids: Vec<u32> = commands(&msg)
        .iter()
        .map(|c| c.1.parse().unwrap())
        .collect();
    let status = |cmd_ref: u32, cmd: &str, code: u16| Out::Status {
        msg_ref: mid,
        cmd_ref,
        cmd: cmd.into(),
        code,
        chal: None,
    };
    // Package 3: a status naming the wrong command, two for one command, one for a command
    // never sent, a 213 with no chunk pending, none for the Delete (the NoResp Get needs
    // none), and a second Alert 1201.
    let pkg3 = [
        status(0, "SyncHdr", 200),
        status(ids[0], "Replace", 200),
        status(ids[0], "Get", 200),
        status(99, "Get", 200),
        Out::Alert(1201),
    ];
    let mut body = String::from_utf8(client.build(&pkg3, true)).unwrap();
    // A header from another protocol version, and a padded message over the server's limit.
    body = body.replace("<VerProto>DM/1.2</VerProto>", "<VerProto>DM/1.1</VerProto>");
    body = body.replace(
        "</SyncBody>",
        &format!("</SyncBody><!--{}-->", "x".repeat(2000)),
    );
    client.send_body(body.as_bytes(), None).unwrap();
    // A message with a MsgID out of sequence and a repeated CmdID.
    client.msg_id += 1;
    let mut body =
        String::from_utf8(client.build(&[status(0, "SyncHdr", 213), Out::Alert(1226)], true))
            .unwrap();
    body = body.replace("<CmdID>2</CmdID>", "<CmdID>1</CmdID>");
    client.send_body(body.as_bytes(), None).unwrap();

    let t = server.finish();
    let found = |needle: &str| {
        t.violations()
            .iter()
            .any(|v| v.by == Party::Client && v.what.contains(needle))
    };
    for needle in [
        "VerProto",
        "exceeds the server's MaxMsgSize",
        "names \"Replace\" for a Get",
        "a second Status",
        "CmdRef 99",
        "Alert 1201 outside package 1",
        "no Status for Delete",
        "MsgID Some(4) does not follow 2",
        "CmdID 1 repeated",
    ] {
        assert!(found(needle), "{needle:?} not in {:#?}", t.violations());
    }
    let no_resp = format!("no Status for Get (message {mid}, CmdID {})", ids[1]);
    assert!(!found(&no_resp), "NoResp commands need no status");
    assert_eq!(t.status("a"), Some(200));
}

#[test]
fn resp_uri_alert_1223_retransmissions_and_the_end_decision() {
    let options = ServerOptions {
        resp_uri: true,
        ..ServerOptions::default()
    };
    let script = Script::new()
        .package([Cmd::get("./A")])
        .package([Cmd::get("./B")])
        .next_session()
        .package([Cmd::get("./C")])
        .on_package(|pkg| {
            if pkg.number == 3 {
                Decision::End
            } else {
                Decision::Scripted
            }
        });
    let server = TestServer::start_with(vec![Account::new("srv1")], script, options).unwrap();
    // The test makes the client break rules on purpose.
    server.expect_violations();
    let mut client = Client::new(&server.url("srv1"), "95", Encoding::Xml);
    let body = client.build(&pkg1(), true);
    let first = client.send_body(&body, None).unwrap();
    // The same request again (a retry after a lost reply) gets the same reply.
    let again = client.send_body(&body, None).unwrap();
    assert_eq!(first.body, again.body);
    let msg = first.message();
    let resp = str_of(&msg.header.resp_uri.expect("RespURI"));
    assert!(resp.starts_with(&server.url("srv1")) && resp != server.url("srv1"));

    // Posting to the old address is noted; posting to the RespURI is not.
    let mid = msg_id_of(&msg);
    let pkg3 = ok_for(&msg, &mid);
    let reply = client.send(&pkg3, true);
    assert!(
        commands(&reply.message()).is_empty(),
        "the hook ended the session"
    );
    let t = server.transcript();
    assert_eq!(t.violations().len(), 1, "{:?}", t.violations());
    assert!(t.violations()[0].what.contains("RespURI"));
    assert_eq!(t.sessions()[0].state, SessionState::Completed);
    assert_eq!(
        t.records().len(),
        4,
        "the retransmission is answered, not recorded"
    );

    // A session the client aborts.
    let mut other = Client::new(&resp, "96", Encoding::Xml);
    other.url = server.url("srv1");
    let msg_reply = other.send(&pkg1(), true);
    let msg = msg_reply.message();
    let resp = str_of(&msg.header.resp_uri.unwrap());
    other.url = resp;
    let mid = msg_id_of(&msg);
    let mut abort = ok_for(&msg, &mid);
    abort.push(Out::Alert(1223));
    let reply = other.send(&abort, true);
    assert!(reply.message().body.is_final);
    assert!(commands(&reply.message()).is_empty());
    assert_eq!(
        server.transcript().sessions()[1].state,
        SessionState::AbortedByClient
    );
    // Anything more in that session is out of place.
    other.send(&pkg1(), true);
    let t = server.finish();
    let late: Vec<_> = t.violations().iter().filter(|v| v.session == 2).collect();
    assert!(
        late.iter().any(|v| v.what.contains("has ended")),
        "{late:?}"
    );
    assert_eq!(
        t.violations()[0].msg_id,
        2,
        "violations name the client's message"
    );
}

mod with_the_session_engine {
    //! The crate's own session engine, over the HTTP binding, against the test server.

    use super::*;
    use crate::common::device::{device, run};
    use iotadm::session::{Config, Initiation};
    use iotadm_host::sim::CredSpec;

    #[test]
    fn a_whole_session_runs_clean_in_every_encoding_and_scheme() {
        for (encoding, scheme, max) in [
            (Encoding::Xml, AuthScheme::Basic, 16 * 1024),
            (Encoding::Wbxml, AuthScheme::Md5Digest, 2048),
            (Encoding::Wbxml, AuthScheme::Hmac, 1024),
        ] {
            let account = match scheme {
                AuthScheme::Basic => Account::new("srv1").client_basic("dev", "devpw"),
                AuthScheme::Md5Digest => Account::new("srv1").client_md5("dev", "devpw", b"n-1"),
                _ => Account::new("srv1").client_hmac("dev", "devpw", b"n-1"),
            }
            .server_cred(AuthScheme::None, "srv1", "srvpw", b"s-1");
            let script = Script::new()
                .package([
                    Cmd::get("./DevInfo/Mod").label("model"),
                    Cmd::get("./DevInfo?list=Struct").label("struct"),
                    Cmd::add("./DMAcc/srv1/Name", "Test server").label("name"),
                ])
                .package((0..30).map(|i| Cmd::replace("./DMAcc/srv1/Name", &format!("name {i}"))));
            let server = TestServer::start(vec![account], script).unwrap();
            let client_cred = CredSpec {
                scheme,
                name: "dev",
                secret: "devpw",
                nonce: b"n-1",
            };
            let server_cred = CredSpec {
                scheme: if scheme == AuthScheme::Hmac {
                    AuthScheme::Hmac
                } else {
                    AuthScheme::None
                },
                name: "srv1",
                secret: "srvpw",
                nonce: b"s-1",
            };
            let mut tree = device(&server.url("srv1"), client_cred, Some(server_cred));
            let cfg = Config {
                encoding,
                max_msg_size: max,
                ..Config::default()
            };
            let outcome = run(&mut tree, cfg, Initiation::Client);
            let t = server.finish();
            let label = format!("{encoding:?} {scheme:?} {max}");
            assert!(outcome.is_ok(), "{label}: {outcome:?}\n{}", t.render());
            assert!(t.violations().is_empty(), "{label}: {:#?}", t.violations());
            assert_eq!(t.status("model"), Some(200), "{label}");
            assert_eq!(
                t.results_for("model")[0].data_str(),
                "test-handset",
                "{label}"
            );
            assert_eq!(t.status("name"), Some(200), "{label}");
            assert_eq!(t.sessions()[0].state, SessionState::Completed, "{label}");
            // The client's MaxMsgSize binds the server's messages.
            let server_messages = t
                .records()
                .iter()
                .filter(|r| r.direction == iotadm_host::testserver::Direction::ServerToClient);
            assert!(
                server_messages
                    .clone()
                    .all(|r| r.body.len() <= max as usize),
                "{label}"
            );
            if max < 2048 {
                assert!(
                    server_messages.count() > 3,
                    "{label}: the packages were split"
                );
            }
        }
    }

    #[test]
    fn a_session_started_by_package_0_opens_with_alert_1200_and_its_id() {
        let account = Account::new("srv1")
            .client_basic("dev", "devpw")
            .server_cred(AuthScheme::Md5Digest, "srv1", "srvpw", b"s-1");
        let script = Script::new().package([Cmd::get("./DevInfo/Man").label("man")]);
        let server = TestServer::start(vec![account], script).unwrap();
        let push = server
            .package0_push("srv1", UiMode::Background, 0x0BEE)
            .unwrap();
        let pkg0 = Notification::from_push(&push).unwrap();
        assert_eq!(
            pkg0.verify(b"srvpw", b"s-1").unwrap(),
            DigestCheck::Verified
        );
        let mut tree = device(
            &server.url("srv1"),
            CredSpec {
                scheme: AuthScheme::Basic,
                name: "dev",
                secret: "devpw",
                nonce: b"",
            },
            Some(CredSpec {
                scheme: AuthScheme::Md5Digest,
                name: "srv1",
                secret: "srvpw",
                nonce: b"s-1",
            }),
        );
        let outcome = run(
            &mut tree,
            Config::default(),
            Initiation::Server {
                session_id: pkg0.session_id(),
            },
        );
        let t = server.finish();
        assert!(outcome.is_ok(), "{outcome:?}\n{}", t.render());
        assert!(t.violations().is_empty(), "{:#?}", t.violations());
        assert_eq!(t.sessions()[0].session_id, "BEE");
        assert_eq!(t.results_for("man")[0].data_str(), "iotadm");
        let alert = &t.client_commands()[0];
        assert_eq!(alert.alert, Some(1200));
        // The server's MD5 credentials were accepted by the client.
        assert_eq!(t.header_statuses().next().map(|s| s.code), Some(212));
    }
}

/// `iotadm serve` waits on this: a watcher hears of each answered message once the
/// transcript holds it, and a watcher that has gone away is dropped without harm.
#[test]
fn a_watcher_is_told_after_every_answered_message() {
    let server = TestServer::start(
        vec![Account::new("srv1")],
        Script::new().package([Cmd::get("./DevInfo/Mod").label("model")]),
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    server.watch(tx);
    let (gone, _) = std::sync::mpsc::channel();
    server.watch(gone);
    assert!(rx.try_recv().is_err(), "nothing answered yet");
    let mut client = Client::new(&server.url("srv1"), "1", Encoding::Xml);
    client.send(&pkg1(), true);
    rx.recv().expect("told of package 1's answer");
    assert!(
        server.with_transcript(|t| t.command("model").is_some()),
        "the transcript holds the answer when the watcher hears of it"
    );
    assert!(rx.try_recv().is_err(), "told once per message");
    let t = server.finish();
    assert_eq!(t.records().len(), 2);
}

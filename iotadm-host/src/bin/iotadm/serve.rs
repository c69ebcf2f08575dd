//! `iotadm serve`: the scripted test server (`iotadm_host::testserver`) run from a script
//! file, so that a handset written in any language can be tested with no Rust program.
//! This module owns the file format (docs/serve.md): it reads a file into the server's
//! accounts, options and `Script`, writes the bootstrap documents and packages 0 the file
//! asks for, serves until the scripted sessions have ended, and judges the transcript
//! against the file's expectations and the server's own protocol checks.

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use serde::Deserialize;

use iotadm::auth::AuthScheme;
use iotadm::notification::UiMode;
use iotadm_host::sim::{AccountSpec, CredSpec};
use iotadm_host::testserver::{
    Account, Cmd, CmdKind, ItemSpec, Party, Script, ServerOptions, ServerTls, SessionState,
    TestServer, Transcript, Value,
};
use iotadm_host::TlsIdentity;

/// Arguments of `iotadm serve`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ServeArgs {
    /// The script: accounts, the commands of each session and what they must get back
    /// (TOML, see docs/serve.md).
    #[arg(long, value_name = "FILE")]
    script: PathBuf,
    /// Address to listen on; port 0 takes a free one (the line `listening on URL` says
    /// which).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Write the transcript (every message both ways, as XML) to this file at the end.
    #[arg(long, value_name = "FILE")]
    transcript: Option<PathBuf>,
    /// Also stop when standard input ends (the program driving the test closes it); a
    /// script with no sessions needs it. Without it, standard input is not read.
    #[arg(long)]
    until_eof: bool,
    /// Only read and check the script, then exit.
    #[arg(long)]
    check: bool,
}

/// The whole file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct ScriptFile {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    account: Vec<AccountSection>,
    #[serde(default)]
    package0: Vec<Package0Section>,
    #[serde(default)]
    session: Vec<SessionSection>,
}

/// `[server]`: the settings of `ServerOptions`; each one left out keeps its default.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    max_msg_size: Option<usize>,
    max_obj_size: Option<usize>,
    max_auth_attempts: Option<u32>,
    respect_max_obj_size: Option<bool>,
    resp_uri: Option<bool>,
    seed: Option<u64>,
    /// HTTPS: the server's certificate chain and its key (PEM files), both or neither.
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    /// HTTPS with mutual TLS: the CAs a client's certificate must come from (PEM).
    tls_client_ca: Option<PathBuf>,
}

/// `[[account]]`.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct AccountSection {
    server_id: String,
    client: Option<CredSection>,
    server: Option<CredSection>,
    /// Where to write the bootstrap message that provisions this account.
    bootstrap: Option<PathBuf>,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Scheme {
    None,
    Basic,
    Md5,
    Hmac,
}

impl Scheme {
    fn auth(self) -> AuthScheme {
        match self {
            Scheme::None => AuthScheme::None,
            Scheme::Basic => AuthScheme::Basic,
            Scheme::Md5 => AuthScheme::Md5Digest,
            Scheme::Hmac => AuthScheme::Hmac,
        }
    }
}

/// `client = {...}` or `server = {...}` of an account.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct CredSection {
    scheme: Scheme,
    name: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    nonce: String,
}

impl CredSection {
    fn spec(&self) -> Option<CredSpec<'_>> {
        (self.scheme != Scheme::None).then(|| CredSpec {
            scheme: self.scheme.auth(),
            name: &self.name,
            secret: &self.secret,
            nonce: self.nonce.as_bytes(),
        })
    }
}

/// `[[package0]]`: a notification to write once some sessions have ended.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Package0Section {
    account: String,
    #[serde(default)]
    after_sessions: usize,
    session_id: u16,
    #[serde(default)]
    ui_mode: UiModeName,
    #[serde(default)]
    push: bool,
    file: PathBuf,
}

#[derive(Deserialize, Debug, Default, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum UiModeName {
    #[default]
    NotSpecified,
    Background,
    Informative,
    UserInteraction,
}

impl From<UiModeName> for UiMode {
    fn from(m: UiModeName) -> Self {
        match m {
            UiModeName::NotSpecified => UiMode::NotSpecified,
            UiModeName::Background => UiMode::Background,
            UiModeName::Informative => UiMode::Informative,
            UiModeName::UserInteraction => UiMode::UserInteraction,
        }
    }
}

/// `[[session]]`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct SessionSection {
    #[serde(default)]
    package: Vec<PackageSection>,
    expect_state: Option<StateName>,
    expect_authenticated: Option<bool>,
    expect_session_id: Option<String>,
    expect_alert: Option<u16>,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum StateName {
    Open,
    Completed,
    Aborted,
    AuthFailed,
}

impl StateName {
    fn of(state: SessionState) -> Self {
        match state {
            SessionState::Open => StateName::Open,
            SessionState::Completed => StateName::Completed,
            SessionState::AbortedByClient => StateName::Aborted,
            SessionState::AuthFailed => StateName::AuthFailed,
        }
    }

    fn name(self) -> &'static str {
        match self {
            StateName::Open => "open",
            StateName::Completed => "completed",
            StateName::Aborted => "aborted",
            StateName::AuthFailed => "auth-failed",
        }
    }
}

/// `[[session.package]]`.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct PackageSection {
    commands: Vec<CommandSection>,
}

/// One command: exactly one of the command keys, with what it carries and expects.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct CommandSection {
    get: Option<String>,
    add: Option<String>,
    replace: Option<String>,
    delete: Option<String>,
    exec: Option<String>,
    copy: Option<String>,
    alert: Option<u16>,
    atomic: Option<Vec<CommandSection>>,
    sequence: Option<Vec<CommandSection>>,
    source: Option<String>,
    data: Option<String>,
    data_file: Option<PathBuf>,
    tnds: Option<String>,
    items: Option<Vec<String>>,
    format: Option<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    correlator: Option<String>,
    #[serde(default)]
    no_resp: bool,
    label: Option<String>,
    expect_status: Option<u16>,
    expect_data: Option<String>,
    expect_data_file: Option<PathBuf>,
}

/// What one command must get back.
#[derive(Debug)]
struct CommandExpect {
    label: String,
    status: Option<u16>,
    data: Option<Vec<u8>>,
}

/// What one session must come to.
#[derive(Debug, Default)]
struct SessionExpect {
    state: Option<StateName>,
    authenticated: Option<bool>,
    session_id: Option<String>,
    alert: Option<u16>,
}

/// A script file read and checked: everything the server needs, and the judgement.
struct Plan {
    accounts: Vec<Account>,
    options: ServerOptions,
    script: Script,
    sessions: Vec<SessionExpect>,
    /// Every command's label, in order (given, or made from its place).
    labels: Vec<String>,
    commands: Vec<CommandExpect>,
    /// The `[[account]]` tables, for the bootstraps they ask for.
    account_sections: Vec<AccountSection>,
    package0: Vec<Package0Section>,
}

/// The `[server]` table's TLS settings, its files read relative to the script.
fn server_tls(s: &ServerSection, base: &Path) -> Result<Option<ServerTls>, String> {
    let read = |what: &str, p: &Path| {
        let path = base.join(p);
        fs::read(&path).map_err(|e| format!("[server] {what} {}: {e}", path.display()))
    };
    let (cert, key) = match (&s.tls_cert, &s.tls_key) {
        (None, None) if s.tls_client_ca.is_none() => return Ok(None),
        (Some(cert), Some(key)) => (read("tls_cert", cert)?, read("tls_key", key)?),
        _ => {
            return Err(
                "[server] tls_cert and tls_key go together (tls_client_ca needs both)".into(),
            )
        }
    };
    let mut tls = ServerTls::new(TlsIdentity {
        chain_pem: cert,
        key_pem: key,
    });
    if let Some(ca) = &s.tls_client_ca {
        tls.client_roots_pem = Some(read("tls_client_ca", ca)?);
    }
    Ok(Some(tls))
}

/// Reads a script file; every mistake in it is an error naming the place.
fn load(path: &Path) -> Result<Plan, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: ScriptFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));

    let defaults = ServerOptions::default();
    let s = &file.server;
    let options = ServerOptions {
        max_msg_size: s.max_msg_size.or(defaults.max_msg_size),
        max_obj_size: s.max_obj_size.or(defaults.max_obj_size),
        max_auth_attempts: s.max_auth_attempts.unwrap_or(defaults.max_auth_attempts),
        respect_max_obj_size: s
            .respect_max_obj_size
            .unwrap_or(defaults.respect_max_obj_size),
        resp_uri: s.resp_uri.unwrap_or(defaults.resp_uri),
        seed: s.seed.unwrap_or(defaults.seed),
        tls: server_tls(s, base)?,
    };

    let mut accounts = Vec::new();
    for a in &file.account {
        if accounts
            .iter()
            .any(|b: &Account| b.server_id == a.server_id)
        {
            return Err(format!("account {:?} is given twice", a.server_id));
        }
        accounts.push(account_of(a)?);
    }
    for p in &file.package0 {
        if !accounts.iter().any(|a| a.server_id == p.account) {
            return Err(format!("package0: no account {:?}", p.account));
        }
    }

    let mut script = Script::new();
    let mut sessions = Vec::new();
    let mut labels = Vec::new();
    let mut commands = Vec::new();
    for (si, session) in file.session.iter().enumerate() {
        if si > 0 {
            script = script.next_session();
        }
        for (pi, package) in session.package.iter().enumerate() {
            let mut cmds = Vec::new();
            for (ci, c) in package.commands.iter().enumerate() {
                let place = format!("s{}.p{}.c{}", si + 1, pi + 1, ci + 1);
                cmds.push(command(c, &place, base, &mut labels, &mut commands)?);
            }
            script = script.package(cmds);
        }
        sessions.push(SessionExpect {
            state: session.expect_state,
            authenticated: session.expect_authenticated,
            session_id: session.expect_session_id.clone(),
            alert: session.expect_alert,
        });
    }
    Ok(Plan {
        accounts,
        options,
        script,
        sessions,
        labels,
        commands,
        account_sections: file.account,
        package0: file.package0,
    })
}

fn account_of(a: &AccountSection) -> Result<Account, String> {
    let mut account = Account::new(&a.server_id);
    if let Some(c) = &a.client {
        account = match c.scheme {
            Scheme::None => account,
            Scheme::Basic => account.client_basic(&c.name, &c.secret),
            Scheme::Md5 => account.client_md5(&c.name, &c.secret, c.nonce.as_bytes()),
            Scheme::Hmac => account.client_hmac(&c.name, &c.secret, c.nonce.as_bytes()),
        };
    }
    if let Some(s) = &a.server {
        let hmac_client = a.client.as_ref().is_some_and(|c| c.scheme == Scheme::Hmac);
        if (s.scheme == Scheme::Hmac) != hmac_client {
            return Err(format!(
                "account {:?}: the server scheme is hmac exactly when the client's is",
                a.server_id
            ));
        }
        account = account.server_cred(s.scheme.auth(), &s.name, &s.secret, s.nonce.as_bytes());
    }
    Ok(account)
}

/// Builds one command (and those inside it), noting its label and expectations.
fn command(
    c: &CommandSection,
    place: &str,
    base: &Path,
    labels: &mut Vec<String>,
    expects: &mut Vec<CommandExpect>,
) -> Result<Cmd, String> {
    let err = |what: &str| format!("command {place}: {what}");
    let keys = [
        c.get.is_some(),
        c.add.is_some(),
        c.replace.is_some(),
        c.delete.is_some(),
        c.exec.is_some(),
        c.copy.is_some(),
        c.alert.is_some(),
        c.atomic.is_some(),
        c.sequence.is_some(),
    ];
    if keys.iter().filter(|&&k| k).count() != 1 {
        return Err(err(
            "give exactly one of get, add, replace, delete, exec, copy, alert, atomic, sequence",
        ));
    }
    let data = match (&c.data, &c.data_file) {
        (Some(_), Some(_)) => return Err(err("give data or data_file, not both")),
        (Some(t), None) => Some(Value::Text(t.clone())),
        (None, Some(p)) => {
            let p = base.join(p);
            Some(Value::Bytes(
                fs::read(&p).map_err(|e| err(&format!("{}: {e}", p.display())))?,
            ))
        }
        (None, None) => None,
    };
    let takes_data = c.add.is_some() || c.replace.is_some() || c.exec.is_some();
    if data.is_some() && !takes_data {
        return Err(err("only add, replace and exec carry data"));
    }
    if c.source.is_some() != c.copy.is_some() {
        return Err(err("copy needs a source, and only copy takes one"));
    }
    if c.items.is_some() && c.alert.is_none() {
        return Err(err("only an alert has items"));
    }
    if c.tnds.is_some() && (c.add.is_none() || data.is_some()) {
        return Err(err("tnds goes with add, instead of data"));
    }
    if c.correlator.is_some() && c.exec.is_none() && c.alert.is_none() {
        return Err(err("only exec and alert take a correlator"));
    }
    let label = c.label.clone().unwrap_or_else(|| place.to_string());
    if labels.contains(&label) {
        return Err(err(&format!("the label {label:?} is used twice")));
    }
    labels.push(label.clone());
    let expect_data = match (&c.expect_data, &c.expect_data_file) {
        (Some(_), Some(_)) => return Err(err("give expect_data or expect_data_file, not both")),
        (Some(t), None) => Some(t.clone().into_bytes()),
        (None, Some(p)) => {
            let p = base.join(p);
            Some(fs::read(&p).map_err(|e| err(&format!("{}: {e}", p.display())))?)
        }
        (None, None) => None,
    };
    if c.expect_status.is_some() || expect_data.is_some() {
        if expect_data.is_some() && c.get.is_none() {
            return Err(err("only a get has results to expect"));
        }
        expects.push(CommandExpect {
            label: label.clone(),
            status: c.expect_status,
            data: expect_data,
        });
    }

    let one = |kind, uri: &str| {
        Cmd::new(
            kind,
            vec![ItemSpec {
                data: data.clone(),
                ..ItemSpec::target(uri)
            }],
        )
    };
    let mut cmd = if let Some(uri) = &c.get {
        Cmd::get(uri)
    } else if let Some(uri) = &c.add {
        match &c.tnds {
            Some(tnds) => Cmd::add_tnds(uri, tnds).map_err(|e| err(&format!("tnds: {e}")))?,
            None => one(CmdKind::Add, uri),
        }
    } else if let Some(uri) = &c.replace {
        one(CmdKind::Replace, uri)
    } else if let Some(uri) = &c.delete {
        Cmd::delete(uri)
    } else if let Some(uri) = &c.exec {
        one(CmdKind::Exec, uri)
    } else if let (Some(target), Some(source)) = (&c.copy, &c.source) {
        Cmd::copy(target, source)
    } else if let Some(code) = c.alert {
        let items: Vec<&str> = c.items.iter().flatten().map(String::as_str).collect();
        Cmd::alert(code, &items)
    } else {
        let (inner, atomic) = match (&c.atomic, &c.sequence) {
            (Some(inner), _) => (inner, true),
            (None, Some(inner)) => (inner, false),
            (None, None) => return Err(err("no command")),
        };
        let mut children = Vec::new();
        for (i, child) in inner.iter().enumerate() {
            let place = format!("{place}.{}", i + 1);
            children.push(command(child, &place, base, labels, expects)?);
        }
        if atomic {
            Cmd::atomic(children)
        } else {
            Cmd::sequence(children)
        }
    };
    if let Some(f) = &c.format {
        cmd = cmd.format(f);
    }
    if let Some(t) = &c.type_ {
        cmd = cmd.mime(t);
    }
    if let Some(k) = &c.correlator {
        cmd = cmd.correlator(k);
    }
    if c.no_resp {
        cmd = cmd.no_resp();
    }
    Ok(cmd.label(&label))
}

/// Runs `iotadm serve`.
pub(crate) fn run(args: ServeArgs) -> Result<(), String> {
    let plan = load(&args.script)?;
    if args.check {
        println!(
            "script ok: {} account(s), {} session(s), {} command(s), {} expectation(s)",
            plan.accounts.len(),
            plan.sessions.len(),
            plan.labels.len(),
            plan.commands.len()
                + plan
                    .sessions
                    .iter()
                    .map(SessionExpect::count)
                    .sum::<usize>()
        );
        return Ok(());
    }
    if plan.sessions.is_empty() && !args.until_eof {
        return Err("the script has no [[session]]: give --until-eof to serve anyway".into());
    }
    let server = TestServer::start_on(
        args.listen,
        plan.accounts.clone(),
        plan.script,
        plan.options.clone(),
    )
    .map_err(|e| format!("listening on {}: {e}", args.listen))?;
    // The file's expectations and the violations are judged below, not by a panic.
    server.expect_violations();
    println!("listening on {}/", server.base_url());
    for a in &plan.accounts {
        println!("account {} at {}", a.server_id, server.url(&a.server_id));
    }
    for a in &plan.account_sections {
        let Some(path) = &a.bootstrap else {
            continue;
        };
        let url = server.url(&a.server_id);
        let spec = AccountSpec {
            node: &a.server_id,
            server_id: &a.server_id,
            addr: &url,
            client: a.client.as_ref().and_then(CredSection::spec),
            server: a.server.as_ref().and_then(CredSection::spec),
            acl: None,
        };
        fs::write(path, spec.bootstrap_message())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("bootstrap of {} written to {}", a.server_id, path.display());
    }

    let (tx, rx) = mpsc::channel();
    server.watch(tx.clone());
    let eof = Arc::new(AtomicBool::new(false));
    if args.until_eof {
        let eof = eof.clone();
        std::thread::spawn(move || {
            let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
            eof.store(true, Ordering::SeqCst);
            let _ = tx.send(());
        });
    } else {
        drop(tx);
    }

    let mut reported: Vec<bool> = Vec::new();
    let mut written = vec![false; plan.package0.len()];
    loop {
        // Lines are printed after the transcript's lock is released: a reader slow to
        // take them must not hold up the server.
        let news = server.with_transcript(|t| {
            let mut news = Vec::new();
            for (i, s) in t.sessions().iter().enumerate() {
                if reported.len() <= i {
                    reported.push(false);
                }
                if s.state != SessionState::Open && !reported[i] {
                    reported[i] = true;
                    news.push(format!(
                        "session {} ended: {}",
                        i + 1,
                        describe_session(t, i)
                    ));
                }
            }
            news
        });
        for line in news {
            println!("{line}");
        }
        let ended = reported.iter().filter(|&&r| r).count();
        for (p, done) in plan.package0.iter().zip(written.iter_mut()) {
            if !*done && ended >= p.after_sessions {
                *done = true;
                let ui = UiMode::from(p.ui_mode);
                let bytes = if p.push {
                    server.package0_push(&p.account, ui, p.session_id)
                } else {
                    server.package0(&p.account, ui, p.session_id)
                }
                .map_err(|e| e.to_string())?;
                fs::write(&p.file, bytes).map_err(|e| format!("{}: {e}", p.file.display()))?;
                println!(
                    "package 0 of {} for session {:04X} written to {}",
                    p.account,
                    p.session_id,
                    p.file.display()
                );
            }
        }
        // A script without sessions serves until standard input ends (`--until-eof`).
        let stop = eof.load(Ordering::SeqCst)
            || (!plan.sessions.is_empty() && ended >= plan.sessions.len());
        if stop || rx.recv().is_err() {
            break;
        }
    }

    let t = server.finish();
    if let Some(path) = &args.transcript {
        fs::write(path, t.render()).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("transcript written to {}", path.display());
    }
    for (i, s) in t.sessions().iter().enumerate() {
        if s.state == SessionState::Open {
            println!("session {} still open: {}", i + 1, describe_session(&t, i));
        }
    }
    for label in &plan.labels {
        println!("command {label}: {}", describe_command(&t, label));
    }
    for v in t.violations() {
        let by = match v.by {
            Party::Client => "client",
            Party::Script => "script",
        };
        println!(
            "violation: session {}, message {}, by the {by}: {}",
            v.session + 1,
            v.msg_id,
            v.what
        );
    }
    let mut unmet = Vec::new();
    for (i, e) in plan.sessions.iter().enumerate() {
        e.judge(&t, i, &mut unmet);
    }
    for e in &plan.commands {
        e.judge(&t, &mut unmet);
    }
    for u in &unmet {
        println!("not met: {u}");
    }
    println!(
        "sessions: {}, violations: {}, expectations not met: {}",
        t.sessions().len(),
        t.violations().len(),
        unmet.len()
    );
    if t.violations().is_empty() && unmet.is_empty() {
        println!("result: ok");
        Ok(())
    } else {
        println!("result: failed");
        Err(format!(
            "{} violation(s), {} expectation(s) not met",
            t.violations().len(),
            unmet.len()
        ))
    }
}

/// `srv1, session id 1, completed, authenticated, opened with alert 1201`.
fn describe_session(t: &Transcript, i: usize) -> String {
    let Some(s) = t.sessions().get(i) else {
        return "never ran".into();
    };
    let mut out = format!(
        "{}, session id {}, {}, {}",
        s.server_id,
        s.session_id,
        StateName::of(s.state).name(),
        if s.authenticated {
            "authenticated"
        } else {
            "not authenticated"
        }
    );
    if let Some(code) = first_alert(t, i) {
        out.push_str(&format!(", opened with alert {code}"));
    }
    out
}

/// The code of the first `Alert` the client sent in session `i` (1200 or 1201).
fn first_alert(t: &Transcript, i: usize) -> Option<u16> {
    t.client_commands()
        .iter()
        .filter(|c| c.session == i)
        .find_map(|c| c.alert)
}

/// `status 200, results "BB-7.2.1"`, or `not sent`.
fn describe_command(t: &Transcript, label: &str) -> String {
    let Some(cmd) = t.command(label) else {
        return "not sent".into();
    };
    let mut out = match cmd.status() {
        Some(code) => format!("{} status {code}", cmd.name),
        None => format!("{} no status", cmd.name),
    };
    for item in t.results_for(label) {
        out.push_str(&format!(", results {}", shown(&item.data)));
    }
    out
}

impl SessionExpect {
    fn count(&self) -> usize {
        usize::from(self.state.is_some())
            + usize::from(self.authenticated.is_some())
            + usize::from(self.session_id.is_some())
            + usize::from(self.alert.is_some())
    }

    fn judge(&self, t: &Transcript, i: usize, unmet: &mut Vec<String>) {
        if self.count() == 0 {
            return;
        }
        let Some(s) = t.sessions().get(i) else {
            unmet.push(format!("session {} never ran", i + 1));
            return;
        };
        let n = i + 1;
        if let Some(want) = self.state.filter(|&w| w != StateName::of(s.state)) {
            unmet.push(format!(
                "session {n}: {}, expected {}",
                StateName::of(s.state).name(),
                want.name()
            ));
        }
        if let Some(want) = self.authenticated.filter(|&w| w != s.authenticated) {
            unmet.push(format!(
                "session {n}: authenticated {}, expected {want}",
                s.authenticated
            ));
        }
        if let Some(want) = self.session_id.as_ref().filter(|&w| *w != s.session_id) {
            unmet.push(format!(
                "session {n}: session id {:?}, expected {want:?}",
                s.session_id
            ));
        }
        let alert = first_alert(t, i);
        if let Some(want) = self.alert.filter(|&w| Some(w) != alert) {
            let got = alert.map_or_else(|| "none".to_string(), |c| c.to_string());
            unmet.push(format!(
                "session {n}: opened with alert {got}, expected {want}"
            ));
        }
    }
}

impl CommandExpect {
    fn judge(&self, t: &Transcript, unmet: &mut Vec<String>) {
        let label = &self.label;
        let Some(cmd) = t.command(label) else {
            unmet.push(format!("command {label}: never sent"));
            return;
        };
        let got = cmd.status();
        if let Some(want) = self.status.filter(|&w| Some(w) != got) {
            let got = got.map_or_else(|| "none".to_string(), |c| c.to_string());
            unmet.push(format!("command {label}: status {got}, expected {want}"));
        }
        if let Some(want) = &self.data {
            match t.results_for(label).first() {
                Some(got) if got.data == *want => {}
                Some(got) => unmet.push(format!(
                    "command {label}: results {}, expected {}",
                    shown(&got.data),
                    shown(want)
                )),
                None => unmet.push(format!(
                    "command {label}: no results, expected {}",
                    shown(want)
                )),
            }
        }
    }
}

/// Data as a line shows it: quoted text up to 80 bytes, else its size.
fn shown(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(text) if text.len() <= 80 => format!("{text:?}"),
        _ => format!("of {} bytes", data.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Result<Plan, String> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!("iotadm-serve-{}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join(format!("{}.toml", NEXT.fetch_add(1, Ordering::SeqCst)));
        fs::write(&path, text).map_err(|e| e.to_string())?;
        load(&path)
    }

    #[test]
    fn commands_get_their_place_as_label_and_mistakes_are_named() {
        let p = plan(
            "[[session]]\n[[session.package]]\ncommands = [ { get = \"./A\" }, \
             { atomic = [ { replace = \"./B\", data = \"1\", label = \"b\" } ] } ]\n",
        )
        .unwrap();
        assert_eq!(p.labels, ["s1.p1.c1", "s1.p1.c2", "b"]);
        for (text, says) in [
            (
                "commands = [ { get = \"./A\", delete = \"./B\" } ]",
                "exactly one",
            ),
            (
                "commands = [ { get = \"./A\", data = \"x\" } ]",
                "carry data",
            ),
            (
                "commands = [ { replace = \"./A\", expect_data = \"x\" } ]",
                "only a get",
            ),
            ("commands = [ { copy = \"./A\" } ]", "needs a source"),
            (
                "commands = [ { get = \"./A\", colour = 1 } ]",
                "unknown field",
            ),
            (
                "commands = [ { get = \"./A\", label = \"x\" }, { get = \"./B\", label = \"x\" } ]",
                "used twice",
            ),
        ] {
            let e = plan(&format!("[[session]]\n[[session.package]]\n{text}\n"))
                .err()
                .unwrap_or_default();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn an_hmac_server_scheme_goes_only_with_an_hmac_client() {
        let e = plan(
            "[[account]]\nserver_id = \"s\"\nclient = { scheme = \"basic\", name = \"d\" }\n\
             server = { scheme = \"hmac\", name = \"s\" }\n",
        )
        .err()
        .unwrap_or_default();
        assert!(e.contains("hmac exactly when"), "{e}");
    }
}

//! How sessions and accounts come about: a package 0 from a server (verified before
//! anything starts), and (feature `bootstrap`) a bootstrap that provisions an account
//! (authenticated before anything is stored, and stored all or nothing).

use embedded_storage::nor_flash::NorFlash;
use heapless::String;

use super::account::Account;
use super::{Error, Initiation};
use crate::codes::StatusCode;
use crate::limits::{SERVER_ADDR_LEN, SERVER_ID_LEN};
use crate::notification::{DigestCheck, Initiator, Notification, NotificationError, UiMode};
use crate::tree::{Handlers, Principal, Tree};
use crate::ui::UserInteraction;
#[cfg(feature = "bootstrap")]
use {
    crate::bootstrap::{self, BootstrapKeys, BootstrapSecurity},
    crate::codec::{self, Command, Data, Text},
    crate::limits::URI_LEN,
    crate::schema::{AccessSet, Format},
};

/// What a verified package 0 asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The account of the server that sent it: `./DMAcc/<account>`.
    pub account: String<SERVER_ID_LEN>,
    /// The session to start.
    pub initiation: Initiation,
    /// The server's UI advice (already acted on: the user was told or asked).
    pub ui_mode: UiMode,
    /// Who caused the session, as the server says.
    pub initiator: Initiator,
    /// The digest matched only the resynchronisation nonce: the server lost its nonce and
    /// the session's authentication will set a fresh one.
    pub nonce_resync: bool,
}

/// Verifies a package 0 (raw, or inside a WSP Push) against the sending server's account
/// and asks or tells the user as its UI mode says. Nothing starts unless it returns `Ok`:
/// a forged digest, a truncated message, an unknown server or a user who declines is an
/// error.
pub fn accept_notification<F: NorFlash, H: Handlers>(
    tree: &mut Tree<'_, F, H>,
    ui: &mut dyn UserInteraction,
    bytes: &[u8],
) -> Result<Trigger, Error> {
    // A push is tried first: its checks are strict, and a raw package 0 never passes them.
    let n = match Notification::from_push(bytes) {
        Ok(n) => n,
        Err(_) => Notification::parse(bytes)?,
    };
    let account = Account::find(tree, n.server_id()).map_err(Error::Account)?;
    // Without server credentials there is nothing to verify the digest with.
    let server = account
        .server
        .as_ref()
        .ok_or(Error::Account(StatusCode::MissingCredentials))?;
    let check = n.verify(&server.secret, server.nonce.as_bytes())?;
    if check == DigestCheck::NonceResync {
        spend_resync(tree, &account)?;
    }
    let repr = n.repr();
    match repr.ui_mode {
        UiMode::UserInteraction => {
            if !ui.allow_session(&account.server_id) {
                return Err(Error::Declined);
            }
        }
        UiMode::Informative => ui.inform_session(&account.server_id),
        UiMode::Background | UiMode::NotSpecified => {}
    }
    Ok(Trigger {
        account: account.node,
        initiation: Initiation::Server {
            session_id: repr.session_id,
        },
        ui_mode: repr.ui_mode,
        initiator: repr.initiator,
        nonce_resync: check == DigestCheck::NonceResync,
    })
}

/// The resynchronisation nonce (DM Notification 1.2 §6.2) lets a server that lost the
/// nonce the device holds start a session, in which the device gives it a new one. Anyone
/// who saw one such package 0 could replay it for ever, so it is honoured once per stored
/// nonce: the stored nonce is marked when a resync is accepted, and the mark goes when the
/// session replaces the nonce (the device's challenge to an authenticated server). A
/// second resync against the same stored nonce is refused. The mark is stored before the
/// session starts, so a power cut does not reopen the door.
fn spend_resync<F: NorFlash, H: Handlers>(
    tree: &mut Tree<'_, F, H>,
    account: &Account,
) -> Result<(), Error> {
    let entry = account
        .server
        .as_ref()
        .ok_or(Error::Account(StatusCode::MissingCredentials))?;
    let mut uri: String<{ SERVER_ADDR_LEN }> = String::new();
    for part in [
        "./DMAcc/",
        &account.node,
        "/AppAuth/",
        &entry.node,
        "/AAuthData",
    ] {
        uri.push_str(part)
            .map_err(|_| Error::Account(StatusCode::UriTooLong))?;
    }
    if tree.value_marked(&uri) {
        return Err(Error::Notification(NotificationError::ResyncReplayed));
    }
    let marked = match tree.mark_value(&uri) {
        // No nonce stored yet: the empty one is what gets marked.
        Err(StatusCode::NotFound) => tree
            .add(Principal::Device, &uri, Some(b""), None, None)
            .and_then(|()| tree.mark_value(&uri)),
        other => other,
    };
    marked.map_err(Error::Account)
}

#[cfg(feature = "bootstrap")]
/// How a bootstrap reached the device, and so what proves it authentic.
#[derive(Debug, Clone, Copy)]
pub enum BootstrapSource<'k> {
    /// Written at the factory or read from the smart card: the channel is trusted.
    Trusted,
    /// A WSP Push PDU carrying the document, its `SEC` and `MAC` in the content type.
    Push(BootstrapKeys<'k>),
    /// A document received with a textual content type (HTTP, OBEX), e.g.
    /// `application/vnd.syncml.dm+wbxml; SEC=USERPIN; MAC=...`.
    ContentType(&'k [u8], BootstrapKeys<'k>),
}

#[cfg(feature = "bootstrap")]
/// Applies a DM bootstrap: a DM message whose `Add` and `Replace` commands (with leaf
/// values or TNDS) provision accounts. The document is authenticated first (an over-the-air
/// bootstrap must carry a `MAC` that verifies with the device's keys), then applied as the
/// device, all or nothing. Returns the number of items applied.
pub fn apply_bootstrap<F: NorFlash, H: Handlers>(
    tree: &mut Tree<'_, F, H>,
    bytes: &[u8],
    source: BootstrapSource<'_>,
    now: Option<u64>,
    scratch: &mut [u8],
) -> Result<usize, Error> {
    let document = match source {
        BootstrapSource::Trusted => bytes,
        BootstrapSource::Push(keys) => bootstrap::verify_push(bytes, &keys)?,
        BootstrapSource::ContentType(value, keys) => {
            let security = BootstrapSecurity::from_content_type_text(value)?;
            bootstrap::verify(&security, bytes, &keys)?;
            bytes
        }
    };
    let msg = codec::parse(document)?;
    let mut before = [0u8; ACCOUNT_LIST];
    let before = accounts(tree, &mut before).map_err(Error::Bootstrap)?;
    tree.begin_atomic().map_err(Error::Bootstrap)?;
    let result = apply_commands(tree, msg.body.commands, now, scratch)
        .and_then(|n| grant_new_accounts(tree, before, now).map(|()| n));
    match result {
        Ok(n) => {
            tree.commit_atomic().map_err(Error::Bootstrap)?;
            Ok(n)
        }
        Err(code) => {
            let _ = tree.rollback_atomic();
            Err(Error::Bootstrap(code))
        }
    }
}

#[cfg(feature = "bootstrap")]
/// Bytes of the list of accounts a bootstrap reads before it applies.
const ACCOUNT_LIST: usize = 512;

#[cfg(feature = "bootstrap")]
/// The names of the accounts under `./DMAcc`, `/`-separated, in `buf`.
fn accounts<'b, F: NorFlash, H: Handlers>(
    tree: &mut Tree<'_, F, H>,
    buf: &'b mut [u8],
) -> Result<&'b [u8], StatusCode> {
    let read = tree.get(Principal::Device, "./DMAcc", 0, buf)?;
    if read.len < read.total {
        return Err(StatusCode::DeviceFull);
    }
    Ok(buf.get(..read.len).unwrap_or(&[]))
}

#[cfg(feature = "bootstrap")]
/// The rights of an account a bootstrap creates without an ACL (OMA-TS-DM_Bootstrap 1.2
/// §5.3 leaves them to the device for the DM profile): its own server gets Add, Delete,
/// Get and Replace on the account node, and so on everything under it that has no ACL of
/// its own. Without them the account would inherit `./DMAcc`'s ACL, which grants nothing,
/// and its server could not maintain it (OMA CP's rule for a `w7` account, Get, Replace and
/// Delete, is the same idea; CP documents are not read by this library). Accounts that
/// existed before the bootstrap, and accounts the bootstrap gives an ACL, keep theirs.
fn grant_new_accounts<F: NorFlash, H: Handlers>(
    tree: &mut Tree<'_, F, H>,
    before: &[u8],
    now: Option<u64>,
) -> Result<(), StatusCode> {
    let mut after = [0u8; ACCOUNT_LIST];
    let after = accounts(tree, &mut after)?;
    let old = |name: &[u8]| before.split(|&b| b == b'/').any(|n| n == name);
    for name in after
        .split(|&b| b == b'/')
        .filter(|n| !n.is_empty() && !old(n))
    {
        let name = core::str::from_utf8(name).map_err(|_| StatusCode::BadRequest)?;
        let mut uri: String<{ SERVER_ADDR_LEN }> = String::new();
        let set = |uri: &mut String<{ SERVER_ADDR_LEN }>, tail: &str| -> Result<(), StatusCode> {
            uri.clear();
            uri.push_str("./DMAcc/")
                .and_then(|()| uri.push_str(name))
                .and_then(|()| uri.push_str(tail))
                .map_err(|_| StatusCode::UriTooLong)
        };
        set(&mut uri, "?prop=ACL")?;
        if tree.get(Principal::Device, &uri, 0, &mut [])?.total > 0 {
            continue;
        }
        set(&mut uri, "/ServerID")?;
        let mut id = [0u8; SERVER_ID_LEN];
        let n = tree.get(Principal::Device, &uri, 0, &mut id)?.len;
        let id =
            core::str::from_utf8(id.get(..n).unwrap_or(&[])).map_err(|_| StatusCode::BadRequest)?;
        if id.is_empty() {
            // An account without a server identity grants nobody anything.
            continue;
        }
        let mut grant: String<{ 4 * (SERVER_ID_LEN + 9) }> = String::new();
        let rights = AccessSet::ADD
            .union(AccessSet::DELETE)
            .union(AccessSet::GET)
            .union(AccessSet::REPLACE);
        crate::tree::acl::write_grant(&mut grant, rights, id)
            .map_err(|_| StatusCode::DeviceFull)?;
        set(&mut uri, "?prop=ACL")?;
        tree.replace(Principal::Device, &uri, grant.as_bytes(), None, now)?;
    }
    Ok(())
}

#[cfg(feature = "bootstrap")]
fn apply_commands<F: NorFlash, H: Handlers>(
    tree: &mut Tree<'_, F, H>,
    commands: codec::List<'_, Command<'_>>,
    now: Option<u64>,
    scratch: &mut [u8],
) -> Result<usize, StatusCode> {
    let who = Principal::Device;
    let mut applied = 0;
    for cmd in commands {
        let (create, c) = match cmd {
            Command::Add(c) => (true, c),
            Command::Replace(c) => (false, c),
            Command::Atomic(c) | Command::Sequence(c) => {
                applied += apply_commands(tree, c.commands, now, scratch)?;
                continue;
            }
            _ => return Err(StatusCode::CommandNotAllowed),
        };
        for item in c.items {
            let mut uri_buf = [0u8; URI_LEN];
            let uri = super::runner::uri_of(item.target, &mut uri_buf)?;
            let format = super::runner::format_of(item.meta.or(c.meta))?;
            match item.data {
                #[cfg(feature = "tnds")]
                Some(Data::Xml(doc)) => {
                    tree.add_tnds(who, uri, doc.events(), now, scratch)?;
                }
                #[cfg(not(feature = "tnds"))]
                Some(Data::Xml(_)) => return Err(StatusCode::UnsupportedMediaType),
                data => {
                    let text = data.and_then(|d| d.content());
                    // Binary values travel as Base64 in XML.
                    let decode =
                        format == Some(Format::B64) && tree.format_at(uri) == Some(Format::Bin);
                    let format = if decode { Some(Format::Bin) } else { format };
                    let value = match text {
                        None => None,
                        Some(t) if decode => Some(crate::codec::b64::decode_text(t, scratch)?),
                        Some(t) => Some(value_of(t, scratch)?),
                    };
                    match (create, value) {
                        (true, v) => match tree.add(who, uri, v, format, now) {
                            // A bootstrap sets values whether or not they exist.
                            Err(StatusCode::AlreadyExists) if v.is_some() => {
                                tree.replace(who, uri, v.unwrap_or(&[]), format, now)?
                            }
                            other => other?,
                        },
                        (false, v) => tree.replace(who, uri, v.unwrap_or(&[]), format, now)?,
                    }
                }
            }
            applied += 1;
        }
    }
    Ok(applied)
}

#[cfg(feature = "bootstrap")]
fn value_of<'t>(text: Text<'t>, scratch: &'t mut [u8]) -> Result<&'t [u8], StatusCode> {
    match text.as_bytes() {
        Some(b) => Ok(b),
        None => text
            .copy_to(scratch)
            .map(|b| -> &[u8] { b })
            .ok_or(StatusCode::RequestEntityTooLarge),
    }
}

//! A DM account (`./DMAcc/<x>`, OMA-TS-DM_StdObj 1.2) as a session needs it: the server's
//! identity and address, the credentials both ways, and the nonces, read from the tree and
//! written back when the server gives a new one.

use embedded_storage::nor_flash::NorFlash;
use heapless::String;

use crate::auth::{AuthScheme, Nonce};
use crate::codes::StatusCode;
use crate::limits::{ACCOUNT_NAME_LEN, SECRET_LEN, SERVER_ADDR_LEN, SERVER_ID_LEN};
use crate::tree::{Handlers, Principal, Tree};

/// One direction's credentials: an `AppAuth/<x>` entry.
#[derive(Clone)]
pub struct AuthEntry {
    /// The `AppAuth/<x>` name, to write the nonce back.
    pub node: String<ACCOUNT_NAME_LEN>,
    /// The scheme (`AAuthType`).
    pub scheme: AuthScheme,
    /// `AAuthName`.
    pub name: String<SERVER_ID_LEN>,
    /// `AAuthSecret`.
    pub secret: heapless::Vec<u8, SECRET_LEN>,
    /// `AAuthData`: the nonce to use next.
    pub nonce: Nonce,
}

impl Default for AuthEntry {
    fn default() -> Self {
        AuthEntry {
            node: String::new(),
            scheme: AuthScheme::Basic,
            name: String::new(),
            secret: heapless::Vec::new(),
            nonce: Nonce::default(),
        }
    }
}

impl core::fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthEntry")
            .field("node", &self.node)
            .field("scheme", &self.scheme)
            .field("name", &self.name)
            .field("secret", &"<hidden>")
            .finish()
    }
}

/// What a session needs of a DM account.
#[derive(Debug, Clone, Default)]
pub struct Account {
    /// The account's node name: `./DMAcc/<name>`.
    pub node: String<SERVER_ID_LEN>,
    /// `ServerID`: the server's identity in ACLs and notifications.
    pub server_id: String<SERVER_ID_LEN>,
    /// The server's address (the first `AppAddr/<x>/Addr`).
    pub addr: String<SERVER_ADDR_LEN>,
    /// The client's credentials for the server (`AAuthLevel` `CLCRED`).
    pub client: Option<AuthEntry>,
    /// The server's credentials for the client (`SRVCRED`).
    pub server: Option<AuthEntry>,
}

impl Account {
    /// Reads account `./DMAcc/<node>` from the tree.
    pub fn load<F: NorFlash, H: Handlers>(
        tree: &mut Tree<'_, F, H>,
        node: &str,
    ) -> Result<Account, StatusCode> {
        let mut acc = Account::default();
        acc.load_in(tree, node)?;
        Ok(acc)
    }

    /// [`Account::load`] into `self`, which it replaces: the account is read where it is
    /// kept (a session sets it up in place) instead of being built on the stack and moved.
    /// On error `self` holds part of the account.
    pub fn load_in<F: NorFlash, H: Handlers>(
        &mut self,
        tree: &mut Tree<'_, F, H>,
        node: &str,
    ) -> Result<(), StatusCode> {
        *self = Account::default();
        self.node
            .push_str(node)
            .map_err(|_| StatusCode::UriTooLong)?;
        let mut uri: String<SERVER_ADDR_LEN> = String::new();
        let mut buf = [0u8; SERVER_ADDR_LEN];
        set_uri(&mut uri, &[node, "/ServerID"])?;
        let id = value(tree, &uri, &mut buf).map_err(|_| StatusCode::NotFound)?;
        push(&mut self.server_id, id)?;
        // The first address.
        set_uri(&mut uri, &[node, "/AppAddr"])?;
        if let Ok(list) = value(tree, &uri, &mut buf) {
            let first = list.split(|&b| b == b'/').next().unwrap_or(&[]);
            let first = core::str::from_utf8(first).map_err(|_| StatusCode::BadRequest)?;
            let mut addr: String<SERVER_ADDR_LEN> = String::new();
            set_uri(&mut addr, &[node, "/AppAddr/", first, "/Addr"])?;
            if let Ok(a) = value(tree, &addr, &mut buf) {
                push(&mut self.addr, a)?;
            }
        }
        // Credentials: each AppAuth entry by its level.
        set_uri(&mut uri, &[node, "/AppAuth"])?;
        let mut names = [0u8; SERVER_ADDR_LEN];
        for entry in value(tree, &uri, &mut names)
            .ok()
            .unwrap_or(&[])
            .split(|&b| b == b'/')
            .filter(|e| !e.is_empty())
        {
            let entry = core::str::from_utf8(entry).map_err(|_| StatusCode::BadRequest)?;
            let at = [node, entry];
            let e = match auth_leaf(tree, &mut uri, at, "AAuthLevel", &mut buf) {
                Some(b"CLCRED") => self.client.insert(AuthEntry::default()),
                Some(b"SRVCRED") => self.server.insert(AuthEntry::default()),
                _ => continue,
            };
            push(&mut e.node, entry.as_bytes())?;
            let kind = auth_leaf(tree, &mut uri, at, "AAuthType", &mut buf).unwrap_or(&[]);
            e.scheme = AuthScheme::from_aauth_type(kind).unwrap_or(AuthScheme::Basic);
            let name = auth_leaf(tree, &mut uri, at, "AAuthName", &mut buf).unwrap_or(&[]);
            push(&mut e.name, name)?;
            let secret = auth_leaf(tree, &mut uri, at, "AAuthSecret", &mut buf).unwrap_or(&[]);
            e.secret =
                heapless::Vec::from_slice(secret).map_err(|_| StatusCode::RequestEntityTooLarge)?;
            let nonce = auth_leaf(tree, &mut uri, at, "AAuthData", &mut buf).unwrap_or(&[]);
            e.nonce = Nonce::new(nonce).unwrap_or_default();
        }
        // AAuthPref overrides the client entry's type.
        set_uri(&mut uri, &[node, "/AAuthPref"])?;
        if let Ok(pref) = value(tree, &uri, &mut buf) {
            if let (Some(client), Ok(scheme)) =
                (self.client.as_mut(), AuthScheme::from_aauth_type(pref))
            {
                client.scheme = scheme;
            }
        }
        Ok(())
    }

    /// Finds the account whose `ServerID` is `server_id`.
    pub fn find<F: NorFlash, H: Handlers>(
        tree: &mut Tree<'_, F, H>,
        server_id: &[u8],
    ) -> Result<Account, StatusCode> {
        let mut names = [0u8; 512];
        let n = tree.get(Principal::Device, "./DMAcc", 0, &mut names)?.len;
        let mut uri: String<SERVER_ADDR_LEN> = String::new();
        let mut buf = [0u8; SERVER_ID_LEN];
        for name in names
            .get(..n)
            .unwrap_or(&[])
            .split(|&b| b == b'/')
            .filter(|n| !n.is_empty())
        {
            let name = core::str::from_utf8(name).map_err(|_| StatusCode::BadRequest)?;
            set_uri(&mut uri, &[name, "/ServerID"])?;
            if let Ok(r) = tree.get(Principal::Device, &uri, 0, &mut buf) {
                if buf.get(..r.len) == Some(server_id) {
                    return Account::load(tree, name);
                }
            }
        }
        Err(StatusCode::NotFound)
    }

    /// Writes a direction's nonce back to its `AAuthData` (so the next session starts
    /// with it, also after a restart).
    pub fn store_nonce<F: NorFlash, H: Handlers>(
        &self,
        tree: &mut Tree<'_, F, H>,
        entry: &AuthEntry,
    ) -> Result<(), StatusCode> {
        let mut uri: String<SERVER_ADDR_LEN> = String::new();
        set_uri(
            &mut uri,
            &[&self.node, "/AppAuth/", &entry.node, "/AAuthData"],
        )?;
        match tree.replace(Principal::Device, &uri, entry.nonce.as_bytes(), None, None) {
            Err(StatusCode::NotFound) => tree.add(
                Principal::Device,
                &uri,
                Some(entry.nonce.as_bytes()),
                None,
                None,
            ),
            other => other,
        }
    }
}

/// `./DMAcc/` followed by `parts`.
fn set_uri(uri: &mut String<SERVER_ADDR_LEN>, parts: &[&str]) -> Result<(), StatusCode> {
    uri.clear();
    uri.push_str("./DMAcc/")
        .map_err(|_| StatusCode::UriTooLong)?;
    for p in parts {
        uri.push_str(p).map_err(|_| StatusCode::UriTooLong)?;
    }
    Ok(())
}

fn push<const M: usize>(s: &mut String<M>, bytes: &[u8]) -> Result<(), StatusCode> {
    let text = core::str::from_utf8(bytes).map_err(|_| StatusCode::BadRequest)?;
    s.push_str(text)
        .map_err(|_| StatusCode::RequestEntityTooLarge)
}

/// The value of the leaf at `uri`, as the device reads it, in the front of `buf`.
pub(crate) fn value<'b, F: NorFlash, H: Handlers>(
    tree: &mut Tree<'_, F, H>,
    uri: &str,
    buf: &'b mut [u8],
) -> Result<&'b [u8], StatusCode> {
    let len = tree.get(Principal::Device, uri, 0, buf)?.len;
    Ok(buf.get(..len).unwrap_or(&[]))
}

/// The leaf `leaf` of the `AppAuth` entry `at[1]` of the account at `at[0]`.
fn auth_leaf<'b, F: NorFlash, H: Handlers>(
    tree: &mut Tree<'_, F, H>,
    uri: &mut String<SERVER_ADDR_LEN>,
    at: [&str; 2],
    leaf: &str,
    buf: &'b mut [u8],
) -> Option<&'b [u8]> {
    let [node, entry] = at;
    set_uri(uri, &[node, "/AppAuth/", entry, "/", leaf]).ok()?;
    value(tree, uri, buf).ok()
}

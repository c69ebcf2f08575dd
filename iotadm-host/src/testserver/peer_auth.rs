//! The server's side of DM authentication, written from the formulas of OMA-TS-DM_Security
//! 1.2 §5.1.3-5.1.4 and OMA-TS-DM_Notification 1.2 §6.2.2.2 with nothing of the client's
//! [`auth`](iotadm::auth) or [`notification`](iotadm::notification) code: a mistake in the
//! client's formulas then shows as a failed session instead of being shared by both sides.
//!
//! Notation as in the specification: `H` is MD5, `B64` standard Base64 with padding, `:` the
//! byte `0x3A`.
//!
//! | what | value |
//! |---|---|
//! | basic `Cred/Data` | `B64(name ":" secret)` |
//! | MD5 digest `Cred/Data` | `B64(H(B64(H(name ":" secret)) ":" nonce))` |
//! | HMAC `mac=` | `B64(H(B64(H(name ":" secret)) ":" nonce ":" B64(H(body))))` |
//! | package 0 digest | `H(B64(H(server-id ":" secret)) ":" nonce ":" B64(H(trigger)))`, raw |

use std::string::{String, ToString};
use std::vec::Vec;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use md5::{Digest, Md5};

use iotadm::auth::AuthScheme;

/// The `Meta/Type` of each scheme in `Cred` and `Chal`.
pub(crate) fn meta_type(scheme: AuthScheme) -> &'static str {
    match scheme {
        AuthScheme::Basic => "syncml:auth-basic",
        AuthScheme::Md5Digest => "syncml:auth-md5",
        AuthScheme::Hmac => "syncml:auth-MAC",
        _ => "",
    }
}

/// The scheme a `Meta/Type` names.
pub(crate) fn scheme_of(meta_type: &str) -> Option<AuthScheme> {
    match meta_type {
        "syncml:auth-basic" => Some(AuthScheme::Basic),
        "syncml:auth-md5" => Some(AuthScheme::Md5Digest),
        // The specification spells it `auth-MAC`; some peers write it in lower case.
        t if t.eq_ignore_ascii_case("syncml:auth-mac") => Some(AuthScheme::Hmac),
        _ => None,
    }
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// `B64(H(name ":" secret))`, the inner part of the digest and of the MAC.
fn inner(name: &[u8], secret: &[u8]) -> String {
    b64(&md5(&[name, b":", secret]))
}

/// `Cred/Data` of `scheme` (basic or MD5 digest).
pub(crate) fn cred_data(scheme: AuthScheme, name: &[u8], secret: &[u8], nonce: &[u8]) -> String {
    match scheme {
        AuthScheme::Basic => b64(&[name, b":", secret].concat()),
        _ => b64(&md5(&[inner(name, secret).as_bytes(), b":", nonce])),
    }
}

/// The `mac=` value of an `x-syncml-hmac` header for `body`.
pub(crate) fn mac(name: &[u8], secret: &[u8], nonce: &[u8], body: &[u8]) -> String {
    let body_hash = b64(&md5(&[body]));
    b64(&md5(&[
        inner(name, secret).as_bytes(),
        b":",
        nonce,
        b":",
        body_hash.as_bytes(),
    ]))
}

/// The whole `x-syncml-hmac` header value.
pub(crate) fn hmac_header(name: &str, mac: &str) -> String {
    std::format!("algorithm=MD5, username=\"{name}\", mac={mac}")
}

/// The parameters of an `x-syncml-hmac` header: `(username, mac)`. `algorithm` may be left
/// out (it is then MD5) and must be MD5 when given.
pub(crate) fn parse_hmac_header(value: &str) -> Result<(String, String), String> {
    let mut username = None;
    let mut mac = None;
    for param in value.split(',') {
        let Some((key, val)) = param.split_once('=') else {
            return Err(std::format!(
                "x-syncml-hmac parameter without a value: {param:?}"
            ));
        };
        let val = val.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "algorithm" if val.eq_ignore_ascii_case("MD5") => {}
            "algorithm" => return Err(std::format!("x-syncml-hmac algorithm {val}")),
            "username" => {
                let unquoted = val
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .ok_or_else(|| "x-syncml-hmac username not quoted".to_string())?;
                username = Some(unquoted.to_string());
            }
            "mac" => mac = Some(val.to_string()),
            other => return Err(std::format!("x-syncml-hmac parameter {other:?}")),
        }
    }
    match (username, mac) {
        (Some(u), Some(m)) => Ok((u, m)),
        _ => Err("x-syncml-hmac without username or mac".to_string()),
    }
}

/// Why credentials were refused: missing (407) or wrong (401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    Missing,
    Invalid(String),
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Refusal::Missing => f.write_str("credentials missing"),
            Refusal::Invalid(why) => write!(f, "credentials refused: {why}"),
        }
    }
}

/// A `Cred` as it arrived: `Meta/Type`, `Meta/Format` and `Data`.
pub(crate) struct CredIn<'a> {
    pub(crate) meta_type: Option<&'a str>,
    pub(crate) format: Option<&'a str>,
    pub(crate) data: &'a [u8],
}

/// Checks a `Cred` for `scheme` against the expected name, secret and nonce. DM RepPro 1.2
/// §4.1: the type must be the scheme's, and the data of basic and digest is Base64 with
/// Format `b64`.
pub(crate) fn check_cred(
    scheme: AuthScheme,
    name: &[u8],
    secret: &[u8],
    nonce: &[u8],
    cred: Option<&CredIn<'_>>,
) -> Result<(), Refusal> {
    let Some(cred) = cred else {
        return Err(Refusal::Missing);
    };
    let want = meta_type(scheme);
    // The type may be left out for basic, the SyncML default.
    let given = cred.meta_type.unwrap_or("syncml:auth-basic");
    if given != want {
        return Err(Refusal::Invalid(std::format!(
            "Cred of type {given}, {want} expected"
        )));
    }
    if scheme == AuthScheme::Md5Digest && cred.format != Some("b64") {
        return Err(Refusal::Invalid(std::format!(
            "MD5 Cred with Format {:?}, b64 required",
            cred.format
        )));
    }
    let expected = cred_data(scheme, name, secret, nonce);
    if cred.data == expected.as_bytes() {
        Ok(())
    } else {
        Err(Refusal::Invalid("Cred/Data does not match".to_string()))
    }
}

/// Checks an `x-syncml-hmac` header for `body`.
pub(crate) fn check_mac(
    name: &str,
    secret: &[u8],
    nonce: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), Refusal> {
    let Some(header) = header else {
        return Err(Refusal::Missing);
    };
    let (username, given) = parse_hmac_header(header).map_err(Refusal::Invalid)?;
    if username != name {
        return Err(Refusal::Invalid(std::format!(
            "x-syncml-hmac for user {username:?}, {name:?} expected"
        )));
    }
    if given == mac(name.as_bytes(), secret, nonce, body) {
        Ok(())
    } else {
        Err(Refusal::Invalid(
            "mac does not match the message".to_string(),
        ))
    }
}

/// A client's `Chal`: the scheme it asks for and the nonce it gives (decoded). DM RepPro 1.2
/// §4.1: a nonce for MD5 or the MAC must come with Format `b64`.
pub(crate) fn parse_chal(
    meta_type: Option<&str>,
    format: Option<&str>,
    next_nonce: Option<&str>,
) -> Result<(AuthScheme, Option<Vec<u8>>), String> {
    let t = meta_type.unwrap_or("syncml:auth-basic");
    let scheme = scheme_of(t).ok_or_else(|| std::format!("Chal of unknown type {t:?}"))?;
    let nonce = match next_nonce {
        None => None,
        Some(n) => {
            if format != Some("b64") {
                return Err(std::format!(
                    "NextNonce with Format {format:?}, b64 required"
                ));
            }
            Some(
                STANDARD
                    .decode(n.trim())
                    .map_err(|e| std::format!("NextNonce is not Base64: {e}"))?,
            )
        }
    };
    Ok((scheme, nonce))
}

/// `NextNonce` text for `nonce`.
pub(crate) fn nonce_text(nonce: &[u8]) -> String {
    b64(nonce)
}

/// A package 0 (OMA-TS-DM_Notification 1.2 §6.2): the digest, then the trigger: version 1.2
/// (`0000001011`), UI mode, initiator (server), 27 bits of zeros, the session id, the
/// server id's length and the server id; no vendor part.
pub(crate) fn package0(
    server_id: &str,
    secret: &[u8],
    nonce: &[u8],
    ui_mode: u8,
    session_id: u16,
) -> Vec<u8> {
    let id = server_id.as_bytes();
    // version (10 bits) | ui-mode (2) | initiator (1) | future use (27) | session id (16),
    // then the length byte; the version field of DM 1.2 notifications holds 11.
    let word: u64 = 11 << 54 | u64::from(ui_mode & 3) << 52 | 1 << 51 | u64::from(session_id) << 8;
    let mut trigger = word.to_be_bytes()[..7].to_vec();
    trigger.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
    trigger.extend_from_slice(id);
    let digest = md5(&[
        inner(id, secret).as_bytes(),
        b":",
        nonce,
        b":",
        b64(&md5(&[&trigger])).as_bytes(),
    ]);
    [digest.as_slice(), &trigger].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vectors of omadm-facts §4 and §5, computed by hand from the formulas.
    #[test]
    fn known_answers() {
        assert_eq!(inner(b"user", b"pass"), "IaOShYhKJo1kWOP96wi+rA==");
        assert_eq!(
            cred_data(AuthScheme::Md5Digest, b"user", b"pass", b"0123456789abcdef"),
            "C8oBTAdiVef8Qq8UaFTbhQ=="
        );
        assert_eq!(
            cred_data(AuthScheme::Basic, b"user", b"pass", b""),
            "dXNlcjpwYXNz"
        );
        let p0 = package0("srv1", b"secret", &[0, 0, 0, 0], 1, 0x1234);
        assert_eq!(
            &p0[16..],
            &[0x02, 0xD8, 0x00, 0x00, 0x00, 0x12, 0x34, 0x04, b's', b'r', b'v', b'1']
        );
        let hex: String = p0[..16].iter().map(|b| std::format!("{b:02x}")).collect();
        assert_eq!(hex, "a01843a6ca9240827b3ea4cb3c649651");
    }

    #[test]
    fn hmac_headers_parse_with_or_without_the_algorithm() {
        let h = hmac_header("srv", "abc=");
        assert_eq!(parse_hmac_header(&h), Ok(("srv".into(), "abc=".into())));
        assert_eq!(
            parse_hmac_header("username=\"d\",mac=xyz"),
            Ok(("d".into(), "xyz".into()))
        );
        assert!(parse_hmac_header("algorithm=SHA1, username=\"d\", mac=x").is_err());
        assert!(parse_hmac_header("username=d, mac=x").is_err());
    }
}

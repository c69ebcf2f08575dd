//! Authentication of a DM bootstrap (a WBXML DM message that adds a DMAcc account) pushed
//! over the air: the `SEC` and `MAC` parameters of its content type and the HMAC-SHA1 over
//! the document (OMA-TS-DM_Security 1.2 §5.1.7.2, OMA-WAP-TS-ProvBoot 1.1 §5).
//!
//! This module only decides whether a bootstrap document is authentic; applying it to the
//! management tree is the session's job, and where the key material comes from (the NAM,
//! the R-UIM, a PIN the user types) is the vendor's. An unauthenticated or mismatching
//! bootstrap is refused with a [`BootstrapError`]; nothing here panics.
//!
//! # Methods and keys
//!
//! `MAC` is the HMAC-SHA1 of the WBXML document, in hex (either case), keyed by:
//!
//! | `SEC` | WSP code | key |
//! |---|---|---|
//! | `NETWPIN` / `NETWORKID` | 0 | the network shared secret |
//! | `USERPIN` | 1 | the user PIN |
//! | `USERNETWPIN` | 2 | network shared secret ‖ user PIN |
//! | `USERPIN_NETWORKID` | — | user PIN ‖ `:` ‖ network shared secret |
//! | `USERPINMAC` | 3 | see below |
//!
//! * The network shared secret is an input the vendor supplies
//!   ([`BootstrapKeys::network_secret`]). On IMSI-based networks Provisioning Bootstrap
//!   defines it as the IMSI in semi-octets ([`imsi_key`]); for CDMA, DM Security names the
//!   ESN as an example and leaves the choice to the operator, so the firmware passes
//!   whatever its operator derives (ESN, MEID, an IMSI_M key, ...).
//! * `USERNETWPIN` (Provisioning Bootstrap, binary code 2) and `USERPIN_NETWORKID` (the DM
//!   Security name) are kept apart because the sources differ on the key: deployed
//!   provisioning clients (Nokia's, Funambol's server) append the PIN to the network key
//!   with no separator, while the DM Security text and a DM client that implements it join
//!   `PIN:secret`. A binary `SEC=2` therefore means the provisioning rule.
//! * `USERPINMAC`: the PIN the user enters is `K ‖ m`, two halves of equal length; `m` holds
//!   decimal digits with `m[i] = '0' + (HMAC-SHA1(K, document)[i] mod 10)`. The `MAC`
//!   parameter is not used.
//! * DM Security requires NETWORKID and USERPIN; the others are accepted as well.
//!
//! ```
//! use iotadm::bootstrap::{compute_mac, mac_hex, verify, BootstrapKeys, BootstrapSecurity, SecMethod};
//!
//! let doc = b"\x02\xa4\x01\x6a\x00...";
//! let keys = BootstrapKeys { network_secret: None, user_pin: Some(b"1234") };
//! let hex = mac_hex(&compute_mac(SecMethod::UserPin, doc, &keys)?);
//! let security = BootstrapSecurity { method: SecMethod::UserPin, mac: Some(&hex) };
//! verify(&security, doc, &keys)?;
//! # Ok::<(), iotadm::bootstrap::BootstrapError>(())
//! ```

use crate::limits::BOOTSTRAP_KEY_LEN;
use crate::notification::wsp::{
    ParamValue, PushPdu, WspError, CT_SYNCML_DM_WBXML, PARAM_MAC, PARAM_SEC,
};
use core::fmt;
use hmac::{Hmac, KeyInit, Mac};
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::IResult;
use sha1::Sha1;
use subtle::{Choice, ConstantTimeEq};

type HmacSha1 = Hmac<Sha1>;

/// Length of an HMAC-SHA1 value.
pub const MAC_LEN: usize = 20;

/// The only content type a DM bootstrap may have (WBXML; XML is not allowed).
pub const CONTENT_TYPE: &str = "application/vnd.syncml.dm+wbxml";

/// What can be wrong with a bootstrap's authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BootstrapError {
    /// The push is not well-formed WSP.
    Wsp(WspError),
    /// The content type is not `application/vnd.syncml.dm+wbxml`.
    UnsupportedContentType,
    /// The content type has no `SEC` parameter: the bootstrap is not authenticated.
    Unauthenticated,
    /// `SEC` names a method this module does not know.
    UnknownSecMethod,
    /// A `SEC` or `MAC` parameter appears twice, or a parameter list is malformed.
    MalformedParameters,
    /// The method needs a `MAC` parameter and there is none.
    MissingMac,
    /// The `MAC` parameter is not 40 hex digits.
    MalformedMac,
    /// The method needs the network shared secret and the vendor gave none.
    MissingNetworkSecret,
    /// The method needs the user PIN and none was entered.
    MissingUserPin,
    /// The key is longer than [`BOOTSTRAP_KEY_LEN`].
    KeyTooLong,
    /// A `USERPINMAC` PIN is not two equal halves with a decimal second half.
    InvalidUserPin,
    /// An IMSI is not 6 to 15 decimal digits.
    InvalidImsi,
    /// The MAC does not match: the document is forged, altered or keyed differently.
    MacMismatch,
}

impl From<WspError> for BootstrapError {
    fn from(e: WspError) -> Self {
        BootstrapError::Wsp(e)
    }
}

impl fmt::Display for BootstrapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            BootstrapError::Wsp(e) => return write!(f, "bootstrap push: {e}"),
            BootstrapError::UnsupportedContentType => "bootstrap content type is not DM WBXML",
            BootstrapError::Unauthenticated => "bootstrap carries no SEC parameter",
            BootstrapError::UnknownSecMethod => "unknown bootstrap SEC method",
            BootstrapError::MalformedParameters => "malformed bootstrap content-type parameters",
            BootstrapError::MissingMac => "bootstrap carries no MAC parameter",
            BootstrapError::MalformedMac => "bootstrap MAC is not 40 hex digits",
            BootstrapError::MissingNetworkSecret => "network shared secret not available",
            BootstrapError::MissingUserPin => "user PIN not available",
            BootstrapError::KeyTooLong => "bootstrap key too long",
            BootstrapError::InvalidUserPin => "USERPINMAC PIN malformed",
            BootstrapError::InvalidImsi => "IMSI is not 6 to 15 digits",
            BootstrapError::MacMismatch => "bootstrap MAC mismatch",
        };
        f.write_str(s)
    }
}

/// The security method named by `SEC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SecMethod {
    /// `NETWPIN` (provisioning) or `NETWORKID` (DM): keyed by the network shared secret.
    NetworkPin,
    /// `USERPIN`: keyed by the user PIN.
    UserPin,
    /// `USERNETWPIN`: keyed by network shared secret ‖ user PIN.
    UserNetworkPin,
    /// `USERPIN_NETWORKID`: keyed by user PIN ‖ `:` ‖ network shared secret.
    UserPinNetworkId,
    /// `USERPINMAC`: the user PIN carries its own MAC digits.
    UserPinMac,
}

impl SecMethod {
    /// The method for a binary `SEC` value (WSP short integer).
    pub fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(SecMethod::NetworkPin),
            1 => Some(SecMethod::UserPin),
            2 => Some(SecMethod::UserNetworkPin),
            3 => Some(SecMethod::UserPinMac),
            _ => None,
        }
    }

    /// The method for a textual `SEC` value (a name in any case, or a decimal code).
    pub fn from_name(name: &[u8]) -> Option<Self> {
        let n = name.trim_ascii();
        [
            (&b"NETWPIN"[..], SecMethod::NetworkPin),
            (b"NETWORKID", SecMethod::NetworkPin),
            (b"USERPIN", SecMethod::UserPin),
            (b"USERNETWPIN", SecMethod::UserNetworkPin),
            (b"USERPIN_NETWORKID", SecMethod::UserPinNetworkId),
            (b"USERPINMAC", SecMethod::UserPinMac),
            (b"0", SecMethod::NetworkPin),
            (b"1", SecMethod::UserPin),
            (b"2", SecMethod::UserNetworkPin),
            (b"3", SecMethod::UserPinMac),
        ]
        .into_iter()
        .find(|(k, _)| n.eq_ignore_ascii_case(k))
        .map(|(_, m)| m)
    }

    /// The binary `SEC` code, if the method has one.
    pub fn code(self) -> Option<u8> {
        match self {
            SecMethod::NetworkPin => Some(0),
            SecMethod::UserPin => Some(1),
            SecMethod::UserNetworkPin => Some(2),
            SecMethod::UserPinMac => Some(3),
            SecMethod::UserPinNetworkId => None,
        }
    }

    /// Whether the user must enter a PIN for this method.
    pub fn needs_user_pin(self) -> bool {
        !matches!(self, SecMethod::NetworkPin)
    }
}

/// The key material the device holds. Both are secrets and borrowed from the vendor's
/// storage or UI.
#[derive(Clone, Copy, Default)]
pub struct BootstrapKeys<'a> {
    /// The network shared secret, exactly as the operator keys it (see the module docs).
    pub network_secret: Option<&'a [u8]>,
    /// The PIN the user entered, as text.
    pub user_pin: Option<&'a [u8]>,
}

impl fmt::Debug for BootstrapKeys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |o: Option<&[u8]>| if o.is_some() { "Some(..)" } else { "None" };
        f.debug_struct("BootstrapKeys")
            .field(
                "network_secret",
                &format_args!("{}", shown(self.network_secret)),
            )
            .field("user_pin", &format_args!("{}", shown(self.user_pin)))
            .finish()
    }
}

/// The `SEC` and `MAC` a bootstrap arrived with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BootstrapSecurity<'a> {
    /// The method.
    pub method: SecMethod,
    /// The `MAC` parameter (hex text), if present.
    pub mac: Option<&'a [u8]>,
}

impl<'a> BootstrapSecurity<'a> {
    /// Reads `SEC` and `MAC` from a WSP content type.
    pub fn from_content_type(
        ct: &crate::notification::wsp::ContentType<'a>,
    ) -> Result<Self, BootstrapError> {
        let mut sec = None;
        let mut mac = None;
        for p in ct.params() {
            let p = p?;
            if p.is(PARAM_SEC, b"SEC") {
                let m = match p.value {
                    ParamValue::Integer(c) => SecMethod::from_code(c),
                    ParamValue::Text(t) => SecMethod::from_name(t),
                    ParamValue::None => None,
                }
                .ok_or(BootstrapError::UnknownSecMethod)?;
                if sec.replace(m).is_some() {
                    return Err(BootstrapError::MalformedParameters);
                }
            } else if p.is(PARAM_MAC, b"MAC") {
                let ParamValue::Text(t) = p.value else {
                    return Err(BootstrapError::MalformedMac);
                };
                if mac.replace(t).is_some() {
                    return Err(BootstrapError::MalformedParameters);
                }
            }
        }
        Ok(BootstrapSecurity {
            method: sec.ok_or(BootstrapError::Unauthenticated)?,
            mac,
        })
    }

    /// Reads a textual `Content-Type` value (HTTP, OBEX):
    /// `application/vnd.syncml.dm+wbxml; SEC=USERPIN; MAC=0A1B...`. The media type must be
    /// DM WBXML.
    pub fn from_content_type_text(value: &'a [u8]) -> Result<Self, BootstrapError> {
        let (mut rest, media) =
            media_type(value).map_err(|_| BootstrapError::MalformedParameters)?;
        if !media.eq_ignore_ascii_case(CONTENT_TYPE.as_bytes()) {
            return Err(BootstrapError::UnsupportedContentType);
        }
        let mut sec = None;
        let mut mac = None;
        while !rest.is_empty() {
            let (r, (name, value)) =
                text_param(rest).map_err(|_| BootstrapError::MalformedParameters)?;
            rest = r;
            if name.eq_ignore_ascii_case(b"SEC") {
                let m = SecMethod::from_name(value).ok_or(BootstrapError::UnknownSecMethod)?;
                if sec.replace(m).is_some() {
                    return Err(BootstrapError::MalformedParameters);
                }
            } else if name.eq_ignore_ascii_case(b"MAC") && mac.replace(value).is_some() {
                return Err(BootstrapError::MalformedParameters);
            }
        }
        Ok(BootstrapSecurity {
            method: sec.ok_or(BootstrapError::Unauthenticated)?,
            mac,
        })
    }
}

type PResult<'a, O> = IResult<&'a [u8], O, ()>;

fn ows(i: &[u8]) -> PResult<'_, &[u8]> {
    take_while(|c| c == b' ' || c == b'\t')(i)
}

fn token(i: &[u8]) -> PResult<'_, &[u8]> {
    // RFC 9110 token characters, plus `/` so that a media type reads as one token.
    take_while1(|c: u8| c.is_ascii_graphic() && !b"()<>@,;:\\\"[]?={}".contains(&c))(i)
}

fn media_type(i: &[u8]) -> PResult<'_, &[u8]> {
    let (i, _) = ows(i)?;
    let (i, m) = token(i)?;
    let (i, _) = ows(i)?;
    Ok((i, m))
}

/// `; name = value`, value a token or a quoted string (no escapes: none of these values
/// can contain quotes).
fn text_param(i: &[u8]) -> PResult<'_, (&[u8], &[u8])> {
    let (i, _) = tag(&b";"[..])(i)?;
    let (i, _) = ows(i)?;
    let (i, name) = token(i)?;
    let (i, _) = ows(i)?;
    let (i, _) = tag(&b"="[..])(i)?;
    let (i, _) = ows(i)?;
    let (i, value) = if let Some(quoted) = i.strip_prefix(b"\"") {
        let (r, v) = take_while(|c| c != b'"')(quoted)?;
        let (r, _) = tag(&b"\""[..])(r)?;
        (r, v)
    } else {
        token(i)?
    };
    let (i, _) = ows(i)?;
    Ok((i, (name, value)))
}

/// Builds the HMAC key for `method` into `buf`.
fn key<'k>(
    method: SecMethod,
    keys: &BootstrapKeys<'_>,
    buf: &'k mut [u8; BOOTSTRAP_KEY_LEN],
) -> Result<&'k [u8], BootstrapError> {
    let net = || {
        keys.network_secret
            .ok_or(BootstrapError::MissingNetworkSecret)
    };
    let pin = || keys.user_pin.ok_or(BootstrapError::MissingUserPin);
    let parts: [&[u8]; 3] = match method {
        SecMethod::NetworkPin => [net()?, &[], &[]],
        SecMethod::UserPin => [pin()?, &[], &[]],
        SecMethod::UserNetworkPin => [net()?, pin()?, &[]],
        SecMethod::UserPinNetworkId => [pin()?, b":", net()?],
        SecMethod::UserPinMac => [user_pin_mac_parts(pin()?)?.0, &[], &[]],
    };
    let mut len = 0usize;
    for part in parts {
        let end = len
            .checked_add(part.len())
            .ok_or(BootstrapError::KeyTooLong)?;
        buf.get_mut(len..end)
            .ok_or(BootstrapError::KeyTooLong)?
            .copy_from_slice(part);
        len = end;
    }
    buf.get(..len).ok_or(BootstrapError::KeyTooLong)
}

/// Splits a `USERPINMAC` PIN into `K` and `m`.
fn user_pin_mac_parts(pin: &[u8]) -> Result<(&[u8], &[u8]), BootstrapError> {
    let half = pin.len() / 2;
    if pin.is_empty() || !pin.len().is_multiple_of(2) || half > MAC_LEN {
        return Err(BootstrapError::InvalidUserPin);
    }
    let (k, m) = pin
        .split_at_checked(half)
        .ok_or(BootstrapError::InvalidUserPin)?;
    if !m.iter().all(u8::is_ascii_digit) {
        return Err(BootstrapError::InvalidUserPin);
    }
    Ok((k, m))
}

fn hmac_sha1(key: &[u8], document: &[u8]) -> Result<[u8; MAC_LEN], BootstrapError> {
    let mut mac = HmacSha1::new_from_slice(key).map_err(|_| BootstrapError::KeyTooLong)?;
    mac.update(document);
    Ok(mac.finalize().into_bytes().into())
}

/// The HMAC-SHA1 a sender computes for `document` under `method` (for `USERPINMAC`, the
/// HMAC keyed by the first half of the PIN). For the test server and for tests.
pub fn compute_mac(
    method: SecMethod,
    document: &[u8],
    keys: &BootstrapKeys<'_>,
) -> Result<[u8; MAC_LEN], BootstrapError> {
    let mut buf = [0u8; BOOTSTRAP_KEY_LEN];
    hmac_sha1(key(method, keys, &mut buf)?, document)
}

/// The digits `m` that complete a `USERPINMAC` PIN `K ‖ m` for `document`, for the sender
/// to show to the user. `k` is at most 20 characters.
pub fn user_pin_mac_digits(
    k: &[u8],
    document: &[u8],
) -> Result<heapless::Vec<u8, MAC_LEN>, BootstrapError> {
    if k.is_empty() || k.len() > MAC_LEN {
        return Err(BootstrapError::InvalidUserPin);
    }
    let m = hmac_sha1(k, document)?;
    let mut digits = heapless::Vec::new();
    for b in m.iter().take(k.len()) {
        // Cannot fail: at most MAC_LEN digits.
        let _ = digits.push(b'0' + b % 10);
    }
    Ok(digits)
}

/// Uppercase hex of a MAC, as the `MAC` parameter carries it.
pub fn mac_hex(mac: &[u8; MAC_LEN]) -> [u8; 2 * MAC_LEN] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = [0u8; 2 * MAC_LEN];
    for (pair, b) in out.chunks_exact_mut(2).zip(mac) {
        if let [hi, lo] = pair {
            *hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            *lo = HEX.get(usize::from(b & 0xF)).copied().unwrap_or(b'0');
        }
    }
    out
}

fn parse_hex_mac(text: &[u8]) -> Result<[u8; MAC_LEN], BootstrapError> {
    let text = text.trim_ascii();
    if text.len() != 2 * MAC_LEN {
        return Err(BootstrapError::MalformedMac);
    }
    let nibble = |c: u8| -> Result<u8, BootstrapError> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(BootstrapError::MalformedMac),
        }
    };
    let mut out = [0u8; MAC_LEN];
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        if let [hi, lo] = pair {
            *o = (nibble(*hi)? << 4) | nibble(*lo)?;
        }
    }
    Ok(out)
}

/// Checks `document` against its `security` parameters with the device's `keys`.
/// Comparisons run in constant time.
pub fn verify(
    security: &BootstrapSecurity<'_>,
    document: &[u8],
    keys: &BootstrapKeys<'_>,
) -> Result<(), BootstrapError> {
    if security.method == SecMethod::UserPinMac {
        let (k, m) = user_pin_mac_parts(keys.user_pin.ok_or(BootstrapError::MissingUserPin)?)?;
        let full = hmac_sha1(k, document)?;
        let mut equal = Choice::from(1);
        for (received, computed) in m.iter().zip(full.iter()) {
            equal &= received.ct_eq(&(b'0' + computed % 10));
        }
        return if bool::from(equal) {
            Ok(())
        } else {
            Err(BootstrapError::MacMismatch)
        };
    }
    let received = parse_hex_mac(security.mac.ok_or(BootstrapError::MissingMac)?)?;
    let mut buf = [0u8; BOOTSTRAP_KEY_LEN];
    let mut mac = HmacSha1::new_from_slice(key(security.method, keys, &mut buf)?)
        .map_err(|_| BootstrapError::KeyTooLong)?;
    mac.update(document);
    mac.verify_slice(&received)
        .map_err(|_| BootstrapError::MacMismatch)
}

/// Unwraps a DM bootstrap from a connectionless WSP Push PDU, checks that it is DM WBXML
/// with `SEC`/`MAC` parameters, verifies it, and returns the document.
pub fn verify_push<'a>(
    pdu: &'a [u8],
    keys: &BootstrapKeys<'_>,
) -> Result<&'a [u8], BootstrapError> {
    let push = PushPdu::parse(pdu)?;
    if !push
        .content_type
        .media
        .is(CT_SYNCML_DM_WBXML, CONTENT_TYPE.as_bytes())
    {
        return Err(BootstrapError::UnsupportedContentType);
    }
    let security = BootstrapSecurity::from_content_type(&push.content_type)?;
    verify(&security, push.body, keys)?;
    Ok(push.body)
}

/// The network shared secret of IMSI-based networks (Provisioning Bootstrap): the IMSI in
/// semi-octets as in the SIM's EF-IMSI, without its length octet. The first octet holds
/// the first digit in its high nibble and `1001` (odd digit count) or `0001` (even) in its
/// low nibble; the other digits follow two per octet, low nibble first, padded with `F`.
///
/// Implementations agree for 14- and 15-digit IMSIs (all CDMA IMSIs have 15); for shorter
/// ones some pad the key to 8 octets, this function does not.
pub fn imsi_key(imsi: &[u8]) -> Result<heapless::Vec<u8, 8>, BootstrapError> {
    if !(6..=15).contains(&imsi.len()) || !imsi.iter().all(u8::is_ascii_digit) {
        return Err(BootstrapError::InvalidImsi);
    }
    let digit = |k: usize| imsi.get(k).map(|c| c - b'0');
    let parity = if imsi.len() % 2 == 1 { 0x9 } else { 0x1 };
    let mut key = heapless::Vec::new();
    let first = (digit(0).unwrap_or(0) << 4) | parity;
    key.push(first).map_err(|_| BootstrapError::InvalidImsi)?;
    let mut k = 1;
    while k < imsi.len() {
        let lo = digit(k).unwrap_or(0xF);
        let hi = digit(k + 1).unwrap_or(0xF);
        key.push((hi << 4) | lo)
            .map_err(|_| BootstrapError::InvalidImsi)?;
        k += 2;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imsi_key_layout() {
        // 15 digits: parity nibble 9, then pairs low nibble first.
        assert_eq!(
            imsi_key(b"214076501234567").unwrap().as_slice(),
            &[0x29, 0x41, 0x70, 0x56, 0x10, 0x32, 0x54, 0x76]
        );
        // 14 digits: parity nibble 1 and an F pad at the end.
        assert_eq!(
            imsi_key(b"21407650123456").unwrap().as_slice(),
            &[0x21, 0x41, 0x70, 0x56, 0x10, 0x32, 0x54, 0xF6]
        );
        assert_eq!(imsi_key(b"12345"), Err(BootstrapError::InvalidImsi));
        assert_eq!(
            imsi_key(b"1234567890123456"),
            Err(BootstrapError::InvalidImsi)
        );
        assert_eq!(
            imsi_key(b"21407650123456x"),
            Err(BootstrapError::InvalidImsi)
        );
    }

    #[test]
    fn sec_names_and_codes() {
        for (name, m) in [
            (&b"netwpin"[..], SecMethod::NetworkPin),
            (b"NETWORKID", SecMethod::NetworkPin),
            (b"USERPIN", SecMethod::UserPin),
            (b"USERNETWPIN", SecMethod::UserNetworkPin),
            (b"USERPIN_NETWORKID", SecMethod::UserPinNetworkId),
            (b"USERPINMAC", SecMethod::UserPinMac),
            (b"2", SecMethod::UserNetworkPin),
        ] {
            assert_eq!(SecMethod::from_name(name), Some(m));
        }
        assert_eq!(SecMethod::from_name(b"NONE"), None);
        for c in 0..4 {
            assert_eq!(
                SecMethod::from_code(c).and_then(SecMethod::code),
                Some(c as u8)
            );
        }
        assert_eq!(SecMethod::from_code(4), None);
    }

    #[test]
    fn keys_per_method() {
        let keys = BootstrapKeys {
            network_secret: Some(b"NET"),
            user_pin: Some(b"1234"),
        };
        let mut buf = [0u8; BOOTSTRAP_KEY_LEN];
        for (m, k) in [
            (SecMethod::NetworkPin, &b"NET"[..]),
            (SecMethod::UserPin, b"1234"),
            (SecMethod::UserNetworkPin, b"NET1234"),
            (SecMethod::UserPinNetworkId, b"1234:NET"),
            (SecMethod::UserPinMac, b"12"),
        ] {
            assert_eq!(key(m, &keys, &mut buf).unwrap(), k, "{m:?}");
        }
        let none = BootstrapKeys::default();
        assert_eq!(
            key(SecMethod::NetworkPin, &none, &mut buf),
            Err(BootstrapError::MissingNetworkSecret)
        );
        assert_eq!(
            key(SecMethod::UserPin, &none, &mut buf),
            Err(BootstrapError::MissingUserPin)
        );
        let long = [b'1'; BOOTSTRAP_KEY_LEN];
        let too_long = BootstrapKeys {
            network_secret: Some(&long),
            user_pin: Some(b"1"),
        };
        assert_eq!(
            key(SecMethod::UserNetworkPin, &too_long, &mut buf),
            Err(BootstrapError::KeyTooLong)
        );
    }

    #[test]
    fn debug_hides_keys() {
        let keys = BootstrapKeys {
            network_secret: Some(b"ESN12345"),
            user_pin: None,
        };
        let shown = std::format!("{keys:?}");
        assert!(!shown.contains("ESN"), "{shown}");
    }

    #[test]
    fn hex_mac_parsing() {
        let mac = [0xABu8; MAC_LEN];
        let hex = mac_hex(&mac);
        assert_eq!(parse_hex_mac(&hex), Ok(mac));
        assert_eq!(parse_hex_mac(&hex.to_ascii_lowercase()), Ok(mac));
        assert_eq!(parse_hex_mac(&hex[..38]), Err(BootstrapError::MalformedMac));
        let mut bad = hex;
        bad[7] = b'G';
        assert_eq!(parse_hex_mac(&bad), Err(BootstrapError::MalformedMac));
    }

    #[test]
    fn textual_content_type() {
        let s = BootstrapSecurity::from_content_type_text(
            b"application/vnd.syncml.dm+wbxml; SEC=USERPIN ;MAC=\"00FF\"",
        )
        .unwrap();
        assert_eq!(s.method, SecMethod::UserPin);
        assert_eq!(s.mac, Some(&b"00FF"[..]));
        assert_eq!(
            BootstrapSecurity::from_content_type_text(
                b"application/vnd.syncml.dm+xml; SEC=USERPIN"
            ),
            Err(BootstrapError::UnsupportedContentType)
        );
        assert_eq!(
            BootstrapSecurity::from_content_type_text(b"application/vnd.syncml.dm+wbxml"),
            Err(BootstrapError::Unauthenticated)
        );
        assert_eq!(
            BootstrapSecurity::from_content_type_text(
                b"application/vnd.syncml.dm+wbxml; SEC=USERPIN; SEC=NETWPIN"
            ),
            Err(BootstrapError::MalformedParameters)
        );
        assert_eq!(
            BootstrapSecurity::from_content_type_text(b"application/vnd.syncml.dm+wbxml; SEC"),
            Err(BootstrapError::MalformedParameters)
        );
    }
}

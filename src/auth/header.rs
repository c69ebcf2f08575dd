//! The `x-syncml-hmac` HTTP header that carries the `syncml:auth-MAC` integrity MAC:
//! `algorithm=MD5, username="srv", mac=<base64>`.
//!
//! Parsing is zero-copy and tolerant of what servers send: any parameter order, optional
//! whitespace around `=` and `,`, empty list elements, a missing `algorithm` (MD5 is the
//! default), quoted or bare values, parameter names in any case, unknown parameters
//! (ignored). It refuses what would make the header ambiguous: a repeated parameter, a
//! missing `username` or `mac`, an algorithm other than MD5, or bytes outside the grammar.

use super::digest::{ct_check, decode_digest, Base64Digest, MacHasher};
use super::{AuthError, Credentials};
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::IResult;

/// The header's name (HTTP header names are case-insensitive).
pub const HMAC_HEADER_NAME: &str = "x-syncml-hmac";

/// A parsed `x-syncml-hmac` value, borrowing from the header text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HmacHeader<'a> {
    username: &'a [u8],
    username_escaped: bool,
    mac: &'a [u8],
}

/// A parameter value as written: the bytes between the quotes, or the bare token.
#[derive(Clone, Copy)]
struct Value<'a> {
    raw: &'a [u8],
    escaped: bool,
}

type PResult<'a, O> = IResult<&'a [u8], O, ()>;

fn ows(i: &[u8]) -> PResult<'_, &[u8]> {
    take_while(|c| c == b' ' || c == b'\t')(i)
}

fn param_name(i: &[u8]) -> PResult<'_, &[u8]> {
    take_while1(|c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')(i)
}

/// A quoted-string (RFC 9110): `"` then text where `\` escapes the next byte, then `"`.
fn quoted(i: &[u8]) -> PResult<'_, Value<'_>> {
    let (rest, _) = tag(&b"\""[..])(i)?;
    let mut escaped = false;
    let mut pos = 0usize;
    loop {
        match rest.get(pos) {
            Some(b'"') => break,
            Some(b'\\') => {
                // Skipping the escaped byte keeps `\"` inside the value; a `\` with nothing
                // after it runs off the end, which the `None` arm refuses.
                escaped = true;
                pos += 2;
            }
            Some(c) if c.is_ascii_control() && *c != b'\t' => return Err(nom::Err::Error(())),
            Some(_) => pos += 1,
            None => return Err(nom::Err::Error(())),
        }
    }
    let (raw, after) = rest.split_at_checked(pos).ok_or(nom::Err::Error(()))?;
    let (after, _) = tag(&b"\""[..])(after)?;
    Ok((after, Value { raw, escaped }))
}

fn bare(i: &[u8]) -> PResult<'_, Value<'_>> {
    let (rest, raw) =
        take_while1(|c: u8| c.is_ascii_graphic() && !matches!(c, b',' | b'"' | b';' | b'\\'))(i)?;
    Ok((
        rest,
        Value {
            raw,
            escaped: false,
        },
    ))
}

/// `name OWS "=" OWS value`.
fn param(i: &[u8]) -> PResult<'_, (&[u8], Value<'_>)> {
    let (i, name) = param_name(i)?;
    let (i, _) = ows(i)?;
    let (i, _) = tag(&b"="[..])(i)?;
    let (i, _) = ows(i)?;
    let (i, value) = match quoted(i) {
        Ok(ok) => ok,
        Err(_) => bare(i)?,
    };
    Ok((i, (name, value)))
}

/// Skips list separators: whitespace and (possibly repeated) commas.
fn separators(i: &[u8]) -> PResult<'_, &[u8]> {
    take_while(|c| c == b' ' || c == b'\t' || c == b',')(i)
}

impl<'a> HmacHeader<'a> {
    /// Parses a header value.
    pub fn parse(value: &'a [u8]) -> Result<Self, AuthError> {
        let mut username: Option<Value<'a>> = None;
        let mut mac: Option<&'a [u8]> = None;
        let mut algorithm_seen = false;
        let mut rest = value;
        loop {
            let (r, _) = separators(rest).map_err(|_| AuthError::MalformedHeader)?;
            if r.is_empty() {
                break;
            }
            let (r, (name, v)) = param(r).map_err(|_| AuthError::MalformedHeader)?;
            // After a parameter only whitespace, a comma or the end may follow.
            let (r, _) = ows(r).map_err(|_| AuthError::MalformedHeader)?;
            if !(r.is_empty() || r.starts_with(b",")) {
                return Err(AuthError::MalformedHeader);
            }
            rest = r;
            let duplicate = if name.eq_ignore_ascii_case(b"algorithm") {
                if !v.raw.eq_ignore_ascii_case(b"MD5") {
                    return Err(AuthError::UnsupportedAlgorithm);
                }
                core::mem::replace(&mut algorithm_seen, true)
            } else if name.eq_ignore_ascii_case(b"username") {
                username.replace(v).is_some()
            } else if name.eq_ignore_ascii_case(b"mac") {
                mac.replace(v.raw).is_some()
            } else {
                // Unknown parameters are extensions; they do not affect the MAC.
                false
            };
            if duplicate {
                return Err(AuthError::DuplicateHeaderParameter);
            }
        }
        match (username, mac) {
            (Some(u), Some(m)) if !m.is_empty() => Ok(HmacHeader {
                username: u.raw,
                username_escaped: u.escaped,
                mac: m,
            }),
            _ => Err(AuthError::MissingHeaderParameter),
        }
    }

    /// The `username` as written between the quotes; quoted-pairs (`\"`) are left as they
    /// are, so compare with [`HmacHeader::username_is`].
    pub fn username_raw(&self) -> &'a [u8] {
        self.username
    }

    /// Whether the `username` (quoted-pairs resolved) equals `name`.
    pub fn username_is(&self, name: &[u8]) -> bool {
        if !self.username_escaped {
            return self.username == name;
        }
        let mut unescaped = Unescape(self.username.iter());
        name.iter().all(|b| unescaped.next() == Some(*b)) && unescaped.next().is_none()
    }

    /// The `mac` parameter, Base64 text.
    pub fn mac(&self) -> &'a [u8] {
        self.mac
    }

    /// Checks the header against the whole message `body`: the `username` must be
    /// `creds.name` and the MAC must match, compared in constant time.
    pub fn verify(
        &self,
        creds: &Credentials<'_>,
        nonce: &[u8],
        body: &[u8],
    ) -> Result<(), AuthError> {
        let mut h = MacHasher::new();
        h.update(body);
        self.verify_hashed(creds, nonce, h)
    }

    /// Like [`HmacHeader::verify`], for a body already fed to a [`MacHasher`] while it was
    /// received.
    pub fn verify_hashed(
        &self,
        creds: &Credentials<'_>,
        nonce: &[u8],
        hasher: MacHasher,
    ) -> Result<(), AuthError> {
        if !self.username_is(creds.name) {
            debug!("auth: x-syncml-hmac names another user");
            return Err(AuthError::UsernameMismatch);
        }
        let received = decode_digest(self.mac)?;
        ct_check(&hasher.finalize(creds, nonce), &received)
            .inspect_err(|_| debug!("auth: x-syncml-hmac does not match the message"))
    }

    /// Writes the header value `algorithm=MD5, username="<username>", mac=<mac>` into `out`
    /// and returns its length. `"` and `\` in the name are escaped; a name with control
    /// characters cannot travel in an HTTP header and is refused.
    pub fn emit(username: &[u8], mac: &Base64Digest, out: &mut [u8]) -> Result<usize, AuthError> {
        if username.iter().any(|c| c.is_ascii_control()) {
            return Err(AuthError::MalformedHeader);
        }
        let escapes = username
            .iter()
            .filter(|c| matches!(c, b'"' | b'\\'))
            .count();
        let parts: [&[u8]; 4] = [
            b"algorithm=MD5, username=\"",
            username,
            b"\", mac=",
            mac.as_bytes(),
        ];
        let required = parts
            .iter()
            .try_fold(escapes, |acc, p| acc.checked_add(p.len()))
            .ok_or(AuthError::TooLong)?;
        if out.len() < required {
            return Err(AuthError::BufferTooSmall { required });
        }
        let mut w = out.iter_mut();
        let mut put = |b: u8| {
            if let Some(slot) = w.next() {
                *slot = b;
            }
        };
        for (i, part) in parts.iter().enumerate() {
            for &b in part.iter() {
                if i == 1 && matches!(b, b'"' | b'\\') {
                    put(b'\\');
                }
                put(b);
            }
        }
        Ok(required)
    }
}

/// Resolves quoted-pairs: `\x` yields `x`.
struct Unescape<'a>(core::slice::Iter<'a, u8>);

impl Iterator for Unescape<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        match self.0.next() {
            Some(b'\\') => self.0.next().copied(),
            other => other.copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::mac_b64;

    #[test]
    fn tolerant_forms_parse_to_the_same_fields() {
        for v in [
            &b"algorithm=MD5, username=\"srv\", mac=QUJDREVGR0hJSktMTU5PUA=="[..],
            b"username=\"srv\",mac=QUJDREVGR0hJSktMTU5PUA==",
            b"  mac = QUJDREVGR0hJSktMTU5PUA== ,, username = srv , algorithm = \"md5\" ",
            b"MAC=\"QUJDREVGR0hJSktMTU5PUA==\", UserName=srv, x-extra=1",
        ] {
            let h = HmacHeader::parse(v).unwrap_or_else(|e| panic!("{e}: {:?}", v));
            assert_eq!(h.username_raw(), b"srv");
            assert_eq!(h.mac(), b"QUJDREVGR0hJSktMTU5PUA==");
        }
    }

    #[test]
    fn refusals() {
        use AuthError::*;
        for (v, e) in [
            (&b"username=\"srv\""[..], MissingHeaderParameter),
            (b"mac=QUJD", MissingHeaderParameter),
            (b"username=a, mac=", MalformedHeader),
            (b"username=a, mac=\"\"", MissingHeaderParameter),
            (
                b"username=a, username=b, mac=QUJD",
                DuplicateHeaderParameter,
            ),
            (
                b"algorithm=SHA1, username=a, mac=QUJD",
                UnsupportedAlgorithm,
            ),
            (b"username=\"a, mac=QUJD", MalformedHeader),
            (b"username=a mac=QUJD", MalformedHeader),
            (b"username=a; mac=QUJD", MalformedHeader),
            (b"=a, mac=QUJD", MalformedHeader),
            (b"username=\"a\nb\", mac=QUJD", MalformedHeader),
            (b"username=\"a\\", MalformedHeader),
            (b"username=\"\\", MalformedHeader),
        ] {
            assert_eq!(
                HmacHeader::parse(v),
                Err(e),
                "{:?}",
                core::str::from_utf8(v)
            );
        }
    }

    #[test]
    fn quoted_pairs_round_trip() {
        let mac = Base64Digest::encode(&[7; 16]);
        let mut out = [0u8; 80];
        let n = HmacHeader::emit(br#"a"b\c"#, &mac, &mut out).unwrap();
        assert_eq!(
            &out[..n],
            &br#"algorithm=MD5, username="a\"b\\c", mac=BwcHBwcHBwcHBwcHBwcHBw=="#[..]
        );
        let h = HmacHeader::parse(&out[..n]).unwrap();
        assert!(h.username_is(br#"a"b\c"#));
        assert!(!h.username_is(br#"a"b\"#));
        assert!(!h.username_is(br#"a"b\cd"#));
        assert_eq!(
            HmacHeader::emit(b"a\r\nX: y", &mac, &mut out),
            Err(AuthError::MalformedHeader)
        );
        assert_eq!(
            HmacHeader::emit(b"srv", &mac, &mut out[..10]),
            Err(AuthError::BufferTooSmall { required: 59 })
        );
        // A buffer of exactly the required size is enough.
        assert_eq!(HmacHeader::emit(b"srv", &mac, &mut out[..59]), Ok(59));
        assert_eq!(
            HmacHeader::emit(b"srv", &mac, &mut out[..58]),
            Err(AuthError::BufferTooSmall { required: 59 })
        );
    }

    #[test]
    fn verify_checks_username_and_mac() {
        let creds = Credentials::new(b"srv", b"pw");
        let body = b"message body";
        let mac = mac_b64(&creds, b"nonce", body);
        let mut out = [0u8; 64];
        let n = HmacHeader::emit(b"srv", &mac, &mut out).unwrap();
        let h = HmacHeader::parse(&out[..n]).unwrap();
        assert_eq!(h.verify(&creds, b"nonce", body), Ok(()));
        assert_eq!(
            h.verify(&creds, b"nonce", b"message bodY"),
            Err(AuthError::BadCredentials)
        );
        assert_eq!(
            h.verify(&creds, b"other", body),
            Err(AuthError::BadCredentials)
        );
        let other = Credentials::new(b"srv2", b"pw");
        assert_eq!(
            h.verify(&other, b"nonce", body),
            Err(AuthError::UsernameMismatch)
        );
    }
}

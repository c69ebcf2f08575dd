//! The `Cred` and `Chal` elements: building the credentials a message carries, checking
//! received ones, and reading or writing a challenge.

#[cfg(feature = "auth-md5")]
use super::digest::{ct_check, decode_digest, md5_digest, md5_digest_b64};
use super::{AuthError, AuthScheme, Credentials, Nonce};
#[cfg(feature = "auth-basic")]
use {
    super::{b64, basic_credential},
    subtle::{Choice, ConstantTimeEq},
};

/// The `Format` of every credential and nonce DM defines.
const B64_FORMAT: &str = "b64";

/// The content of a `Cred` element: `Meta/Type`, `Meta/Format` and `Data`, as the codec
/// found them (or as [`build_cred`] made them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Cred<'a> {
    /// `Meta/Type`; absent means `syncml:auth-basic` (SyncML RepPro default).
    pub meta_type: Option<&'a str>,
    /// `Meta/Format`; absent means `b64`.
    pub format: Option<&'a str>,
    /// `Data`, the credential text.
    pub data: &'a [u8],
}

impl Cred<'_> {
    /// The scheme the `Meta/Type` names.
    pub fn scheme(&self) -> Result<AuthScheme, AuthError> {
        self.meta_type.map_or(Ok(AuthScheme::Basic), |t| {
            AuthScheme::from_meta_type(t.as_bytes())
        })
    }
}

/// Builds the `Cred` a message carries for `scheme` (`Meta/Type`, `Meta/Format` `b64`, and
/// `Data` written into `out`). `nonce` is the latest `NextNonce` the peer gave (the
/// account's `AAuthData`); basic ignores it.
///
/// Returns `None` for [`AuthScheme::None`] and [`AuthScheme::Hmac`], which send no `Cred`
/// (HMAC authenticates through the `x-syncml-hmac` header instead), and
/// [`AuthError::SchemeLeftOut`] for a scheme this build leaves out.
#[cfg_attr(
    not(all(feature = "auth-basic", feature = "auth-md5")),
    allow(unused_variables)
)]
pub fn build_cred<'b>(
    scheme: AuthScheme,
    creds: &Credentials<'_>,
    nonce: &[u8],
    out: &'b mut [u8],
) -> Result<Option<Cred<'b>>, AuthError> {
    let data: Result<&'b [u8], AuthError> = match scheme {
        AuthScheme::None | AuthScheme::Hmac => return Ok(None),
        #[cfg(feature = "auth-basic")]
        AuthScheme::Basic => basic_credential(creds, out).map(str::as_bytes),
        #[cfg(feature = "auth-md5")]
        AuthScheme::Md5Digest => {
            let digest = md5_digest_b64(creds, nonce);
            let required = digest.as_bytes().len();
            out.get_mut(..required)
                .ok_or(AuthError::BufferTooSmall { required })
                .map(|dest| {
                    dest.copy_from_slice(digest.as_bytes());
                    &*dest
                })
        }
        #[cfg(not(all(feature = "auth-basic", feature = "auth-md5")))]
        left_out => Err(AuthError::SchemeLeftOut(left_out)),
    };
    let data = data?;
    Ok(Some(Cred {
        meta_type: scheme.meta_type(),
        format: Some(B64_FORMAT),
        data,
    }))
}

/// Checks received credentials against the account's: `expected` is the scheme the account
/// requires (`AAuthType` of the `SRVCRED` entry), `creds` its name and secret, `nonce` the
/// nonce this side last issued to the peer (`AAuthData`).
///
/// Basic credentials are decoded and compared with `name ":" secret`; digests are
/// recomputed with the nonce. Both comparisons run in constant time. The result maps to a
/// SyncHdr status through [`AuthError::status`]: a missing `Cred` gives 407, anything else
/// 401, and the caller then challenges with `expected` and a fresh nonce.
///
/// An `expected` scheme this build leaves out is [`AuthError::SchemeLeftOut`] (401):
/// credentials that cannot be checked are refused, never taken on trust. Received
/// credentials of a scheme left out, against one that is built, are a
/// [`AuthError::SchemeMismatch`] (401), as any other scheme is.
#[cfg_attr(
    not(all(feature = "auth-basic", feature = "auth-md5")),
    allow(unused_variables)
)]
pub fn verify_cred(
    expected: AuthScheme,
    creds: &Credentials<'_>,
    nonce: &[u8],
    received: Option<&Cred<'_>>,
) -> Result<(), AuthError> {
    if matches!(expected, AuthScheme::None | AuthScheme::Hmac) {
        return Err(AuthError::NotACredScheme);
    }
    expected.check_built()?;
    let cred = received.ok_or(AuthError::MissingCredentials)?;
    let scheme = cred.scheme()?;
    if scheme != expected {
        return Err(AuthError::SchemeMismatch {
            expected,
            received: scheme,
        });
    }
    if let Some(format) = cred.format {
        if !format.trim_ascii().eq_ignore_ascii_case(B64_FORMAT) {
            return Err(AuthError::UnsupportedFormat);
        }
    }
    let verdict = match scheme {
        #[cfg(feature = "auth-basic")]
        AuthScheme::Basic => verify_basic(creds, cred.data),
        #[cfg(feature = "auth-md5")]
        AuthScheme::Md5Digest => ct_check(&md5_digest(creds, nonce), &decode_digest(cred.data)?),
        // None and HMAC returned above; a scheme left out did at `check_built`.
        other => Err(AuthError::SchemeLeftOut(other)),
    };
    verdict.inspect_err(|e| debug!("auth: {:?} credentials do not verify, {:?}", scheme, e))
}

/// Compares the decoded basic credential with `name ":" secret` without a buffer for it and
/// without stopping at the first differing byte.
#[cfg(feature = "auth-basic")]
fn verify_basic(creds: &Credentials<'_>, data: &[u8]) -> Result<(), AuthError> {
    let secret = creds.secret.expose();
    let expected_len = creds
        .name
        .len()
        .saturating_add(1)
        .saturating_add(secret.len());
    let mut expected = creds.name.iter().chain(b":").chain(secret.iter()).copied();
    let mut equal = Choice::from(1);
    let mut seen = 0usize;
    b64::decode_stream(data, |bytes| {
        for &b in bytes {
            // Past the end the expected byte is absent; the length check below fails then.
            let e = expected.next().unwrap_or(0);
            equal &= b.ct_eq(&e);
            seen = seen.saturating_add(1);
        }
    })?;
    if bool::from(equal) && seen == expected_len {
        Ok(())
    } else {
        Err(AuthError::BadCredentials)
    }
}

/// A `Chal` element: the scheme the peer asks for and, for the digest and the MAC, the
/// nonce to use next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Challenge {
    /// The requested scheme (`Meta/Type`).
    pub scheme: AuthScheme,
    /// The `Meta/NextNonce`, decoded; `None` when the element had none.
    pub nonce: Option<Nonce>,
}

impl Challenge {
    /// Reads a received `Chal`: its `Meta/Type` (absent means basic), `Meta/Format` and
    /// `Meta/NextNonce`.
    ///
    /// A `b64` (or absent) Format decodes the nonce with the raw-text fallback of
    /// [`Nonce::from_b64_or_raw`]; any other Format takes the text as it is. Per DM Security
    /// the nonce may be accepted even from a peer not yet authenticated (so two stale sides
    /// can resynchronise), but the caller should not let it overwrite the stored one until
    /// the peer authenticates.
    pub fn parse(
        meta_type: Option<&[u8]>,
        format: Option<&[u8]>,
        next_nonce: Option<&[u8]>,
    ) -> Result<Self, AuthError> {
        let scheme = meta_type.map_or(Ok(AuthScheme::Basic), AuthScheme::from_meta_type)?;
        let is_b64 = format.is_none_or(|f| f.trim_ascii().eq_ignore_ascii_case(b"b64"));
        let nonce = next_nonce
            .map(|text| {
                let text = text.trim_ascii();
                if is_b64 {
                    Nonce::from_b64_or_raw(text)
                } else {
                    Nonce::new(text)
                }
            })
            .transpose()?;
        Ok(Challenge { scheme, nonce })
    }

    /// A challenge to send: `scheme` with a fresh `nonce` (`None` for basic).
    pub fn new(scheme: AuthScheme, nonce: Option<Nonce>) -> Self {
        Challenge { scheme, nonce }
    }

    /// The `Meta/Type` to send.
    pub fn meta_type(&self) -> Option<&'static str> {
        self.scheme.meta_type()
    }

    /// The `Meta/Format` to send: `b64` (DM requires it for the nonce).
    pub fn format(&self) -> &'static str {
        B64_FORMAT
    }

    /// The `Meta/NextNonce` text to send, if the challenge carries a nonce.
    pub fn next_nonce_b64(&self) -> Option<heapless::String<{ super::NONCE_B64_CAPACITY }>> {
        self.nonce.as_ref().map(Nonce::to_b64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDS: Credentials<'static> = Credentials::new(b"user", b"pass");

    #[cfg(feature = "auth-basic")]
    fn basic(data: &[u8]) -> Cred<'_> {
        Cred {
            meta_type: Some("syncml:auth-basic"),
            format: Some("b64"),
            data,
        }
    }

    #[test]
    #[cfg(feature = "auth-basic")]
    fn basic_round_trip_and_mismatches() {
        let mut buf = [0u8; 32];
        let cred = build_cred(AuthScheme::Basic, &CREDS, b"", &mut buf)
            .unwrap()
            .unwrap();
        assert_eq!(cred.data, b"dXNlcjpwYXNz");
        assert_eq!(
            verify_cred(AuthScheme::Basic, &CREDS, b"", Some(&cred)),
            Ok(())
        );
        // "user:pas", "user:passs", "usex:pass": shorter, longer, different.
        for wrong in [&b"dXNlcjpwYXM="[..], b"dXNlcjpwYXNzcw==", b"dXNleDpwYXNz"] {
            assert_eq!(
                verify_cred(AuthScheme::Basic, &CREDS, b"", Some(&basic(wrong))),
                Err(AuthError::BadCredentials)
            );
        }
        assert_eq!(
            verify_cred(
                AuthScheme::Basic,
                &CREDS,
                b"",
                Some(&basic(b"dXNlcjpw*XNz"))
            ),
            Err(AuthError::InvalidBase64)
        );
    }

    #[test]
    #[cfg(feature = "auth-basic")]
    fn absent_type_and_format_mean_basic_b64() {
        let cred = Cred {
            meta_type: None,
            format: None,
            data: b" dXNlcjpw\r\n YXNz ",
        };
        assert_eq!(
            verify_cred(AuthScheme::Basic, &CREDS, b"", Some(&cred)),
            Ok(())
        );
    }

    #[test]
    #[cfg(feature = "auth-md5")]
    fn md5_depends_on_the_nonce() {
        let mut buf = [0u8; 24];
        let cred = build_cred(AuthScheme::Md5Digest, &CREDS, b"0123456789abcdef", &mut buf)
            .unwrap()
            .unwrap();
        assert_eq!(cred.meta_type, Some("syncml:auth-md5"));
        assert_eq!(cred.data, b"C8oBTAdiVef8Qq8UaFTbhQ==");
        assert_eq!(
            verify_cred(
                AuthScheme::Md5Digest,
                &CREDS,
                b"0123456789abcdef",
                Some(&cred)
            ),
            Ok(())
        );
        assert_eq!(
            verify_cred(
                AuthScheme::Md5Digest,
                &CREDS,
                b"0123456789abcdeF",
                Some(&cred)
            ),
            Err(AuthError::BadCredentials)
        );
    }

    #[test]
    #[cfg(feature = "auth-md5")]
    fn md5_needs_room_for_24_characters() {
        let mut buf = [0u8; 23];
        assert_eq!(
            build_cred(AuthScheme::Md5Digest, &CREDS, b"n", &mut buf),
            Err(AuthError::BufferTooSmall { required: 24 })
        );
    }

    #[test]
    #[cfg(all(feature = "auth-basic", feature = "auth-md5"))]
    fn scheme_format_and_presence_are_enforced() {
        let md5 = Cred {
            meta_type: Some("syncml:auth-md5"),
            format: Some("b64"),
            data: b"C8oBTAdiVef8Qq8UaFTbhQ==",
        };
        assert_eq!(
            verify_cred(AuthScheme::Basic, &CREDS, b"", Some(&md5)),
            Err(AuthError::SchemeMismatch {
                expected: AuthScheme::Basic,
                received: AuthScheme::Md5Digest
            })
        );
        let chr = Cred {
            format: Some("chr"),
            ..basic(b"dXNlcjpwYXNz")
        };
        assert_eq!(
            verify_cred(AuthScheme::Basic, &CREDS, b"", Some(&chr)),
            Err(AuthError::UnsupportedFormat)
        );
        let err = verify_cred(AuthScheme::Md5Digest, &CREDS, b"", None).unwrap_err();
        assert_eq!(err, AuthError::MissingCredentials);
        assert_eq!(err.status(), crate::StatusCode::MissingCredentials);
        assert_eq!(
            verify_cred(AuthScheme::Hmac, &CREDS, b"", Some(&md5)),
            Err(AuthError::NotACredScheme)
        );
        let mut buf = [0u8; 4];
        assert_eq!(
            build_cred(AuthScheme::Hmac, &CREDS, b"", &mut buf),
            Ok(None)
        );
        assert_eq!(
            build_cred(AuthScheme::None, &CREDS, b"", &mut buf),
            Ok(None)
        );
    }

    #[test]
    fn challenge_parsing() {
        let c = Challenge::parse(
            Some(b"syncml:auth-md5"),
            Some(b"b64"),
            Some(b"LG3iZQhhdmKNHg=="),
        )
        .unwrap();
        assert_eq!(c.scheme, AuthScheme::Md5Digest);
        assert_eq!(c.nonce.as_ref().unwrap().len(), 10);
        assert_eq!(c.next_nonce_b64().unwrap().as_str(), "LG3iZQhhdmKNHg==");

        let c = Challenge::parse(None, None, None).unwrap();
        assert_eq!(c, Challenge::new(AuthScheme::Basic, None));

        let c = Challenge::parse(Some(b"syncml:auth-MAC"), Some(b"chr"), Some(b"AAAA")).unwrap();
        assert_eq!(c.nonce.unwrap().as_bytes(), b"AAAA");

        assert_eq!(
            Challenge::parse(Some(b"syncml:auth-foo"), None, None),
            Err(AuthError::UnsupportedScheme)
        );
    }

    /// With a scheme left out, nothing goes out in its name and nothing received in its
    /// name is believed: both answer `SchemeLeftOut`, 401 to the peer. `cred` is what a
    /// peer would send in that scheme for `nonce`.
    #[cfg(not(all(feature = "auth-basic", feature = "auth-md5")))]
    fn refused_both_ways(scheme: AuthScheme, nonce: &[u8], cred: &Cred<'_>) {
        let left_out = AuthError::SchemeLeftOut(scheme);
        assert_eq!(
            build_cred(scheme, &CREDS, nonce, &mut [0u8; 32]),
            Err(left_out)
        );
        let err = verify_cred(scheme, &CREDS, nonce, Some(cred)).unwrap_err();
        assert_eq!(err, left_out);
        assert_eq!(err.status(), crate::StatusCode::InvalidCredentials);
        // Even a missing Cred: the account's scheme cannot be checked at all.
        assert_eq!(verify_cred(scheme, &CREDS, nonce, None), Err(left_out));
    }

    #[test]
    #[cfg(not(feature = "auth-basic"))]
    fn basic_left_out_is_neither_sent_nor_accepted() {
        let cred = Cred {
            meta_type: None,
            format: None,
            data: b"dXNlcjpwYXNz",
        };
        refused_both_ways(AuthScheme::Basic, b"", &cred);
    }

    #[test]
    #[cfg(not(feature = "auth-md5"))]
    fn md5_left_out_is_neither_sent_nor_accepted() {
        let cred = Cred {
            meta_type: Some("syncml:auth-md5"),
            format: Some("b64"),
            data: b"C8oBTAdiVef8Qq8UaFTbhQ==",
        };
        refused_both_ways(AuthScheme::Md5Digest, b"0123456789abcdef", &cred);
    }

    /// A server's credentials in a scheme this build leaves out, where the account expects
    /// one it has: refused as another scheme, 401, so the server is challenged for the
    /// account's.
    #[test]
    #[cfg(all(feature = "auth-md5", not(feature = "auth-basic")))]
    fn received_credentials_of_a_left_out_scheme_are_a_mismatch() {
        let cred = Cred {
            meta_type: Some("syncml:auth-basic"),
            format: Some("b64"),
            data: b"dXNlcjpwYXNz",
        };
        let err = verify_cred(AuthScheme::Md5Digest, &CREDS, b"n", Some(&cred)).unwrap_err();
        assert_eq!(
            err,
            AuthError::SchemeMismatch {
                expected: AuthScheme::Md5Digest,
                received: AuthScheme::Basic
            }
        );
        assert_eq!(err.status(), crate::StatusCode::InvalidCredentials);
    }
}

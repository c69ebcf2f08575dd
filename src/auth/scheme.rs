//! Authentication scheme names: the Meta `Type` strings of `Cred` and `Chal`, and the
//! DMAcc `AppAuth/<x>/AAuthType` values (OMA-TS-DM_StdObj 1.2 §7.1.3.1.20).

use super::AuthError;
use core::fmt;

/// A DM-protocol authentication scheme: how credentials travel in the SyncML messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AuthScheme {
    /// No DM-level credentials (the transport authenticates, or nothing does).
    None,
    /// `syncml:auth-basic`: `B64(name:secret)` in `Cred`.
    Basic,
    /// `syncml:auth-md5`: the MD5 digest with a nonce in `Cred`.
    Md5Digest,
    /// `syncml:auth-MAC`: an integrity MAC over every message, in the `x-syncml-hmac`
    /// transport header.
    Hmac,
}

impl AuthScheme {
    /// Meta `Type` of `syncml:auth-basic`.
    pub const BASIC_TYPE: &'static str = "syncml:auth-basic";
    /// Meta `Type` of `syncml:auth-md5`.
    pub const MD5_TYPE: &'static str = "syncml:auth-md5";
    /// Meta `Type` of `syncml:auth-MAC`.
    pub const MAC_TYPE: &'static str = "syncml:auth-MAC";

    /// The scheme a `Cred`/`Chal` Meta `Type` names. Servers differ in case
    /// (`syncml:auth-MAC`, `syncml:auth-mac`) and some pad the text, so the comparison
    /// ignores ASCII case and surrounding whitespace.
    pub fn from_meta_type(meta_type: &[u8]) -> Result<Self, AuthError> {
        let t = meta_type.trim_ascii();
        [
            (Self::BASIC_TYPE, AuthScheme::Basic),
            (Self::MD5_TYPE, AuthScheme::Md5Digest),
            (Self::MAC_TYPE, AuthScheme::Hmac),
        ]
        .into_iter()
        .find(|(name, _)| t.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, scheme)| scheme)
        .ok_or(AuthError::UnsupportedScheme)
    }

    /// Whether credentials of this scheme protect at least as much as `other`'s: none,
    /// then basic (the secret in clear), then the MD5 digest (the secret hashed with a
    /// nonce), then the MAC (the digest over every message, which also protects the
    /// message). A client never answers a challenge with a weaker scheme than its
    /// account names.
    pub fn at_least(self, other: AuthScheme) -> bool {
        let rank = |s: AuthScheme| match s {
            AuthScheme::None => 0,
            AuthScheme::Basic => 1,
            AuthScheme::Md5Digest => 2,
            AuthScheme::Hmac => 3,
        };
        rank(self) >= rank(other)
    }

    /// The Meta `Type` string for this scheme; `None` for [`AuthScheme::None`].
    pub fn meta_type(self) -> Option<&'static str> {
        match self {
            AuthScheme::None => None,
            AuthScheme::Basic => Some(Self::BASIC_TYPE),
            AuthScheme::Md5Digest => Some(Self::MD5_TYPE),
            AuthScheme::Hmac => Some(Self::MAC_TYPE),
        }
    }

    /// The scheme a DMAcc `AAuthType` value selects; see [`AAuthType::scheme`].
    pub fn from_aauth_type(value: &[u8]) -> Result<Self, AuthError> {
        AAuthType::parse(value)
            .and_then(AAuthType::scheme)
            .ok_or(AuthError::UnsupportedScheme)
    }

    /// The `AAuthType` value that selects this scheme (`None` has none).
    pub fn aauth_type(self) -> Option<AAuthType> {
        match self {
            AuthScheme::None => None,
            AuthScheme::Basic => Some(AAuthType::Basic),
            AuthScheme::Md5Digest => Some(AAuthType::Digest),
            AuthScheme::Hmac => Some(AAuthType::Hmac),
        }
    }

    /// Whether this build computes and checks the scheme's credentials: `None` always is;
    /// each other scheme is when its feature (`auth-basic`, `auth-md5`, `auth-hmac`) is on.
    pub const fn is_built(self) -> bool {
        match self {
            AuthScheme::None => true,
            AuthScheme::Basic => cfg!(feature = "auth-basic"),
            AuthScheme::Md5Digest => cfg!(feature = "auth-md5"),
            AuthScheme::Hmac => cfg!(feature = "auth-hmac"),
        }
    }

    /// `Ok` when the scheme [is built](Self::is_built), [`AuthError::SchemeLeftOut`]
    /// otherwise.
    pub fn check_built(self) -> Result<(), AuthError> {
        if self.is_built() {
            Ok(())
        } else {
            Err(AuthError::SchemeLeftOut(self))
        }
    }

    /// Whether the scheme needs a nonce (the digest and the MAC do, basic does not).
    pub fn uses_nonce(self) -> bool {
        matches!(self, AuthScheme::Md5Digest | AuthScheme::Hmac)
    }
}

impl fmt::Display for AuthScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.meta_type().unwrap_or("none"))
    }
}

/// A DMAcc `AAuthType` value: every authentication type the DM 1.2 account object can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AAuthType {
    /// `HTTP-BASIC`: RFC 2617 basic authentication at the HTTP (or WSP/OBEX) layer.
    HttpBasic,
    /// `HTTP-DIGEST`: RFC 2617 digest authentication at the HTTP (or WSP/OBEX) layer.
    HttpDigest,
    /// `BASIC`: `syncml:auth-basic`.
    Basic,
    /// `DIGEST`: `syncml:auth-md5`.
    Digest,
    /// `HMAC`: `syncml:auth-MAC`.
    Hmac,
    /// `X509`: `syncml:auth-X509`.
    X509,
    /// `SECURID`: `syncml:auth-securid`.
    SecurId,
    /// `SAFEWORD`: `syncml:auth-safeword`.
    SafeWord,
    /// `DIGIPASS`: `syncml:auth-digipass`.
    DigiPass,
    /// `TRANSPORT`: a secure transport authenticates; nothing at the DM layer.
    Transport,
}

impl AAuthType {
    const NAMES: [(&'static str, AAuthType); 10] = [
        ("HTTP-BASIC", AAuthType::HttpBasic),
        ("HTTP-DIGEST", AAuthType::HttpDigest),
        ("BASIC", AAuthType::Basic),
        ("DIGEST", AAuthType::Digest),
        ("HMAC", AAuthType::Hmac),
        ("X509", AAuthType::X509),
        ("SECURID", AAuthType::SecurId),
        ("SAFEWORD", AAuthType::SafeWord),
        ("DIGIPASS", AAuthType::DigiPass),
        ("TRANSPORT", AAuthType::Transport),
    ];

    /// Parses an `AAuthType` (or `AAuthPref`) value, ignoring ASCII case and surrounding
    /// whitespace; `None` for a value the account object does not define.
    pub fn parse(value: &[u8]) -> Option<Self> {
        let v = value.trim_ascii();
        Self::NAMES
            .into_iter()
            .find(|(name, _)| v.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, t)| t)
    }

    /// The canonical spelling, as stored in the account object.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .into_iter()
            .find(|(_, t)| *t == self)
            .map_or("", |(name, _)| name)
    }

    /// The DM-protocol scheme this type implies.
    ///
    /// The transport-level types (`HTTP-BASIC`, `HTTP-DIGEST`, `TRANSPORT`) give
    /// [`AuthScheme::None`]: the DM messages carry no `Cred`, the transport binding
    /// authenticates. `X509`, `SECURID`, `SAFEWORD` and `DIGIPASS` give `None` because this
    /// crate does not implement them.
    pub fn scheme(self) -> Option<AuthScheme> {
        match self {
            AAuthType::Basic => Some(AuthScheme::Basic),
            AAuthType::Digest => Some(AuthScheme::Md5Digest),
            AAuthType::Hmac => Some(AuthScheme::Hmac),
            AAuthType::HttpBasic | AAuthType::HttpDigest | AAuthType::Transport => {
                Some(AuthScheme::None)
            }
            AAuthType::X509 | AAuthType::SecurId | AAuthType::SafeWord | AAuthType::DigiPass => {
                None
            }
        }
    }
}

impl fmt::Display for AAuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_digest_and_the_mac_carry_nonces() {
        assert!(!AuthScheme::None.uses_nonce());
        assert!(!AuthScheme::Basic.uses_nonce());
        assert!(AuthScheme::Md5Digest.uses_nonce());
        assert!(AuthScheme::Hmac.uses_nonce());
    }

    #[test]
    fn each_scheme_is_built_with_its_feature() {
        assert!(AuthScheme::None.is_built());
        for (scheme, on) in [
            (AuthScheme::Basic, cfg!(feature = "auth-basic")),
            (AuthScheme::Md5Digest, cfg!(feature = "auth-md5")),
            (AuthScheme::Hmac, cfg!(feature = "auth-hmac")),
        ] {
            assert_eq!(scheme.is_built(), on, "{scheme:?}");
            let expected = if on {
                Ok(())
            } else {
                Err(AuthError::SchemeLeftOut(scheme))
            };
            assert_eq!(scheme.check_built(), expected);
        }
    }

    #[test]
    fn meta_types_round_trip_and_ignore_case() {
        for scheme in [AuthScheme::Basic, AuthScheme::Md5Digest, AuthScheme::Hmac] {
            let name = scheme.meta_type().unwrap();
            assert_eq!(AuthScheme::from_meta_type(name.as_bytes()), Ok(scheme));
        }
        assert_eq!(
            AuthScheme::from_meta_type(b"syncml:auth-mac"),
            Ok(AuthScheme::Hmac)
        );
        assert_eq!(
            AuthScheme::from_meta_type(b" SYNCML:AUTH-MD5\n"),
            Ok(AuthScheme::Md5Digest)
        );
        assert_eq!(
            AuthScheme::from_meta_type(b"syncml:auth-X509"),
            Err(AuthError::UnsupportedScheme)
        );
        assert_eq!(
            AuthScheme::from_meta_type(b"syncml:auth-md"),
            Err(AuthError::UnsupportedScheme)
        );
    }

    #[test]
    fn aauth_types_map_to_schemes() {
        for (name, t) in AAuthType::NAMES {
            assert_eq!(AAuthType::parse(name.as_bytes()), Some(t));
            assert_eq!(t.as_str(), name);
        }
        assert_eq!(AAuthType::parse(b"digest"), Some(AAuthType::Digest));
        assert_eq!(AAuthType::parse(b"MD5"), None);
        assert_eq!(
            AuthScheme::from_aauth_type(b"HTTP-BASIC"),
            Ok(AuthScheme::None)
        );
        assert_eq!(
            AuthScheme::from_aauth_type(b"X509"),
            Err(AuthError::UnsupportedScheme)
        );
        for scheme in [AuthScheme::Basic, AuthScheme::Md5Digest, AuthScheme::Hmac] {
            assert_eq!(
                scheme.aauth_type().and_then(AAuthType::scheme),
                Some(scheme)
            );
        }
        assert_eq!(AuthScheme::None.aauth_type(), None);
    }
}

//! Borrowed views of secrets whose `Debug` (and `defmt::Format`) never shows the value, so
//! that logging a credential by mistake leaks nothing.

use core::fmt;
use subtle::ConstantTimeEq;

/// A secret byte string (an `AAuthSecret`, a PIN). `Debug` prints `Secret(..)` only.
///
/// The value is borrowed: the management tree or the vendor's secure storage owns it.
#[derive(Clone, Copy)]
pub struct Secret<'a>(&'a [u8]);

impl<'a> Secret<'a> {
    /// Wraps `bytes`.
    pub const fn new(bytes: &'a [u8]) -> Self {
        Secret(bytes)
    }

    /// The secret bytes, for the one place that must hash or compare them.
    pub const fn expose(&self) -> &'a [u8] {
        self.0
    }

    /// Whether the secret is empty (an account without a password).
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq for Secret<'_> {
    /// Constant-time in the contents; only differing lengths end the comparison early.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(other.0).into()
    }
}

impl Eq for Secret<'_> {}

impl fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Secret<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Secret(..)")
    }
}

/// A name and its secret: an `AAuthName`/`AAuthSecret` pair of a DMAcc `AppAuth` entry, or
/// a server identifier and the server password for the package 0 digest.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// The user name (`AAuthName`), sent in clear (`LocName`, header `username`).
    pub name: &'a [u8],
    /// The password (`AAuthSecret`).
    pub secret: Secret<'a>,
}

impl<'a> Credentials<'a> {
    /// Pairs `name` with `secret`.
    pub const fn new(name: &'a [u8], secret: &'a [u8]) -> Self {
        Credentials {
            name,
            secret: Secret::new(secret),
        }
    }
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("name", &Utf8Lossy(self.name))
            .field("secret", &self.secret)
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Credentials<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Credentials {{ name: {=[u8]:a}, secret: Secret(..) }}",
            self.name
        )
    }
}

/// Shows a name as text when it is UTF-8 and as bytes otherwise.
struct Utf8Lossy<'a>(&'a [u8]);

impl fmt::Debug for Utf8Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match core::str::from_utf8(self.0) {
            Ok(s) => fmt::Debug::fmt(s, f),
            Err(_) => fmt::Debug::fmt(self.0, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn empty_means_no_password() {
        assert!(Secret::new(b"").is_empty());
        assert!(!Secret::new(b"pw").is_empty());
    }

    #[test]
    fn debug_hides_the_secret() {
        let creds = Credentials::new(b"srv", b"hunter2");
        let shown = format!("{creds:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("srv"), "{shown}");
        assert_eq!(format!("{:?}", Secret::new(b"hunter2")), "Secret(..)");
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(Secret::new(b"abc"), Secret::new(b"abc"));
        assert_ne!(Secret::new(b"abc"), Secret::new(b"abd"));
        assert_ne!(Secret::new(b"abc"), Secret::new(b"ab"));
    }
}

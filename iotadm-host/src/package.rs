//! Whole update packages, header and payload in one buffer, as a host builds them for a
//! server to deliver: the allocating counterparts of
//! [`PackageBuilder`]'s header functions.
//!
//! [`PackageBuilder`]: iotadm::firmware::PackageBuilder

use iotadm::firmware::package::{payload_digest, AuthKind, BuildError, PackageBuilder, SIGNED_LEN};

/// The whole package for `payload`, authenticated with HMAC-SHA256 under `key`.
pub fn build_hmac(
    builder: &PackageBuilder<'_>,
    payload: &[u8],
    key: &[u8],
) -> Result<Vec<u8>, BuildError> {
    let header = builder.header_hmac(payload, key)?;
    let mut out = Vec::with_capacity(header.len() + payload.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
    Ok(out)
}

/// The whole package for `payload`, authenticated by `sign`, which receives the signed
/// bytes and must return exactly `auth_len` bytes of kind `kind` (a signature made by a
/// key the host holds, e.g. with imgtool or OpenSSL).
pub fn build_signed(
    builder: &PackageBuilder<'_>,
    payload: &[u8],
    kind: AuthKind,
    auth_len: usize,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Result<Vec<u8>, BuildError> {
    let len = u32::try_from(payload.len()).map_err(|_| BuildError::PayloadTooLarge)?;
    let signed = builder.signed_part(len, &payload_digest(payload), kind, auth_len)?;
    let auth = sign(&signed);
    if auth.len() != auth_len {
        return Err(BuildError::BadAuthenticator);
    }
    let mut out = Vec::with_capacity(SIGNED_LEN + auth_len + payload.len());
    out.extend_from_slice(&signed);
    out.extend_from_slice(&auth);
    out.extend_from_slice(payload);
    Ok(out)
}

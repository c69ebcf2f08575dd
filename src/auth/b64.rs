//! Base64 plumbing on top of the `base64` crate: encoding a concatenation of slices without
//! first copying it together, and decoding values that may carry XML whitespace.

use super::AuthError;
use base64::engine::general_purpose::STANDARD;
#[cfg(any(feature = "auth-basic", feature = "auth-md5", feature = "auth-hmac"))]
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use base64::Engine as _;

/// Bytes staged per `encode_slice` call; a multiple of 3 so only the last call pads.
const STAGE: usize = 48;

/// Characters needed to encode `len` bytes with padding.
pub(crate) fn encoded_len(len: usize) -> Result<usize, AuthError> {
    base64::encoded_len(len, true).ok_or(AuthError::TooLong)
}

/// Encodes the concatenation of `parts` into `out`, returning the number of bytes written.
pub(crate) fn encode_concat(parts: &[&[u8]], out: &mut [u8]) -> Result<usize, AuthError> {
    let total = parts
        .iter()
        .try_fold(0usize, |acc, p| acc.checked_add(p.len()))
        .ok_or(AuthError::TooLong)?;
    let required = encoded_len(total)?;
    if out.len() < required {
        return Err(AuthError::BufferTooSmall { required });
    }
    let mut stage = [0u8; STAGE];
    let mut staged = 0usize;
    let mut written = 0usize;
    for byte in parts.iter().flat_map(|p| p.iter().copied()) {
        if let Some(slot) = stage.get_mut(staged) {
            *slot = byte;
            staged += 1;
        }
        if staged == STAGE {
            written += flush(&stage, out, written, required)?;
            staged = 0;
        }
    }
    if staged > 0 {
        written += flush(stage.get(..staged).unwrap_or(&[]), out, written, required)?;
    }
    Ok(written)
}

fn flush(chunk: &[u8], out: &mut [u8], at: usize, required: usize) -> Result<usize, AuthError> {
    let dest = out
        .get_mut(at..)
        .ok_or(AuthError::BufferTooSmall { required })?;
    STANDARD
        .encode_slice(chunk, dest)
        .map_err(|_| AuthError::BufferTooSmall { required })
}

/// Decodes Base64 `text` into `out`, ignoring ASCII whitespace (an XML `Data` element may be
/// wrapped or indented) and accepting a missing final padding. Returns the decoded length.
///
/// `scratch` receives the text without whitespace; it bounds the accepted input length.
#[cfg(any(feature = "auth-md5", feature = "auth-hmac"))]
pub(crate) fn decode_lenient(
    text: &[u8],
    scratch: &mut [u8],
    out: &mut [u8],
) -> Result<usize, AuthError> {
    let mut n = 0usize;
    for &c in text.iter().filter(|c| !c.is_ascii_whitespace()) {
        let slot = scratch.get_mut(n).ok_or(AuthError::InvalidBase64)?;
        *slot = c;
        n += 1;
    }
    let compact = scratch.get(..n).ok_or(AuthError::InvalidBase64)?;
    STANDARD_PAD_INDIFFERENT
        .decode_slice(compact, out)
        .map_err(|_| AuthError::InvalidBase64)
}

/// Decodes canonical (padded) Base64 into `out`; `None` when `text` is not valid Base64,
/// `Some(Err(..))` when it is valid but longer than `out`.
pub(crate) fn decode_strict(text: &[u8], out: &mut [u8]) -> Option<Result<usize, AuthError>> {
    match STANDARD.decode_slice(text, out) {
        Ok(n) => Some(Ok(n)),
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => Some(Err(AuthError::NonceTooLong)),
        Err(base64::DecodeSliceError::DecodeError(_)) => None,
    }
}

/// Streams the decoded bytes of Base64 `text` (whitespace ignored, final padding optional)
/// to `sink`, one 4-character quantum at a time, so that a value of any length is checked
/// without a buffer for it.
#[cfg(feature = "auth-basic")]
pub(crate) fn decode_stream(text: &[u8], mut sink: impl FnMut(&[u8])) -> Result<(), AuthError> {
    let mut quad = [0u8; 4];
    let mut n = 0usize;
    let mut finished = false;
    for &c in text.iter().filter(|c| !c.is_ascii_whitespace()) {
        // Padding may only end the value: nothing may follow a quantum that carried it.
        if finished {
            return Err(AuthError::InvalidBase64);
        }
        if let Some(slot) = quad.get_mut(n) {
            *slot = c;
            n += 1;
        }
        if n == 4 {
            finished = quad.contains(&b'=');
            emit(&quad, &mut sink)?;
            n = 0;
        }
    }
    if n > 0 {
        emit(quad.get(..n).unwrap_or(&[]), &mut sink)?;
    }
    Ok(())
}

#[cfg(feature = "auth-basic")]
fn emit(quantum: &[u8], sink: &mut impl FnMut(&[u8])) -> Result<(), AuthError> {
    let mut bytes = [0u8; 3];
    let len = STANDARD_PAD_INDIFFERENT
        .decode_slice(quantum, &mut bytes)
        .map_err(|_| AuthError::InvalidBase64)?;
    sink(bytes.get(..len).unwrap_or(&[]));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn concat_matches_single_encode_across_stage_boundaries() {
        // Lengths around the staging size exercise full and partial stages.
        for len in [0usize, 1, 2, 3, 47, 48, 49, 95, 96, 97, 200] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let (a, b) = data.split_at(len / 3);
            let mut out = [0u8; 400];
            let n = encode_concat(&[a, &[], b], &mut out).unwrap();
            let mut expected = [0u8; 400];
            let m = STANDARD.encode_slice(&data, &mut expected).unwrap();
            assert_eq!(&out[..n], &expected[..m], "len {len}");
        }
    }

    #[test]
    fn concat_reports_required_size() {
        let mut out = [0u8; 11];
        assert_eq!(
            encode_concat(&[b"user", b":", b"pass"], &mut out),
            Err(AuthError::BufferTooSmall { required: 12 })
        );
    }

    #[test]
    #[cfg(feature = "auth-basic")]
    fn stream_decodes_and_rejects_data_after_padding() {
        let mut got = Vec::new();
        decode_stream(b"dXNl cjpw\nYXNz", |b| got.extend_from_slice(b)).unwrap();
        assert_eq!(got, b"user:pass");
        got.clear();
        decode_stream(b"dXM", |b| got.extend_from_slice(b)).unwrap();
        assert_eq!(got, b"us");
        assert_eq!(
            decode_stream(b"dXM=dXNl", |_| {}),
            Err(AuthError::InvalidBase64)
        );
        assert_eq!(decode_stream(b"d", |_| {}), Err(AuthError::InvalidBase64));
        assert_eq!(
            decode_stream(b"dX*=", |_| {}),
            Err(AuthError::InvalidBase64)
        );
    }

    #[test]
    fn strict_decode_distinguishes_invalid_from_too_long() {
        let mut big = [0u8; 8];
        assert!(decode_strict(b"Nonce", &mut big).is_none());
        let mut out = [0u8; 2];
        assert_eq!(
            decode_strict(b"AAAAAA==", &mut out),
            Some(Err(AuthError::NonceTooLong))
        );
        assert_eq!(decode_strict(b"AAA=", &mut out), Some(Ok(2)));
    }
}

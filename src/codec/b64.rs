//! Base64 values in message text: decoded as they are read, across the pieces a [`Text`]
//! comes in (WBXML string runs, entity references, CDATA) and across the chunks of a large
//! object, with the white space XML lets a long value wrap in skipped. Binary node values
//! travel this way in XML (Format `b64`) and in TNDS documents.

use base64::Engine as _;

use super::Text;

/// Why Base64 text did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum B64Error {
    /// Not Base64: a character outside the alphabet, misplaced padding, or a text whose
    /// length is not a whole number of four-character groups.
    Invalid,
    /// The decoded bytes do not fit the buffer given.
    TooLong,
}

impl From<B64Error> for crate::codes::StatusCode {
    fn from(e: B64Error) -> Self {
        match e {
            B64Error::Invalid => crate::codes::StatusCode::BadRequest,
            B64Error::TooLong => crate::codes::StatusCode::RequestEntityTooLarge,
        }
    }
}

/// Base64 decoding across chunks: up to three characters wait for the next chunk, white
/// space is skipped.
#[derive(Debug, Default)]
pub(crate) struct B64Stream {
    pending: [u8; 4],
    len: u8,
    /// Padding seen: nothing may follow.
    ended: bool,
}

impl B64Stream {
    /// Decodes `input`, handing the bytes to `out` a block at a time.
    pub(crate) fn feed<E: From<B64Error>>(
        &mut self,
        input: &[u8],
        mut out: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        // Clean characters gathered in groups of four, decoded a block at a time.
        let mut clean = [0u8; 256];
        let mut n = 0;
        for &b in input {
            if b.is_ascii_whitespace() {
                continue;
            }
            if self.ended {
                return Err(B64Error::Invalid.into());
            }
            if let Some(slot) = self.pending.get_mut(usize::from(self.len)) {
                *slot = b;
            }
            self.len += 1;
            if self.len == 4 {
                self.ended = self.pending.contains(&b'=');
                if let Some(dst) = clean.get_mut(n..n + 4) {
                    dst.copy_from_slice(&self.pending);
                }
                n += 4;
                self.len = 0;
                if n == clean.len() {
                    decode(clean.get(..n).unwrap_or(&[]), &mut out)?;
                    n = 0;
                }
            }
        }
        decode(clean.get(..n).unwrap_or(&[]), &mut out)
    }

    /// Ends the text: characters still waiting for their group make it invalid.
    pub(crate) fn finish(&self) -> Result<(), B64Error> {
        if self.len == 0 {
            Ok(())
        } else {
            Err(B64Error::Invalid)
        }
    }
}

fn decode<E: From<B64Error>>(
    clean: &[u8],
    out: &mut impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    if clean.is_empty() {
        return Ok(());
    }
    let mut bytes = [0u8; 192];
    let n = base64::engine::general_purpose::STANDARD
        .decode_slice(clean, &mut bytes)
        .map_err(|_| B64Error::Invalid)?;
    out(bytes.get(..n).unwrap_or(&[]))
}

/// Decodes Base64 `text` into `out`; the decoded bytes.
pub(crate) fn decode_text<'o>(text: Text<'_>, out: &'o mut [u8]) -> Result<&'o [u8], B64Error> {
    let mut stream = B64Stream::default();
    let mut len = 0usize;
    for chunk in text.chunks() {
        stream.feed(chunk.as_bytes(), |decoded| {
            let end = len + decoded.len();
            out.get_mut(len..end)
                .ok_or(B64Error::TooLong)?
                .copy_from_slice(decoded);
            len = end;
            Ok::<(), B64Error>(())
        })?;
    }
    stream.finish()?;
    Ok(out.get(..len).unwrap_or(&[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> Result<std::vec::Vec<u8>, B64Error> {
        let mut s = B64Stream::default();
        let mut got = std::vec::Vec::new();
        for c in chunks {
            s.feed(c, |d| {
                got.extend_from_slice(d);
                Ok::<(), B64Error>(())
            })?;
        }
        s.finish()?;
        Ok(got)
    }

    #[test]
    fn base64_decodes_across_chunk_boundaries_and_line_breaks() {
        let data: std::vec::Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut text = [0u8; 1400];
        let n = base64::engine::general_purpose::STANDARD
            .encode_slice(&data, &mut text)
            .unwrap();
        let wrapped: std::vec::Vec<u8> = text[..n]
            .chunks(76)
            .flat_map(|l| l.iter().copied().chain(*b"\r\n"))
            .collect();
        for split in [1, 3, 5, 77, 300, wrapped.len()] {
            let chunks: std::vec::Vec<&[u8]> = wrapped.chunks(split).collect();
            assert_eq!(run(&chunks).unwrap(), data, "split {split}");
        }
    }

    #[test]
    fn base64_refuses_a_truncated_or_padded_then_continued_text() {
        assert_eq!(run(&[b"QUJD", b"RA"]), Err(B64Error::Invalid));
        assert_eq!(run(&[b"QQ==", b"QUJD"]), Err(B64Error::Invalid));
        assert_eq!(run(&[b"QU*D"]), Err(B64Error::Invalid));
    }

    #[test]
    fn a_text_decodes_into_a_buffer_it_fits() {
        let mut out = [0u8; 3];
        assert_eq!(decode_text(Text::new("QUJD"), &mut out), Ok(&b"ABC"[..]));
        assert_eq!(
            decode_text(Text::new("QUJDRA=="), &mut out),
            Err(B64Error::TooLong)
        );
    }
}

//! The WBXML byte format below the reader: multi-byte integers, the string table and
//! attribute lists. Both the reader (`wbxml`) and the lazily decoded [`Text`](super::Text)
//! walk these; keeping them here lets the text depend on the format without depending on
//! the reader, which hands out texts.

use super::error::{DecodeError, DecodeErrorKind as K};
use super::tokens::{global, public_id};

fn err(kind: K, offset: usize) -> DecodeError {
    DecodeError::new(kind, offset)
}

/// Reads a WBXML multi-byte unsigned integer at `pos`: the value and the bytes it took.
/// `None` when it is truncated or does not fit in 32 bits.
pub(crate) fn read_mb_u32(input: &[u8], pos: usize) -> Option<(u32, usize)> {
    let mut value: u32 = 0;
    for i in 0..5 {
        let b = *input.get(pos.checked_add(i)?)?;
        value = value.checked_mul(128)?.checked_add(u32::from(b & 0x7F))?;
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// [`read_mb_u32`] for the reader: truncation and overflow become decode errors.
pub(crate) fn mb(input: &[u8], pos: usize) -> Result<(u32, usize), DecodeError> {
    read_mb_u32(input, pos).ok_or_else(|| {
        let rest = input.get(pos..).unwrap_or(&[]);
        if rest.len() < 5 && rest.iter().all(|b| b & 0x80 != 0) {
            err(K::Truncated, input.len())
        } else {
            err(K::Syntax("multi-byte integer over 32 bits"), pos)
        }
    })
}

/// The string at `index` of a WBXML string table: up to its NUL, or to the end of the table
/// when the NUL is missing (some encoders count the public-id string without it).
pub(crate) fn table_string(strtbl: &[u8], index: u32) -> Option<&[u8]> {
    let rest = strtbl.get(index as usize..)?;
    if rest.is_empty() {
        return None;
    }
    let end = memchr::memchr(0, rest).unwrap_or(rest.len());
    rest.get(..end)
}

/// The string table of a document whose header has been read before, found again.
pub(crate) fn string_table(doc: &[u8]) -> Option<&[u8]> {
    let (public_id, n) = read_mb_u32(doc, 1)?;
    let mut pos = 1 + n;
    if public_id == public_id::LITERAL {
        pos += read_mb_u32(doc, pos)?.1;
    }
    pos += read_mb_u32(doc, pos)?.1;
    let (len, n) = read_mb_u32(doc, pos)?;
    pos += n;
    doc.get(pos..pos.checked_add(len as usize)?)
}

/// Skips an attribute list (or the body of a PI) up to and including its END.
pub(crate) fn skip_attributes(
    doc: &[u8],
    strtbl: &[u8],
    mut pos: usize,
) -> Result<usize, DecodeError> {
    loop {
        let token = *doc.get(pos).ok_or(err(K::Truncated, pos))?;
        let after = pos + 1;
        pos = match token {
            global::END => return Ok(after),
            global::SWITCH_PAGE => after + 1,
            global::STR_I | global::EXT_I_0 | global::EXT_I_1 | global::EXT_I_2 => {
                let rest = doc.get(after..).unwrap_or(&[]);
                after
                    + rest
                        .iter()
                        .position(|&b| b == 0)
                        .ok_or(err(K::Truncated, doc.len()))?
                    + 1
            }
            global::STR_T | global::LITERAL => {
                let (index, n) = mb(doc, after)?;
                if table_string(strtbl, index).is_none() {
                    return Err(err(K::StringTableIndex(index), after));
                }
                after + n
            }
            global::ENTITY | global::EXT_T_0 | global::EXT_T_1 | global::EXT_T_2 => {
                after + mb(doc, after)?.1
            }
            global::OPAQUE => {
                let (len, n) = mb(doc, after)?;
                (after + n)
                    .checked_add(len as usize)
                    .ok_or(err(K::Truncated, after))?
            }
            _ => after,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multibyte_integers() {
        assert_eq!(read_mb_u32(&[0xA4, 0x01], 0), Some((0x1201, 2)));
        assert_eq!(read_mb_u32(&[0x9F, 0x53], 0), Some((0x0FD3, 2)));
        assert_eq!(read_mb_u32(&[0x82, 0x2C], 0), Some((300, 2)));
        assert_eq!(
            read_mb_u32(&[0x8F, 0xFF, 0xFF, 0xFF, 0x7F], 0),
            Some((u32::MAX, 5))
        );
        assert_eq!(read_mb_u32(&[0x90, 0x80, 0x80, 0x80, 0x00], 0), None);
        assert_eq!(read_mb_u32(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 0), None);
        assert_eq!(read_mb_u32(&[0x81], 0), None);
    }

    #[test]
    fn missing_nul_in_string_table_reads_to_its_end() {
        assert_eq!(
            table_string(b"-//SYNCML//DTD SyncML 1.1//EN", 0),
            Some(&b"-//SYNCML//DTD SyncML 1.1//EN"[..])
        );
        assert_eq!(table_string(b"ab\0cd\0", 3), Some(&b"cd"[..]));
        assert_eq!(table_string(b"ab\0", 3), None);
    }
}

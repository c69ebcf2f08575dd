//! Numbers written as decimal text without `core::fmt`: command ids, message sizes,
//! status and result codes, node sizes and states. A firmware that does not log links
//! none of the formatting machinery for them.

/// A number as decimal text, in a buffer of its own (for a caller with none to lend).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decimal {
    buf: [u8; MAX_DIGITS],
    start: usize,
}

/// Digits of the largest `u64`.
const MAX_DIGITS: usize = 20;

impl Decimal {
    /// `n` in decimal, without leading zeros (`0` for zero).
    pub(crate) fn new(n: u64) -> Decimal {
        let mut buf = [0u8; MAX_DIGITS];
        let len = write(&mut buf, n).len();
        Decimal {
            buf,
            start: MAX_DIGITS - len,
        }
    }

    /// The digits.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or(&[])
    }

    /// The digits, as text.
    pub(crate) fn as_str(&self) -> &str {
        // ASCII digits only: always UTF-8.
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

/// Writes `n` in decimal at the end of `buf` and returns the digits. A buffer too short
/// keeps the last digits; [`MAX_DIGITS`] bytes hold any `u64`.
pub(crate) fn write(buf: &mut [u8], mut n: u64) -> &[u8] {
    let mut start = buf.len();
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.get(start..).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn numbers_read_as_core_writes_them() {
        for n in [0, 1, 9, 10, 99, 100, 65_535, 4_294_967_295, u64::MAX] {
            assert_eq!(Decimal::new(n).as_str(), format!("{n}"));
            let mut buf = [0u8; 25];
            assert_eq!(write(&mut buf, n), format!("{n}").as_bytes());
        }
        // A short buffer keeps the last digits.
        assert_eq!(write(&mut [0u8; 2], 12_345), b"45");
    }
}

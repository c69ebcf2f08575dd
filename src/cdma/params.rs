//! The C.S0016 NAM and packet data parameters as values.
//!
//! A server writes each parameter as the text a person reads (decimal digits, a dotted IPv4
//! address); each newtype's `TryFrom<&[u8]>` accepts exactly the texts that fit the field
//! C.S0016 gives the parameter, and offers the over-the-air form the baseband keeps (the
//! C.S0005 §2.3.1 digit encoding of IMSI parts, DTMF digits of the MDN, bit-width values).
//! Nothing here allocates or panics; a refusal is a [`ParamError`].

use core::fmt;
use core::net::Ipv4Addr;

use crate::codes::StatusCode;

/// Why a parameter value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ParamError {
    /// Not as many characters (or bytes) as the parameter takes.
    Length,
    /// A character the parameter does not allow (digits only, for most).
    Character,
    /// A number too large for the parameter's bit width.
    Range,
    /// Not the parameter's syntax (an NAI, an IPv4 address).
    Syntax,
}

impl ParamError {
    /// The DM status a server gets for the refused value: 400, nothing stored.
    pub fn status(self) -> StatusCode {
        StatusCode::BadRequest
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParamError::Length => "wrong length for the parameter",
            ParamError::Character => "character not allowed in the parameter",
            ParamError::Range => "value out of the parameter's range",
            ParamError::Syntax => "malformed value",
        })
    }
}

impl core::error::Error for ParamError {}

/// Length limits of the parameters whose C.S0016 width a handset narrows in practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Longest NAI, in bytes. RFC 2486 asks every device to take NAIs of at least 72 octets.
    pub max_nai: usize,
    /// Longest shared secret (CHAP, MN-HA, MN-AAA), in bytes.
    pub max_secret: usize,
}

impl Default for Limits {
    /// 72-byte NAIs and 16-byte shared secrets: what handset NV commonly holds.
    fn default() -> Self {
        Limits {
            max_nai: 72,
            max_secret: 16,
        }
    }
}

/// `N` ASCII decimal digits, as digit values.
fn digits<const N: usize>(value: &[u8]) -> Result<[u8; N], ParamError> {
    let mut out: [u8; N] = value.try_into().map_err(|_| ParamError::Length)?;
    digit_values(&mut out)?;
    Ok(out)
}

/// ASCII decimal digits to their values in place: the part of [`digits`] that does not
/// depend on `N`, kept out of its copies.
fn digit_values(text: &mut [u8]) -> Result<(), ParamError> {
    for b in text {
        if !b.is_ascii_digit() {
            return Err(ParamError::Character);
        }
        *b -= b'0';
    }
    Ok(())
}

/// Checks `min..=max` ASCII decimal digits: what [`digits`] and [`Mdn`] refuse, without
/// building the value.
fn digit_run(value: &[u8], min: usize, max: usize) -> Result<(), ParamError> {
    if value.len() < min || value.len() > max {
        return Err(ParamError::Length);
    }
    if !value.iter().all(u8::is_ascii_digit) {
        return Err(ParamError::Character);
    }
    Ok(())
}

/// An unsigned decimal number no larger than `max`: digits only, no sign, at most ten.
fn number(value: &[u8], max: u32) -> Result<u32, ParamError> {
    if value.is_empty() || value.len() > 10 {
        return Err(ParamError::Length);
    }
    let mut n: u32 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return Err(ParamError::Character);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u32::from(b.wrapping_sub(b'0'))))
            .ok_or(ParamError::Range)?;
    }
    if n > max {
        return Err(ParamError::Range);
    }
    Ok(n)
}

/// C.S0005 §2.3.1: a group of decimal digits as one number, each digit counted as itself
/// except 0, which counts as ten, less 1…1 (one 1 per digit). Three digits take 10 bits,
/// two take 7.
fn encode_group(digits: &[u8]) -> u16 {
    let mut value: u16 = 0;
    let mut ones: u16 = 0;
    for &d in digits.iter().take(3) {
        let d = if d == 0 { 10 } else { u16::from(d) };
        // At most three digits: 1110 at most, no overflow.
        value = value * 10 + d;
        ones = ones * 10 + 1;
    }
    value - ones
}

/// A mobile country code (MCC_M, MCC_T): three decimal digits, 10 bits on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Mcc([u8; 3]);

impl Mcc {
    /// The digits, most significant first.
    pub fn digits(&self) -> [u8; 3] {
        self.0
    }

    /// The 10-bit field (C.S0005 §2.3.1).
    pub fn encoded(&self) -> u16 {
        encode_group(&self.0)
    }
}

impl TryFrom<&[u8]> for Mcc {
    type Error = ParamError;

    fn try_from(value: &[u8]) -> Result<Self, ParamError> {
        digits::<3>(value).map(Mcc)
    }
}

/// The 11th and 12th IMSI digits (IMSI_M_11_12, IMSI_T_11_12, the MNC): two decimal
/// digits, 7 bits on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Imsi1112([u8; 2]);

impl Imsi1112 {
    /// The digits, most significant first.
    pub fn digits(&self) -> [u8; 2] {
        self.0
    }

    /// The 7-bit field (C.S0005 §2.3.1).
    pub fn encoded(&self) -> u8 {
        // Two digits encode to at most 99.
        encode_group(&self.0) as u8
    }
}

impl TryFrom<&[u8]> for Imsi1112 {
    type Error = ParamError;

    fn try_from(value: &[u8]) -> Result<Self, ParamError> {
        digits::<2>(value).map(Imsi1112)
    }
}

/// The last ten IMSI digits (IMSI_M_S, IMSI_T_S): 34 bits on the air, IMSI_S2 (the first
/// three digits, 10 bits) then IMSI_S1 (the other seven, 24 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ImsiS([u8; 10]);

impl ImsiS {
    /// The digits, most significant first.
    pub fn digits(&self) -> [u8; 10] {
        self.0
    }

    /// IMSI_S2: the first three digits, 10 bits.
    pub fn s2(&self) -> u16 {
        encode_group(self.0.get(..3).unwrap_or(&[]))
    }

    /// IMSI_S1: the last seven digits, 24 bits: three digits (10 bits), one digit (4 bits,
    /// 0 written as ten), three digits (10 bits).
    pub fn s1(&self) -> u32 {
        let first = u32::from(encode_group(self.0.get(3..6).unwrap_or(&[])));
        let middle = match self.0.get(6).copied().unwrap_or(0) {
            0 => 10,
            d => u32::from(d),
        };
        let last = u32::from(encode_group(self.0.get(7..10).unwrap_or(&[])));
        (first << 14) | (middle << 10) | last
    }

    /// The 34-bit IMSI_S field: IMSI_S2 in the high 10 bits, IMSI_S1 in the low 24.
    pub fn encoded(&self) -> u64 {
        (u64::from(self.s2()) << 24) | u64::from(self.s1())
    }
}

impl TryFrom<&[u8]> for ImsiS {
    type Error = ParamError;

    fn try_from(value: &[u8]) -> Result<Self, ParamError> {
        digits::<10>(value).map(ImsiS)
    }
}

/// Most MDN digits: N_DIGITS is a 4-bit field.
pub const MAX_MDN_DIGITS: usize = 15;

/// A mobile directory number: 0 to 15 decimal digits (empty: none assigned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Mdn {
    digits: [u8; MAX_MDN_DIGITS],
    len: u8,
}

impl Mdn {
    /// The digits, most significant first.
    pub fn digits(&self) -> &[u8] {
        self.digits.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The digits as the 4-bit DTMF codes the MDN block carries (1 to 9, and 10 for 0).
    pub fn dtmf(&self) -> impl Iterator<Item = u8> + '_ {
        self.digits().iter().map(|&d| if d == 0 { 10 } else { d })
    }
}

impl TryFrom<&[u8]> for Mdn {
    type Error = ParamError;

    fn try_from(value: &[u8]) -> Result<Self, ParamError> {
        if value.len() > MAX_MDN_DIGITS {
            return Err(ParamError::Length);
        }
        let mut digits = [0u8; MAX_MDN_DIGITS];
        for (slot, &b) in digits.iter_mut().zip(value) {
            if !b.is_ascii_digit() {
                return Err(ParamError::Character);
            }
            *slot = b.wrapping_sub(b'0');
        }
        Ok(Mdn {
            digits,
            // At most 15.
            len: value.len() as u8,
        })
    }
}

macro_rules! bounded {
    ($(#[$doc:meta])* $name:ident($ty:ty), $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name($ty);

        impl $name {
            /// The largest value the field holds.
            pub const MAX: $ty = $max;

            /// The value.
            pub fn get(self) -> $ty {
                self.0
            }
        }

        impl TryFrom<&[u8]> for $name {
            type Error = ParamError;

            fn try_from(value: &[u8]) -> Result<Self, ParamError> {
                let n = number(value, u32::from(Self::MAX))?;
                <$ty>::try_from(n).map($name).map_err(|_| ParamError::Range)
            }
        }
    };
}

bounded! {
    /// The access overload class (ACCOLC): 4 bits.
    Accolc(u8), 15
}

bounded! {
    /// A system identifier (SID, HOME_SID): 15 bits.
    Sid(u16), 32_767
}

bounded! {
    /// A network identifier (NID, HOME_NID): 16 bits; 65535 stands for every NID of a SID.
    Nid(u16), 65_535
}

bounded! {
    /// The station class mark (SCM): 8 bits.
    Scm(u8), 255
}

bounded! {
    /// The slot cycle index: 3 bits.
    SlotCycleIndex(u8), 7
}

bounded! {
    /// A Mobile IP security parameter index (MN-HA SPI, MN-AAA SPI): 32 bits.
    Spi(u32), u32::MAX
}

/// A network access identifier (RFC 4282 form): `user`, `user@realm` or `@realm`, printable
/// ASCII without spaces, and a realm of dot-separated labels of letters, digits and `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Nai<'a>(&'a str);

impl<'a> Nai<'a> {
    /// Checks an NAI of at most `max` bytes.
    pub fn parse(value: &'a [u8], max: usize) -> Result<Self, ParamError> {
        if value.is_empty() || value.len() > max {
            return Err(ParamError::Length);
        }
        if !value.iter().all(|b| b.is_ascii_graphic()) {
            return Err(ParamError::Character);
        }
        // All ASCII: valid UTF-8.
        let text = core::str::from_utf8(value).map_err(|_| ParamError::Character)?;
        if let Some((user, realm)) = text.split_once('@') {
            let label_ok = |l: &str| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            };
            if user.contains('@') || realm.is_empty() || !realm.split('.').all(label_ok) {
                return Err(ParamError::Syntax);
            }
        }
        Ok(Nai(text))
    }

    /// The NAI.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

/// An IPv4 address in dotted decimal (home address, home agents): 32 bits.
pub fn ipv4(value: &[u8]) -> Result<Ipv4Addr, ParamError> {
    // The longest dotted quad is 15 characters; refuse more before parsing.
    if value.is_empty() || value.len() > 15 {
        return Err(ParamError::Length);
    }
    core::str::from_utf8(value).map_err(|_| ParamError::Character)?;
    dotted_quad(value)
        .map(Ipv4Addr::from)
        .ok_or(ParamError::Syntax)
}

/// The four octets of a dotted quad, accepting exactly what core's `Ipv4Addr` parser
/// accepts (one to three digits an octet, no leading zero, at most 255) without linking
/// that generic parser into the image.
fn dotted_quad(text: &[u8]) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.len() > 3 || (part.len() > 1 && part.first() == Some(&b'0')) {
            return None;
        }
        // At most 255, so it fits.
        *octet = number(part, 255).ok()? as u8;
    }
    parts.next().is_none().then_some(octets)
}

/// Checks a shared secret (CHAP, MN-HA, MN-AAA): 1 to `max` bytes of anything.
pub fn secret(value: &[u8], max: usize) -> Result<&[u8], ParamError> {
    if value.is_empty() || value.len() > max {
        return Err(ParamError::Length);
    }
    Ok(value)
}

/// The service programming code: six decimal digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Spc([u8; 6]);

impl Spc {
    /// The code of a handset fresh from the factory, before any is programmed.
    pub const DEFAULT: Spc = Spc(*b"000000");

    /// The six ASCII digits.
    pub fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }
}

impl fmt::Debug for Spc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Spc(<hidden>)")
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Spc {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Spc(<hidden>)")
    }
}

impl TryFrom<&[u8]> for Spc {
    type Error = ParamError;

    fn try_from(value: &[u8]) -> Result<Self, ParamError> {
        let text: [u8; 6] = value.try_into().map_err(|_| ParamError::Length)?;
        if !text.iter().all(u8::is_ascii_digit) {
            return Err(ParamError::Character);
        }
        Ok(Spc(text))
    }
}

/// Which parameter a node holds, and so which check its values pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Param {
    /// MCC_M or MCC_T.
    Mcc,
    /// IMSI_M_11_12 or IMSI_T_11_12.
    Imsi1112,
    /// IMSI_M_S or IMSI_T_S.
    ImsiS,
    /// The MDN.
    Mdn,
    /// ACCOLC.
    Accolc,
    /// A SID (HOME_SID, or of a SID/NID pair).
    Sid,
    /// A NID (HOME_NID, or of a SID/NID pair).
    Nid,
    /// A one-bit indicator (MOB_TERM_*): the node's `bool` format says it all.
    Flag,
    /// SCM.
    Scm,
    /// SLOT_CYCLE_INDEX.
    SlotCycleIndex,
    /// A Simple IP or Mobile IP NAI.
    Nai,
    /// An IPv4 address.
    Ipv4,
    /// An SPI.
    Spi,
    /// A shared secret: written, never read back.
    Secret,
}

impl Param {
    /// Checks `value` for this parameter.
    pub fn check(self, value: &[u8], limits: &Limits) -> Result<(), ParamError> {
        // The digit strings and bounded numbers differ only in their lengths and maxima,
        // so they share one check each instead of one inlined parser per newtype; the
        // results are those of the newtypes' `TryFrom`.
        match self {
            Param::Mcc => digit_run(value, 3, 3),
            Param::Imsi1112 => digit_run(value, 2, 2),
            Param::ImsiS => digit_run(value, 10, 10),
            Param::Mdn => digit_run(value, 0, MAX_MDN_DIGITS),
            Param::Accolc => number(value, Accolc::MAX.into()).map(drop),
            Param::Sid => number(value, Sid::MAX.into()).map(drop),
            Param::Nid => number(value, Nid::MAX.into()).map(drop),
            Param::Flag => match value {
                b"true" | b"false" => Ok(()),
                _ => Err(ParamError::Syntax),
            },
            Param::Scm => number(value, Scm::MAX.into()).map(drop),
            Param::SlotCycleIndex => number(value, SlotCycleIndex::MAX.into()).map(drop),
            Param::Nai => Nai::parse(value, limits.max_nai).map(drop),
            Param::Ipv4 => ipv4(value).map(drop),
            Param::Spi => number(value, Spi::MAX).map(drop),
            Param::Secret => secret(value, limits.max_secret).map(drop),
        }
    }

    /// Whether the value may never be read back by a server.
    pub fn is_secret(self) -> bool {
        self == Param::Secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a C.S0005 digit group the way a receiver does: add 1…1, then from the
    /// least significant digit up, a 0 stands for ten (borrowing from the next digit).
    fn decode_group(mut value: u16, n: u32) -> std::vec::Vec<u8> {
        let mut unit = 1u16;
        for _ in 0..n {
            value += unit;
            if (value / unit).is_multiple_of(10) {
                value -= 10 * unit;
            }
            unit *= 10;
        }
        (0..n)
            .rev()
            .map(|i| ((value / 10u16.pow(i)) % 10) as u8)
            .collect()
    }

    #[test]
    fn digit_groups_round_trip_through_the_c_s0005_encoding() {
        for n in 0..1000u16 {
            let digits = [(n / 100) as u8, (n / 10 % 10) as u8, (n % 10) as u8];
            let e = encode_group(&digits);
            assert!(e < 1000, "{n}: {e}");
            assert_eq!(decode_group(e, 3), digits, "{n}");
        }
        for n in 0..100u16 {
            let digits = [(n / 10) as u8, (n % 10) as u8];
            let e = encode_group(&digits);
            assert!(e < 100);
            assert_eq!(decode_group(e, 2), digits, "{n}");
        }
    }

    #[test]
    fn known_encodings() {
        // MCC 310: 3, 1, 0 (as ten) -> 320 - 111.
        assert_eq!(Mcc::try_from(&b"310"[..]).unwrap().encoded(), 209);
        // "00" is the largest two-digit value: 110 - 11.
        assert_eq!(Imsi1112::try_from(&b"00"[..]).unwrap().encoded(), 99);
        assert_eq!(Imsi1112::try_from(&b"11"[..]).unwrap().encoded(), 0);
        let s = ImsiS::try_from(&b"1234567890"[..]).unwrap();
        assert_eq!(s.s2(), 123 - 111);
        // 456 -> 345, 7, 890 -> 8, 9, ten -> 900 - 111 = 789.
        assert_eq!(s.s1(), (345 << 14) | (7 << 10) | 789);
        assert_eq!(s.encoded() >> 24, 12);
        assert!(s.encoded() < 1 << 34);
        let zero = ImsiS::try_from(&b"0000000000"[..]).unwrap();
        assert_eq!(zero.s1() >> 10 & 0xF, 10);
        assert!(zero.s1() < 1 << 24 && zero.s2() < 1 << 10);
    }

    #[test]
    fn numbers_stay_in_their_bit_width() {
        assert_eq!(Accolc::try_from(&b"15"[..]).map(Accolc::get), Ok(15));
        assert_eq!(Accolc::try_from(&b"16"[..]), Err(ParamError::Range));
        assert_eq!(Sid::try_from(&b"32767"[..]).map(Sid::get), Ok(32767));
        assert_eq!(Sid::try_from(&b"32768"[..]), Err(ParamError::Range));
        assert_eq!(Nid::try_from(&b"65535"[..]).map(Nid::get), Ok(65535));
        assert_eq!(Nid::try_from(&b"65536"[..]), Err(ParamError::Range));
        assert_eq!(Scm::try_from(&b"256"[..]), Err(ParamError::Range));
        assert_eq!(SlotCycleIndex::try_from(&b"8"[..]), Err(ParamError::Range));
        assert_eq!(
            Spi::try_from(&b"4294967295"[..]).map(Spi::get),
            Ok(u32::MAX)
        );
        assert_eq!(Spi::try_from(&b"4294967296"[..]), Err(ParamError::Range));
        assert_eq!(Spi::try_from(&b"99999999999"[..]), Err(ParamError::Length));
        assert_eq!(Sid::try_from(&b"-1"[..]), Err(ParamError::Character));
        assert_eq!(Sid::try_from(&b"+1"[..]), Err(ParamError::Character));
        assert_eq!(Sid::try_from(&b""[..]), Err(ParamError::Length));
    }

    #[test]
    fn mdn_digits_and_dtmf() {
        let mdn = Mdn::try_from(&b"8580001"[..]).unwrap();
        assert_eq!(mdn.digits(), [8, 5, 8, 0, 0, 0, 1]);
        assert!(mdn.dtmf().eq([8, 5, 8, 10, 10, 10, 1]));
        assert_eq!(Mdn::try_from(&b""[..]).unwrap().digits(), &[] as &[u8]);
        assert_eq!(
            Mdn::try_from(&b"1234567890123456"[..]),
            Err(ParamError::Length)
        );
        assert_eq!(Mdn::try_from(&b"555*1"[..]), Err(ParamError::Character));
    }

    #[test]
    fn nai_syntax() {
        let max = Limits::default().max_nai;
        for ok in ["user@example.com", "user", "@realm", "a.b+c@x-y.z9"] {
            assert!(Nai::parse(ok.as_bytes(), max).is_ok(), "{ok}");
        }
        for (bad, e) in [
            ("", ParamError::Length),
            ("us er@x", ParamError::Character),
            ("u@x@y", ParamError::Syntax),
            ("u@", ParamError::Syntax),
            ("u@a..b", ParamError::Syntax),
            ("u@a_b", ParamError::Syntax),
        ] {
            assert_eq!(Nai::parse(bad.as_bytes(), max), Err(e), "{bad}");
        }
        let long = [b'a'; 73];
        assert_eq!(Nai::parse(&long, max), Err(ParamError::Length));
        assert!(Nai::parse(&long[..72], max).is_ok());
    }

    #[test]
    fn dotted_quads_are_read_as_core_reads_them() {
        let texts = [
            "0.0.0.0",
            "255.255.255.255",
            "1.2.3.4",
            "10.0.0.01",
            "01.2.3.4",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3",
            "1..2.3",
            "1.2.3.4.5",
            "1.2.3.0004",
            "+1.2.3.4",
            "1.2.3.-4",
            " 1.2.3.4",
            "1.2.3.4 ",
            "a.b.c.d",
            "1.2.3.1000",
            "999.1.1.1",
            "0.0.0.00",
            "1.2.3.4x",
            "100.200.30.4",
            "1.2.3.\u{664}",
            "",
            "000.0.0.0",
            "1.2.3.255",
        ];
        for text in texts {
            let ours = ipv4(text.as_bytes()).ok();
            let core = if text.is_empty() || text.len() > 15 {
                None
            } else {
                text.parse::<Ipv4Addr>().ok()
            };
            assert_eq!(ours, core, "{text}");
        }
        assert_eq!(ipv4(b"1.2.3.\xff"), Err(ParamError::Character));
        assert_eq!(ipv4(b"1.2.3.\xd9\xa4"), Err(ParamError::Syntax));
        assert_eq!(ipv4(b"1.2.3.4567890123"), Err(ParamError::Length));
    }

    #[test]
    fn the_parameter_checks_agree_with_the_newtypes() {
        let limits = Limits::default();
        let values: [&[u8]; 15] = [
            b"",
            b"0",
            b"7",
            b"8",
            b"15",
            b"16",
            b"310",
            b"31a",
            b"00",
            b"1234567890",
            b"123456789012345",
            b"1234567890123456",
            b"4294967296",
            b"65536",
            b"\xff",
        ];
        for v in values {
            let check = |p: Param| p.check(v, &limits);
            assert_eq!(check(Param::Mcc), Mcc::try_from(v).map(drop));
            assert_eq!(check(Param::Imsi1112), Imsi1112::try_from(v).map(drop));
            assert_eq!(check(Param::ImsiS), ImsiS::try_from(v).map(drop));
            assert_eq!(check(Param::Mdn), Mdn::try_from(v).map(drop));
            assert_eq!(check(Param::Accolc), Accolc::try_from(v).map(drop));
            assert_eq!(check(Param::Sid), Sid::try_from(v).map(drop));
            assert_eq!(check(Param::Nid), Nid::try_from(v).map(drop));
            assert_eq!(check(Param::Scm), Scm::try_from(v).map(drop));
            assert_eq!(
                check(Param::SlotCycleIndex),
                SlotCycleIndex::try_from(v).map(drop)
            );
            assert_eq!(check(Param::Spi), Spi::try_from(v).map(drop));
        }
    }

    #[test]
    fn spc_is_six_digits_and_hidden_from_debug() {
        let spc = Spc::try_from(&b"123456"[..]).unwrap();
        assert_eq!(spc.as_bytes(), b"123456");
        assert_eq!(std::format!("{spc:?}"), "Spc(<hidden>)");
        assert_eq!(Spc::try_from(&b"12345"[..]), Err(ParamError::Length));
        assert_eq!(Spc::try_from(&b"12345a"[..]), Err(ParamError::Character));
    }
}

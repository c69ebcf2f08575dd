//! The platform services the core asks of the firmware: randomness for nonces and time for
//! node timestamps. The session engine never reads a clock on its own; these traits are how
//! the vendor's drivers reach the layers that need them.

/// A source of unpredictable bytes, used for nonces. On a handset this is the hardware RNG.
pub trait Rng {
    /// Fills `dest` with random bytes.
    fn fill_bytes(&mut self, dest: &mut [u8]);
}

/// Wall-clock time, used for the `TStamp` node property.
pub trait Clock {
    /// Seconds since 1970-01-01T00:00:00Z, or `None` while the device does not know the time.
    fn unix_time(&self) -> Option<u64>;
}

/// A clock for devices without a real-time clock: time is always unknown.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoClock;

impl Clock for NoClock {
    fn unix_time(&self) -> Option<u64> {
        None
    }
}

/// Formats `secs` since the Unix epoch as ISO 8601 basic UTC (`20010711T163817Z`), the form
/// OMA DM uses for `TStamp`.
pub fn format_tstamp(secs: u64) -> [u8; 16] {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"00000000T000000Z";
    put_digits(&mut out[0..4], u64::from(year));
    put_digits(&mut out[4..6], u64::from(month));
    put_digits(&mut out[6..8], u64::from(day));
    put_digits(&mut out[9..11], rem / 3600);
    put_digits(&mut out[11..13], rem % 3600 / 60);
    put_digits(&mut out[13..15], rem % 60);
    out
}

fn put_digits(out: &mut [u8], mut v: u64) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Days since 1970-01-01 to (year, month, day), for the proleptic Gregorian calendar.
fn civil_from_days(days: u64) -> (u32, u32, u32) {
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of a 400-year era.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    // A u64 of seconds cannot reach a year past u32::MAX, so the casts are lossless.
    (year as u32, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tstamp_matches_known_dates() {
        assert_eq!(&format_tstamp(0), b"19700101T000000Z");
        // The example in OMA-TS-DM_TND: 2001-07-11 16:38:17 UTC.
        assert_eq!(&format_tstamp(994_869_497), b"20010711T163817Z");
        // A leap day.
        assert_eq!(&format_tstamp(951_782_400), b"20000229T000000Z");
    }
}

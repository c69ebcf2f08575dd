//! The FUMO record and the log that keeps it on its own flash region.
//!
//! The record holds everything the FUMO object must remember across a reboot or a power
//! cut: the State node, the operation under way and what the device still has to do for
//! it, the result waiting to be reported with the `Exec`'s correlator, the package URLs,
//! and the name and version of the package on the device. Download progress is not here:
//! the installer keeps it, per flash sector, in its own state region.
//!
//! The log is a ring of fixed-size slots over two or more sectors. A record is written
//! with one write into the next free slot; the valid record with the highest sequence
//! number is the state. When a sector is full the next one is erased and the log moves on.
//! A torn record fails its CRC and is skipped; a torn erase only hits a sector of older
//! records; so a power cut at any point leaves the old record or the new one.
//!
//! | slot offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `FUMO` |
//! | 4 | 4 | sequence number |
//! | 8 | 2 | payload length `n` |
//! | 10 | 2 | reserved (0) |
//! | 12 | `n` | payload (below) |
//! | 12 + `n` | 4 | CRC-32 (ISO-HDLC) over bytes 4 .. 12 + `n` |
//!
//! Payload: format (1), state, operation, pending work, flags (bit 0: report pending,
//! bit 1: correlator present, bit 2: failure recorded), report result (u16), failure
//! result (u16), deferrals, download retries, report id (u32), a reserved byte, then the
//! correlator,
//! package name and package version (each a length byte and the bytes) and the two
//! package URLs (each a little-endian u16 length and the bytes). All integers little
//! endian.

use embedded_storage::nor_flash::NorFlash;
use heapless::String;

use super::{Error, Op, ResultCode, State, Work};
use crate::flash::ring::{Ring, Slot};
use crate::limits::{FUMO_CORRELATOR_LEN, FUMO_PKG_NAME_LEN, FUMO_PKG_VERSION_LEN, FUMO_URL_LEN};

const MAGIC: [u8; 4] = *b"FUMO";
const FORMAT: u8 = 1;
const HEAD: usize = 12;
const FIXED: usize = 16;
/// Largest payload: the fixed part and every string at its capacity.
const MAX_PAYLOAD: usize = FIXED
    + 1
    + FUMO_CORRELATOR_LEN
    + 1
    + FUMO_PKG_NAME_LEN
    + 1
    + FUMO_PKG_VERSION_LEN
    + 2 * (2 + FUMO_URL_LEN);
/// Largest record before padding.
pub(crate) const MAX_RECORD: usize = HEAD + MAX_PAYLOAD + 4;
/// Largest write word the log supports (the padded record must fit its buffer).
const MAX_WORD: usize = 64;
const BUF: usize = MAX_RECORD + MAX_WORD;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

const FLAG_REPORT: u8 = 1;
const FLAG_CORRELATOR: u8 = 2;
const FLAG_FAILURE: u8 = 4;

/// What the FUMO object keeps across reboots. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) state: State,
    pub(crate) op: Op,
    pub(crate) work: Work,
    /// The result to report for `op`, until the server acknowledges it.
    pub(crate) report: Option<ResultCode>,
    /// Identifies the report, so an acknowledgement of an older one changes nothing.
    pub(crate) report_id: u32,
    /// Why the last pushed package (PkgData) was refused, reported by a later Exec.
    pub(crate) failure: Option<ResultCode>,
    pub(crate) deferrals: u8,
    pub(crate) retries: u8,
    pub(crate) correlator: Option<String<FUMO_CORRELATOR_LEN>>,
    pub(crate) pkg_name: String<FUMO_PKG_NAME_LEN>,
    pub(crate) pkg_version: String<FUMO_PKG_VERSION_LEN>,
    /// `Download/PkgURL` and `DownloadAndUpdate/PkgURL`.
    pub(crate) urls: [String<URL_KEPT>; 2],
}

/// Bytes of a `PkgURL` the record keeps in RAM: none in a build without downloads, which
/// never reads one (480 bytes of static RAM less). The record's layout on flash is the
/// same in every build: such a build writes the URLs empty and reads over stored ones.
const URL_KEPT: usize = if cfg!(feature = "fumo-url") {
    FUMO_URL_LEN
} else {
    0
};

impl Default for Record {
    fn default() -> Self {
        Self {
            state: State::Idle,
            op: Op::None,
            work: Work::None,
            report: None,
            report_id: 0,
            failure: None,
            deferrals: 0,
            retries: 0,
            correlator: None,
            pkg_name: String::new(),
            pkg_version: String::new(),
            urls: [String::new(), String::new()],
        }
    }
}

/// A bounded little-endian writer over a byte slice.
struct Put<'b> {
    buf: &'b mut [u8],
    at: usize,
}

impl Put<'_> {
    fn bytes(&mut self, b: &[u8]) -> Option<()> {
        let end = self.at.checked_add(b.len())?;
        self.buf.get_mut(self.at..end)?.copy_from_slice(b);
        self.at = end;
        Some(())
    }

    fn short(&mut self, s: &str) -> Option<()> {
        self.bytes(&[u8::try_from(s.len()).ok()?])?;
        self.bytes(s.as_bytes())
    }

    fn long(&mut self, s: &str) -> Option<()> {
        self.bytes(&u16::try_from(s.len()).ok()?.to_le_bytes())?;
        self.bytes(s.as_bytes())
    }
}

/// The reading side of [`Put`].
struct Take<'b> {
    buf: &'b [u8],
}

impl<'b> Take<'b> {
    fn bytes(&mut self, n: usize) -> Option<&'b [u8]> {
        let (head, rest) = self.buf.split_at_checked(n)?;
        self.buf = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.bytes(1)?.first().copied()
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.bytes(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(4)?.try_into().ok()?))
    }

    /// `len` bytes of UTF-8 that fit a `String<N>`.
    fn text<const N: usize>(&mut self, len: usize) -> Option<&'b str> {
        (len <= N).then_some(())?;
        core::str::from_utf8(self.bytes(len)?).ok()
    }
}

/// `value` into `s`, whose capacity [`Take::text`] checked.
fn set<const N: usize>(s: &mut String<N>, value: &str) {
    s.clear();
    let _ = s.push_str(value);
}

impl Record {
    /// Writes the payload into `out`; returns its length.
    fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let mut p = Put { buf: out, at: 0 };
        let flags = if self.report.is_some() {
            FLAG_REPORT
        } else {
            0
        } | if self.correlator.is_some() {
            FLAG_CORRELATOR
        } else {
            0
        } | if self.failure.is_some() {
            FLAG_FAILURE
        } else {
            0
        };
        p.bytes(&[
            FORMAT,
            u8::from(self.state),
            self.op as u8,
            self.work as u8,
            flags,
        ])?;
        p.bytes(&self.report.map_or(0, u16::from).to_le_bytes())?;
        p.bytes(&self.failure.map_or(0, u16::from).to_le_bytes())?;
        p.bytes(&[self.deferrals, self.retries])?;
        p.bytes(&self.report_id.to_le_bytes())?;
        p.bytes(&[0])?;
        p.short(self.correlator.as_deref().unwrap_or(""))?;
        p.short(&self.pkg_name)?;
        p.short(&self.pkg_version)?;
        for url in &self.urls {
            p.long(url)?;
        }
        Some(p.at)
    }

    /// Reads a record's payload: checks all of it, then, with `out`, writes it there.
    /// Nothing is written unless the whole payload is valid, and no record is built on
    /// the stack: the strings are checked where they lie and copied once, into `out`.
    fn read(payload: &[u8], out: Option<&mut Self>) -> Option<()> {
        let mut t = Take { buf: payload };
        if t.u8()? != FORMAT {
            return None;
        }
        let state = State::from(t.u8()?);
        if matches!(state, State::Unknown(_)) {
            return None;
        }
        let op = Op::from_u8(t.u8()?)?;
        let work = Work::from_u8(t.u8()?)?;
        let flags = t.u8()?;
        let report = ResultCode::from(t.u16()?);
        let failure = ResultCode::from(t.u16()?);
        let deferrals = t.u8()?;
        let retries = t.u8()?;
        let report_id = t.u32()?;
        t.bytes(1)?;
        let n = usize::from(t.u8()?);
        let correlator = t.text::<FUMO_CORRELATOR_LEN>(n)?;
        let n = usize::from(t.u8()?);
        let pkg_name = t.text::<FUMO_PKG_NAME_LEN>(n)?;
        let n = usize::from(t.u8()?);
        let pkg_version = t.text::<FUMO_PKG_VERSION_LEN>(n)?;
        let n = usize::from(t.u16()?);
        let url0 = t.text::<FUMO_URL_LEN>(n)?;
        let n = usize::from(t.u16()?);
        let url1 = t.text::<FUMO_URL_LEN>(n)?;
        let Some(r) = out else {
            return Some(());
        };
        r.state = state;
        r.op = op;
        r.work = work;
        r.report = (flags & FLAG_REPORT != 0).then_some(report);
        r.report_id = report_id;
        r.failure = (flags & FLAG_FAILURE != 0).then_some(failure);
        r.deferrals = deferrals;
        r.retries = retries;
        if flags & FLAG_CORRELATOR != 0 {
            set(r.correlator.get_or_insert_with(String::new), correlator);
        } else {
            r.correlator = None;
        }
        set(&mut r.pkg_name, pkg_name);
        set(&mut r.pkg_version, pkg_version);
        let [u0, u1] = &mut r.urls;
        set(u0, url0);
        set(u1, url1);
        Some(())
    }
}

/// The ring of record slots. See the module docs.
#[derive(Debug)]
pub(crate) struct RecordLog<S> {
    flash: S,
    seq: u32,
    ring: Ring,
}

impl<S: NorFlash> RecordLog<S> {
    /// Bytes between slots: the largest record, in whole write words.
    const STRIDE: usize = MAX_RECORD.div_ceil(Self::WORD) * Self::WORD;
    const WORD: usize = if S::WRITE_SIZE == 0 { 1 } else { S::WRITE_SIZE };

    /// Scans the region: the log, positioned after the newest valid record, and that
    /// record (or the default for a region that holds none).
    #[cfg(test)]
    pub(crate) fn open(flash: S) -> Result<(Self, Record), Error> {
        let mut log = Self::unscanned(flash)?;
        let mut rec = Record::default();
        log.scan(&mut rec)?;
        Ok((log, rec))
    }

    /// The log on `flash`, before [`RecordLog::scan`] has found its position.
    pub(crate) fn unscanned(flash: S) -> Result<Self, Error> {
        if S::WRITE_SIZE == 0 || S::WRITE_SIZE > MAX_WORD {
            return Err(Error::Layout);
        }
        Ok(Self {
            flash,
            seq: 0,
            ring: Ring::START,
        })
    }

    /// Scans the region: positions the log after the newest valid record and reads that
    /// record into `rec` (the default for a region that holds none). The scan notes only
    /// where the newest record is and decodes it once at the end, so that no record is
    /// copied around on the way.
    pub(crate) fn scan(&mut self, rec: &mut Record) -> Result<(), Error> {
        let mut buf = [0u8; BUF];
        let raw = buf.get_mut(..Self::STRIDE).ok_or(Error::Layout)?;
        let (ring, best) =
            Ring::open(&mut self.flash, Self::STRIDE, Error::Layout, |flash, at| {
                flash.read(at, raw)?;
                Ok::<_, Error>(if raw.iter().all(|&b| b == 0xFF) {
                    Slot::Free
                } else {
                    check(raw).map_or(Slot::Invalid, |seq| Slot::Valid(seq, at))
                })
            })?;
        self.ring = ring;
        match best {
            Some((seq, at)) => {
                self.flash.read(at, raw)?;
                let payload = check(raw).and_then(|_| payload(raw)).ok_or(Error::Layout)?;
                Record::read(payload, Some(rec)).ok_or(Error::Layout)?;
                self.seq = seq;
            }
            None => {
                *rec = Record::default();
                self.seq = 0;
            }
        }
        Ok(())
    }

    /// Appends `rec` as the newest record.
    pub(crate) fn append(&mut self, rec: &Record) -> Result<(), Error> {
        let mut buf = [0xFFu8; BUF];
        let payload = buf.get_mut(HEAD..HEAD + MAX_PAYLOAD).ok_or(Error::Layout)?;
        let n = rec.encode(payload).ok_or(Error::Layout)?;
        let seq = self.seq.wrapping_add(1);
        let head: [u8; HEAD] = {
            let mut h = [0u8; HEAD];
            let (magic, rest) = h.split_at_mut(4);
            let (s, rest) = rest.split_at_mut(4);
            let (len, _) = rest.split_at_mut(2);
            magic.copy_from_slice(&MAGIC);
            s.copy_from_slice(&seq.to_le_bytes());
            len.copy_from_slice(&(n as u16).to_le_bytes());
            h
        };
        buf.get_mut(..HEAD)
            .ok_or(Error::Layout)?
            .copy_from_slice(&head);
        let crc = CRC32.checksum(buf.get(4..HEAD + n).ok_or(Error::Layout)?);
        buf.get_mut(HEAD + n..HEAD + n + 4)
            .ok_or(Error::Layout)?
            .copy_from_slice(&crc.to_le_bytes());
        let len = (HEAD + n + 4).div_ceil(Self::WORD) * Self::WORD;

        let at = self.ring.next_slot(&mut self.flash, Self::STRIDE)?;
        self.flash.write(at, buf.get(..len).ok_or(Error::Layout)?)?;
        self.seq = seq;
        Ok(())
    }

    pub(crate) fn into_inner(self) -> S {
        self.flash
    }
}

/// A record slot's sequence number, if it holds a valid record: framing, checksum, and a
/// payload that decodes.
fn check(raw: &[u8]) -> Option<u32> {
    let mut t = Take { buf: raw };
    if t.bytes(4)? != MAGIC {
        return None;
    }
    let seq = t.u32()?;
    let n = usize::from(t.u16()?);
    let _reserved = t.u16()?;
    let payload = t.bytes(n)?;
    let crc = t.u32()?;
    if CRC32.checksum(raw.get(4..HEAD + n)?) != crc || Record::read(payload, None).is_none() {
        return None;
    }
    Some(seq)
}

/// The payload of a record slot whose framing [`check`] accepted.
fn payload(raw: &[u8]) -> Option<&[u8]> {
    let mut t = Take { buf: raw.get(8..)? };
    let n = usize::from(t.u16()?);
    t.bytes(2)?;
    t.bytes(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flash::{FaultPlan, FaultyFlash, MemFlash, Tear};

    type Mem = MemFlash<[u8; 4096], 1024, 8>;

    fn blank() -> Mem {
        let mut m = MemFlash::new([0u8; 4096]);
        m.erase_all();
        m
    }

    fn record(n: u32) -> Record {
        let mut r = Record {
            state: State::DownloadProgressing,
            op: Op::DownloadAndUpdate,
            work: Work::Download,
            report: Some(ResultCode::CorruptedPackage),
            report_id: n,
            failure: Some(ResultCode::PackageMismatch),
            deferrals: 2,
            retries: 1,
            correlator: Some(String::try_from("corr-7").unwrap()),
            ..Record::default()
        };
        r.pkg_name.push_str("IOTA-1 2.0").unwrap();
        r.pkg_version.push_str("2.0").unwrap();
        if cfg!(feature = "fumo-url") {
            r.urls[1].push_str("http://127.0.0.1:8080/fw.bin").unwrap();
        }
        r
    }

    /// A record as a build with downloads writes it: `rec` (whose URLs are empty) with
    /// `urls` in place of the empty ones (the URLs are the payload's last fields).
    fn payload_with_urls(rec: &Record, urls: [&str; 2]) -> std::vec::Vec<u8> {
        let mut buf = [0u8; MAX_PAYLOAD];
        let n = rec.encode(&mut buf).unwrap();
        assert_eq!(
            &buf[n - 4..n],
            &[0, 0, 0, 0],
            "two empty URLs end the payload"
        );
        let mut payload = buf[..n - 4].to_vec();
        for url in urls {
            payload.extend_from_slice(&(url.len() as u16).to_le_bytes());
            payload.extend_from_slice(url.as_bytes());
        }
        payload
    }

    /// The layout on flash is the same with and without `fumo-url`: a record holding URLs
    /// reads in either build, the URLs kept only by a build that downloads, and a build
    /// without writes what one with reads as empty URLs.
    #[test]
    fn a_record_with_urls_reads_with_or_without_downloads() {
        let mut rec = record(4);
        rec.urls = Default::default();
        let url = "http://127.0.0.1:8080/fw.bin";
        let payload = payload_with_urls(&rec, ["", url]);
        let mut back = Record::default();
        assert_eq!(Record::read(&payload, Some(&mut back)), Some(()));
        let kept = if cfg!(feature = "fumo-url") { url } else { "" };
        assert_eq!((back.urls[0].as_str(), back.urls[1].as_str()), ("", kept));
        back.urls = Default::default();
        assert_eq!(back, rec);
        // A URL longer than a build with downloads keeps is refused by both.
        let long = "u".repeat(FUMO_URL_LEN + 1);
        let payload = payload_with_urls(&rec, [&long, ""]);
        assert_eq!(Record::read(&payload, None), None);
    }

    #[test]
    fn round_trip_and_every_flipped_bit_is_caught() {
        let (mut log, first) = RecordLog::open(blank()).unwrap();
        assert_eq!(first, Record::default());
        log.append(&record(1)).unwrap();
        let (log, back) = RecordLog::open(log.into_inner()).unwrap();
        assert_eq!(back, record(1));
        let mem = log.into_inner();
        let used = HEAD + record(1).encode(&mut [0u8; MAX_PAYLOAD]).unwrap() + 4;
        for byte in 0..used {
            let mut bad = MemFlash::<[u8; 4096], 1024, 8>::new([0u8; 4096]);
            bad.as_bytes_mut().copy_from_slice(mem.as_bytes());
            bad.as_bytes_mut()[byte] ^= 0x04;
            let (_, r) = RecordLog::open(bad).unwrap();
            assert_eq!(r, Record::default(), "flip in byte {byte} accepted");
        }
    }

    #[test]
    fn largest_record_fits_and_strings_keep_their_bounds() {
        let mut r = record(3);
        r.correlator = Some(String::try_from("c".repeat(FUMO_CORRELATOR_LEN).as_str()).unwrap());
        r.pkg_name = String::try_from("n".repeat(FUMO_PKG_NAME_LEN).as_str()).unwrap();
        r.pkg_version = String::try_from("v".repeat(FUMO_PKG_VERSION_LEN).as_str()).unwrap();
        if cfg!(feature = "fumo-url") {
            r.urls = [
                String::try_from("a".repeat(URL_KEPT).as_str()).unwrap(),
                String::try_from("b".repeat(URL_KEPT).as_str()).unwrap(),
            ];
            assert_eq!(r.encode(&mut [0u8; MAX_PAYLOAD]), Some(MAX_PAYLOAD));
        }
        let (mut log, _) = RecordLog::open(blank()).unwrap();
        log.append(&r).unwrap();
        assert_eq!(RecordLog::open(log.into_inner()).unwrap().1, r);
    }

    #[test]
    fn newest_wins_across_wrap_arounds() {
        let (mut log, _) = RecordLog::open(blank()).unwrap();
        for n in 1..=9 {
            log.append(&record(n)).unwrap();
        }
        let (_, r) = RecordLog::open(log.into_inner()).unwrap();
        assert_eq!(r.report_id, 9);
    }

    #[test]
    fn a_cut_at_any_append_keeps_old_or_new() {
        for k in 0..14u64 {
            for tear in [
                Tear::NotStarted,
                Tear::Completed,
                Tear::Partial,
                Tear::Garbage,
            ] {
                let plan = FaultPlan::cut_at(k, tear).with_seed(k * 7 + 1);
                let flash: FaultyFlash<Mem, 1024> = FaultyFlash::new(blank(), plan);
                let (mut log, _) = RecordLog::open(flash).unwrap();
                let mut written = 0;
                for n in 1..=10 {
                    if log.append(&record(n)).is_err() {
                        break;
                    }
                    written = n;
                }
                let (mut log, r) = RecordLog::open(log.into_inner().into_inner()).unwrap();
                let found = if r == Record::default() {
                    0
                } else {
                    r.report_id
                };
                assert!(
                    found == written || found == written + 1,
                    "cut {k} {tear:?}: found {found} after {written}"
                );
                log.append(&record(found + 1)).unwrap();
                let (_, r2) = RecordLog::open(log.into_inner()).unwrap();
                assert_eq!(r2.report_id, found + 1);
            }
        }
    }

    #[test]
    fn rejects_unusable_regions() {
        let one: MemFlash<[u8; 1024], 1024, 8> = MemFlash::new([0xFF; 1024]);
        assert!(matches!(RecordLog::open(one), Err(Error::Layout)));
        let small: MemFlash<[u8; 1024], 256, 8> = MemFlash::new([0xFF; 1024]);
        assert!(matches!(RecordLog::open(small), Err(Error::Layout)));
    }
}

//! The A/B installer: streams a package into the update slot, verifies it, arms a trial
//! boot, and confirms or rolls back.

use embedded_storage::nor_flash::NorFlash;
use sha2::{Digest, Sha256};

use super::backup;
use super::package::{
    DeviceIdentity, HmacSha256Verifier, PackageError, PackageHeader, PackageVerifier,
    MAX_HEADER_LEN, PREFIX_LEN,
};
use super::record::{BootState, StateLog};
use super::{
    BootDecision, BootReason, Config, Error, Failure, ImageInfo, Outcome, Phase, Slot,
    IMAGE_OFFSET, MAX_WRITE_SIZE,
};

/// Bytes read per flash read while hashing or copying.
const READ_CHUNK: usize = 512;

/// The in-RAM part of a download: only what can be rebuilt from flash after a reboot.
#[derive(Debug)]
struct Stream {
    open: bool,
    header: [u8; MAX_HEADER_LEN],
    header_fill: usize,
    header_len: usize,
    /// Package length once the header is known.
    total: u32,
    /// Package bytes accepted.
    received: u32,
    /// Next slot offset to program; always a multiple of the write size.
    slot_pos: u32,
    /// Bytes waiting to complete a write word at `slot_pos`.
    word: [u8; MAX_WRITE_SIZE],
    word_len: usize,
    /// Sectors below this slot offset have been erased during this update.
    erased_to: u32,
}

impl Stream {
    const fn new() -> Self {
        Self {
            open: false,
            header: [0; MAX_HEADER_LEN],
            header_fill: 0,
            header_len: 0,
            total: 0,
            received: 0,
            slot_pos: 0,
            word: [0xFF; MAX_WRITE_SIZE],
            word_len: 0,
            erased_to: 0,
        }
    }
}

/// The firmware installer over three flash regions: slot A, slot B and the state region.
///
/// See the [module docs](super) for the state layout and the life of an update. Verbs
/// called out of order return [`Error::BadState`] and change nothing.
///
/// The first group of methods are getters; `begin`, `resume`, `write_chunk`, `finish`,
/// `backup`, `arm_trial` and `abort` belong to the running firmware during an update;
/// `boot_decision` belongs to the bootloader; `confirm`, `rollback` and `restore` to the
/// firmware after a trial boot.
#[derive(Debug)]
pub struct Installer<A, B, STATE, V = HmacSha256Verifier> {
    a: A,
    b: B,
    log: StateLog<STATE>,
    state: BootState,
    verifier: V,
    device: DeviceIdentity,
    config: Config,
    stream: Stream,
}

/// Runs the flash operation `$body` with `$f` bound to the flash of `$slot`, converting
/// its error.
macro_rules! with_slot {
    ($self:ident, $slot:expr, |$f:ident| $body:expr) => {
        match $slot {
            Slot::A => {
                let $f = &mut $self.a;
                $body.map_err(Error::from)
            }
            Slot::B => {
                let $f = &mut $self.b;
                $body.map_err(Error::from)
            }
        }
    };
}

impl<A, B, STATE, V> Installer<A, B, STATE, V>
where
    A: NorFlash,
    B: NorFlash,
    STATE: NorFlash,
    V: PackageVerifier,
{
    /// Opens the installer: reads the newest state record. `device` says what the device
    /// is and which version it runs; `verifier` checks package authenticators.
    ///
    /// Fails with [`Error::Layout`] when the regions do not suit: the slots must share
    /// erase and write sizes, the write size must divide 32, and the state region needs
    /// two sectors.
    pub fn new(
        a: A,
        b: B,
        state: STATE,
        device: DeviceIdentity,
        verifier: V,
        config: Config,
    ) -> Result<Self, Error> {
        let w = A::WRITE_SIZE;
        if A::WRITE_SIZE != B::WRITE_SIZE
            || A::ERASE_SIZE != B::ERASE_SIZE
            || w == 0
            || !MAX_WRITE_SIZE.is_multiple_of(w)
            || !IMAGE_OFFSET.is_multiple_of(w as u32)
            || !READ_CHUNK.is_multiple_of(w)
            || a.capacity() <= IMAGE_OFFSET as usize
            || b.capacity() <= IMAGE_OFFSET as usize
        {
            return Err(Error::Layout);
        }
        let (log, st) = StateLog::open(state)?;
        debug!(
            "installer: phase {} active {}",
            st.phase as u8, st.active as u8
        );
        Ok(Self {
            a,
            b,
            log,
            state: st,
            verifier,
            device,
            config,
            stream: Stream::new(),
        })
    }

    /// Gives the three regions back.
    pub fn into_inner(self) -> (A, B, STATE) {
        (self.a, self.b, self.log.into_inner())
    }

    // ---- getters ----

    /// The persisted state.
    pub fn state(&self) -> BootState {
        self.state
    }

    /// The phase of the update.
    pub fn phase(&self) -> Phase {
        self.state.phase
    }

    /// The confirmed slot (booted normally; the target of a rollback).
    pub fn active_slot(&self) -> Slot {
        self.state.active
    }

    /// The slot updates are written to.
    pub fn update_slot(&self) -> Slot {
        self.state.active.other()
    }

    /// The identity packages are checked against (its version follows confirmed updates).
    pub fn device(&self) -> &DeviceIdentity {
        &self.device
    }

    /// The last finished update attempt, kept across reboots until
    /// [`acknowledge_outcome`](Self::acknowledge_outcome).
    pub fn last_outcome(&self) -> Option<Outcome> {
        self.state.outcome
    }

    /// Where an interrupted download continues: the package offset up to which the
    /// package is durably in flash (0 when nothing is, or no download is under way). Ask
    /// the server for the package from here and call [`resume`](Self::resume).
    pub fn resume_offset(&self) -> u32 {
        if self.state.phase == Phase::Downloading {
            self.state.progress
        } else {
            0
        }
    }

    /// Package bytes accepted in the current download.
    pub fn received(&self) -> u32 {
        self.stream.received
    }

    /// Total package length, once its header has arrived.
    pub fn package_len(&self) -> Option<u32> {
        (self.stream.open && self.stream.total > 0).then_some(self.stream.total)
    }

    /// The header of the package being downloaded (or just verified), once all of it has
    /// arrived and passed its checks; after a reboot, once the download has been resumed.
    pub fn staged_header(&self) -> Option<PackageHeader<'_>> {
        let s = &self.stream;
        // `total` is set only once the header passed validation.
        if s.header_len == 0 || s.header_fill < s.header_len || s.total == 0 {
            return None;
        }
        PackageHeader::parse(s.header.get(..s.header_len)?).ok()
    }

    /// Largest payload the update slot takes.
    pub fn max_payload(&self) -> u32 {
        let cap = match self.update_slot() {
            Slot::A => self.a.capacity(),
            Slot::B => self.b.capacity(),
        };
        u32::try_from(cap)
            .unwrap_or(u32::MAX)
            .saturating_sub(IMAGE_OFFSET)
    }

    // ---- download ----

    /// Starts a download into the update slot, discarding any earlier one (and its
    /// backup). Allowed when idle, downloading or ready; not while a trial is armed or a
    /// restore is pending.
    pub fn begin(&mut self) -> Result<(), Error> {
        match self.state.phase {
            Phase::Idle if !self.state.restore_pending => {}
            Phase::Downloading | Phase::Ready => {}
            _ => return Err(Error::BadState),
        }
        // Persisted before the slot is touched, so a ready image is never believed
        // intact once its sectors start to be erased.
        let mut next = self.state;
        next.phase = Phase::Downloading;
        next.progress = 0;
        next.target_version = 0;
        next.backup_valid = false;
        self.persist(next)?;
        self.stream = Stream::new();
        self.stream.open = true;
        info!("installer: download started");
        Ok(())
    }

    /// Continues a download interrupted by a reboot or a dropped connection; returns the
    /// package offset the next chunk must start at ([`resume_offset`](Self::resume_offset)
    /// or, if the slot's copy of the header no longer checks out, 0).
    pub fn resume(&mut self) -> Result<u32, Error> {
        if self.state.phase != Phase::Downloading {
            return Err(Error::BadState);
        }
        let progress = self.state.progress;
        self.stream = Stream::new();
        self.stream.open = true;
        if progress == 0 {
            return Ok(0);
        }
        match self.reload_header(progress) {
            Ok(()) => Ok(progress),
            Err(Error::Package(_)) => {
                warn!("installer: slot header unusable, download restarts");
                let mut next = self.state;
                next.progress = 0;
                self.persist(next)?;
                self.stream = Stream::new();
                self.stream.open = true;
                Ok(0)
            }
            Err(e) => {
                self.stream.open = false;
                Err(e)
            }
        }
    }

    fn reload_header(&mut self, progress: u32) -> Result<(), Error> {
        let slot = self.update_slot();
        let mut buf = [0u8; MAX_HEADER_LEN];
        with_slot!(self, slot, |f| f.read(0, &mut buf))?;
        let header = PackageHeader::parse(&buf).map_err(Error::Package)?;
        header
            .validate(&self.device, &self.verifier, self.max_payload())
            .map_err(Error::Package)?;
        let hl = header.len();
        let total = header
            .package_len()
            .ok_or(Error::Package(PackageError::TooLarge))?;
        let payload_done = progress
            .checked_sub(hl as u32)
            .ok_or(Error::Package(PackageError::BadHeaderLength))?;
        let slot_pos = IMAGE_OFFSET
            .checked_add(payload_done)
            .ok_or(Error::Package(PackageError::TooLarge))?;
        if progress > total || !(slot_pos as usize).is_multiple_of(A::ERASE_SIZE) {
            return Err(Error::Package(PackageError::BadHeaderLength));
        }
        let s = &mut self.stream;
        s.header = buf;
        s.header_fill = hl;
        s.header_len = hl;
        s.total = total;
        s.received = progress;
        s.slot_pos = slot_pos;
        s.erased_to = slot_pos;
        Ok(())
    }

    /// Takes the next bytes of the package, of any length. The header is checked as soon
    /// as it is complete (device match, authenticator, version, size), and the package is
    /// refused before any of it reaches flash if it fails; payload bytes go to the update
    /// slot as they arrive.
    ///
    /// A refusal ([`Error::Package`]) ends the download and is recorded as the outcome; a
    /// flash error leaves it resumable.
    pub fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if self.state.phase != Phase::Downloading || !self.stream.open {
            return Err(Error::BadState);
        }
        match self.accept(chunk) {
            Err(Error::Package(e)) => self.fail(e),
            Err(e) => {
                // Part of the chunk may be in flash: only `resume` knows where to go on.
                self.stream.open = false;
                Err(e)
            }
            Ok(()) => Ok(()),
        }
    }

    fn accept(&mut self, mut chunk: &[u8]) -> Result<(), Error> {
        // Header: buffered whole before anything is written.
        if self.stream.header_len == 0 || self.stream.header_fill < self.stream.header_len {
            let want = if self.stream.header_len == 0 {
                PREFIX_LEN
            } else {
                self.stream.header_len
            };
            let s = &mut self.stream;
            let n = want.saturating_sub(s.header_fill).min(chunk.len());
            let (head, rest) = chunk.split_at(n);
            s.header
                .get_mut(s.header_fill..s.header_fill + n)
                .ok_or(Error::BadState)?
                .copy_from_slice(head);
            s.header_fill += n;
            s.received += n as u32;
            chunk = rest;
            let prefix = s.header.get(..s.header_fill).unwrap_or_default();
            if s.header_len == 0 {
                match PackageHeader::header_len(prefix).map_err(Error::Package)? {
                    Some(len) => s.header_len = len,
                    None => return Ok(()),
                }
                return self.accept(chunk);
            }
            if s.header_fill < s.header_len {
                return Ok(());
            }
            self.header_complete()?;
        }
        if chunk.is_empty() {
            return Ok(());
        }
        let left = self.stream.total - self.stream.received;
        if chunk.len() as u64 > u64::from(left) {
            return Err(Error::Package(PackageError::TooLong));
        }
        self.emit(chunk)?;
        self.stream.received += chunk.len() as u32;
        if self.stream.received == self.stream.total {
            self.pad_to_word()?;
        }
        Ok(())
    }

    fn header_complete(&mut self) -> Result<(), Error> {
        let max = self.max_payload();
        let header = self.stream.header;
        let header = PackageHeader::parse(header.get(..self.stream.header_len).unwrap_or_default())
            .map_err(Error::Package)?;
        header
            .validate(&self.device, &self.verifier, max)
            .map_err(Error::Package)?;
        self.stream.total = header
            .package_len()
            .ok_or(Error::Package(PackageError::TooLarge))?;
        info!("installer: package accepted, version {}", header.to_code());
        self.emit(header.as_bytes())?;
        self.pad_to_word()?;
        self.stream.slot_pos = IMAGE_OFFSET;
        Ok(())
    }

    /// Writes `data` at the stream position: completes the pending word, programs whole
    /// words straight from `data`, and keeps the tail.
    fn emit(&mut self, mut data: &[u8]) -> Result<(), Error> {
        let w = A::WRITE_SIZE;
        if self.stream.word_len > 0 {
            let s = &mut self.stream;
            let n = (w - s.word_len).min(data.len());
            let (head, rest) = data.split_at(n);
            s.word
                .get_mut(s.word_len..s.word_len + n)
                .ok_or(Error::BadState)?
                .copy_from_slice(head);
            s.word_len += n;
            data = rest;
            if s.word_len < w {
                return Ok(());
            }
            let word = s.word;
            self.program(word.get(..w).unwrap_or_default())?;
            self.stream.word_len = 0;
        }
        let whole = data.len() - data.len() % w;
        let (body, tail) = data.split_at(whole);
        if !body.is_empty() {
            self.program(body)?;
        }
        let s = &mut self.stream;
        s.word
            .get_mut(..tail.len())
            .ok_or(Error::BadState)?
            .copy_from_slice(tail);
        s.word_len = tail.len();
        Ok(())
    }

    fn pad_to_word(&mut self) -> Result<(), Error> {
        if self.stream.word_len == 0 {
            return Ok(());
        }
        let w = A::WRITE_SIZE;
        let s = &mut self.stream;
        s.word
            .get_mut(s.word_len..w)
            .ok_or(Error::BadState)?
            .fill(0xFF);
        let word = s.word;
        self.program(word.get(..w).unwrap_or_default())?;
        self.stream.word_len = 0;
        Ok(())
    }

    /// Programs whole words at `slot_pos`, erasing each sector just before its first
    /// write and recording progress when a payload sector is complete.
    fn program(&mut self, mut data: &[u8]) -> Result<(), Error> {
        let erase = A::ERASE_SIZE as u32;
        let slot = self.update_slot();
        while !data.is_empty() {
            let pos = self.stream.slot_pos;
            let sector = pos - pos % erase;
            let end = sector + erase;
            let n = data.len().min((end - pos) as usize);
            let (piece, rest) = data.split_at(n);
            if sector >= self.stream.erased_to {
                with_slot!(self, slot, |f| f.erase(sector, end))?;
                self.stream.erased_to = end;
            }
            with_slot!(self, slot, |f| f.write(pos, piece))?;
            self.stream.slot_pos = pos + n as u32;
            data = rest;
            if self.stream.slot_pos == end && end > IMAGE_OFFSET && self.stream.header_len > 0 {
                // A whole sector of payload is durable: a reboot resumes after it.
                let durable = self.stream.header_len as u32 + (end - IMAGE_OFFSET);
                let mut next = self.state;
                next.progress = durable;
                self.persist(next)?;
            }
        }
        Ok(())
    }

    /// Ends the download: re-reads the package from flash, checks the header and its
    /// authenticator again and the payload hash, and makes the image ready to arm.
    /// Returns the new version code. A failure is recorded as the outcome.
    pub fn finish(&mut self) -> Result<u32, Error> {
        if self.state.phase != Phase::Downloading || !self.stream.open {
            return Err(Error::BadState);
        }
        if self.stream.header_len == 0
            || self.stream.header_fill < self.stream.header_len
            || self.stream.received < self.stream.total
        {
            return self.fail(PackageError::Truncated);
        }
        let slot = self.update_slot();
        let mut info = ImageInfo::empty();
        match self.verify_slot_into(slot, &mut info) {
            Ok(()) => {}
            Err(Error::Package(e)) => return self.fail(e),
            Err(e) => return Err(e),
        }
        // The image in flash must also be the one that was announced and checked.
        if self.stream.header.get(..self.stream.header_len) != Some(info.header()) {
            return self.fail(PackageError::HashMismatch);
        }
        let max = self.max_payload();
        let checked = PackageHeader::parse(info.header())
            .and_then(|h| h.validate(&self.device, &self.verifier, max));
        if let Err(e) = checked {
            return self.fail(e);
        }
        let mut next = self.state;
        next.phase = Phase::Ready;
        next.progress = 0;
        next.target_version = info.version_code;
        self.persist(next)?;
        self.stream.open = false;
        info!("installer: image {} verified", info.version_code);
        Ok(info.version_code)
    }

    /// Abandons a download or a ready image, recording `reason` as the outcome (e.g. the
    /// FUMO layer's "user cancelled" when the user declines).
    pub fn abort(&mut self, reason: Failure) -> Result<(), Error> {
        if !matches!(self.state.phase, Phase::Downloading | Phase::Ready) {
            return Err(Error::BadState);
        }
        self.record_failure(reason)
    }

    fn fail<T>(&mut self, e: PackageError) -> Result<T, Error> {
        warn!("installer: package refused");
        self.record_failure(e.failure())?;
        Err(Error::Package(e))
    }

    fn record_failure(&mut self, reason: Failure) -> Result<(), Error> {
        // Kept as a restart would read it back, so the outcome is the same before and after.
        let reason = Failure::from_code(reason.code());
        self.stream.open = false;
        let mut next = self.state;
        next.phase = Phase::Idle;
        next.progress = 0;
        next.backup_valid = false;
        next.outcome = Some(Outcome::Failed { reason });
        self.persist(next)
    }

    // ---- arming and backup ----

    /// Copies the user-data `regions` (e.g. the tree store) to `backup` before the update
    /// is armed, so a rollback can restore them. The backup counts only once it is
    /// complete and recorded; an interrupted backup is simply taken again.
    pub fn backup<K: NorFlash, R: NorFlash>(
        &mut self,
        backup: &mut K,
        regions: &mut [R],
    ) -> Result<(), Error> {
        if self.state.phase != Phase::Ready {
            return Err(Error::BadState);
        }
        backup::save(backup, regions)?;
        let mut next = self.state;
        next.backup_valid = true;
        self.persist(next)
    }

    /// Arms the verified image for a trial boot: the next
    /// [`boot_decision`](Self::boot_decision) boots it.
    pub fn arm_trial(&mut self) -> Result<(), Error> {
        if self.state.phase != Phase::Ready {
            return Err(Error::BadState);
        }
        let mut next = self.state;
        next.phase = Phase::Trial;
        next.trials = 0;
        self.persist(next)?;
        info!("installer: trial armed");
        Ok(())
    }

    // ---- bootloader ----

    /// The bootloader's choice of slot. During a trial it counts the boot (persisted
    /// before returning, so a crash of the new image still counts) and, once the image
    /// has had [`Config::max_trial_boots`] boots without a confirm, rolls back.
    pub fn boot_decision(&mut self) -> Result<BootDecision, Error> {
        if self.state.phase != Phase::Trial {
            return Ok(BootDecision {
                slot: self.state.active,
                reason: BootReason::Normal,
            });
        }
        if self.state.trials < self.config.max_trial_boots {
            let mut next = self.state;
            next.trials += 1;
            self.persist(next)?;
            return Ok(BootDecision {
                slot: self.update_slot(),
                reason: BootReason::Trial {
                    attempt: next.trials,
                },
            });
        }
        warn!("installer: trial not confirmed, rolling back");
        self.revert()?;
        Ok(BootDecision {
            slot: self.state.active,
            reason: BootReason::RolledBack,
        })
    }

    // ---- after a trial boot ----

    /// Called by the new image once it works: makes it the active slot.
    pub fn confirm(&mut self) -> Result<(), Error> {
        if self.state.phase != Phase::Trial || self.state.trials == 0 {
            return Err(Error::BadState);
        }
        let version = self.state.target_version;
        let mut next = self.state;
        next.phase = Phase::Idle;
        next.active = self.update_slot();
        next.trials = 0;
        next.backup_valid = false;
        next.restore_pending = false;
        next.outcome = Some(Outcome::Updated { version });
        self.persist(next)?;
        if let Some(d) =
            DeviceIdentity::new(self.device.model(), self.device.hardware_id(), version)
        {
            self.device = d;
        }
        info!("installer: version {} confirmed", version);
        Ok(())
    }

    /// Gives up the armed or trial image: the old slot stays active and boots next.
    /// Returns it. If a backup was taken, [`restore`](Self::restore) is then pending.
    pub fn rollback(&mut self) -> Result<Slot, Error> {
        if self.state.phase != Phase::Trial {
            return Err(Error::BadState);
        }
        self.revert()?;
        Ok(self.state.active)
    }

    fn revert(&mut self) -> Result<(), Error> {
        let mut next = self.state;
        next.phase = Phase::Idle;
        next.trials = 0;
        next.restore_pending = self.state.backup_valid;
        next.outcome = Some(Outcome::RolledBack {
            version: self.state.target_version,
        });
        self.persist(next)
    }

    /// Whether user data must be restored (after a rollback) before it is used.
    pub fn restore_pending(&self) -> bool {
        self.state.restore_pending
    }

    /// Puts the backed-up user data back into `regions` after a rollback. Idempotent: an
    /// interrupted restore runs again from the start on the next call. A backup that fails
    /// its digest is not restored (the regions are left untouched) and is given up:
    /// [`Error::BackupCorrupt`] tells the caller to recover its data some other way.
    pub fn restore<K: NorFlash, R: NorFlash>(
        &mut self,
        backup: &mut K,
        regions: &mut [R],
    ) -> Result<(), Error> {
        if !self.state.restore_pending {
            return Err(Error::BadState);
        }
        let restored = backup::restore(backup, regions);
        if let Err(e @ Error::BackupCorrupt) = restored {
            // The backup can never be restored; keeping the restore pending would only
            // block every later update. The caller learns the data was not restored.
            let mut next = self.state;
            next.restore_pending = false;
            next.backup_valid = false;
            self.persist(next)?;
            return Err(e);
        }
        restored?;
        let mut next = self.state;
        next.restore_pending = false;
        next.backup_valid = false;
        self.persist(next)
    }

    /// Forgets the last outcome once it has been reported.
    pub fn acknowledge_outcome(&mut self) -> Result<(), Error> {
        if self.state.outcome.is_none() {
            return Ok(());
        }
        let mut next = self.state;
        next.outcome = None;
        self.persist(next)
    }

    // ---- images ----

    /// Reads and checks the image in `slot`: its header must parse and its payload must
    /// hash to the header's value. The authenticator is not checked here (the bootloader
    /// may not hold the key); [`finish`](Self::finish) checks it before an image is armed.
    pub fn verify_slot(&mut self, slot: Slot) -> Result<ImageInfo, Error> {
        let mut info = ImageInfo::empty();
        self.verify_slot_into(slot, &mut info)?;
        Ok(info)
    }

    /// [`Installer::verify_slot`] into `info`, which the caller holds. Out of line: its
    /// read buffer and hash state are off the stack before the header's authenticator is
    /// checked, and the header is read once, where it stays.
    #[inline(never)]
    fn verify_slot_into(&mut self, slot: Slot, info: &mut ImageInfo) -> Result<(), Error> {
        with_slot!(self, slot, |f| f.read(0, &mut info.header))?;
        let header = PackageHeader::parse(&info.header).map_err(Error::Package)?;
        let (len, code, payload_len, want) = (
            header.len(),
            header.to_code(),
            header.payload_len(),
            header.payload_sha256(),
        );
        let cap = match slot {
            Slot::A => self.a.capacity(),
            Slot::B => self.b.capacity(),
        };
        if u64::from(IMAGE_OFFSET) + u64::from(payload_len) > cap as u64 {
            return Err(Error::Package(PackageError::TooLarge));
        }
        let mut hasher = Sha256::new();
        let mut buf = [0u8; READ_CHUNK];
        let mut at = IMAGE_OFFSET;
        let mut left = payload_len as usize;
        while left > 0 {
            let n = left.min(READ_CHUNK);
            let chunk = buf.get_mut(..n).unwrap_or_default();
            with_slot!(self, slot, |f| f.read(at, chunk))?;
            hasher.update(&*chunk);
            left -= n;
            at += n as u32;
        }
        if hasher.finalize().as_slice() != want {
            return Err(Error::Package(PackageError::HashMismatch));
        }
        info.header_len = len;
        info.version_code = code;
        info.payload_len = payload_len;
        Ok(())
    }

    fn persist(&mut self, mut next: BootState) -> Result<(), Error> {
        next.seq = self.state.seq.wrapping_add(1);
        self.log.append(&next)?;
        self.state = next;
        Ok(())
    }
}

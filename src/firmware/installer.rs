//! The A/B installer: streams a package into the update slot, verifies it, arms a trial
//! boot, and confirms or rolls back.

use embedded_storage::nor_flash::NorFlash;
use sha2::{Digest, Sha256};

use super::backup;
use super::package::{
    DeviceIdentity, HmacSha256Verifier, ImageDigest, PackageError, PackageHeader, PackageVerifier,
    MAX_HEADER_LEN, PREFIX_LEN,
};
use super::record::{BootState, StateLog};
use super::writer::SlotWriter;
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
    /// Slot offset of the first payload byte: [`IMAGE_OFFSET`], or where a delta
    /// package's patch waits, past the end of the image it will give.
    payload_at: u32,
    /// Where the next package byte goes in the update slot.
    writer: SlotWriter,
    /// While an MCUboot image's unprotected TLV info header is still to come: the stream
    /// offset where it ends, up to which `total` counts; 0 otherwise.
    #[cfg(feature = "mcuboot")]
    info_end: u32,
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
            payload_at: IMAGE_OFFSET,
            writer: SlotWriter::new(0, 0),
            #[cfg(feature = "mcuboot")]
            info_end: 0,
        }
    }

    /// Whether the download is an MCUboot image: its first four bytes are the image magic.
    #[cfg(feature = "mcuboot")]
    fn is_image(&self) -> bool {
        self.header_fill >= 4 && image::is_image_prefix(self.header.get(..4).unwrap_or_default())
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

/// Runs `$body` with `$w` the download's writer, `$f` the update slot's flash and `$done`
/// the callback that records progress each time a sector of payload is complete, so that a
/// reboot resumes after it.
macro_rules! with_stream {
    ($self:ident, |$w:ident, $f:ident, $done:ident| $body:expr) => {{
        let slot = $self.update_slot();
        let Self {
            a,
            b,
            log,
            state,
            stream,
            ..
        } = $self;
        let (payload_at, header_len) = (stream.payload_at, stream.header_len as u32);
        let $done = &mut |end: u32| {
            if end > payload_at && header_len > 0 {
                let mut next = *state;
                next.progress = header_len + (end - payload_at);
                persist(log, state, next)?;
            }
            Ok(())
        };
        let $w = &mut stream.writer;
        match slot {
            Slot::A => {
                let $f = a;
                $body
            }
            Slot::B => {
                let $f = b;
                $body
            }
        }
    }};
}

#[cfg(feature = "mcuboot")]
mod image;

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

    /// Total package length, once its header has arrived; for an MCUboot image, once its
    /// unprotected TLV area's info header has (the length is header size, image size,
    /// protected TLV size and that area's length).
    pub fn package_len(&self) -> Option<u32> {
        #[cfg(feature = "mcuboot")]
        if self.stream.info_end != 0 {
            return None;
        }
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
        self.capacity(self.update_slot())
            .saturating_sub(IMAGE_OFFSET)
    }

    /// Bytes in `slot`.
    fn capacity(&self, slot: Slot) -> u32 {
        let cap = match slot {
            Slot::A => self.a.capacity(),
            Slot::B => self.b.capacity(),
        };
        u32::try_from(cap).unwrap_or(u32::MAX)
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
            Err(e) if e.refusal().is_some() => {
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
        #[cfg(feature = "mcuboot")]
        if image::is_image_prefix(buf.get(..4).unwrap_or_default()) {
            return self.reload_image(progress, &buf);
        }
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
        let payload_at = self.payload_at(&header).map_err(Error::Package)?;
        let slot_pos = payload_at
            .checked_add(payload_done)
            .ok_or(Error::Package(PackageError::TooLarge))?;
        if !resumes_at::<A>(progress, total, slot_pos) {
            return Err(Error::Package(PackageError::BadHeaderLength));
        }
        let s = &mut self.stream;
        s.header = buf;
        s.header_fill = hl;
        s.header_len = hl;
        s.total = total;
        s.received = progress;
        s.payload_at = payload_at;
        s.writer = SlotWriter::new(slot_pos, slot_pos);
        Ok(())
    }

    /// Where the payload of the package `header` goes in the update slot. A whole image
    /// goes where it runs. A patch goes after the image it will give, from the first
    /// sector boundary on, so that applying it never overwrites it and can start again
    /// after a power cut.
    fn payload_at(&self, header: &PackageHeader<'_>) -> Result<u32, PackageError> {
        let Some(delta) = header.delta() else {
            return Ok(IMAGE_OFFSET);
        };
        let erase = A::ERASE_SIZE as u64;
        let image_end = u64::from(IMAGE_OFFSET) + u64::from(delta.target.len);
        let at = image_end.div_ceil(erase) * erase;
        let cap = self.capacity(self.update_slot());
        if at + u64::from(header.payload_len()) > u64::from(cap) {
            return Err(PackageError::TooLarge);
        }
        u32::try_from(at).map_err(|_| PackageError::TooLarge)
    }

    /// Takes the next bytes of the package, of any length. The header is checked as soon
    /// as it is complete (device match, authenticator, version, size), and the package is
    /// refused before any of it reaches flash if it fails; payload bytes go to the update
    /// slot as they arrive.
    ///
    /// The first four bytes decide what the download is: `IOTF` an update package, the
    /// MCUboot image magic (feature `mcuboot`) an image as imgtool signs it, written to the
    /// slot as it is from offset 0 (see the [module docs](super)); anything else is refused
    /// as [`PackageError::BadMagic`].
    ///
    /// A refusal ([`Error::Package`], or `Error::Image` for an MCUboot image) ends the
    /// download and is recorded as the outcome; a flash error leaves it resumable.
    pub fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if self.state.phase != Phase::Downloading || !self.stream.open {
            return Err(Error::BadState);
        }
        match self.accept(chunk) {
            Err(e) if e.refusal().is_some() => self.refuse(e),
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
                match header_len(prefix)? {
                    Some(len) => s.header_len = len,
                    None => return Ok(()),
                }
                return self.accept(chunk);
            }
            if s.header_fill < s.header_len {
                return Ok(());
            }
            #[cfg(feature = "mcuboot")]
            if s.is_image() {
                self.image_header_complete()?;
            } else {
                self.header_complete()?;
            }
            #[cfg(not(feature = "mcuboot"))]
            self.header_complete()?;
        }
        while !chunk.is_empty() {
            #[cfg(feature = "mcuboot")]
            let (piece, rest) = self.split_at_tlv_info(chunk)?;
            #[cfg(not(feature = "mcuboot"))]
            let (piece, rest) = (chunk, &[][..]);
            let left = self.stream.total - self.stream.received;
            if piece.len() as u64 > u64::from(left) {
                return Err(self.too_long());
            }
            self.emit(piece)?;
            self.stream.received += piece.len() as u32;
            if self.stream.received == self.stream.total {
                self.pad_to_word()?;
            }
            chunk = rest;
        }
        Ok(())
    }

    /// The refusal of bytes past the announced end.
    fn too_long(&self) -> Error {
        #[cfg(feature = "mcuboot")]
        if self.stream.is_image() {
            return Error::Image(super::mcuboot::McubootError::TooLong);
        }
        Error::Package(PackageError::TooLong)
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
        let payload_at = self.payload_at(&header).map_err(Error::Package)?;
        if let Some(delta) = header.delta() {
            // Refused before a byte of the patch is taken: it could only give a wrong image.
            let running = self.update_slot().other();
            if self.image_digest(running, IMAGE_OFFSET, delta.base.len)? != Some(delta.base) {
                return Err(Error::Package(PackageError::WrongBase));
            }
        }
        info!("installer: package accepted, version {}", header.to_code());
        self.emit(header.as_bytes())?;
        self.pad_to_word()?;
        self.stream.writer.seek(payload_at)?;
        self.stream.payload_at = payload_at;
        Ok(())
    }

    /// Writes `data` at the stream position.
    fn emit(&mut self, data: &[u8]) -> Result<(), Error> {
        with_stream!(self, |w, f, done| w.emit(f, data, done))
    }

    fn pad_to_word(&mut self) -> Result<(), Error> {
        with_stream!(self, |w, f, done| w.pad(f, done))
    }

    /// Ends the download: re-reads the package from flash, checks the header and its
    /// authenticator again and the payload hash, and makes the image ready to arm.
    /// Returns the new version code. A failure is recorded as the outcome.
    pub fn finish(&mut self) -> Result<u32, Error> {
        if self.state.phase != Phase::Downloading || !self.stream.open {
            return Err(Error::BadState);
        }
        #[cfg(feature = "mcuboot")]
        if self.stream.is_image() {
            return self.finish_image();
        }
        if self.stream.header_len == 0
            || self.stream.header_fill < self.stream.header_len
            || self.stream.received < self.stream.total
        {
            return self.fail(PackageError::Truncated);
        }
        let slot = self.update_slot();
        #[cfg(feature = "delta")]
        match self.apply_delta() {
            Ok(()) => {}
            Err(Error::Package(e)) => return self.fail(e),
            Err(e) => return Err(e),
        }
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

    /// For a delta package, checks the patch waiting in the update slot against its hash
    /// and applies it from the running image, writing the header and the new image where
    /// a whole-image package would have put them. Starts from scratch each time: the
    /// running image and the patch are only read, so a power cut at any point is undone
    /// by calling [`finish`](Self::finish) again.
    #[cfg(feature = "delta")]
    #[inline(never)]
    fn apply_delta(&mut self) -> Result<(), Error> {
        let Some((delta, patch)) = self
            .staged_header()
            .and_then(|h| Some((h.delta()?, h.payload())))
        else {
            return Ok(());
        };
        if self.state.progress != self.stream.total {
            // The whole patch is in flash: after a power cut from here on, the installer
            // goes straight back to applying it, with nothing to download again.
            let mut next = self.state;
            next.progress = self.stream.total;
            self.persist(next)?;
        }
        let patch_at = self.stream.payload_at;
        let slot = self.update_slot();
        if self.image_digest(slot, patch_at, patch.len)? != Some(patch) {
            return Err(Error::Package(PackageError::HashMismatch));
        }
        info!("installer: applying delta patch");
        let header = self
            .stream
            .header
            .get(..self.stream.header_len)
            .unwrap_or_default();
        let job = delta_apply::Job {
            header,
            delta,
            patch_at,
            patch_len: patch.len,
        };
        match slot {
            Slot::A => job.run(&mut self.b, &mut self.a),
            Slot::B => job.run(&mut self.a, &mut self.b),
        }
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
        self.refuse(Error::Package(e))
    }

    /// Ends the download on the refusal `e`, recording its failure as the outcome.
    fn refuse<T>(&mut self, e: Error) -> Result<T, Error> {
        warn!("installer: package refused");
        if let Some(failure) = e.refusal() {
            self.record_failure(failure)?;
        }
        Err(e)
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
    /// An MCUboot image (feature `mcuboot`) is checked with `mcuboot::check_image`: its
    /// structure, and its header, image and protected TLVs against its SHA-256 TLV.
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
        #[cfg(feature = "mcuboot")]
        if image::is_image_prefix(info.header.get(..4).unwrap_or_default()) {
            return self.verify_image_slot(slot, info);
        }
        let header = PackageHeader::parse(&info.header).map_err(Error::Package)?;
        let (len, code, image) = (header.len(), header.to_code(), header.image());
        match self.image_digest(slot, IMAGE_OFFSET, image.len)? {
            None => return Err(Error::Package(PackageError::TooLarge)),
            Some(found) if found != image => {
                return Err(Error::Package(PackageError::HashMismatch))
            }
            Some(_) => {}
        }
        info.header_len = len;
        info.version_code = code;
        info.payload_len = image.len;
        Ok(())
    }

    /// The length and hash of `len` bytes of `slot` from offset `at`; `None` when they
    /// run past the slot's end.
    fn image_digest(
        &mut self,
        slot: Slot,
        at: u32,
        len: u32,
    ) -> Result<Option<ImageDigest>, Error> {
        if u64::from(at) + u64::from(len) > u64::from(self.capacity(slot)) {
            return Ok(None);
        }
        let mut hasher = Sha256::new();
        let mut buf = [0u8; READ_CHUNK];
        let mut at = at;
        let mut left = len as usize;
        while left > 0 {
            let n = left.min(READ_CHUNK);
            let chunk = buf.get_mut(..n).unwrap_or_default();
            with_slot!(self, slot, |f| f.read(at, chunk))?;
            hasher.update(&*chunk);
            left -= n;
            at += n as u32;
        }
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(&hasher.finalize());
        Ok(Some(ImageDigest { len, sha256 }))
    }

    fn persist(&mut self, next: BootState) -> Result<(), Error> {
        persist(&mut self.log, &mut self.state, next)
    }
}

/// The header length the first bytes of a download announce, once they do: an update
/// package's, or the fixed header of an MCUboot image (feature `mcuboot`).
fn header_len(prefix: &[u8]) -> Result<Option<usize>, Error> {
    #[cfg(feature = "mcuboot")]
    if image::is_image_prefix(prefix) {
        return Ok((prefix.len() >= 4).then_some(super::mcuboot::HEADER_LEN));
    }
    PackageHeader::header_len(prefix).map_err(Error::Package)
}

/// Whether a download found `progress` bytes in (of `total`, the next byte at `slot_pos`)
/// can go on: a resumed download starts at a sector boundary, a complete one writes no more.
fn resumes_at<F: NorFlash>(progress: u32, total: u32, slot_pos: u32) -> bool {
    let aligned = (slot_pos as usize).is_multiple_of(F::ERASE_SIZE);
    progress == total || (progress < total && aligned)
}

/// Appends `next` as the state after `state`, and makes it the state once it is durable.
fn persist<S: NorFlash>(
    log: &mut StateLog<S>,
    state: &mut BootState,
    mut next: BootState,
) -> Result<(), Error> {
    next.seq = state.seq.wrapping_add(1);
    log.append(&next)?;
    *state = next;
    Ok(())
}

/// Applying a delta patch from one slot into the other.
#[cfg(feature = "delta")]
mod delta_apply {
    use embedded_storage::nor_flash::NorFlash;

    use super::super::delta::{ApplyError, DeltaSink, DeltaSource, PatchError, Patcher};
    use super::super::package::{Delta, PackageError};
    use super::super::writer::SlotWriter;
    use super::super::{Error, IMAGE_OFFSET};

    /// Patch bytes read from flash per step.
    const PATCH_CHUNK: usize = 256;

    /// Working memory lent to the patcher, on the stack while a patch is applied: the
    /// largest heatshrink window a patch may use (2^10 bytes; detools' default is 2^8).
    /// A patch made with a larger one is refused as not supported.
    const WORKSPACE: usize = 1 << 10;

    /// What to apply: the package header to write back, the images it names and where
    /// the patch lies in the update slot.
    pub(super) struct Job<'h> {
        pub(super) header: &'h [u8],
        pub(super) delta: Delta,
        pub(super) patch_at: u32,
        pub(super) patch_len: u32,
    }

    /// The running image, at its offset in the active slot.
    struct Base<'f, F> {
        flash: &'f mut F,
        len: u32,
    }

    impl<F: NorFlash> DeltaSource for Base<'_, F> {
        type Error = Error;

        fn len(&self) -> u32 {
            self.len
        }

        fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), Error> {
            let end = u64::from(offset) + buf.len() as u64;
            if end > u64::from(self.len) {
                return Err(Error::Package(PackageError::BadPatch));
            }
            self.flash.read(IMAGE_OFFSET + offset, buf)?;
            Ok(())
        }
    }

    /// The new image, written in order into the update slot, never past its announced end.
    struct Target<'f, F> {
        flash: &'f mut F,
        writer: SlotWriter,
        end: u32,
    }

    impl<F: NorFlash> DeltaSink for Target<'_, F> {
        type Error = Error;

        fn write(&mut self, data: &[u8]) -> Result<(), Error> {
            if u64::from(self.writer.pos) + data.len() as u64 > u64::from(self.end) {
                return Err(Error::Package(PackageError::BadPatch));
            }
            self.writer.emit(self.flash, data, &mut |_| Ok(()))
        }
    }

    fn package_error(e: PatchError) -> PackageError {
        match e {
            PatchError::UnsupportedType(_)
            | PatchError::UnsupportedCompression(_)
            | PatchError::UnsupportedDataFormat
            | PatchError::UnsupportedHeatshrink { .. }
            | PatchError::WindowTooLarge { .. } => PackageError::PatchNotSupported,
            _ => PackageError::BadPatch,
        }
    }

    impl Job<'_> {
        /// Writes the header and the patched image into `to`, reading the base image from
        /// `from` and the patch from `to`.
        pub(super) fn run<S: NorFlash, D: NorFlash>(
            &self,
            from: &mut S,
            to: &mut D,
        ) -> Result<(), Error> {
            let bad = |e| Error::Package(e);
            let end = IMAGE_OFFSET
                .checked_add(self.delta.target.len)
                .filter(|&end| end <= self.patch_at)
                .ok_or(bad(PackageError::TooLarge))?;
            let mut target = Target {
                flash: to,
                writer: SlotWriter::new(0, 0),
                end,
            };
            target
                .writer
                .emit(target.flash, self.header, &mut |_| Ok(()))?;
            target.writer.pad(target.flash, &mut |_| Ok(()))?;
            target.writer.seek(IMAGE_OFFSET)?;
            let mut base = Base {
                flash: from,
                len: self.delta.base.len,
            };
            let mut workspace = [0u8; WORKSPACE];
            let mut patcher = Patcher::new(&mut workspace);
            let mut buf = [0u8; PATCH_CHUNK];
            let patch_end = self
                .patch_at
                .checked_add(self.patch_len)
                .ok_or(bad(PackageError::TooLarge))?;
            let mut at = self.patch_at;
            while at < patch_end {
                let n = ((patch_end - at) as usize).min(PATCH_CHUNK);
                let chunk = buf.get_mut(..n).unwrap_or_default();
                target.flash.read(at, chunk)?;
                patcher
                    .feed(chunk, &mut base, &mut target)
                    .map_err(|e| match e {
                        ApplyError::Patch(e) => bad(package_error(e)),
                        ApplyError::Source(e) | ApplyError::Sink(e) => e,
                    })?;
                at += n as u32;
            }
            let produced = patcher.finish().map_err(|e| bad(package_error(e)))?;
            if produced != self.delta.target.len {
                return Err(bad(PackageError::BadPatch));
            }
            target.writer.pad(target.flash, &mut |_| Ok(()))
        }
    }
}

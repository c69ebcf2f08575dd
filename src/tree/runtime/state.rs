//! The RAM half of the tree: the sorted entries, the id index and the arena in the
//! caller's storage, and the records that change them, which flash replays through
//! the same code.

use super::*;

pub(super) const PRESENT: u8 = 1;
pub(super) const HAS_VALUE: u8 = 2;
pub(super) const HAS_ACL: u8 = 4;
pub(super) const HAS_TITLE: u8 = 8;
/// The device's mark on the entry's current value ([`Tree::mark_value`]); any change of
/// the value clears it.
pub(super) const MARKED: u8 = 16;

/// A run-time entry. Its bytes (name, ACL, title, value) are contiguous in the arena.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Entry {
    pub(super) ctx: u16,
    pub(super) def: NodeId,
    pub(super) id: u16,
    pub(super) flags: u8,
    pub(super) name_len: u8,
    pub(super) title_len: u8,
    pub(super) acl_len: u16,
    pub(super) value_len: u32,
    pub(super) off: u32,
    pub(super) tstamp: u32,
    pub(super) verno: u16,
}

impl Entry {
    pub(super) fn blob_len(&self) -> usize {
        usize::from(self.name_len)
            + usize::from(self.acl_len)
            + usize::from(self.title_len)
            + self.value_len as usize
    }
}

/// An entry as a store record.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub(super) struct PutRecord<'a> {
    pub(super) ctx: u16,
    pub(super) def: u16,
    pub(super) id: u16,
    pub(super) flags: u8,
    pub(super) tstamp: u32,
    pub(super) verno: u16,
    pub(super) name: &'a [u8],
    pub(super) acl: &'a [u8],
    pub(super) title: &'a [u8],
    pub(super) value: &'a [u8],
}

/// The removal of an entry and everything under it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct RemoveRecord<'a> {
    pub(super) ctx: u16,
    pub(super) def: u16,
    pub(super) name: &'a [u8],
}

/// The RAM half of the tree: entries and arena, in the caller's storage.
pub(super) struct State<'s> {
    pub(super) schema: &'static Schema,
    pub(super) entries: &'s mut VecView<Entry>,
    /// `(instance id, index in entries)`, sorted by id: finds an instance's entry (and so
    /// a node's parent) in logarithmic time.
    pub(super) ids: &'s mut VecView<(u16, u16)>,
    pub(super) arena: &'s mut [u8],
    pub(super) used: usize,
    pub(super) next_id: u16,
    /// Replaying: the id index is rebuilt once at the end, not after every record.
    pub(super) bulk: bool,
}

impl<'s> State<'s> {
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.ids.clear();
        self.used = 0;
        self.next_id = 1;
    }

    pub(super) fn blob(&self, e: &Entry) -> &[u8] {
        let start = e.off as usize;
        self.arena.get(start..start + e.blob_len()).unwrap_or(&[])
    }

    pub(super) fn name(&self, e: &Entry) -> &[u8] {
        self.blob(e).get(..usize::from(e.name_len)).unwrap_or(&[])
    }

    pub(super) fn acl(&self, e: &Entry) -> &[u8] {
        let from = usize::from(e.name_len);
        self.blob(e)
            .get(from..from + usize::from(e.acl_len))
            .unwrap_or(&[])
    }

    pub(super) fn title(&self, e: &Entry) -> &[u8] {
        let from = usize::from(e.name_len) + usize::from(e.acl_len);
        self.blob(e)
            .get(from..from + usize::from(e.title_len))
            .unwrap_or(&[])
    }

    pub(super) fn value(&self, e: &Entry) -> &[u8] {
        let from = usize::from(e.name_len) + usize::from(e.acl_len) + usize::from(e.title_len);
        self.blob(e).get(from..).unwrap_or(&[])
    }

    pub(super) fn search(&self, ctx: u16, def: NodeId, name: &[u8]) -> Result<usize, usize> {
        // Names are compared only between entries of the same node and context.
        self.entries.binary_search_by(|e| {
            e.ctx
                .cmp(&ctx)
                .then(e.def.cmp(&def))
                .then_with(|| self.name(e).cmp(name))
        })
    }

    pub(super) fn get(&self, ctx: u16, def: NodeId, name: &[u8]) -> Option<&Entry> {
        self.search(ctx, def, name)
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    /// The instance of placeholder `def` under `ctx` whose name matches `segment`.
    pub(super) fn instance(
        &self,
        ctx: u16,
        def: NodeId,
        segment: Segment<'_>,
        case_sensitive: bool,
    ) -> Option<usize> {
        let start = self
            .entries
            .partition_point(|e| (e.ctx, e.def) < (ctx, def));
        let group = self.entries.get(start..).unwrap_or(&[]);
        let len = group.partition_point(|e| e.ctx == ctx && e.def == def);
        let group = group.get(..len).unwrap_or(&[]);
        let i = if case_sensitive {
            // Names are sorted within the group: compare with the segment's decoded bytes.
            group
                .binary_search_by(|e| segment.cmp_name(self.name(e)).reverse())
                .ok()?
        } else {
            group
                .iter()
                .position(|e| segment.is_ignore_case(self.name(e)))?
        };
        Some(start + i)
    }

    pub(super) fn instance_by_id(&self, id: u16) -> Option<&Entry> {
        let i = self.ids.binary_search_by_key(&id, |&(i, _)| i).ok()?;
        let (_, index) = self.ids.get(i)?;
        self.entries.get(usize::from(*index))
    }

    /// Rebuilds the id index after the entries changed.
    pub(super) fn reindex(&mut self) {
        if self.bulk {
            return;
        }
        self.ids.clear();
        for (index, e) in self.entries.iter().enumerate() {
            if e.id != 0 {
                // As many ids as entries fit: the push cannot fail.
                let _ = self.ids.push((e.id, index as u16));
            }
        }
        self.ids.sort_unstable_by_key(|&(id, _)| id);
    }

    /// Makes room for `bytes` more arena bytes and, if `new_entry`, one more entry
    /// (compacting the arena if needed); `false` when they do not fit.
    pub(super) fn make_room(&mut self, new_entry: bool, bytes: usize) -> bool {
        if new_entry && self.entries.is_full() {
            return false;
        }
        if self.used + bytes <= self.arena.len() {
            return true;
        }
        self.compact_arena();
        self.used + bytes <= self.arena.len()
    }

    /// Inserts or replaces an entry.
    pub(super) fn put(&mut self, rec: &PutRecord<'_>) -> Result<(), TreeError> {
        let exists = self.search(rec.ctx, rec.def, rec.name).is_ok();
        let bytes = rec.name.len() + rec.acl.len() + rec.title.len() + rec.value.len();
        if !self.make_room(!exists, bytes) {
            return Err(TreeError::Capacity);
        }
        let (Ok(name_len), Ok(acl_len), Ok(title_len), Ok(value_len)) = (
            u8::try_from(rec.name.len()),
            u16::try_from(rec.acl.len()),
            u8::try_from(rec.title.len()),
            u32::try_from(rec.value.len()),
        ) else {
            return Err(TreeError::Capacity);
        };
        let off = self.used;
        let mut at = off;
        for part in [rec.name, rec.acl, rec.title, rec.value] {
            let dst = self
                .arena
                .get_mut(at..at + part.len())
                .ok_or(TreeError::Capacity)?;
            dst.copy_from_slice(part);
            at += part.len();
        }
        self.used = at;
        let entry = Entry {
            ctx: rec.ctx,
            def: rec.def,
            id: rec.id,
            flags: rec.flags,
            name_len,
            title_len,
            acl_len,
            value_len,
            off: off as u32,
            tstamp: rec.tstamp,
            verno: rec.verno,
        };
        match self.search(rec.ctx, rec.def, rec.name) {
            Ok(i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    *slot = entry;
                }
            }
            Err(i) => self
                .entries
                .insert(i, entry)
                .map_err(|_| TreeError::Capacity)?,
        }
        if rec.id != 0 {
            self.next_id = self.next_id.max(rec.id.saturating_add(1));
        }
        if !exists {
            // Indices after the new entry have shifted.
            self.reindex();
        }
        Ok(())
    }

    /// Removes an entry, the entries of its static subtree in its context, and every
    /// instance (with its entries) that no longer has a parent.
    pub(super) fn remove(&mut self, ctx: u16, def: NodeId, name: &[u8]) {
        let end = self.schema.node(def).map_or(def, |d| d.subtree_end());
        if let Ok(i) = self.search(ctx, def, name) {
            self.entries.remove(i);
        }
        // Named descendants share the context.
        self.entries
            .retain(|e| !(e.ctx == ctx && e.def > def && e.def < end));
        // Then whatever lived in a removed instance, level by level.
        loop {
            let before = self.entries.len();
            let mut i = 0;
            while let Some(e) = self.entries.get(i).copied() {
                let orphan = e.ctx != 0 && !self.entries.iter().any(|x| x.id == e.ctx);
                if orphan {
                    self.entries.remove(i);
                } else {
                    i += 1;
                }
            }
            if self.entries.len() == before {
                break;
            }
        }
        self.reindex();
    }

    /// Renames an entry, keeping its id (so its children stay).
    pub(super) fn rename(&mut self, rec: &PutRecord<'_>, old: &[u8]) -> Result<(), TreeError> {
        if let Ok(i) = self.search(rec.ctx, rec.def, old) {
            self.entries.remove(i);
        }
        self.put(rec)
    }

    /// Moves every entry's bytes to the front of the arena.
    pub(super) fn compact_arena(&mut self) {
        let mut write = 0usize;
        let mut floor = 0u32;
        loop {
            let next = self
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.blob_len() > 0 && e.off >= floor)
                .min_by_key(|(_, e)| e.off);
            let Some((i, e)) = next else { break };
            let (from, len) = (e.off as usize, e.blob_len());
            floor = e.off.saturating_add(1);
            if from != write {
                self.arena.copy_within(from..from + len, write);
            }
            if let Some(slot) = self.entries.get_mut(i) {
                slot.off = write as u32;
            }
            write += len;
        }
        self.used = write;
    }

    pub(super) fn record(&self, e: &Entry) -> PutRecord<'_> {
        PutRecord {
            ctx: e.ctx,
            def: e.def,
            id: e.id,
            flags: e.flags,
            tstamp: e.tstamp,
            verno: e.verno,
            name: self.name(e),
            acl: self.acl(e),
            title: self.title(e),
            value: self.value(e),
        }
    }

    pub(super) fn apply(&mut self, rec: store::Record<'_>) -> Result<(), TreeError> {
        match rec.kind {
            store::KIND_PUT => {
                let put: PutRecord<'_> =
                    postcard::from_bytes(rec.payload).map_err(|_| TreeError::Capacity)?;
                self.put(&put)
            }
            store::KIND_RENAME => {
                let (put, rest): (PutRecord<'_>, _) =
                    postcard::take_from_bytes(rec.payload).map_err(|_| TreeError::Capacity)?;
                let old: &[u8] = postcard::from_bytes(rest).map_err(|_| TreeError::Capacity)?;
                self.rename(&put, old)
            }
            store::KIND_REMOVE => {
                let r: RemoveRecord<'_> =
                    postcard::from_bytes(rec.payload).map_err(|_| TreeError::Capacity)?;
                self.remove(r.ctx, r.def, r.name);
                Ok(())
            }
            // Unknown kinds come from a newer layout; skipping them keeps what is known.
            _ => Ok(()),
        }
    }
}

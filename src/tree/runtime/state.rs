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
/// The flags a record stores; the others are marks of a replay, kept in RAM only.
const STORED: u8 = PRESENT | HAS_VALUE | HAS_ACL | HAS_TITLE | MARKED;
/// Replay's look-ahead: a later record removes the entry.
const DOOMED: u8 = 64;
/// Replay's look-ahead: a later record decided the entry's fate (removed, or renamed).
const DECIDED: u8 = 128;

/// The payload format of the tree's log: records name nodes by their schema key.
pub(super) const FORMAT: u16 = 2;
/// The first format, whose records named nodes by their id in the schema that wrote
/// them: read (with the mounting schema's ids) and rewritten.
pub(super) const FORMAT_NODE_IDS: u16 = 1;

/// Sorts the id index by id (ids are unique). A heapsort: no recursion, no scratch and
/// `O(n log n)` even for the largest table, in a small fraction of the flash of core's
/// sort, whose extra speed this table, rebuilt once per change, does not need.
fn sort_by_id(ids: &mut [(u16, u16)]) {
    for root in (0..ids.len() / 2).rev() {
        sift_down(ids, root);
    }
    for end in (1..ids.len()).rev() {
        ids.swap(0, end);
        sift_down(ids.get_mut(..end).unwrap_or(&mut []), 0);
    }
}

/// Moves `heap[node]` down until it is no smaller than its children.
fn sift_down(heap: &mut [(u16, u16)], mut node: usize) {
    let id = |heap: &[(u16, u16)], i: usize| heap.get(i).map(|&(id, _)| id);
    loop {
        let left = 2 * node + 1;
        let right = left + 1;
        let child = if id(heap, right) > id(heap, left) {
            right
        } else {
            left
        };
        let Some(child_id) = id(heap, child) else {
            return;
        };
        if id(heap, node) >= Some(child_id) {
            return;
        }
        heap.swap(node, child);
        node = child;
    }
}

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

/// An entry as a store record. The node is named by its schema key, which does not move
/// when a later schema adds or drops other nodes; instance ids (`ctx`, `id`) are the
/// tree's own.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub(super) struct PutRecord<'a> {
    pub(super) ctx: u16,
    pub(super) node: u32,
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
    pub(super) node: u32,
    pub(super) name: &'a [u8],
}

/// [`PutRecord`] of the first format, naming the node by its id: what an earlier image
/// wrote, which tests write to check it is read.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct PutRecordV1<'a> {
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

/// [`RemoveRecord`] of the first format.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct RemoveRecordV1<'a> {
    pub(super) ctx: u16,
    pub(super) def: u16,
    pub(super) name: &'a [u8],
}

/// A record read back, its node found in the schema.
#[derive(Debug, Clone, Copy)]
pub(super) enum Op<'a> {
    /// Put an entry for node `def` (renaming `(ctx, def, old)` when `old` is given).
    Put {
        def: NodeId,
        rec: PutRecord<'a>,
        old: Option<&'a [u8]>,
    },
    /// Remove an entry of node `def` and everything under it.
    Remove {
        ctx: u16,
        def: NodeId,
        name: &'a [u8],
    },
    /// A record of a node the schema does not have, or of a kind this layout does not
    /// know: nothing to do.
    Skip,
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
        sort_by_id(self.ids);
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

    /// Inserts or replaces the entry of node `def`.
    pub(super) fn put(&mut self, def: NodeId, rec: &PutRecord<'_>) -> Result<(), TreeError> {
        let exists = self.search(rec.ctx, def, rec.name).is_ok();
        if !exists && self.entries.is_full() {
            return Err(TreeError::Capacity(Shortfall::Entries));
        }
        let bytes = rec.name.len() + rec.acl.len() + rec.title.len() + rec.value.len();
        if !self.make_room(!exists, bytes) {
            return Err(TreeError::Capacity(Shortfall::Arena));
        }
        let (Ok(name_len), Ok(acl_len), Ok(title_len), Ok(value_len)) = (
            u8::try_from(rec.name.len()),
            u16::try_from(rec.acl.len()),
            u8::try_from(rec.title.len()),
            u32::try_from(rec.value.len()),
        ) else {
            return Err(TreeError::Corrupt);
        };
        let off = self.used;
        let mut at = off;
        for part in [rec.name, rec.acl, rec.title, rec.value] {
            let dst = self
                .arena
                .get_mut(at..at + part.len())
                .ok_or(TreeError::Capacity(Shortfall::Arena))?;
            dst.copy_from_slice(part);
            at += part.len();
        }
        self.used = at;
        let entry = Entry {
            ctx: rec.ctx,
            def,
            id: rec.id,
            flags: rec.flags & STORED,
            name_len,
            title_len,
            acl_len,
            value_len,
            off: off as u32,
            tstamp: rec.tstamp,
            verno: rec.verno,
        };
        match self.search(rec.ctx, def, rec.name) {
            Ok(i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    *slot = entry;
                }
            }
            Err(i) => self
                .entries
                .insert(i, entry)
                .map_err(|_| TreeError::Capacity(Shortfall::Entries))?,
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
        self.sweep_orphans();
    }

    /// Removes every instance (with its entries) that no longer has a parent, level by
    /// level.
    pub(super) fn sweep_orphans(&mut self) {
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
    pub(super) fn rename(
        &mut self,
        def: NodeId,
        rec: &PutRecord<'_>,
        old: &[u8],
    ) -> Result<(), TreeError> {
        if let Ok(i) = self.search(rec.ctx, def, old) {
            self.entries.remove(i);
        }
        self.put(def, rec)
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

    /// The entry as the record that restores it.
    pub(super) fn record(&self, e: &Entry) -> PutRecord<'_> {
        PutRecord {
            ctx: e.ctx,
            node: self.schema.node(e.def).map_or(0, |n| n.key()),
            id: e.id,
            flags: e.flags & STORED,
            tstamp: e.tstamp,
            verno: e.verno,
            name: self.name(e),
            acl: self.acl(e),
            title: self.title(e),
            value: self.value(e),
        }
    }

    /// The node a record names: by key, or (`format` 1) by id.
    fn node_of(&self, format: u16, key_or_id: u32) -> Option<NodeId> {
        if format == FORMAT_NODE_IDS {
            let id = NodeId::try_from(key_or_id).ok()?;
            self.schema.node(id).map(|n| n.id())
        } else {
            self.schema.by_key(key_or_id)
        }
    }

    /// Reads a record of the log, written in `format`.
    pub(super) fn decode<'r>(
        &self,
        format: u16,
        rec: store::Record<'r>,
    ) -> Result<Op<'r>, TreeError> {
        let bad = |_| TreeError::Corrupt;
        // A record of the first format is one of this format but for its node, an id: a
        // u16 where the key is a u32, both varints. It is read as this format's and held
        // to the id's range, which reading it as a u16 enforced.
        let node = |node: u32| {
            if format == FORMAT_NODE_IDS && node > u32::from(u16::MAX) {
                return Err(TreeError::Corrupt);
            }
            Ok(self.node_of(format, node))
        };
        match rec.kind {
            store::KIND_PUT | store::KIND_RENAME => {
                let (put, rest): (PutRecord<'_>, _) =
                    postcard::take_from_bytes(rec.payload).map_err(bad)?;
                let old = if rec.kind == store::KIND_RENAME {
                    Some(postcard::from_bytes::<&[u8]>(rest).map_err(bad)?)
                } else {
                    None
                };
                Ok(match node(put.node)? {
                    Some(def) => Op::Put { def, rec: put, old },
                    None => Op::Skip,
                })
            }
            store::KIND_REMOVE => {
                let r: RemoveRecord<'_> = postcard::from_bytes(rec.payload).map_err(bad)?;
                Ok(match node(r.node)? {
                    Some(def) => Op::Remove {
                        ctx: r.ctx,
                        def,
                        name: r.name,
                    },
                    None => Op::Skip,
                })
            }
            // Unknown kinds come from a newer layout; skipping them keeps what is known.
            _ => Ok(Op::Skip),
        }
    }

    /// Applies a record read back from the log.
    pub(super) fn apply(&mut self, op: Op<'_>) -> Result<(), TreeError> {
        match op {
            Op::Put {
                def,
                rec,
                old: Some(old),
            } => self.rename(def, &rec, old),
            Op::Put {
                def,
                rec,
                old: None,
            } => self.put(def, &rec),
            Op::Remove { ctx, def, name } => {
                self.remove(ctx, def, name);
                Ok(())
            }
            Op::Skip => Ok(()),
        }
    }

    // --- Replay's look-ahead ----------------------------------------------------------

    /// Clears the look-ahead's marks.
    pub(super) fn clear_marks(&mut self) {
        for e in self.entries.iter_mut() {
            e.flags &= STORED;
        }
    }

    /// Reads a later record of the log: entries it removes, directly or through a removed
    /// parent, and that nothing before it renamed, are doomed.
    pub(super) fn look_ahead(&mut self, op: Op<'_>) {
        match op {
            Op::Remove { ctx, def, name } => {
                let end = self.schema.node(def).map_or(def, |n| n.subtree_end());
                for i in 0..self.entries.len() {
                    let Some(e) = self.entries.get(i).copied() else {
                        break;
                    };
                    if e.flags & DECIDED == 0 && self.removed_by(&e, ctx, def, end, name) {
                        if let Some(slot) = self.entries.get_mut(i) {
                            slot.flags |= DOOMED | DECIDED;
                        }
                    }
                }
            }
            Op::Put {
                def,
                rec,
                old: Some(old),
            } => {
                // A renamed entry lives on under its new name (its children with it).
                if let Ok(i) = self.search(rec.ctx, def, old) {
                    if let Some(slot) = self.entries.get_mut(i) {
                        slot.flags |= DECIDED;
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether removing `(ctx, def, name)` (whose static subtree ends at `end`) removes
    /// `e`: as the entry itself, a named descendant in its context, or through the removal
    /// of an instance it lives in. An entry whose instance is already gone is swept by any
    /// removal.
    fn removed_by(&self, e: &Entry, ctx: u16, def: NodeId, end: NodeId, name: &[u8]) -> bool {
        let hits = |x: &Entry| {
            x.ctx == ctx && ((x.def == def && self.name(x) == name) || (x.def > def && x.def < end))
        };
        if hits(e) {
            return true;
        }
        let mut inner = e.ctx;
        // Instances nest no deeper than the schema, and ids never cycle; the bound keeps a
        // damaged table from looping.
        for _ in 0..self.entries.len() {
            if inner == 0 {
                return false;
            }
            let Some(instance) = self.entries.iter().find(|x| x.id == inner) else {
                return true;
            };
            if hits(instance) {
                return true;
            }
            inner = instance.ctx;
        }
        false
    }

    /// What a stored state that did not fit lacked: entries when they are all in use,
    /// else arena bytes.
    pub(super) fn shortfall(&self) -> TreeError {
        TreeError::Capacity(if self.entries.is_full() {
            Shortfall::Entries
        } else {
            Shortfall::Arena
        })
    }

    /// Drops the doomed entries (their bytes go with the next arena compaction); how many.
    pub(super) fn evict_doomed(&mut self) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| e.flags & DOOMED == 0);
        self.clear_marks();
        self.reindex();
        before - self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::sort_by_id;
    use std::vec::Vec;

    fn check(mut ids: Vec<(u16, u16)>) {
        let mut want = ids.clone();
        want.sort_unstable_by_key(|&(id, _)| id);
        sort_by_id(&mut ids);
        assert_eq!(ids, want);
    }

    #[test]
    fn sorts_every_small_order_and_the_largest_table() {
        for n in 0..=7u16 {
            // Every rotation and its reverse, for each length.
            for r in 0..n.max(1) {
                let v: Vec<_> = (0..n).map(|i| ((i + r) % n, i)).collect();
                check(v.clone());
                check(v.into_iter().rev().collect());
            }
        }
        // Nearly sorted (the usual table), reversed, and scrambled, at the largest size;
        // ids are unique, as in the tree.
        let nearly: Vec<_> = (0..=u16::MAX)
            .map(|i| (if i % 64 < 2 { i ^ 1 } else { i }, i))
            .collect();
        check(nearly);
        check((0..=u16::MAX).rev().map(|i| (i, i)).collect());
        check(
            (0..=u16::MAX)
                .map(|i| (i.wrapping_mul(40_503), i))
                .collect(),
        );
    }
}

//! Changing: Add, Replace and Delete of nodes and values with their checks (access
//! types, ACLs, formats, identities, handlers), each change written to flash as one
//! record and applied to RAM from it.

use super::*;
use crate::limits::{ACL_LEN, TITLE_LEN};

impl<F: NorFlash, H: Handlers> Tree<'_, F, H> {
    /// Applies `change` to the entry `(ctx, def, name)` (creating it if `change.create` says
    /// so): the new entry is written to flash as a record, then the record is applied to RAM.
    pub(super) fn change(
        &mut self,
        ctx: u16,
        def: NodeId,
        name: &[u8],
        change: &Change<'_>,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let current = self.state.search(ctx, def, name).ok();
        if current.is_none() && change.create.is_none() {
            return Err(StatusCode::NotFound);
        }
        // Sizes first: nothing may move once the record borrows the arena.
        let cur = current
            .and_then(|i| self.state.entries.get(i))
            .copied()
            .unwrap_or_default();
        let size = |new: Option<&[u8]>, old: usize| new.map_or(old, <[u8]>::len);
        let name_len = size(change.rename, name.len());
        let acl_len = size(change.acl, usize::from(cur.acl_len));
        let title_len = size(change.title, usize::from(cur.title_len));
        let value_len = change
            .staged
            .unwrap_or(size(change.value, cur.value_len as usize));
        if name_len > 255 || acl_len > ACL_LEN || title_len > TITLE_LEN {
            return Err(StatusCode::RequestEntityTooLarge);
        }
        let payload = RECORD_FIXED + name_len + acl_len + title_len + value_len;
        if payload > Store::<F>::payload_room(self.scratch.len()) {
            return Err(StatusCode::RequestEntityTooLarge);
        }
        if !self.state.make_room(
            current.is_none(),
            name_len + acl_len + title_len + value_len,
        ) {
            return Err(StatusCode::DeviceFull);
        }
        self.make_store_room(payload)?;
        // Build the record from the current entry and the change, straight into the
        // record buffer.
        let start = Store::<F>::payload_start();
        let len = {
            let state = &self.state;
            let entry = state
                .search(ctx, def, name)
                .ok()
                .and_then(|i| state.entries.get(i));
            let mut rec = match entry {
                Some(e) => state.record(e),
                None => {
                    let id = change.create.unwrap_or(0);
                    PutRecord {
                        ctx,
                        node: state.schema.node(def).map_or(0, |n| n.key()),
                        id,
                        flags: 0,
                        tstamp: 0,
                        verno: 0,
                        name,
                        acl: &[],
                        title: &[],
                        value: &[],
                    }
                }
            };
            if change.value.is_some() || change.staged.is_some() {
                rec.flags &= !MARKED;
            }
            rec.flags |= change.flags;
            if let Some(n) = change.rename {
                rec.name = n;
            }
            if let Some(a) = change.acl {
                rec.acl = a;
                rec.flags |= HAS_ACL;
            }
            if let Some(t) = change.title {
                rec.title = t;
                rec.flags |= HAS_TITLE;
            }
            if let Some(v) = change.value {
                rec.value = v;
                rec.flags |= HAS_VALUE;
            }
            if let Some(len) = change.staged {
                rec.value = state.arena.get(state.used..state.used + len).unwrap_or(&[]);
                rec.flags |= HAS_VALUE;
            }
            if !change.quiet {
                touch(&mut rec, now);
            }
            let room = Store::<F>::payload_room(self.scratch.len());
            let dst = self
                .scratch
                .get_mut(start..start + room)
                .ok_or(StatusCode::RequestEntityTooLarge)?;
            postcard::to_slice(&rec, dst)
                .map_err(|_| StatusCode::RequestEntityTooLarge)?
                .len()
        };
        let kind = if change.rename.is_some() {
            store::KIND_RENAME
        } else {
            store::KIND_PUT
        };
        if kind == store::KIND_RENAME {
            // A rename record carries the old name after the entry: replay needs both.
            let tail = self
                .scratch
                .get_mut(start + len..)
                .ok_or(StatusCode::RequestEntityTooLarge)?;
            let extra = postcard::to_slice(&name, tail)
                .map_err(|_| StatusCode::RequestEntityTooLarge)?
                .len();
            return self.commit_record(kind, len + extra);
        }
        self.commit_record(kind, len)
    }

    /// Writes the record in the buffer to flash and applies it to RAM.
    pub(super) fn commit_record(&mut self, kind: u8, len: usize) -> Result<(), StatusCode> {
        self.store
            .append(self.scratch, kind, len)
            .map_err(store_status)?;
        let start = Store::<F>::payload_start();
        let payload = self.scratch.get(start..start + len).unwrap_or(&[]);
        let op = self
            .state
            .decode(state::FORMAT, store::Record { kind, payload })
            .map_err(|_| StatusCode::CommandFailed)?;
        self.state.apply(op).map_err(|_| StatusCode::DeviceFull)
    }

    /// Makes sure a record with a `payload`-byte payload fits in the store, compacting it
    /// when no transaction is open.
    pub(super) fn make_store_room(&mut self, payload: usize) -> Result<(), StatusCode> {
        // Keep room for the marker that ends an open transaction.
        let reserve = if self.txn.is_some() {
            Store::<F>::record_size(4)
        } else {
            0
        };
        let need = Store::<F>::record_size(payload) + reserve;
        if self.store.free() >= need {
            return Ok(());
        }
        if self.txn.is_some() {
            // The open transaction's records cannot move banks.
            return Err(StatusCode::DeviceFull);
        }
        self.compact_store().map_err(store_status)?;
        if self.store.free() >= need {
            Ok(())
        } else {
            Err(StatusCode::DeviceFull)
        }
    }

    pub(super) fn remove_entry(
        &mut self,
        ctx: u16,
        def: NodeId,
        name: &[u8],
    ) -> Result<(), StatusCode> {
        let start = Store::<F>::payload_start();
        self.make_store_room(RECORD_FIXED + name.len())?;
        let rec = RemoveRecord {
            ctx,
            node: self.schema.node(def).map_or(0, |n| n.key()),
            name,
        };
        let room = Store::<F>::payload_room(self.scratch.len());
        let dst = self
            .scratch
            .get_mut(start..start + room)
            .ok_or(StatusCode::DeviceFull)?;
        let len = postcard::to_slice(&rec, dst)
            .map_err(|_| StatusCode::DeviceFull)?
            .len();
        self.commit_record(store::KIND_REMOVE, len)
    }

    /// A `ServerID` is the identity ACLs and package 0 name a server by, and the one a
    /// session acts as: two accounts with one would let either act as the other. A value
    /// another account's `ServerID` holds is refused (403) for the leaf in account `ctx`.
    pub(super) fn check_identity(
        &self,
        def: NodeId,
        ctx: u16,
        value: &[u8],
    ) -> Result<(), StatusCode> {
        let (account, server_id) = self.identity;
        if def != server_id || def == NO_NODE {
            return Ok(());
        }
        let taken = self
            .state
            .entries
            .iter()
            .filter(|e| e.def == account && e.id != ctx)
            .filter_map(|e| self.state.get(e.id, server_id, &[]))
            .any(|s| s.flags & HAS_VALUE != 0 && self.state.value(s) == value);
        if taken {
            Err(StatusCode::Forbidden)
        } else {
            Ok(())
        }
    }

    /// Checks a value for a leaf: its format and the handler's check.
    pub(super) fn check_value(
        &mut self,
        who: Principal<'_>,
        h: NodeHandle,
        path: &str,
        value: &[u8],
    ) -> Result<(), StatusCode> {
        let def = self.node(h);
        if !value::is_valid_value(def.format(), value) {
            return Err(StatusCode::BadRequest);
        }
        self.check_identity(h.def, h.ctx, value)?;
        let node = NodeRef {
            def: h.def,
            path,
            server: who.server(),
        };
        if let Some(handler) = self.handler_for(h.def) {
            handler.allow_change(&node)?;
            if !handler.stores_values(&node) {
                handler.check(&node, value)?;
            }
        }
        Ok(())
    }

    /// Whether a node handler keeps the value of the node at `uri` (the tree then neither
    /// stores nor reads it itself).
    pub fn handler_keeps(&mut self, uri: &str) -> Result<bool, StatusCode> {
        let parsed = self.parse_uri(uri)?;
        let h = self.find(&parsed)?;
        Ok(self.handler_stores(h.def, parsed.path(), Principal::Device))
    }

    /// Whether a handler keeps the node's value.
    pub(super) fn handler_stores(&mut self, def: NodeId, path: &str, who: Principal<'_>) -> bool {
        let node = NodeRef {
            def,
            path,
            server: who.server(),
        };
        self.handler_for(def)
            .is_some_and(|handler| handler.stores_values(&node))
    }

    /// Puts the device's own mark on the current value of the leaf at `uri` (which the tree
    /// keeps): a bit no server sees, stored with the value and cleared when the value
    /// changes, whoever changes it. It records a fact about one value that must not
    /// outlive it; package 0 uses it to honour the resynchronisation nonce once per
    /// stored nonce.
    pub fn mark_value(&mut self, uri: &str) -> Result<(), StatusCode> {
        let parsed = self.parse_uri(uri)?;
        let h = self.find(&parsed)?;
        if self.node(h).is_interior()
            || self.handler_stores(h.def, parsed.path(), Principal::Device)
        {
            return Err(StatusCode::CommandNotAllowed);
        }
        let change = Change {
            create: Some(0),
            flags: MARKED,
            quiet: true,
            ..Change::default()
        };
        self.change_node(h, &change, None)
    }

    /// Whether the current value of the leaf at `uri` carries the device's mark
    /// ([`Tree::mark_value`]).
    pub fn value_marked(&self, uri: &str) -> bool {
        self.parse_uri(uri)
            .and_then(|u| self.find(&u))
            .is_ok_and(|h| self.entry(h).is_some_and(|e| e.flags & MARKED != 0))
    }

    /// `Replace`: sets a leaf's value (or a property, for `?prop=`).
    pub fn replace(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        value: &[u8],
        format: Option<Format>,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let parsed = self.parse_uri(uri)?;
        let h = self.find(&parsed)?;
        match parsed.query() {
            Some(Query::Prop(p)) => return self.replace_property(who, h, p, value, now),
            Some(Query::List(_)) => return Err(StatusCode::CommandNotAllowed),
            None => {}
        }
        self.authorize(who, AccessSet::REPLACE, h)?;
        let def = self.node(h);
        if def.is_interior() {
            return Err(StatusCode::CommandNotAllowed);
        }
        if let Some(f) = format {
            if f != def.format() {
                return Err(StatusCode::UnsupportedMediaType);
            }
        }
        self.set_value(who, h, parsed.path(), value, now)
    }

    /// Stores a leaf value (access checks done by the caller).
    pub(super) fn set_value(
        &mut self,
        who: Principal<'_>,
        h: NodeHandle,
        path: &str,
        value: &[u8],
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        if self.engine_value(h.def, &mut NumBuf::new()).is_some() {
            return Err(StatusCode::CommandNotAllowed);
        }
        self.check_value(who, h, path, value)?;
        if self.handler_stores(h.def, path, who) {
            let node = NodeRef {
                def: h.def,
                path,
                server: who.server(),
            };
            if let Some(handler) = self.handler_for(h.def) {
                handler.write(&node, value)?;
            }
            return Ok(());
        }
        if self
            .entry(h)
            .is_some_and(|e| e.flags & HAS_VALUE != 0 && self.state.value(e) == value)
        {
            // Nothing changes: neither flash nor VerNo.
            return Ok(());
        }
        let change = Change {
            create: Some(0),
            value: Some(value),
            ..Change::default()
        };
        self.change_node(h, &change, now)
    }

    /// [`change`](Self::change) for the entry of node `h`.
    pub(super) fn change_node(
        &mut self,
        h: NodeHandle,
        change: &Change<'_>,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let mut name: Vec<u8, 255> = Vec::new();
        let _ = name.extend_from_slice(self.entry_name(h));
        self.change(h.ctx, h.def, &name, change, now)
    }

    /// `Add`: creates a node (with its value, for a leaf), and any missing interior nodes
    /// on the way.
    pub fn add(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        value: Option<&[u8]>,
        format: Option<Format>,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        self.transaction(|t| t.add_inner(who, uri, value, format, now))
    }

    /// [`add`](Self::add), inside its transaction.
    pub(super) fn add_inner(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        value: Option<&[u8]>,
        format: Option<Format>,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let parsed = self.parse_uri(uri)?;
        if parsed.query().is_some() {
            // Properties cannot be added.
            return Err(StatusCode::CommandNotAllowed);
        }
        // Walk down: existing nodes are passed, missing ones created.
        let mut h = NodeHandle {
            def: 0,
            ctx: 0,
            inner: 0,
        };
        let mut segments = parsed.segments().peekable();
        let path = parsed.path();
        let mut consumed = 0usize;
        while let Some(segment) = segments.next() {
            consumed += segment.raw().len() + usize::from(consumed > 0);
            let last = segments.peek().is_none();
            let sub_path = path.get(..consumed).unwrap_or(path);
            match self.child(h, segment) {
                Some(existing) if !last => h = existing,
                Some(existing) => {
                    // A mandatory node exists as soon as its parent does; adding it is how
                    // a server gives it its value, once.
                    if !self.addable(existing) {
                        return Err(StatusCode::AlreadyExists);
                    }
                    self.create(who, h, segment, sub_path, value, format, now)?;
                }
                None => {
                    let (v, f) = if last { (value, format) } else { (None, None) };
                    h = self.create(who, h, segment, sub_path, v, f, now)?;
                }
            }
        }
        Ok(())
    }

    /// Whether an existing node may still be added: a named node of a dynamic object that
    /// exists only because it is mandatory, not because anyone added it.
    pub(super) fn addable(&self, h: NodeHandle) -> bool {
        let def = self.node(h);
        !def.is_placeholder()
            && def.scope() == Scope::Dynamic
            && self.entry(h).is_none_or(|e| e.flags & PRESENT == 0)
    }

    /// Creates the child `segment` of `parent`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn create(
        &mut self,
        who: Principal<'_>,
        parent: NodeHandle,
        segment: Segment<'_>,
        path: &str,
        value: Option<&[u8]>,
        format: Option<Format>,
        now: Option<u64>,
    ) -> Result<NodeHandle, StatusCode> {
        let (def_id, def) = self
            .schema_child(parent.def, segment)
            .ok_or(StatusCode::CommandNotAllowed)?;
        if self.node(parent).is_leaf() {
            return Err(StatusCode::CommandNotAllowed);
        }
        // Access type of the new node, ACL of the parent.
        if let Principal::Server(server) = who {
            if !def.access().contains(AccessSet::ADD) {
                let code = StatusCode::CommandNotAllowed;
                return Err(lookup::refused(code, AccessSet::ADD, server, def));
            }
            if !self.permits(who, AccessSet::ADD, parent) {
                let code = StatusCode::PermissionDenied;
                return Err(lookup::refused(code, AccessSet::ADD, server, def));
            }
        }
        if let Some(f) = format {
            let same = f == def.format() || (def.is_interior() && f == Format::Node);
            if !same {
                return Err(StatusCode::UnsupportedMediaType);
            }
        }
        let value = if def.is_leaf() {
            value.unwrap_or(&[])
        } else {
            &[]
        };
        let mut name_buf = [0u8; 255];
        let name: &[u8] = if def.is_placeholder() {
            let n = segment
                .decode_into(&mut name_buf)
                .ok_or(StatusCode::UriTooLong)?
                .len();
            name_buf.get(..n).unwrap_or(&[])
        } else {
            &[]
        };
        if def.is_placeholder() {
            let count = self.children(parent).filter(|c| c.def == def_id).count();
            if def
                .occurrence()
                .max()
                .is_some_and(|max| count >= usize::from(max))
            {
                return Err(StatusCode::DeviceFull);
            }
        }
        // The new node, as the handler will see it.
        let node = NodeRef {
            def: def_id,
            path,
            server: who.server(),
        };
        if let Some(handler) = self.handler_for(def_id) {
            handler.allow_change(&node)?;
            if def.is_leaf() && !handler.stores_values(&node) {
                handler.check(&node, value)?;
            }
        }
        if def.is_leaf() && !value::is_valid_value(def.format(), value) {
            return Err(StatusCode::BadRequest);
        }
        if def.is_leaf() {
            self.check_identity(def_id, parent.inner, value)?;
        }
        // A server that may not replace the parent's ACL gets Add, Delete and Replace on an
        // interior node it adds (TND §7.7.1.3; Get is not among them), so that it can
        // manage what it created: with Replace it may give itself more.
        let mut acl_buf: heapless::String<ACL_LEN> = heapless::String::new();
        let mut flags = PRESENT;
        if let Principal::Server(server) = who {
            if def.is_interior() && !self.permits(who, AccessSet::REPLACE, parent) {
                let rights = AccessSet::ADD
                    .union(AccessSet::DELETE)
                    .union(AccessSet::REPLACE);
                acl::write_grant(&mut acl_buf, rights, server)
                    .map_err(|_| StatusCode::DeviceFull)?;
                flags |= HAS_ACL;
            }
        }
        let id = if def.is_placeholder() {
            let id = self.state.next_id;
            if id == u16::MAX {
                return Err(StatusCode::DeviceFull);
            }
            id
        } else {
            0
        };
        let stores = def.is_leaf() && self.handler_stores(def_id, path, who);
        let change = Change {
            create: Some(id),
            flags,
            acl: (flags & HAS_ACL != 0).then_some(acl_buf.as_bytes()),
            value: (def.is_leaf() && !stores).then_some(value),
            ..Change::default()
        };
        self.change(parent.inner, def_id, name, &change, now)?;
        if stores {
            if let Some(handler) = self.handler_for(def_id) {
                if let Err(status) = handler.write(&node, value) {
                    let _ = self.remove_entry(parent.inner, def_id, name);
                    return Err(status);
                }
            }
        }
        if let Some(handler) = self.handler_for(def_id) {
            handler.added(&node);
        }
        let h = NodeHandle {
            def: def_id,
            ctx: parent.inner,
            inner: if def.is_placeholder() {
                id
            } else {
                parent.inner
            },
        };
        self.touch_node(self.parent(h), now);
        Ok(h)
    }

    /// The static child of `parent` a new node named `segment` would be.
    pub(super) fn schema_child(
        &self,
        parent: NodeId,
        segment: Segment<'_>,
    ) -> Option<(NodeId, Node<'static>)> {
        let mut placeholder = None;
        for id in self.schema.children(parent) {
            let def = self.schema.node(id)?;
            if def.is_placeholder() {
                placeholder = Some((id, def));
            } else if (def.case_sensitive() && segment.is(def.name().as_bytes()))
                || (!def.case_sensitive() && segment.is_ignore_case(def.name().as_bytes()))
            {
                return Some((id, def));
            }
        }
        placeholder
    }

    /// Updates TStamp and VerNo of an interior node whose children changed.
    pub(super) fn touch_node(&mut self, h: NodeHandle, now: Option<u64>) {
        if h.def == 0 {
            return;
        }
        // The entry of a permanent or mandatory node may not exist yet; it then holds only
        // the timestamps. A failure here loses a timestamp, never a value.
        let change = Change {
            create: Some(0),
            ..Change::default()
        };
        let _ = self.change_node(h, &change, now);
    }

    /// `Delete`: removes a node and its subtree.
    pub fn delete(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        self.transaction(|t| t.delete_inner(who, uri, now))
    }

    /// [`delete`](Self::delete), inside its transaction.
    pub(super) fn delete_inner(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let parsed = self.parse_uri(uri)?;
        if parsed.query().is_some() {
            return Err(StatusCode::CommandNotAllowed);
        }
        let h = self.find(&parsed)?;
        self.authorize(who, AccessSet::DELETE, h)?;
        let def = self.node(h);
        if h.def == 0
            || def.scope() == Scope::Permanent
            || (!def.is_placeholder() && def.occurrence().min() >= 1)
        {
            return Err(StatusCode::CommandNotAllowed);
        }
        let node = NodeRef {
            def: h.def,
            path: parsed.path(),
            server: who.server(),
        };
        if let Some(handler) = self.handler_for(h.def) {
            handler.allow_change(&node)?;
        }
        let name: Vec<u8, 255> = Vec::from_slice(self.entry_name(h)).unwrap_or_default();
        let parent = self.parent(h);
        self.remove_entry(h.ctx, h.def, &name)?;
        if let Some(handler) = self.handler_for(h.def) {
            handler.deleted(&node);
        }
        self.touch_node(parent, now);
        Ok(())
    }
}

/// A change to one entry: each `Some` field replaces the entry's.
#[derive(Default)]
pub(super) struct Change<'c> {
    /// Create the entry when missing, with this instance id.
    pub(super) create: Option<u16>,
    /// Flags to set.
    pub(super) flags: u8,
    /// A new name (renaming an instance).
    pub(super) rename: Option<&'c [u8]>,
    pub(super) acl: Option<&'c [u8]>,
    pub(super) title: Option<&'c [u8]>,
    pub(super) value: Option<&'c [u8]>,
    /// The new value is this many bytes staged at the free end of the arena.
    pub(super) staged: Option<usize>,
    /// Leave TStamp and VerNo: nothing a server sees changes.
    pub(super) quiet: bool,
}

/// Bytes of a put record besides its name, ACL, title and value (postcard varints at
/// their widest).
pub(super) const RECORD_FIXED: usize = 3 + 5 + 3 + 1 + 5 + 3 + 4 * 5;

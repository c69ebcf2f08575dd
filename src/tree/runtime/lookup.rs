//! Finding nodes: a URI resolved against the schema and the run-time entries, the ACL
//! that applies on the way, and the handler a node belongs to.

use super::*;
use crate::limits::TREE_DEPTH;

impl<F: NorFlash, H: Handlers> Tree<'_, F, H> {
    /// Parses a URI with the tree's limits.
    pub fn parse_uri<'u>(&self, uri: &'u str) -> Result<Uri<'u>, StatusCode> {
        Uri::parse(uri, &self.limits).map_err(UriError::status)
    }

    /// Finds the node at `uri` (status 404 when it does not exist). No access check.
    pub fn find(&self, uri: &Uri<'_>) -> Result<NodeHandle, StatusCode> {
        Ok(self.find_path(uri)?.leaf())
    }

    /// Finds the node at `uri` with every node on the way there and what is known of their
    /// entries, so that access checks and reads need not look them up again.
    pub(super) fn find_path(&self, uri: &Uri<'_>) -> Result<Found, StatusCode> {
        let mut found = Found { steps: Vec::new() };
        let root = NodeHandle {
            def: 0,
            ctx: 0,
            inner: 0,
        };
        found
            .steps
            .push((root, Lookup::Unknown))
            .map_err(|_| StatusCode::UriTooLong)?;
        let mut h = root;
        for segment in uri.segments() {
            let (child, lookup) = self.child_step(h, segment).ok_or(StatusCode::NotFound)?;
            found
                .steps
                .push((child, lookup))
                .map_err(|_| StatusCode::UriTooLong)?;
            h = child;
        }
        Ok(found)
    }

    /// The existing child of `parent` named by `segment`.
    /// The format the DDF gives the node at `uri`, whether or not it exists (a placeholder
    /// matches any name): how a value sent to it must be read before it is stored.
    pub fn format_at(&self, uri: &str) -> Option<Format> {
        let parsed = self.parse_uri(uri).ok()?;
        let mut id = 0;
        let mut buf = [0u8; 64];
        for segment in parsed.segments() {
            let name = segment.decode_into(&mut buf)?;
            id = self
                .schema
                .child(id, name)
                .or_else(|| self.schema.placeholder_child(id))?;
        }
        self.schema.node(id).map(|n| n.format())
    }

    pub(super) fn child(&self, parent: NodeHandle, segment: Segment<'_>) -> Option<NodeHandle> {
        self.child_step(parent, segment).map(|(h, _)| h)
    }

    /// [`child`](Self::child), with what the lookup learnt of the child's entry.
    pub(super) fn child_step(
        &self,
        parent: NodeHandle,
        segment: Segment<'_>,
    ) -> Option<(NodeHandle, Lookup)> {
        let mut placeholder = None;
        for id in self.schema.children(parent.def) {
            let def = self.schema.node(id)?;
            let name = def.name_bytes();
            if name.is_empty() {
                placeholder = Some((id, def));
                continue;
            }
            let matches = if def.case_sensitive() {
                segment.is(name)
            } else {
                segment.is_ignore_case(name)
            };
            if matches {
                let h = NodeHandle {
                    def: id,
                    ctx: parent.inner,
                    inner: parent.inner,
                };
                if self.implied(id, def) {
                    return Some((h, Lookup::Unknown));
                }
                // Otherwise it exists only with an entry saying it was added, or holding
                // its value.
                let i = self.state.search(h.ctx, h.def, &[]).ok()?;
                let present = self
                    .state
                    .entries
                    .get(i)
                    .is_some_and(|e| e.flags & (PRESENT | HAS_VALUE) != 0);
                return present.then_some((h, Lookup::At(i)));
            }
        }
        let (id, def) = placeholder?;
        let i = self
            .state
            .instance(parent.inner, id, segment, def.case_sensitive())?;
        let e = self.state.entries.get(i)?;
        Some((
            NodeHandle {
                def: id,
                ctx: parent.inner,
                inner: e.id,
            },
            Lookup::At(i),
        ))
    }

    /// The entry of a step of a found path.
    pub(super) fn step_entry(&self, (h, lookup): (NodeHandle, Lookup)) -> Option<&Entry> {
        match lookup {
            Lookup::At(i) => self.state.entries.get(i),
            Lookup::Absent => None,
            Lookup::Unknown => self.entry(h),
        }
    }

    /// Looks up the entries of a found path's steps that were not, so that what follows
    /// (the ACL walk, then the read) finds them at once.
    pub(super) fn resolve_step(&self, step: &mut (NodeHandle, Lookup)) {
        if let Lookup::Unknown = step.1 {
            step.1 = match self.state.search(step.0.ctx, step.0.def, &[]) {
                Ok(i) if !self.node(step.0).is_placeholder() => Lookup::At(i),
                _ if self.node(step.0).is_placeholder() => Lookup::Unknown,
                _ => Lookup::Absent,
            };
        }
    }

    /// The effective ACL of the node a path leads to.
    pub(super) fn path_acl(&self, found: &mut Found) -> Acl<'_> {
        for i in (0..found.steps.len()).rev() {
            let Some(step) = found.steps.get_mut(i) else {
                break;
            };
            self.resolve_step(step);
            let (h, lookup) = *step;
            let own = match self.step_entry((h, lookup)) {
                Some(e) if e.flags & HAS_ACL != 0 => {
                    // Checked when it was stored.
                    core::str::from_utf8(self.state.acl(e))
                        .ok()
                        .map(Acl::trusted)
                }
                // Checked by the DDF compiler.
                _ => self.node(h).acl().map(Acl::trusted),
            };
            if let Some(acl) = own.filter(|a| !a.is_empty()) {
                return acl;
            }
        }
        Acl::trusted(ROOT_ACL)
    }

    /// [`authorize`](Self::authorize) for the node a path leads to.
    pub(super) fn authorize_path(
        &self,
        who: Principal<'_>,
        command: AccessSet,
        found: &mut Found,
    ) -> Result<(), StatusCode> {
        let Principal::Server(server) = who else {
            return Ok(());
        };
        let node = self.node(found.leaf());
        if !node.access().contains(command) {
            return Err(refused(
                StatusCode::CommandNotAllowed,
                command,
                server,
                node,
            ));
        }
        if !self.path_acl(found).allows(command, server) {
            return Err(refused(StatusCode::PermissionDenied, command, server, node));
        }
        Ok(())
    }

    /// Whether a named node exists under an existing parent.
    pub(super) fn exists(&self, h: NodeHandle) -> bool {
        self.implied(h.def, self.node(h))
            || self
                .state
                .get(h.ctx, h.def, &[])
                .is_some_and(|e| e.flags & (PRESENT | HAS_VALUE) != 0)
    }

    /// Whether a named node exists as soon as its parent does: a permanent node; a
    /// mandatory interior node (a place for children); a mandatory leaf whose value is
    /// never missing (a DDF default, a handler's). A mandatory leaf without one exists
    /// once it is added or given its value, so that a value is absent or whole, never an
    /// empty stand-in (an interior node added, the power cut before its leaf).
    pub(super) fn implied(&self, id: NodeId, def: Node<'static>) -> bool {
        if def.scope() == Scope::Permanent {
            return true;
        }
        if def.occurrence().min() == 0 {
            return false;
        }
        if def.is_interior() || def.default_value().is_some() {
            return true;
        }
        let mut d = id;
        while let Some(node) = self.schema.node(d) {
            if self.handlers.is_bound(d) {
                return true;
            }
            d = node.parent();
        }
        false
    }

    pub(super) fn entry(&self, h: NodeHandle) -> Option<&Entry> {
        if self.node(h).is_placeholder() {
            self.state.instance_by_id(h.inner)
        } else {
            self.state.get(h.ctx, h.def, &[])
        }
    }

    pub(super) fn entry_name(&self, h: NodeHandle) -> &[u8] {
        match self.entry(h) {
            Some(e) if self.node(h).is_placeholder() => self.state.name(e),
            _ => &[],
        }
    }

    /// The parent of a node (the root is its own parent).
    pub(super) fn parent(&self, h: NodeHandle) -> NodeHandle {
        let def = self.node(h);
        if def.parent() == NO_NODE {
            return h;
        }
        let parent_def = def.parent();
        let parent_is_instance = self
            .schema
            .node(parent_def)
            .is_some_and(|n| n.is_placeholder());
        if parent_is_instance {
            // The parent is the instance `h.ctx`; its own key context is its entry's.
            let ctx = self.state.instance_by_id(h.ctx).map_or(0, |e| e.ctx);
            NodeHandle {
                def: parent_def,
                ctx,
                inner: h.ctx,
            }
        } else {
            NodeHandle {
                def: parent_def,
                ctx: h.ctx,
                inner: h.ctx,
            }
        }
    }

    /// The effective ACL: the node's own, else the nearest ancestor's.
    pub(super) fn effective_acl(&self, mut h: NodeHandle) -> Acl<'_> {
        loop {
            if let Some(acl) = self.own_acl(h) {
                if !acl.is_empty() {
                    return acl;
                }
            }
            let parent = self.parent(h);
            if parent == h {
                return Acl::trusted(ROOT_ACL);
            }
            h = parent;
        }
    }

    /// The node's own ACL (run-time, else from the DDF); `None` when it has none.
    pub(super) fn own_acl(&self, h: NodeHandle) -> Option<Acl<'_>> {
        match self.entry(h) {
            Some(e) if e.flags & HAS_ACL != 0 => {
                let text = core::str::from_utf8(self.state.acl(e)).ok()?;
                // Checked when it was stored.
                Some(Acl::trusted(text))
            }
            // Checked by the DDF compiler.
            _ => self.node(h).acl().map(Acl::trusted),
        }
    }

    /// The ACL check: may `who` run `command` on `h`?
    pub(super) fn permits(&self, who: Principal<'_>, command: AccessSet, h: NodeHandle) -> bool {
        match who {
            Principal::Device => true,
            Principal::Server(id) => self.effective_acl(h).allows(command, id),
        }
    }

    /// Access type (405) and ACL (425) checks.
    pub(super) fn authorize(
        &self,
        who: Principal<'_>,
        command: AccessSet,
        h: NodeHandle,
    ) -> Result<(), StatusCode> {
        let Principal::Server(server) = who else {
            return Ok(());
        };
        let node = self.node(h);
        if !node.access().contains(command) {
            return Err(refused(
                StatusCode::CommandNotAllowed,
                command,
                server,
                node,
            ));
        }
        if !self.permits(who, command, h) {
            return Err(refused(StatusCode::PermissionDenied, command, server, node));
        }
        Ok(())
    }

    /// The handler nearest to `def` (itself or an ancestor).
    pub(super) fn handler_for(&mut self, def: NodeId) -> Option<&mut dyn NodeHandler> {
        nearest_handler(self.schema, &mut self.handlers, def)
    }
}

/// The handler nearest to `def` (itself or an ancestor).
pub(super) fn nearest_handler<'h, H: Handlers>(
    schema: &Schema,
    handlers: &'h mut H,
    def: NodeId,
) -> Option<&'h mut dyn NodeHandler> {
    let mut d = def;
    let mut found = NO_NODE;
    while d != NO_NODE {
        if handlers.handler(d).is_some() {
            found = d;
            break;
        }
        d = schema.node(d).map_or(NO_NODE, |n| n.parent());
    }
    if found == NO_NODE {
        None
    } else {
        handlers.handler(found)
    }
}

/// What a lookup on the way to a node learnt of the node's entry.
#[derive(Debug, Clone, Copy)]
pub(super) enum Lookup {
    /// Not looked up.
    Unknown,
    /// Looked up: the node has no entry.
    Absent,
    /// At this index (valid until the tree changes).
    At(usize),
}

/// A node found by URI, with the nodes on the way (the root first).
pub(super) struct Found {
    pub(super) steps: Vec<(NodeHandle, Lookup), { TREE_DEPTH + 1 }>,
}

impl Found {
    pub(super) fn leaf(&self) -> NodeHandle {
        self.steps.last().map_or(
            NodeHandle {
                def: 0,
                ctx: 0,
                inner: 0,
            },
            |&(h, _)| h,
        )
    }
}

/// A server's command refused by a node's access type (405) or by its ACL (425): logged
/// where the tree decides, with the node's name, so a refusal a server reports can be
/// traced to the rule that made it.
pub(super) fn refused(
    code: StatusCode,
    command: AccessSet,
    server: &str,
    node: Node<'_>,
) -> StatusCode {
    info!(
        "tree: {} on {} by {} refused, {}",
        command,
        node.name(),
        server,
        u16::from(code)
    );
    code
}

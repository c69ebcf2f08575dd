//! Reading: a leaf's value (the tree's, a handler's or the engine's own), an interior
//! node's child names, and a node's URI.

use super::*;

impl<F: NorFlash, H: Handlers> Tree<'_, F, H> {
    /// `Get`: reads the value at `uri` (a leaf's value from `offset`, an interior node's
    /// child names joined by `/`, or a property) into `out`. `path` is the normalised URI
    /// handed to handlers.
    pub fn get(
        &mut self,
        who: Principal<'_>,
        uri: &str,
        offset: usize,
        out: &mut [u8],
    ) -> Result<Read, StatusCode> {
        let parsed = self.parse_uri(uri)?;
        let mut found = self.find_path(&parsed)?;
        let h = found.leaf();
        match parsed.query() {
            Some(Query::Prop(p)) => self.get_property(who, h, p, out),
            Some(Query::List(_)) => Err(StatusCode::OptionalFeatureNotSupported),
            None => {
                self.authorize_path(who, AccessSet::GET, &mut found)?;
                let known = found.steps.last().map_or(Lookup::Unknown, |&(_, l)| l);
                self.read_known(who, h, known, parsed.path(), offset, out)
            }
        }
    }

    /// Reads a node's value (or child list) without an access check beyond the handler's.
    pub fn read(
        &mut self,
        who: Principal<'_>,
        h: NodeHandle,
        path: &str,
        offset: usize,
        out: &mut [u8],
    ) -> Result<Read, StatusCode> {
        self.read_known(who, h, Lookup::Unknown, path, offset, out)
    }

    /// [`read`](Self::read), with the node's entry when the caller has it already.
    pub(super) fn read_known(
        &mut self,
        who: Principal<'_>,
        h: NodeHandle,
        known: Lookup,
        path: &str,
        offset: usize,
        out: &mut [u8],
    ) -> Result<Read, StatusCode> {
        let def = self.node(h);
        if def.is_interior() {
            let total = self.write_child_names(h, 0, &mut []);
            let len = self.write_child_names(h, offset, out);
            return Ok(Read {
                len,
                total,
                format: Format::Node,
                mime: def.mime(),
            });
        }
        // What the engine itself does is its own to say, whatever handler a subtree has.
        let mut num = NumBuf::new();
        let engine = self.engine_value(h.def, &mut num);
        let node = NodeRef {
            def: h.def,
            path,
            server: who.server(),
        };
        if let (None, Some(handler)) = (engine, self.handler_for(h.def)) {
            handler.allow_read(&node)?;
            if handler.stores_values(&node) {
                let (len, total) = handler.read(&node, offset, out)?;
                return Ok(Read {
                    len,
                    total,
                    format: def.format(),
                    mime: def.mime(),
                });
            }
        }
        let value = match engine {
            Some(v) => v,
            None => match self.step_entry((h, known)) {
                Some(e) if e.flags & HAS_VALUE != 0 => self.state.value(e),
                _ => def.default_value().unwrap_or("").as_bytes(),
            },
        };
        let from = value.get(offset..).unwrap_or(&[]);
        let len = from.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..len), from.get(..len)) {
            dst.copy_from_slice(src);
        }
        Ok(Read {
            len,
            total: value.len(),
            format: def.format(),
            mime: def.mime(),
        })
    }

    /// The value of a node that tells what the engine itself does, never stored:
    /// `./DevDetail/URI/*` (the limits the tree enforces) and `./DevDetail/LrgObj` (whether
    /// the session receives and sends large objects: the feature `large-objects`).
    pub(super) fn engine_value<'n>(&self, def: NodeId, num: &'n mut NumBuf) -> Option<&'n [u8]> {
        let [depth, tot_len, seg_len, lrg_obj] = self.engine_nodes;
        let limit = match def {
            NO_NODE => return None,
            d if d == depth => self.limits.max_depth,
            d if d == tot_len => self.limits.max_tot_len,
            d if d == seg_len => self.limits.max_seg_len,
            // OMA-TS-DM_Protocol 1.2 §7: only a client that handles large objects says true.
            d if d == lrg_obj && cfg!(feature = "large-objects") => return Some(b"true"),
            d if d == lrg_obj => return Some(b"false"),
            _ => return None,
        };
        Some(num.write(u64::from(limit)))
    }

    /// The existing children of an interior node, in tree order.
    pub(crate) fn children(&self, parent: NodeHandle) -> impl Iterator<Item = NodeHandle> + '_ {
        self.schema.children(parent.def).flat_map(move |id| {
            let def = self.schema.node(id);
            let instances = def
                .filter(|d| d.is_placeholder())
                .map(|_| {
                    let start = self
                        .state
                        .entries
                        .partition_point(|e| (e.ctx, e.def) < (parent.inner, id));
                    self.state
                        .entries
                        .get(start..)
                        .unwrap_or(&[])
                        .iter()
                        .take_while(move |e| e.ctx == parent.inner && e.def == id)
                        .map(move |e| NodeHandle {
                            def: id,
                            ctx: parent.inner,
                            inner: e.id,
                        })
                })
                .into_iter()
                .flatten();
            let named = def
                .filter(|d| !d.is_placeholder())
                .map(|_| NodeHandle {
                    def: id,
                    ctx: parent.inner,
                    inner: parent.inner,
                })
                .filter(|h| self.exists(*h));
            named.into_iter().chain(instances)
        })
    }

    /// A node's name (the instance name for an instance).
    pub fn name(&self, h: NodeHandle) -> &[u8] {
        if self.node(h).is_placeholder() {
            self.entry_name(h)
        } else {
            self.node(h).name().as_bytes()
        }
    }

    /// Writes the `/`-joined child names of `h` from byte `offset`; returns the bytes
    /// written, or with an empty `out` the whole length.
    pub(super) fn write_child_names(&self, h: NodeHandle, offset: usize, out: &mut [u8]) -> usize {
        let mut pos = 0usize;
        let mut written = 0usize;
        let mut first = true;
        let mut put = |bytes: &[u8], pos: &mut usize, written: &mut usize| {
            for &b in bytes {
                if *pos >= offset {
                    if let Some(slot) = out.get_mut(*written) {
                        *slot = b;
                        *written += 1;
                    }
                }
                *pos += 1;
            }
        };
        for child in self.children(h) {
            if !first {
                put(b"/", &mut pos, &mut written);
            }
            first = false;
            put(self.name(child), &mut pos, &mut written);
        }
        if out.is_empty() {
            pos
        } else {
            written
        }
    }

    /// Writes the URI of `h` (`./DMAcc/srv1/AppID`), escaping names.
    pub fn write_uri(&self, h: NodeHandle, out: &mut impl core::fmt::Write) -> core::fmt::Result {
        let mut chain: Vec<NodeHandle, 32> = Vec::new();
        let mut cur = h;
        loop {
            let parent = self.parent(cur);
            if parent == cur {
                break;
            }
            if chain.push(cur).is_err() {
                return Err(core::fmt::Error);
            }
            cur = parent;
        }
        out.write_char('.')?;
        for node in chain.iter().rev() {
            out.write_char('/')?;
            let name = core::str::from_utf8(self.name(*node)).map_err(|_| core::fmt::Error)?;
            crate::tree::uri::write_segment(out, name)?;
        }
        Ok(())
    }
}

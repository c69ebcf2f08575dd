//! Node properties (TND §7.5): `?prop=ACL|Format|Type|Size|Name|Title|TStamp|VerNo`.
//!
//! Every node has them; `Size` is for leaves only. `ACL`, `Name` (of nodes created at run
//! time) and `Title` may be replaced; the others are read-only (405), and asking for a
//! property the device does not support is 406.

use super::{Change, NodeHandle, NumBuf, Principal, Read, Tree, HAS_ACL, HAS_TITLE, ROOT_ACL};
use crate::codes::StatusCode;
use crate::limits::TITLE_LEN;
use crate::schema::{AccessSet, Format, Scope};
use crate::tree::acl::Acl;
use crate::tree::handler::Handlers;
use crate::tree::uri::Property;
use embedded_storage::nor_flash::NorFlash;

impl<F: NorFlash, H: Handlers> Tree<'_, F, H> {
    /// Reads a property into `out`.
    pub(crate) fn get_property(
        &mut self,
        who: Principal<'_>,
        h: NodeHandle,
        property: Property,
        out: &mut [u8],
    ) -> Result<Read, StatusCode> {
        // Properties are read with the node's Get right, whatever its access type says
        // (an ACL must be readable even on a node the server cannot read).
        if !self.permits(who, AccessSet::GET, h) {
            return Err(StatusCode::PermissionDenied);
        }
        let def = self.node(h);
        let mut num = NumBuf::new();
        let text: &[u8] = match property {
            Property::Acl => match self.entry(h) {
                Some(e) if e.flags & HAS_ACL != 0 => self.state.acl(e),
                _ if h.def == 0 => def.acl().unwrap_or(ROOT_ACL).as_bytes(),
                _ => def.acl().unwrap_or("").as_bytes(),
            },
            Property::Format => def.format().as_str().as_bytes(),
            Property::Type => def.mime().as_bytes(),
            Property::Size => {
                if def.is_interior() {
                    return Err(StatusCode::CommandNotAllowed);
                }
                let total = self.read(who, h, "", 0, &mut [])?.total;
                num.write(total as u64)
            }
            Property::Name => self.name(h),
            Property::Title => match self.entry(h) {
                Some(e) if e.flags & HAS_TITLE != 0 => self.state.title(e),
                _ => def.title().as_bytes(),
            },
            Property::TStamp => {
                let t = self.entry(h).map_or(0, |e| e.tstamp);
                if t == 0 {
                    &[]
                } else {
                    num.tstamp(u64::from(t))
                }
            }
            Property::VerNo => num.write(u64::from(self.entry(h).map_or(0, |e| e.verno))),
        };
        let len = text.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..len), text.get(..len)) {
            dst.copy_from_slice(src);
        }
        Ok(Read {
            len,
            total: text.len(),
            format: Format::Chr,
            mime: "text/plain",
        })
    }

    /// Replaces a property.
    pub(crate) fn replace_property(
        &mut self,
        who: Principal<'_>,
        h: NodeHandle,
        property: Property,
        value: &[u8],
        now: Option<u64>,
    ) -> Result<(), StatusCode> {
        let def = self.node(h);
        match property {
            Property::Acl => {
                // Who may change an ACL: Replace on the node for an interior node, Replace
                // on the parent for any node (TND §7.7.1); a leaf's own Replace right does
                // not extend to its ACL.
                let parent = self.parent(h);
                let allowed = (def.is_interior() && self.permits(who, AccessSet::REPLACE, h))
                    || (parent != h && self.permits(who, AccessSet::REPLACE, parent))
                    || who == Principal::Device;
                if !allowed {
                    return Err(StatusCode::PermissionDenied);
                }
                let text = core::str::from_utf8(value).map_err(|_| StatusCode::BadRequest)?;
                let acl = Acl::parse(text).map_err(|_| StatusCode::BadRequest)?;
                if h.def == 0 && (acl.is_empty() || !acl.allows(AccessSet::ADD, "*")) {
                    // The root keeps an ACL, and Add for every server.
                    return Err(StatusCode::CommandNotAllowed);
                }
                let change = Change {
                    create: Some(0),
                    acl: Some(value),
                    ..Change::default()
                };
                self.change_node(h, &change, now)
            }
            Property::Title => {
                if !self.permits(who, AccessSet::REPLACE, h) {
                    return Err(StatusCode::PermissionDenied);
                }
                if value.len() > TITLE_LEN || core::str::from_utf8(value).is_err() {
                    return Err(StatusCode::BadRequest);
                }
                let change = Change {
                    create: Some(0),
                    title: Some(value),
                    ..Change::default()
                };
                self.change_node(h, &change, now)
            }
            Property::Name => {
                if !def.is_placeholder() || def.scope() == Scope::Permanent {
                    return Err(StatusCode::CommandNotAllowed);
                }
                if !self.permits(who, AccessSet::REPLACE, h) {
                    return Err(StatusCode::PermissionDenied);
                }
                let name = core::str::from_utf8(value).map_err(|_| StatusCode::BadRequest)?;
                if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                    return Err(StatusCode::BadRequest);
                }
                if self.limits.max_seg_len != 0 && name.len() > usize::from(self.limits.max_seg_len)
                {
                    return Err(StatusCode::UriTooLong);
                }
                let parent = self.parent(h);
                if self
                    .children(parent)
                    .any(|c| c.def == h.def && self.name(c) == value)
                {
                    return Err(StatusCode::AlreadyExists);
                }
                let change = Change {
                    rename: Some(value),
                    ..Change::default()
                };
                self.change_node(h, &change, now)
            }
            Property::Format
            | Property::Type
            | Property::Size
            | Property::TStamp
            | Property::VerNo => Err(StatusCode::CommandNotAllowed),
        }
    }
}

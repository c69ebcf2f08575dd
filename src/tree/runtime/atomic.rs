//! Atomic: groups of changes that are stored all or nothing, also across a power cut,
//! as transactions in the flash log.

use super::*;

impl<F: NorFlash, H: Handlers> Tree<'_, F, H> {
    /// Starts an all-or-nothing group of changes (`Atomic`). The handlers learn of it
    /// ([`NodeHandler::atomic_started`]), so that values kept outside the tree, which a
    /// rollback cannot restore, can be refused inside it.
    pub fn begin_atomic(&mut self) -> Result<(), StatusCode> {
        self.begin_txn()?;
        self.handlers.atomic_started();
        Ok(())
    }

    /// Opens a transaction in the store.
    pub(super) fn begin_txn(&mut self) -> Result<(), StatusCode> {
        if self.txn.is_some() {
            return Err(StatusCode::CommandFailed);
        }
        // Start with room for a typical group of changes, if compacting can make it.
        let want = (self.store.bank_size() / 2).min(self.scratch.len() * 4);
        if self.store.free() < want {
            self.compact_store().map_err(store_status)?;
        }
        let txn = self.next_txn;
        self.next_txn = self.next_txn.wrapping_add(1);
        self.store
            .append_marker(self.scratch, store::KIND_BEGIN, txn)
            .map_err(store_status)?;
        self.txn = Some(txn);
        Ok(())
    }

    /// Runs `f` as one transaction, unless an Atomic is already open (then it is part of
    /// that): a change made of several records is then all or nothing, also across a
    /// power cut.
    pub(super) fn transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StatusCode>,
    ) -> Result<T, StatusCode> {
        if self.txn.is_some() {
            return f(self);
        }
        // A command's own transaction is not an Atomic: handlers are not told of it.
        self.begin_txn()?;
        match f(self) {
            Ok(v) => {
                self.commit_txn()?;
                Ok(v)
            }
            Err(e) => {
                self.rollback_txn()?;
                Err(e)
            }
        }
    }

    /// Makes the open group's changes permanent.
    pub fn commit_atomic(&mut self) -> Result<(), StatusCode> {
        let result = self.commit_txn();
        self.handlers.atomic_ended();
        result
    }

    /// Closes the open transaction with its commit marker.
    pub(super) fn commit_txn(&mut self) -> Result<(), StatusCode> {
        let txn = self.txn.take().ok_or(StatusCode::CommandFailed)?;
        self.store
            .append_marker(self.scratch, store::KIND_COMMIT, txn)
            .map_err(store_status)
    }

    /// Undoes every change of the open group.
    pub fn rollback_atomic(&mut self) -> Result<(), StatusCode> {
        let result = self.rollback_txn();
        self.handlers.atomic_ended();
        result
    }

    /// Drops the open transaction and rebuilds RAM without it.
    pub(super) fn rollback_txn(&mut self) -> Result<(), StatusCode> {
        let txn = self.txn.take().ok_or(StatusCode::CommandFailed)?;
        // Without the marker, replay drops the group anyway; with it, it drops it at once.
        let _ = self
            .store
            .append_marker(self.scratch, store::KIND_ABORT, txn);
        self.replay()
            .map_err(|_| StatusCode::AtomicRollBackFailed)?;
        Ok(())
    }

    /// Whether an Atomic is open.
    pub fn in_atomic(&self) -> bool {
        self.txn.is_some()
    }
}

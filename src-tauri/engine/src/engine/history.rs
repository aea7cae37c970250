//! Undo/redo stacks of one project. A step is the list of edits that reverts one user action;
//! it is computed from the state just before the action and applied later as new edits with
//! new clocks, so an undo is an ordinary change that syncs like any other.

use super::edits::Edit;

/// Most undo steps kept per project; the oldest are forgotten beyond this.
pub const MAX_UNDO_STEPS: usize = 200;

/// Undo and redo stacks of one project (in memory: history does not outlive the session).
#[derive(Debug, Default)]
pub(crate) struct History {
    undo: Vec<Vec<Edit>>,
    redo: Vec<Vec<Edit>>,
}

impl History {
    /// Records the inverse of a new user action; a new action clears the redo stack.
    pub fn record(&mut self, inverse: Vec<Edit>) {
        if inverse.is_empty() {
            return;
        }
        self.redo.clear();
        push_capped(&mut self.undo, inverse);
    }

    pub fn pop_undo(&mut self) -> Option<Vec<Edit>> {
        self.undo.pop()
    }

    pub fn pop_redo(&mut self) -> Option<Vec<Edit>> {
        self.redo.pop()
    }

    /// Puts a step back where it was taken from (when applying it failed).
    pub fn restore_undo(&mut self, step: Vec<Edit>) {
        self.undo.push(step);
    }

    pub fn restore_redo(&mut self, step: Vec<Edit>) {
        self.redo.push(step);
    }

    /// After an undo: its inverse is the redo step.
    pub fn push_redo(&mut self, step: Vec<Edit>) {
        if !step.is_empty() {
            push_capped(&mut self.redo, step);
        }
    }

    /// After a redo: its inverse is the next undo step (the redo stack is kept).
    pub fn push_undo(&mut self, step: Vec<Edit>) {
        if !step.is_empty() {
            push_capped(&mut self.undo, step);
        }
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
}

fn push_capped(stack: &mut Vec<Vec<Edit>>, step: Vec<Edit>) {
    if stack.len() == MAX_UNDO_STEPS {
        stack.remove(0);
    }
    stack.push(step);
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn new_action_clears_redo_and_depth_is_capped() {
        let mut h = History::default();
        let step = || {
            vec![Edit::Delete {
                element_id: Uuid::nil(),
            }]
        };
        h.record(step());
        h.push_redo(step());
        assert!(h.can_redo());
        h.record(vec![]);
        assert!(h.can_redo(), "an empty inverse is not an action");
        h.record(step());
        assert!(!h.can_redo());
        for _ in 0..MAX_UNDO_STEPS + 10 {
            h.record(step());
        }
        assert_eq!(h.undo.len(), MAX_UNDO_STEPS);
    }
}

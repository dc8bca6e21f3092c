"""Undo and redo for the editor: two stacks of immutable specs."""

from __future__ import annotations

from collections import deque

from .spec import Spec


class SpecHistory:
    """The current spec with bounded undo and redo stacks; equal edits are not recorded."""

    def __init__(self, spec: Spec, limit: int = 500) -> None:
        self.current = spec
        self._undo: deque[Spec] = deque(maxlen=limit)
        self._redo: deque[Spec] = deque(maxlen=limit)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def push(self, spec: Spec) -> bool:
        """Make `spec` current; False (and nothing recorded) when it changes nothing."""
        if spec == self.current:
            return False
        self._undo.append(self.current)
        self._redo.clear()
        self.current = spec
        return True

    def undo(self) -> Spec | None:
        if not self._undo:
            return None
        self._redo.append(self.current)
        self.current = self._undo.pop()
        return self.current

    def redo(self) -> Spec | None:
        if not self._redo:
            return None
        self._undo.append(self.current)
        self.current = self._redo.pop()
        return self.current

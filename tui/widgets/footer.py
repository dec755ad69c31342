"""Textual's Footer, rebuilt only when the keys it shows change.

The stock Footer recomposes every key on every focus or binding update
(five times while Today starts, ~20 ms each here); most of those updates
change nothing it displays."""
from __future__ import annotations

from textual.widgets import Footer


class KeyFooter(Footer):
    _shown: tuple | None = None

    def _signature(self) -> tuple:
        return tuple(
            (binding.key, binding.description, enabled)
            for (_, binding, enabled, _) in self.screen.active_bindings.values()
            if binding.show
        )

    def bindings_changed(self, screen) -> None:
        if self._bindings_ready and screen is self.screen and self._signature() == self._shown:
            return
        super().bindings_changed(screen)

    def compose(self):
        self._shown = self._signature() if self._bindings_ready else None
        yield from super().compose()

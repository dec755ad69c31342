"""Everything vlearn does, without a screen. Nothing in here imports Textual."""
import sys

# sqlite-utils imports pandas and numpy at import time when they are installed
# (the fsrs optimizer brings pandas), only to convert their types, which vlearn
# never stores. That costs ~0.3 s of app start-up, so hide them while it loads;
# later imports of pandas and numpy work as usual.
_hidden = [name for name in ("pandas", "numpy") if name not in sys.modules]
for _name in _hidden:
    sys.modules[_name] = None  # type: ignore[assignment]
try:
    import sqlite_utils  # noqa: F401
except ImportError:  # a remote GPU runner's Python has only what the lab tests need
    pass
finally:
    for _name in _hidden:
        del sys.modules[_name]

"""Grammar-constrained decoding: a character DFA from a small regular expression (given),
lifted to a token mask over a vocabulary of multi-character tokens (yours).

Regex is given; everything marked TODO is yours. See README.md, stage 2.
"""
from __future__ import annotations

import torch

# ------------------------------------------------------------------ given: regex -> lazy character DFA

_CLASSES = {
    "d": lambda c: c.isdigit(),
    "w": lambda c: c.isalnum() or c == "_",
    "s": lambda c: c.isspace(),
}


class Regex:
    """A regular expression compiled to a DFA over characters, built lazily.

    Syntax: literals, `.` (any character), `[a-z0-9_]` and `[^...]` classes, `\\d \\w \\s`,
    `\\` before any other character for that character, `( )`, `|`, `*`, `+`, `?`.
    DFA states are ints; `start` is 0; `step` returns None for the dead state."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self._eps: list[list[int]] = []
        self._edges: list[list[tuple]] = []
        self._pos = 0
        start, end = self._alt()
        if self._pos != len(pattern):
            raise ValueError(f"unexpected {pattern[self._pos]!r} at {self._pos} in {pattern!r}")
        self._accept = end
        self._sets: list[frozenset[int]] = []
        self._ids: dict[frozenset[int], int] = {}
        self._trans: dict[tuple[int, str], int | None] = {}
        self.start = self._intern(self._closure({start}))

    # --- parser (Thompson construction: each piece is an NFA fragment (start, end))
    def _node(self) -> int:
        self._eps.append([])
        self._edges.append([])
        return len(self._eps) - 1

    def _peek(self) -> str | None:
        return self.pattern[self._pos] if self._pos < len(self.pattern) else None

    def _alt(self) -> tuple[int, int]:
        s, e = self._node(), self._node()
        while True:
            a, b = self._concat()
            self._eps[s].append(a)
            self._eps[b].append(e)
            if self._peek() != "|":
                return s, e
            self._pos += 1

    def _concat(self) -> tuple[int, int]:
        s = e = self._node()
        while self._peek() not in (None, "|", ")"):
            a, b = self._repeat()
            self._eps[e].append(a)
            e = b
        return s, e

    def _repeat(self) -> tuple[int, int]:
        a, b = self._atom()
        while self._peek() in ("*", "+", "?"):
            op = self.pattern[self._pos]
            self._pos += 1
            s, e = self._node(), self._node()
            self._eps[s].append(a)
            self._eps[b].append(e)
            if op in "*?":
                self._eps[s].append(e)
            if op in "*+":
                self._eps[b].append(a)
            a, b = s, e
        return a, b

    def _atom(self) -> tuple[int, int]:
        c = self._peek()
        if c is None or c in "*+?":
            raise ValueError(f"expected an atom at {self._pos} in {self.pattern!r}")
        self._pos += 1
        if c == "(":
            frag = self._alt()
            if self._peek() != ")":
                raise ValueError(f"missing ')' in {self.pattern!r}")
            self._pos += 1
            return frag
        if c == "[":
            pred = self._class()
        elif c == "\\":
            pred = self._escape()
        elif c == ".":
            def pred(ch):
                return True
        else:
            def pred(ch, c=c):
                return ch == c
        s, e = self._node(), self._node()
        self._edges[s].append((pred, e))
        return s, e

    def _escape(self):
        if self._pos >= len(self.pattern):
            raise ValueError(f"dangling '\\' in {self.pattern!r}")
        c = self.pattern[self._pos]
        self._pos += 1
        return _CLASSES.get(c, lambda ch, c=c: ch == c)

    def _class(self):
        negate = self._peek() == "^"
        self._pos += negate
        parts = []
        while True:
            c = self._peek()
            if c is None:
                raise ValueError(f"missing ']' in {self.pattern!r}")
            self._pos += 1
            if c == "]" and parts:
                break
            if c == "\\":
                parts.append(self._escape())
            elif self._peek() == "-" and self._pos + 1 < len(self.pattern) and self.pattern[self._pos + 1] != "]":
                lo, hi = c, self.pattern[self._pos + 1]
                self._pos += 2
                parts.append(lambda ch, lo=lo, hi=hi: lo <= ch <= hi)
            else:
                parts.append(lambda ch, c=c: ch == c)
        return lambda ch: any(p(ch) for p in parts) != negate

    # --- subset construction, on demand
    def _closure(self, states: set[int]) -> frozenset[int]:
        stack, seen = list(states), set(states)
        while stack:
            for t in self._eps[stack.pop()]:
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
        return frozenset(seen)

    def _intern(self, states: frozenset[int]) -> int:
        if states not in self._ids:
            self._ids[states] = len(self._sets)
            self._sets.append(states)
        return self._ids[states]

    def step(self, state: int, char: str) -> int | None:
        """The DFA state after reading `char` in `state`; None when no match can follow."""
        key = (state, char)
        if key not in self._trans:
            nxt = {t for s in self._sets[state] for pred, t in self._edges[s] if pred(char)}
            self._trans[key] = self._intern(self._closure(nxt)) if nxt else None
        return self._trans[key]

    def is_accepting(self, state: int) -> bool:
        return self._accept in self._sets[state]

    def walk(self, text: str, state: int | None = None) -> int | None:
        """The state after reading `text` from `state` (default: start); None if it dies."""
        state = self.start if state is None else state
        for ch in text:
            state = self.step(state, ch)
            if state is None:
                return None
        return state


# ------------------------------------------------------------------ stage 2: yours

class TokenIndex:
    """The regex lifted to tokens, shared by every request with the same regex and vocabulary:
    for a DFA state, which tokens may come next and the state each one leads to.
    `vocab[t]` is token t's text; eos_token_id is a special token (its text is never read)."""

    def __init__(self, regex: Regex, vocab: list[str], eos_token_id: int):
        # TODO (stage 2): ValueError when eos_token_id is outside the vocabulary
        self.regex, self.vocab, self.eos_token_id = regex, vocab, eos_token_id

    def allowed(self, state: int) -> torch.Tensor:
        """BoolTensor[V]: the tokens that may follow in `state` (EOS iff the state accepts)."""
        raise NotImplementedError("TODO (stage 2)")

    def next_state(self, state: int, token_id: int) -> int | None:
        """The state after `token_id`; None for EOS and for tokens that break the match."""
        raise NotImplementedError("TODO (stage 2)")


class Grammar:
    """One request's position in the grammar (what vLLM's StructuredOutputGrammar tracks)."""

    def __init__(self, index: TokenIndex):
        self.index = index
        self.state = index.regex.start

    def allowed_tokens(self) -> torch.Tensor:
        """BoolTensor[V]; all False once terminated."""
        raise NotImplementedError("TODO (stage 2)")

    def accept_token(self, token_id: int) -> bool:
        """Advance by one token. A token the grammar does not allow returns False and changes nothing."""
        raise NotImplementedError("TODO (stage 2)")

    def is_terminated(self) -> bool:
        raise NotImplementedError("TODO (stage 2)")

    def rollback(self, num_tokens: int) -> None:
        """Undo the last num_tokens accepted tokens (rejected speculative tokens);
        ValueError for more than were accepted."""
        raise NotImplementedError("TODO (stage 2)")

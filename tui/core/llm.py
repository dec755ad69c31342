"""A small client for any OpenAI-compatible chat-completions endpoint
(a local `vllm serve`, or a hosted API).

Only the standard library: no SDK to install, and the whole protocol we need
is one POST. The API key is read from the environment variable the learner
names, at request time, and never stored, logged or put in an error message.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC


class LLMError(Exception):
    """The model could not be used for this turn; `kind` says why in one word."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind  # timeout | auth | http | rate_limit | network | malformed | refusal | schema


@dataclass(frozen=True)
class ModelConfig:
    base_url: str  # e.g. http://127.0.0.1:8000/v1
    model: str
    api_key_env: str = ""  # NAME of the variable holding the key; "" for none
    timeout_s: float = 30.0
    temperature: float = 0.3

    def api_key(self) -> str:
        return os.environ.get(self.api_key_env, "") if self.api_key_env else ""


SETTINGS = ("llm.base_url", "llm.model", "llm.api_key_env", "llm.timeout_s")


def config_from_settings(db) -> ModelConfig | None:
    """The learner's model settings from progress.db (never the key itself)."""
    from .store import progress

    base = progress.get_setting(db, "llm.base_url")
    model = progress.get_setting(db, "llm.model")
    if not base or not model:
        return None
    return ModelConfig(
        base_url=base,
        model=model,
        api_key_env=progress.get_setting(db, "llm.api_key_env", "") or "",
        timeout_s=float(progress.get_setting(db, "llm.timeout_s", "30") or 30),
    )


def save_config(db, config: ModelConfig) -> None:
    from .store import progress

    progress.set_setting(db, "llm.base_url", config.base_url)
    progress.set_setting(db, "llm.model", config.model)
    progress.set_setting(db, "llm.api_key_env", config.api_key_env)
    progress.set_setting(db, "llm.timeout_s", str(config.timeout_s))


class _Busy(Exception):
    def __init__(self, code: int, retry_after: float | None):
        self.code, self.retry_after = code, retry_after


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds to wait: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            from datetime import datetime

            return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
        except (TypeError, ValueError):
            return None


class _Deadline:
    """The whole reply must arrive by `at` (monotonic). The socket's own timeout
    only bounds each read, so a server that trickles a byte a second would
    otherwise hold the learner for as long as it likes: when the time is up
    the socket is shut down, which ends any read blocked on it."""

    def __init__(self, response, at: float):
        self.response, self.expired = response, False
        self.timer = threading.Timer(max(at - time.monotonic(), 0.0), self._expire)
        self.timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        sock = getattr(getattr(getattr(self.response, "fp", None), "raw", None), "_sock", None)
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            else:
                self.response.close()
        except OSError:
            pass

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.cancel()


class ChatClient:
    def __init__(self, config: ModelConfig):
        self.config = config

    def _scrub(self, text: str) -> str:
        key = self.config.api_key()
        return text.replace(key, "***") if key else text

    RETRIES = 3  # after a 429 or 503: the server is busy, not broken
    BACKOFF_S = 0.5  # first wait when the server names none; doubles each time

    def _request(self, messages: list[dict], stream: bool, extra: dict | None = None, at: float | None = None):
        """POST, retrying a busy server (429/503) after its Retry-After (or a doubling
        backoff) as long as the wait ends before `at`, the whole reply's deadline."""
        at = at if at is not None else time.monotonic() + self.config.timeout_s
        for attempt in range(self.RETRIES + 1):
            try:
                return self._post(messages, stream, extra)
            except _Busy as busy:
                wait = busy.retry_after if busy.retry_after is not None else self.BACKOFF_S * 2**attempt
                if attempt == self.RETRIES or time.monotonic() + wait >= at:
                    raise LLMError("rate_limit", f"the model server is busy (HTTP {busy.code}"
                                   + (f", asks to retry after {wait:g} s" if busy.retry_after is not None else "")
                                   + f") and the {self.config.timeout_s:g} s timeout does not leave time to wait") from None
                time.sleep(wait)  # the server asked us to wait: this is the protocol, not a guess
        raise AssertionError("unreachable")

    def _post(self, messages: list[dict], stream: bool, extra: dict | None = None):
        body = {"model": self.config.model, "messages": messages, "stream": stream,
                "temperature": self.config.temperature} | (extra or {})
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if stream else "application/json"}
        key = self.config.api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            request = urllib.request.Request(self.config.base_url.rstrip("/") + "/chat/completions",
                                             data=json.dumps(body).encode(), headers=headers, method="POST")
            return urllib.request.urlopen(request, timeout=self.config.timeout_s)
        except urllib.error.HTTPError as exc:
            if exc.code in (429, 503):
                raise _Busy(exc.code, _retry_after(exc.headers.get("Retry-After"))) from None
            detail = self._scrub(exc.read(500).decode("utf-8", "replace"))
            kind = "auth" if exc.code in (401, 403) else "http"
            raise LLMError(kind, f"the model server answered HTTP {exc.code}: {detail[:200]}") from None
        except TimeoutError:
            raise LLMError("timeout", f"no answer from the model within {self.config.timeout_s:g} s") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (socket.timeout, TimeoutError)):
                raise LLMError("timeout", f"no answer from the model within {self.config.timeout_s:g} s") from None
            raise LLMError("network", f"cannot reach {self.config.base_url}: {self._scrub(str(exc.reason))}") from None
        except (http.client.HTTPException, OSError, ValueError) as exc:  # dropped connection, bad URL
            raise LLMError("network", f"the connection to {self.config.base_url} failed: "
                           f"{self._scrub(str(exc)) or type(exc).__name__}") from None

    def _too_slow(self) -> LLMError:
        return LLMError("timeout", f"the whole reply took longer than {self.config.timeout_s:g} s (the model's timeout)")

    def complete(self, messages: list[dict], extra: dict | None = None) -> str:
        """One whole reply, within the timeout."""
        at = time.monotonic() + self.config.timeout_s
        deadline = None
        try:
            with self._request(messages, stream=False, extra=extra, at=at) as response, _Deadline(response, at) as deadline:
                raw = response.read()
            if deadline.expired:
                raise self._too_slow()
            return _message_text(json.loads(raw.decode("utf-8")))
        except TimeoutError:
            raise LLMError("timeout", f"the model stopped answering within {self.config.timeout_s:g} s") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise LLMError("malformed", "the model server's reply was not JSON") from None
        except (http.client.HTTPException, OSError) as exc:  # cut off mid-reply
            if deadline is not None and deadline.expired:
                raise self._too_slow() from None
            raise LLMError("network", f"the reply was cut off: {type(exc).__name__}") from None

    def stream(self, messages: list[dict], on_text: Callable[[str], None] | None = None) -> str:
        """A streamed reply: `on_text` gets each piece as it arrives; returns the
        whole. The timeout bounds the whole reply, not each piece."""
        at = time.monotonic() + self.config.timeout_s
        parts, deadline = [], None
        try:
            with self._request(messages, stream=True, at=at) as response, _Deadline(response, at) as deadline:
                for piece in _sse_pieces(response):
                    parts.append(piece)
                    if on_text:
                        on_text(piece)
        except TimeoutError:
            raise LLMError("timeout", f"the model stopped streaming within {self.config.timeout_s:g} s") from None
        except (http.client.HTTPException, OSError, LLMError) as exc:  # cut off mid-stream
            if deadline is not None and deadline.expired:
                raise self._too_slow() from None
            if isinstance(exc, LLMError):
                raise
            raise LLMError("network", f"the stream was cut off: {type(exc).__name__}") from None
        if not parts:
            raise LLMError("malformed", "the streamed reply held no text")
        return "".join(parts)


def _first_choice(payload, part: str, where: str) -> dict:
    """payload["choices"][0][part] as a dict, or a model error that says what was there instead."""
    choices = payload.get("choices") if isinstance(payload, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices else None
    value = choice.get(part) if isinstance(choice, dict) else None
    if not isinstance(value, dict):
        if isinstance(payload, dict) and isinstance(payload.get("error"), (dict, str)):
            error = payload["error"]
            said = error.get("message", error) if isinstance(error, dict) else error
            raise LLMError("malformed", f"the model server sent an error instead of {where}: {str(said)[:200]}")
        raise LLMError("malformed", f"{where} has no choices[0].{part} object: {json.dumps(payload)[:120]}")
    return value


def _message_text(payload) -> str:
    message = _first_choice(payload, "message", "the reply")
    if message.get("refusal"):
        raise LLMError("refusal", f"the model refused: {str(message['refusal'])[:200]}")
    content = message.get("content")
    if not isinstance(content, str):
        raise LLMError("malformed", "the reply's message has no text content")
    return content


def _sse_pieces(response) -> Iterator[str]:
    for raw in response:
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except json.JSONDecodeError:
            raise LLMError("malformed", "a streamed chunk was not valid JSON") from None
        if isinstance(event, dict) and isinstance(event.get("choices"), list) and event["choices"] \
                and isinstance(event["choices"][0], dict) and not event["choices"][0].get("delta"):
            continue  # a chunk with only a finish_reason or usage
        delta = _first_choice(event, "delta", "a streamed chunk")
        if delta.get("refusal"):
            raise LLMError("refusal", f"the model refused: {str(delta['refusal'])[:200]}")
        text = delta.get("content")
        if text is not None and not isinstance(text, str):
            raise LLMError("malformed", "a streamed chunk's content is not text")
        if text:
            yield text
    raise LLMError("malformed", "the stream ended before its [DONE] marker")


def parse_json_reply(text: str) -> dict:
    """The JSON object in a model's reply (tolerating a ```json fence around it)."""
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rsplit("```", 1)[0]
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end < start:
        raise LLMError("malformed", "the model's reply held no JSON object")
    try:
        value = json.loads(body[start : end + 1])
    except json.JSONDecodeError as exc:
        raise LLMError("malformed", f"the model's JSON did not parse: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise LLMError("schema", "the model's JSON is not an object")
    return value

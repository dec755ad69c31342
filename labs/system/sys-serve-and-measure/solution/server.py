"""A small OpenAI-style completions server over the engine simulator (engine.py).

POST /v1/completions with {"prompt": str, "max_tokens": int, "stream": true}
streams server-sent events, one per token, as vLLM's OpenAI server does:

    data: {"id": "cmpl-3", "object": "text_completion", "choices": [{"index": 0, "text": " t123", ...}]}

then a usage event (empty "choices", "usage": {"prompt_tokens", "completion_tokens"}) and
`data: [DONE]`. The prompt is "tokenized" by whitespace: its token count is the number of
words. The response is HTTP/1.1 with `Connection: close`: the stream ends when the
server closes the connection.

Structure (as vLLM's AsyncLLM): one background task, `EngineLoop.run`, steps the engine
and hands each new token to the request's asyncio.Queue; each HTTP handler reads its own
queue and writes the events. Every finished request appends one JSON line to the log
(--log): its id, prompt and completion tokens, and time.perf_counter() stamps of when the
request was received, when each token was handed to the socket, and when [DONE] was.

    python server.py --port 0 --log /tmp/server.jsonl      # prints "listening on 127.0.0.1:PORT"

Reference solution: the planted bottleneck (a lock held for a whole generation) is
removed. The log format, the wire format and the engine must stay as they are: the
tests read them.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time

from engine import CostModel, Engine


class EngineLoop:
    """The one task that drives the engine: schedule, let the step's time pass, deliver tokens."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.queues: dict[str, asyncio.Queue] = {}
        self.wake = asyncio.Event()

    def add_request(self, request_id: str, prompt_len: int, max_tokens: int) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue()
        self.queues[request_id] = queue
        self.engine.add(request_id, prompt_len, max_tokens)
        self.wake.set()
        return queue

    async def run(self) -> None:
        while True:
            if not self.engine.has_work():
                self.wake.clear()
                await self.wake.wait()
                continue
            plan = self.engine.schedule()
            await asyncio.sleep(plan.duration_s)  # the "GPU" is busy for the step
            for request_id, token, finished in self.engine.finish_step(plan):
                self.queues[request_id].put_nowait((token, finished))
                if finished:
                    del self.queues[request_id]


def sse(payload) -> bytes:
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n".encode()


class CompletionServer:
    def __init__(self, loop: EngineLoop, log_path: str | None):
        self.loop = loop
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.ids = itertools.count()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode("latin-1").split()
            headers = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", 0)))
            if request_line[:2] != ["POST", "/v1/completions"]:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            try:
                params = json.loads(body)
                prompt_len, max_tokens = len(params["prompt"].split()), int(params["max_tokens"])
                if not params.get("stream") or prompt_len < 1 or max_tokens < 1:
                    raise ValueError("streaming only, with a non-empty prompt and max_tokens >= 1")
            except (ValueError, KeyError, TypeError) as exc:
                message = json.dumps({"error": str(exc)}).encode()
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(message), message))
                return
            await self.stream(writer, f"cmpl-{next(self.ids)}", prompt_len, max_tokens, time.perf_counter())
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away
        finally:
            writer.close()

    async def stream(self, writer, request_id: str, prompt_len: int, max_tokens: int, received: float) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                     b"Connection: close\r\n\r\n")
        await writer.drain()
        token_times, tokens = [], []
        # No lock: the engine loop batches every stream's request into the same steps, and
        # each handler only reads its own queue, so streams cannot interleave anyway.
        queue = self.loop.add_request(request_id, prompt_len, max_tokens)
        while True:
            token, finished = await queue.get()
            tokens.append(token)
            token_times.append(time.perf_counter())
            writer.write(sse({"id": request_id, "object": "text_completion", "choices": [
                {"index": 0, "text": f" t{token}", "finish_reason": "length" if finished else None}]}))
            await writer.drain()
            if finished:
                break
        writer.write(sse({"id": request_id, "object": "text_completion", "choices": [],
                          "usage": {"prompt_tokens": prompt_len, "completion_tokens": len(tokens)}}))
        done = time.perf_counter()  # stamped before the write, so a client can never see it earlier
        writer.write(sse("[DONE]"))
        await writer.drain()
        if self.log:
            self.log.write(json.dumps({"id": request_id, "prompt_tokens": prompt_len, "completion_tokens": len(tokens),
                                       "tokens": tokens, "received": received, "token_times": token_times,
                                       "done": done}) + "\n")
            self.log.flush()


async def serve(port: int, log_path: str | None, cost: CostModel) -> None:
    loop = EngineLoop(Engine(cost))
    server = CompletionServer(loop, log_path)
    engine_task = asyncio.create_task(loop.run())
    listener = await asyncio.start_server(server.handle, "127.0.0.1", port)
    print(f"listening on 127.0.0.1:{listener.sockets[0].getsockname()[1]}", flush=True)
    async with listener:
        await asyncio.gather(listener.serve_forever(), engine_task)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.add_argument("--log", default=None, help="append one JSON line per finished request here")
    p.add_argument("--fixed-ms", type=float, default=15.0, help="step cost independent of the batch")
    p.add_argument("--per-token-ms", type=float, default=0.1, help="step cost per scheduled token")
    args = p.parse_args(argv)
    try:
        asyncio.run(serve(args.port, args.log, CostModel(args.fixed_ms / 1000, args.per_token_ms / 1000)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

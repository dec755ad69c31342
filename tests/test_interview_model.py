"""The model-driven interviewer against a real chat-completions server on 127.0.0.1."""
from __future__ import annotations

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tui.core.interview import InterviewSession, ModelDriver, ScriptedDriver
from tui.core.llm import ChatClient, LLMError, ModelConfig

KEY = "sk-test-9f8e7d6c5b4a-never-store-me"


class Canned:
    """What the fake server says next: a list of (mode, payload) consumed in order."""

    def __init__(self):
        self.replies: list[tuple[str, str]] = []
        self.requests: list[dict] = []
        self.release = threading.Event()
        self.trickled = 0  # pieces the trickling stream had sent


def make_handler(canned: Canned):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            canned.requests.append({"auth": self.headers.get("Authorization"), "body": body, "path": self.path})
            mode, payload = canned.replies.pop(0) if canned.replies else ("text", "NEXT")
            if mode == "401":
                self.send_response(401)
                self.end_headers()
                self.wfile.write(b'{"error": "invalid api key"}')
                return
            if mode == "slow":
                canned.release.wait(10)  # longer than the client's timeout
                return
            if mode == "drop":  # the server dies mid-request: no status line at all
                self.close_connection = True
                return
            if mode == "cut":  # a stream that stops before its [DONE]
                chunk = json.dumps({"choices": [{"delta": {"content": "Hel"}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.wfile.write(b"data: " + chunk + b"\n\n")
                self.close_connection = True
                return
            if mode.startswith("429"):  # "429" or "429:<Retry-After value>"
                self.send_response(429)
                if ":" in mode:
                    self.send_header("Retry-After", mode.split(":", 1)[1])
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                return
            if mode == "shape":  # valid JSON, wrong shape: `payload` is the whole body (or one stream chunk)
                if body.get("stream"):
                    self._send(b"data: " + payload.encode() + b"\n\ndata: [DONE]\n\n", "text/event-stream")
                else:
                    self._send(payload.encode(), "application/json")
                return
            if mode == "trickle":  # a live stream that never finishes in time: a piece, a pause, ...
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    for _ in range(40):
                        chunk = json.dumps({"choices": [{"delta": {"content": "word "}}]}).encode()
                        self.wfile.write(b"data: " + chunk + b"\n\n")
                        self.wfile.flush()
                        canned.trickled += 1
                        if canned.release.wait(0.25):
                            break
                except OSError:
                    pass  # the client hung up, as it should
                self.close_connection = True
                return
            if mode == "garbage":
                self._send(b"this is not json", "application/json")
                return
            if body.get("stream"):
                chunks = [payload[i : i + 7] for i in range(0, len(payload), 7)]
                data = b"".join(
                    b"data: " + json.dumps({"choices": [{"delta": {"content": c}}]}).encode() + b"\n\n" for c in chunks
                ) + b"data: [DONE]\n\n"
                self._send(data, "text/event-stream")
            else:
                reply = {"choices": [{"message": {"role": "assistant", "content": payload}}]}
                self._send(json.dumps(reply).encode(), "application/json")

        def _send(self, data: bytes, kind: str):
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def server():
    canned = Canned()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(canned))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    canned.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield canned
    canned.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def client(server, monkeypatch):
    monkeypatch.setenv("VLEARN_TEST_KEY", KEY)
    return ChatClient(ModelConfig(base_url=server.url, model="tiny", api_key_env="VLEARN_TEST_KEY", timeout_s=1.0))


def test_complete_sends_the_key_and_returns_the_text(server, client):
    server.replies = [("text", "hello")]
    assert client.complete([{"role": "user", "content": "hi"}]) == "hello"
    [request] = server.requests
    assert request["auth"] == f"Bearer {KEY}" and request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "tiny" and request["body"]["stream"] is False


def test_streaming_delivers_pieces_as_they_arrive(server, client):
    server.replies = [("text", "Walk me through the KV cache.")]
    pieces = []
    text = client.stream([{"role": "user", "content": "ask"}], pieces.append)
    assert text == "Walk me through the KV cache." and len(pieces) > 1
    assert server.requests[0]["body"]["stream"] is True


def test_errors_are_classified_and_never_show_the_key(server, client):
    server.replies = [("401", ""), ("garbage", ""), ("slow", "")]
    kinds = []
    for _ in range(3):
        with pytest.raises(LLMError) as info:
            client.complete([{"role": "user", "content": "x"}])
        kinds.append(info.value.kind)
        assert KEY not in str(info.value)
    assert kinds == ["auth", "malformed", "timeout"]


@pytest.fixture
def catalog():
    from pathlib import Path

    from tui.core.content import load_catalog

    return load_catalog(Path(__file__).parent / "fixtures" / "content")


@pytest.fixture
def interviewer(catalog):
    return catalog.interviewers["t-iv"]


def test_model_interview_asks_follows_up_and_grades_with_validated_json(db, catalog, interviewer, client, server):
    session = InterviewSession(db, catalog, interviewer, driver=ModelDriver(client), rng=random.Random(3), count=1)
    session.start()
    q = session.questions[0]
    question_count = len(q.rubric)
    grade = {"points": [{"index": i, "met": i % 2 == 0, "why": "x"} for i in range(question_count)], "feedback": "Solid on coalescing."}
    server.replies = [("text", "Tell me how you would write it."), ("text", "Why float4 and not float2?"),
                      ("text", "NEXT"), ("text", json.dumps(grade))]
    assert session.next_question() == "Tell me how you would write it."
    assert session.answer("Use vectorised loads.") == "Why float4 and not float2?"
    assert session.answer("Sixteen-byte transactions per thread.") is None
    grades = session.auto_grade()
    assert grades[q.id].graded_by == "model"
    assert grades[q.id].ticks == list(range(0, question_count, 2))
    summary = session.finish()
    assert summary["questions"] == 1 and summary["notices"] == []
    roles = [t["role"] for t in session.transcript()]
    assert roles == ["interviewer", "interviewer", "candidate", "interviewer", "candidate"]


@pytest.mark.parametrize("failure,kind", [("garbage", "malformed"), ("401", "auth"), ("slow", "timeout")])
def test_model_failure_is_announced_and_the_interview_carries_on_scripted(db, catalog, interviewer, client, server, failure, kind):
    server.replies = [(failure, "")]
    session = InterviewSession(db, catalog, interviewer, driver=ModelDriver(client), rng=random.Random(5), count=2)
    session.start()
    text = session.next_question()
    assert text == session.current.prompt  # the scripted interviewer asked it
    assert isinstance(session.driver, ScriptedDriver)
    [notice] = session.notices
    assert f"({kind}:" in notice
    assert any(t["role"] == "notice" for t in session.transcript())
    session.answer("An answer.")
    assert session.next_question() is not None  # the session goes on


def test_off_schema_grade_falls_back_to_self_grading(db, catalog, interviewer, client, server):
    session = InterviewSession(db, catalog, interviewer, driver=ModelDriver(client), rng=random.Random(1), count=1)
    session.start()
    server.replies = [("text", "Question?"), ("text", "NEXT"), ("text", '{"points": [{"index": 99, "met": true}], "feedback": ""}')]
    session.next_question()
    session.answer("Answer.")
    assert session.auto_grade() == {}
    assert "schema" in session.notices[0]
    grade = session.self_grade(session.questions[0].id, [0, 1])
    assert grade.graded_by == "self" and session.grades[grade.question_id] is grade


def test_the_key_is_never_written_to_the_database_or_home(db, catalog, interviewer, client, server, vlearn_home):
    from tui.core import llm

    llm.save_config(db, client.config)
    session = InterviewSession(db, catalog, interviewer, driver=ModelDriver(client), rng=random.Random(2), count=1)
    session.start()
    server.replies = [("text", "Q?"), ("401", "")]
    session.next_question()
    session.answer("my answer mentions nothing secret")
    session.finish()
    db.execute("PRAGMA wal_checkpoint(FULL)")
    assert server.requests[0]["auth"] == f"Bearer {KEY}"
    for path in vlearn_home.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert llm.config_from_settings(db).api_key_env == "VLEARN_TEST_KEY"


def test_weakest_components_are_asked_first_once_there_is_evidence(db, catalog, interviewer):
    from tui.core.drills import Drill
    from tui.core.interview import pick_questions

    # Evidence: scheduler drilled well, cuda_kernels badly; paged_attention never drilled.
    for qid, ticks in (("t-q2", [0, 1, 2, 3]), ("t-q3", [])):
        drill = Drill(db, catalog.questions[qid]).start()
        drill.finish("answer")
        drill.grade(ticks)
    picked = [q.id for q in pick_questions(catalog, db, interviewer, 3, random.Random(0))]
    assert picked.index("t-q2") == 2  # the strong component comes last
    assert set(picked[:2]) == {"t-q3", "t-question"}


def test_a_dropped_connection_a_cut_stream_and_a_bad_url_are_model_errors(server, client):
    server.replies = [("drop", ""), ("cut", "")]
    with pytest.raises(LLMError) as dropped:
        client.complete([{"role": "user", "content": "x"}])
    with pytest.raises(LLMError) as cut:
        client.stream([{"role": "user", "content": "x"}])
    bad = ChatClient(ModelConfig(base_url="http://[bad", model="m"))
    with pytest.raises(LLMError) as url:
        bad.complete([{"role": "user", "content": "x"}])
    assert (dropped.value.kind, cut.value.kind, url.value.kind) == ("network", "malformed", "network")


def test_a_dropped_connection_mid_interview_carries_on_scripted(db, catalog, interviewer, client, server):
    server.replies = [("drop", "")]
    session = InterviewSession(db, catalog, interviewer, driver=ModelDriver(client), rng=random.Random(4), count=1)
    session.start()
    assert session.next_question() == session.current.prompt
    assert "(network:" in session.notices[0]


WRONG_SHAPES = [
    '"just a string"', '[1, 2]', '{"choices": "none"}', '{"choices": []}', '{"choices": ["text"]}',
    '{"choices": [{"message": "text"}]}', '{"choices": [{"delta": "text"}]}', '{"error": {"message": "model overloaded"}}',
]


@pytest.mark.parametrize("shape", WRONG_SHAPES)
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_a_reply_of_the_wrong_shape_is_a_model_error_with_the_servers_words(server, client, shape, streamed):
    server.replies = [("shape", shape)]
    with pytest.raises(LLMError) as info:
        if streamed:
            client.stream([{"role": "user", "content": "x"}])
        else:
            client.complete([{"role": "user", "content": "x"}])
    assert info.value.kind == "malformed"
    if "overloaded" in shape:
        assert "model overloaded" in str(info.value)


@pytest.mark.parametrize("shape", ['{"choices": [{"message": "text"}]}', '"just a string"'])
def test_a_wrong_shape_in_the_question_and_the_grading_path_carries_on_scripted(db, catalog, interviewer, client, server, shape):
    session = InterviewSession(db, catalog, interviewer, driver=ModelDriver(client), rng=random.Random(5), count=1)
    session.start()
    server.replies = [("shape", shape)]
    assert session.next_question() == session.current.prompt  # asked by the scripted interviewer
    assert "(malformed:" in session.notices[0]
    session.answer("An answer.")
    grading = InterviewSession(db, catalog, interviewer, driver=ModelDriver(client), rng=random.Random(5), count=1)
    grading.start()
    server.replies = [("text", "Question?"), ("text", "NEXT"), ("shape", shape)]
    grading.next_question()
    grading.answer("Answer.")
    assert grading.auto_grade() == {} and "(malformed:" in grading.notices[0]


def test_the_timeout_bounds_the_whole_streamed_reply_not_each_piece(server, client):
    server.replies = [("trickle", "")]
    pieces = []
    with pytest.raises(LLMError) as info:
        client.stream([{"role": "user", "content": "x"}], pieces.append)
    assert info.value.kind == "timeout" and "whole reply" in str(info.value)
    # Each piece came well inside the 1 s per-read timeout, yet the stream was cut short.
    assert 0 < len(pieces) < 40


# ------------------------------------------------------- reviewers and investigators

def _session(db, catalog, ident, driver):
    return InterviewSession(db, catalog, catalog.interviewers[ident], driver=driver, rng=random.Random(2), count=1)


def test_scripted_reviewer_hands_over_the_artifact_verbatim(db, catalog):
    session = _session(db, catalog, "t-review", ScriptedDriver())
    session.start()
    text = session.next_question()
    question = catalog.questions["t-dbg"]
    assert session.current is question and question.artifact in text and text.startswith("Here is the change")
    assert session.answer("The store and the read race.") == question.follow_ups[0]


def test_scripted_investigator_reveals_one_measurement_per_answer_in_order(db, catalog):
    session = _session(db, catalog, "t-investigate", ScriptedDriver())
    session.start()
    question = catalog.questions["t-dbg"]
    assert session.next_question() == question.prompt  # the first symptom only
    first = session.answer("I would run racecheck.")
    second = session.answer("A shared-memory race: add a barrier.")
    assert first.startswith(question.measurements[0]) and question.measurements[1] not in first
    assert second.startswith(question.measurements[1])
    assert "A plain hint" not in first + second  # only measurements are revealed
    assert session.answer("Done.") == question.follow_ups[0]  # then the follow-ups
    assert session.answer("Because...") == question.follow_ups[1]
    assert session.answer("With a stress test.") is None
    said = [t["text"] for t in session.transcript() if t["role"] == "interviewer"]
    assert [i for i, t in enumerate(said) if t.startswith("Measurement:")] == [2, 3]


def test_model_investigator_shows_measurements_verbatim_and_asks_about_them(db, catalog, client, server):
    session = _session(db, catalog, "t-investigate", ModelDriver(client))
    session.start()
    question = catalog.questions["t-dbg"]
    server.replies = [("text", "Rows go wrong now and then. Where do you start?"),
                      ("text", "What does that hazard imply?"), ("text", "And now?")]
    session.next_question()
    first = session.answer("Run racecheck.")
    second = session.answer("A race on s.")
    assert first == f"{question.measurements[0]}\n\nWhat does that hazard imply?"
    assert second == f"{question.measurements[1]}\n\nAnd now?"
    asked = [r["body"]["messages"][-1]["content"] for r in server.requests[1:3]]
    assert question.measurements[0] in asked[0] and question.measurements[1] in asked[1]
    assert "Run racecheck." in asked[0]  # the model sees what the candidate said


def test_model_reviewer_presents_the_artifact_without_a_round_trip(db, catalog, client, server):
    session = _session(db, catalog, "t-review", ModelDriver(client))
    session.start()
    text = session.next_question()
    assert catalog.questions["t-dbg"].artifact in text and server.requests == []
    server.replies = [("text", "Where exactly is the hazard?")]
    assert session.answer("Missing barrier.") == "Where exactly is the hazard?"


def test_a_busy_server_is_retried_after_its_retry_after(server, client):
    server.replies = [("429", ""), ("429:0", ""), ("text", "hello")]  # a backoff of 0.5 s, then none
    assert client.complete([{"role": "user", "content": "hi"}]) == "hello"
    assert len(server.requests) == 3  # two refusals, then the answer


def test_a_retry_after_longer_than_the_timeout_is_not_waited_for(server, client):
    server.replies = [("429:120", "")]
    with pytest.raises(LLMError) as info:
        client.stream([{"role": "user", "content": "hi"}])
    assert info.value.kind == "rate_limit" and "120 s" in str(info.value) and len(server.requests) == 1


def test_one_429_mid_interview_does_not_switch_to_the_scripted_interviewer(db, catalog, interviewer, client, server):
    session = InterviewSession(db, catalog, interviewer, driver=ModelDriver(client), rng=random.Random(3), count=1)
    session.start()
    server.replies = [("429:0", ""), ("text", "Tell me about the KV cache.")]
    assert session.next_question() == "Tell me about the KV cache."
    assert isinstance(session.driver, ModelDriver) and session.notices == []

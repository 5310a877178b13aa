from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from content_miner.pipeline.angles import TopicBrief
from content_miner.pipeline.embedding import load_embedder
from content_miner.pipeline.generation import generate_plan
from content_miner.pipeline.llm_drafts import ChatCompletionsDrafter, DraftEndpointError, drafter_from_env
from content_miner.pipeline.sample_account import generate_sample_posts
from content_miner.pipeline.time_series import analyse

NOW = datetime(2025, 5, 8, 9, 30, tzinfo=timezone.utc)
BRIEF = TopicBrief("espresso, grinder", ("espresso", "grinder"), ("coffee",), "question", "Dialed in a shot.",
                   style_examples=("Best shot of the week, sweet and balanced.", "New grinder day!"))


class StubChatServer(ThreadingHTTPServer):
    """A local OpenAI-compatible endpoint: answers like /chat/completions, or fails as told."""

    mode = "ok"
    requests: list[dict]

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: StubChatServer

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if self.server.mode == "error":
            self._send(500, b'{"error": {"message": "overloaded"}}')
            return
        if self.server.mode == "garbage":
            self._send(200, b'{"choices": []}')
            return
        topic = body["messages"][-1]["content"].split("about: ", 1)[1].split(".\n", 1)[0]
        answer = {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"LLM draft about {topic}"}}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 8, "total_tokens": 58},
        }
        self._send(200, json.dumps(answer).encode())

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture()
def stub() -> Iterator[StubChatServer]:
    server = StubChatServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_draft_comes_from_the_endpoint(stub: StubChatServer) -> None:
    draft = ChatCompletionsDrafter(stub.url, "tiny-model", api_key="k-123").write(BRIEF)
    assert draft == "LLM draft about espresso, grinder #coffee"
    sent = stub.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer k-123"
    assert sent["body"]["model"] == "tiny-model" and sent["body"]["temperature"] == 0


@pytest.mark.parametrize(("mode", "message"), [("error", "HTTP 500"), ("garbage", "unexpected response shape")])
def test_bad_answers_raise_a_draft_error(stub: StubChatServer, mode: str, message: str) -> None:
    stub.mode = mode
    with pytest.raises(DraftEndpointError, match=message):
        ChatCompletionsDrafter(stub.url, "m").write(BRIEF)


def test_unreachable_endpoint_raises_a_draft_error() -> None:
    probe = StubChatServer()
    url = probe.url
    probe.server_close()  # nothing listens on that port now
    with pytest.raises(DraftEndpointError, match="unreachable"):
        ChatCompletionsDrafter(url, "m", timeout_s=2).write(BRIEF)


def test_drafter_is_configured_only_by_both_url_and_model() -> None:
    assert drafter_from_env({}) is None
    assert drafter_from_env({"LLM_BASE_URL": "http://127.0.0.1:1/v1"}) is None
    drafter = drafter_from_env({"LLM_BASE_URL": "http://127.0.0.1:1/v1", "LLM_MODEL": "m", "LLM_API_KEY": "s"})
    assert drafter == ChatCompletionsDrafter("http://127.0.0.1:1/v1", "m", "s")


def _plan_with(drafter: ChatCompletionsDrafter):  # type: ignore[no-untyped-def]
    posts = generate_sample_posts(seed=8, n_posts=120)
    vectors = load_embedder().embed([p.text for p in posts])
    return generate_plan(posts, vectors, analyse(posts, NOW), platform="x", username="u",
                         now=NOW, provider="t", drafter=drafter)


def test_plan_uses_llm_drafts_when_the_endpoint_works(stub: StubChatServer) -> None:
    plan = _plan_with(ChatCompletionsDrafter(stub.url, "m"))
    assert all(r.draft.startswith(f"LLM draft about {r.topic}") for r in plan.recommendations)
    assert not any("LLM" in n for n in plan.notes)
    prompt = stub.requests[0]["body"]["messages"][-1]["content"]
    # The account's best posts are its style examples; no engagement figures the model could copy.
    assert "best recent posts, for its voice:" in prompt and prompt.count('\n- "') == 3
    assert "engagements" not in prompt and "http" not in prompt and "@" not in prompt.replace("@-mentions", "")


def test_llm_drafts_lose_mentions_and_links(stub: StubChatServer) -> None:
    brief = TopicBrief("@bob https://t.co/x", ("x",), (), "question", "")  # the stub echoes the topic
    assert ChatCompletionsDrafter(stub.url, "m").write(brief) == "LLM draft about"


def test_failing_endpoint_falls_back_to_templates_with_a_note(stub: StubChatServer) -> None:
    stub.mode = "error"
    plan = _plan_with(ChatCompletionsDrafter(stub.url, "m"))
    assert plan.recommendations and not any(r.draft.startswith("LLM draft") for r in plan.recommendations)
    assert any("LLM endpoint failed" in n and "HTTP 500" in n for n in plan.notes)
    assert len(stub.requests) == 1  # gives up after the first failure instead of waiting 15 times

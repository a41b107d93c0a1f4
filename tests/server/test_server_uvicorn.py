"""Through a real socket: `empathy-bridge serve` under uvicorn, killed and restarted."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from empathy_bridge import signatures as sig
from empathy_bridge.engine import Bridge
from empathy_bridge.server.keys import ApiKeys
from empathy_bridge.server.queue import EventQueue

SECRET = "zendesk-signing-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "eb.toml"
    path.write_text(f"""
[store]
url = "sqlite:///{tmp_path / 'store.db'}"

[sources.desk]
adapter = "example"
desk = "uvicorn-{os.getpid()}"
tickets = 2
tenant = "acme"

[server]
worker_idle_seconds = 0.05
webhook_sources = {{ zendesk = "desk" }}
""", encoding="utf-8")
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "EMPATHY_BRIDGE_NO_AUTOLOAD": "1", "ZENDESK_WEBHOOK_SECRET": SECRET}


class Server:
    def __init__(self, config: Path) -> None:
        self.config, self.port = config, _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from empathy_bridge.cli import main; main()", "serve",
             "--config", str(self.config), "--port", str(self.port)],
            env=_env(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stdout.read().decode()  # type: ignore[union-attr]
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("server did not come up")

    def stop(self, sig_: int = signal.SIGTERM) -> str:
        """Signal the server, wait for it, return its output."""
        assert self.proc is not None
        self.proc.send_signal(sig_)
        output, _ = self.proc.communicate(timeout=60)
        self.proc = None
        return output.decode("utf-8", "replace")


@pytest.fixture
def server(config_file: Path) -> Iterator[Server]:
    srv = Server(config_file)
    yield srv
    if srv.proc is not None:
        srv.stop(signal.SIGKILL)


def _signed(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"ticket": {"id": "1", "requester_id": "c1"},
                       "comment": {"id": f"sock-{n}", "author_id": "c1", "public": True,
                                   "body": f"Order {n} still missing, I am getting angry!"}}
                      ).encode()
    ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return body, {"X-Zendesk-Webhook-Signature": sig.zendesk_signature(SECRET, ts, body),
                  "X-Zendesk-Webhook-Signature-Timestamp": ts,
                  "Content-Type": "application/json"}


def _wait_done(config: Path, ids: list[int]) -> dict[int, str]:
    with Bridge.from_config(config, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}) as bridge:
        queue = EventQueue.open(bridge)
        deadline = time.monotonic() + 60
        while True:
            states = {i: str((queue.get(i) or {}).get("status")) for i in ids}
            if all(s == "done" for s in states.values()) or time.monotonic() > deadline:
                return states
            time.sleep(0.1)


def test_api_and_webhook_over_a_real_socket(server: Server, config_file: Path) -> None:
    with Bridge.from_config(config_file, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}) as bridge:
        token = ApiKeys(bridge.store).create("acme").token
    server.start()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        analysed = client.post("/v1/analyze", json={"text": "I'm so happy with this, thanks!"},
                               headers={"Authorization": f"Bearer {token}"})
        assert analysed.status_code == 200
        assert analysed.json()["contexts"][0]["state"] == "satisfaction"
        body, headers = _signed(1)
        queued = client.post("/webhooks/zendesk", content=body, headers=headers)
        assert queued.status_code == 202
        assert client.get("/readyz").status_code == 200
    assert _wait_done(config_file, [queued.json()["event_id"]]) == {
        queued.json()["event_id"]: "done"}
    # SIGTERM shuts down gracefully: the lifespan ends (worker stopped, store closed).
    # (uvicorn re-raises the signal afterwards, so the exit status itself says little.)
    assert "Application shutdown complete" in server.stop()


def test_events_acknowledged_before_a_crash_are_processed_after_restart(
        server: Server, config_file: Path) -> None:
    server.start()
    acked: list[int] = []
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for n in range(20):
            body, headers = _signed(n)
            response = client.post("/webhooks/zendesk", content=body, headers=headers)
            assert response.status_code == 202
            acked.append(response.json()["event_id"])
    server.stop(signal.SIGKILL)  # no graceful shutdown: whatever was pending stays pending
    server.start()
    assert set(_wait_done(config_file, acked).values()) == {"done"}
    with Bridge.from_config(config_file, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}) as bridge:
        for n in range(20):
            assert bridge.store.get_interaction(f"sock-{n}", "desk") is not None

"""Security: secrets never leave through logs, errors, the store or --json output; personal data
redacted in logs; webhook signatures compared in constant time; the store is owner-only."""

from __future__ import annotations

import ast
import base64
import importlib
import inspect
import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from empathy_bridge.cli import _register_commands, cli
from empathy_bridge.logs import configure_logging, redact


def _forms(secret: str, email: str) -> list[bytes]:
    """The secret as it could leak: raw, and inside a Basic auth header."""
    basic = base64.b64encode(f"{email}/token:{secret}".encode()).decode()
    return [secret.encode(), basic.encode(), basic[:24].encode()]


def test_secrets_never_appear_in_logs_errors_store_or_json(tmp_path: Path) -> None:
    sandbox_mod = pytest.importorskip("empathy_bridge_zendesk.sandbox")
    _register_commands()
    runner = CliRunner()
    with sandbox_mod.ZendeskSandbox(records=30, seed=9) as sandbox:
        table = sandbox.demo_source_config()
        secret = sandbox.demo_environment()["ZENDESK_API_TOKEN"]
        lines = [f'[store]\nurl = "sqlite:///{tmp_path / "sec.db"}"\n\n[sources.zendesk]']
        # Scalars as JSON are valid TOML values (strings, numbers, booleans).
        lines += [
            f"{k} = {json.dumps(v)}"
            for k, v in table.items()
            if v is not None and not isinstance(v, dict)
        ]
        for key, value in table.items():
            if isinstance(value, dict):
                lines.append(f"[sources.zendesk.{key}]")
                lines += [f"{k} = {json.dumps(v)}" for k, v in value.items() if v is not None]
        config = str(tmp_path / "sec.toml")
        Path(config).write_text("\n".join(lines) + "\n", encoding="utf-8")
        env = {
            "EMPATHY_BRIDGE_PLUGINS": "zendesk",
            "EMPATHY_BRIDGE_NO_AUTOLOAD": None,
            "ZENDESK_API_TOKEN": secret,
        }

        def run(*args: str, **extra: str | None) -> Any:
            return runner.invoke(cli, list(args), env={**env, **extra})

        outputs = [
            run("--debug", "--log-json", "sync", "--config", config, "--json"),
            run("status", "--config", config, "--json"),
            run("dead-letters", "list", "--config", config, "--json"),
            run("interactions", "export", "--config", config),
            run("fields", "check", "--config", config, "--source", "zendesk", "--json"),
        ]
        assert outputs[0].exit_code == 0, outputs[0].output[-2000:]
        # A wrong credential: a one-line error about the token variable, never its value.
        wrong = "WRONG-s3cr3t-" + secret[::-1]
        failed = run("-v", "sync", "--config", config, ZENDESK_API_TOKEN=wrong)
        assert failed.exit_code != 0
        assert "401" in failed.output and "token" in failed.output
    blobs = [(o.stdout + o.stderr).encode() for o in [*outputs, failed]]
    blobs += [path.read_bytes() for path in tmp_path.glob("sec.db*")]
    assert len(outputs[3].stdout) > 1000  # the run did produce data to search through
    for blob in blobs:
        for form in [*_forms(secret, table["email"]), *_forms(wrong, table["email"])]:
            assert form not in blob


def test_personal_data_is_redacted_in_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(verbose=True, json_lines=True)
    logging.getLogger("empathy_bridge.test").warning(
        "customer %s (%s) paid with %s and said %r",
        "jane.doe+vip@example.co.uk",
        "+44 20 7946 0958",
        "4111-1111-1111-1111",
        "call me on 555 010 9999",
    )
    err = capsys.readouterr().err
    for leaked in ("jane.doe", "example.co.uk", "7946", "4111", "555 010"):
        assert leaked not in err
    assert "[email]" in err and "[card]" in err and "[phone]" in err


def test_the_service_worker_child_gets_the_servers_log_format() -> None:
    # The webhook worker runs in a child process: its lines must be JSON when the server's are,
    # and go through the same redaction (configure_logging), not a bare basicConfig.
    from empathy_bridge.logs import logging_flags

    configure_logging(verbose=True, json_lines=True)
    assert logging_flags() == ["--log-json"]
    configure_logging(debug=True)
    assert logging_flags() == ["--debug"]
    configure_logging()
    assert logging_flags() == []


@pytest.mark.parametrize(
    "text",
    [
        "order 12345 shipped",
        "version 2.3.1",
        "2026-11-27 10:00",
        "paused until 2026-11-27T20:07:10.676551+00:00: daily allowance spent",
    ],
)
def test_redaction_leaves_ordinary_numbers_alone(text: str) -> None:
    assert redact(text) == text


WEBHOOK_MODULES = [
    ("empathy_bridge_zendesk.webhook", "verify_signature"),
    ("empathy_bridge_x.webhooks", "verify_signature"),
    ("empathy_bridge.signatures", None),
]


@pytest.mark.parametrize(("module_name", "_function"), WEBHOOK_MODULES)
def test_webhook_signature_checks_are_constant_time(module_name: str, _function: Any) -> None:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        pytest.skip(f"{module_name} is not installed")
    tree = ast.parse(inspect.getsource(module))
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "compare_digest"
    ]
    assert calls, f"{module_name} does not use hmac.compare_digest"
    suspicious = {"signature", "expected", "digest", "header", "candidate", "mac"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
        ):
            names = {n.id.lower() for n in ast.walk(node) if isinstance(n, ast.Name)}
            assert not names & suspicious, (
                f"{module_name}:{node.lineno} compares a signature with =="
            )


def test_zendesk_webhook_signatures_verify_and_reject() -> None:
    webhook = pytest.importorskip("empathy_bridge_zendesk.webhook")
    body, stamp = b'{"ticket": 1}', "2026-11-27T10:00:00Z"
    good = webhook.sign("k3y", body, stamp)
    assert webhook.verify_signature("k3y", body, stamp, good)
    assert not webhook.verify_signature("k3y", body + b" ", stamp, good)
    assert not webhook.verify_signature("k3y", body, stamp, good[:-2])
    assert not webhook.verify_signature("k3y", body, stamp, None)


def test_x_webhook_signatures_verify_and_reject() -> None:
    webhooks = pytest.importorskip("empathy_bridge_x.webhooks")
    body = b'{"tweet_create_events": []}'
    good = webhooks.sign("consumer-secret", body)
    assert webhooks.verify_signature("consumer-secret", body, good)
    assert not webhooks.verify_signature("consumer-secret", body, good.replace("=", "A", 1))
    assert not webhooks.verify_signature("consumer-secret", body, "sha256=é")


def test_store_files_are_owner_only(tmp_path: Path) -> None:
    from empathy_bridge.engine import Bridge

    config = {
        "store": {"url": f"sqlite:///{tmp_path / 'own.db'}"},
        "sources": {"example": {"desk": "security-perms", "tickets": 5}},
    }
    with Bridge.from_config(config, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}) as bridge:
        bridge.sync("example")
        files = list(tmp_path.glob("own.db*"))
        assert files
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name

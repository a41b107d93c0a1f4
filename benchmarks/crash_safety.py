"""Crash safety: kill -9 the daemon at random points of a large sync, restart, check exactly-once.

A Zendesk sandbox runs in its own process (``serve``), extended to count every write it receives
per (ticket, field) and to flag *redundant* writes: a value sent again for a field that already
holds it because of an earlier API write. The driver (``run``) starts ``empathy-bridge run``
against it, kills it with SIGKILL at random moments, then lets ``empathy-bridge sync`` finish and
checks:

- records lost: sandbox comments without a stored analysis (must be 0);
- duplicate writes: redundant writes the sandbox saw (must be 0);
- unfinished work: outbox rows still pending or in flight (must be 0);
- un-enriched tickets: tickets with customer comments whose empathy fields are unset (must be 0).

Run it::

    .venv/bin/python benchmarks/crash_safety.py run --records 5000 --kills 8 --seed 3

It prints the numbers for the closing note. ``tests/reliability/test_reliability_crash.py`` runs
a small version (3 kills over 2,000 tickets).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "empathy-bridge"
# The engine's log line when it settles writes a crash left in flight.
# The engine's log line of a cycle that found nothing new: the daemon has caught up.
_CAUGHT_UP = re.compile(rb"sync zendesk: ok \(pulled=\d+ analyzed=0 written=0")
_RECONCILED = re.compile(r"reconciled \d+ in-flight writes of \S+ \((\d+) already")


# -- the counting sandbox (runs in its own process) ---------------------------------------------


def counting_sandbox_class() -> type[Any]:
    """The Zendesk sandbox subclass that counts writes (imported lazily: optional adapter)."""
    from werkzeug.routing import Rule
    from werkzeug.wrappers import Request, Response

    from empathy_bridge.sandbox import json_response
    from empathy_bridge_zendesk.sandbox import ZendeskSandbox

    class CountingZendeskSandbox(ZendeskSandbox):  # type: ignore[misc]
        """Zendesk sandbox that counts writes per (ticket, field) and redundant re-writes."""

        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            self.writes: collections.Counter[str] = collections.Counter()
            self.redundant: list[str] = []

        def url_map(self) -> list[Rule]:
            return [
                *super().url_map(),
                Rule("/_sandbox/expected", endpoint="sandbox_expected", methods=["GET"]),
            ]

        def on_update_many(self, request: Request) -> Response:
            body = request.get_json(silent=True)
            entries = body.get("tickets") if isinstance(body, dict) else None
            with self.lock:
                for entry in entries if isinstance(entries, list) else []:
                    tid = entry.get("id") if isinstance(entry, dict) else None
                    ticket = self.data.tickets.get(tid) if isinstance(tid, int) else None
                    if ticket is None:
                        continue
                    held = {f"custom_fields.{f['id']}": f["value"] for f in ticket["custom_fields"]}
                    held["priority"] = ticket.get("priority")
                    sent = {
                        f"custom_fields.{f['id']}": f.get("value")
                        for f in entry.get("custom_fields") or []
                    }
                    if "priority" in entry:
                        sent["priority"] = entry["priority"]
                    if entry.get("additional_tags") or entry.get("remove_tags"):
                        # Tags are one field: a re-sent tag next to a new one is not a write
                        # of its own, only a request that changes no tag at all is.
                        tags = set(ticket["tags"]) | {
                            str(t) for t in entry.get("additional_tags") or []
                        }
                        sent["tags"] = sorted(
                            tags - {str(t) for t in entry.get("remove_tags") or []}
                        )
                        held["tags"] = sorted(ticket["tags"])
                    for key, value in sent.items():
                        name = f"{tid}/{key}"
                        if self.writes[name] and held.get(key) == value:
                            self.redundant.append(name)
                        self.writes[name] += 1
            response: Response = super().on_update_many(request)
            return response

        def on_sandbox_expected(self, request: Request) -> Response:
            """Comment ids, and which tickets with customer comments lack our state field."""
            with self.lock:
                customers = {
                    uid for uid, u in self.data.users.items() if u.get("role") == "end-user"
                }
                state_id = self.with_fields and 36000102
                unenriched = []
                deleted = {
                    tid for tid, t in self.data.tickets.items() if t.get("status") == "deleted"
                }
                # Deleted tickets' derived data is removed on purpose (right to be forgotten).
                comments = [
                    str(c["id"])
                    for tid, cs in self.data.comments.items()
                    if tid not in deleted
                    for c in cs
                ]
                for tid, ticket in self.data.tickets.items():
                    if tid in deleted:
                        continue
                    if not any(
                        c.get("author_id") in customers for c in self.data.comments.get(tid, [])
                    ):
                        continue
                    values = {f["id"]: f["value"] for f in ticket["custom_fields"]}
                    if not values.get(state_id):
                        unenriched.append(tid)
            return json_response(
                {
                    "comment_ids": comments,
                    "unenriched": unenriched,
                    "writes": sum(self.writes.values()),
                    "redundant": self.redundant,
                }
            )

    return CountingZendeskSandbox


def serve(args: argparse.Namespace) -> None:
    """Serve the counting sandbox in the foreground until SIGTERM."""
    cls = counting_sandbox_class()
    server = cls(
        port=args.port,
        seed=args.seed,
        records=args.records,
        rate_limits=not args.no_rate_limits,
        error_rate=args.error_rate,
        drop_rate=args.drop_rate,
        latency_ms=args.latency_ms,
        rate_window_seconds=args.rate_window,
        job_polls_until_done=args.job_polls,
        plan=args.plan,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        server.stop()


# -- the driver -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one crash-safety trial measured."""

    records: int
    comments: int = 0
    kills: int = 0
    kills_survived: int = 0
    kills_mid_write: int = 0
    throttled_429: int = 0
    reconciled: int = 0
    faults_injected: dict[str, int] = field(default_factory=dict)
    writes: int = 0
    records_lost: int = 0
    duplicate_writes: int = 0
    pending_after: int = 0
    unenriched: int = 0
    dead_letters: int = 0
    seconds: float = 0.0


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


def start_sandbox(
    workdir: Path, records: int, seed: int, error_rate: float = 0.0, drop_rate: float = 0.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the counting sandbox process; returns it and its URL once it answers."""
    port = free_port()
    log = (workdir / "sandbox.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "serve",
            "--port",
            str(port),
            "--records",
            str(records),
            "--seed",
            str(seed),
            "--error-rate",
            str(error_rate),
            "--drop-rate",
            str(drop_rate),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            _get(f"{url}/_sandbox/stats")
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(
                    f"sandbox did not start: {(workdir / 'sandbox.log').read_text()}"
                ) from None
            time.sleep(0.2)


def write_config(workdir: Path, url: str) -> Path:
    """Config for the daemon: the sandbox as source ``zendesk``, a 1 s schedule."""
    from empathy_bridge_zendesk.sandbox import SANDBOX_EMAIL, SANDBOX_FIELD_IDS

    fields = "\n".join(f"{k} = {v}" for k, v in SANDBOX_FIELD_IDS.items())
    path = workdir / "crash.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{workdir / "store.db"}"\n\n'
        f'[sources.zendesk]\nadapter = "zendesk"\nbase_url = "{url}"\nsubdomain = "sandbox"\n'
        f'email = "{SANDBOX_EMAIL}"\ntoken_env = "ZENDESK_API_TOKEN"\n'
        # The sandbox enforces the High Volume plan's limits; the API budget paces to them.
        f'plan = "high_volume"\nschedule = {{ interval_seconds = 1 }}\n\n'
        f"[sources.zendesk.fields]\n{fields}\n",
        encoding="utf-8",
    )
    return path


def environment() -> dict[str, str]:
    """The driver's environment plus the sandbox token."""
    from empathy_bridge_zendesk.sandbox import SANDBOX_TOKEN

    env = dict(os.environ)
    env["ZENDESK_API_TOKEN"] = SANDBOX_TOKEN
    env.pop("EMPATHY_BRIDGE_NO_AUTOLOAD", None)
    return env


def _store_counts(db: Path) -> tuple[set[str], int, int]:
    if not db.exists():
        return set(), 0, 0
    conn = sqlite3.connect(db)
    try:
        analysed = {r[0] for r in conn.execute("SELECT native_id FROM analyses")}
        try:
            pending = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
            letters = conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        except sqlite3.OperationalError:
            pending, letters = 0, 0
    finally:
        conn.close()
    return analysed, int(pending), int(letters)


def _ledger_rows(db: Path) -> int:
    try:
        conn = sqlite3.connect(db, timeout=30)
        try:
            return int(conn.execute("SELECT count(*) FROM writeback_ledger").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _in_flight(db: Path) -> int:
    try:
        conn = sqlite3.connect(db, timeout=30)
        try:
            query = "SELECT count(*) FROM outbox WHERE status = 'in_flight'"
            return int(conn.execute(query).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _kill_at_random_point(
    daemon: subprocess.Popen[bytes],
    log: Path,
    db: Path,
    rng: random.Random,
    max_wait: float,
    by_writes: bool,
) -> bool:
    """SIGKILL the daemon at a random point of its work; False if it exited first.

    A ``by_writes`` kill waits for a random number of further write-back ledger rows and strikes
    right after one lands (mid write-back, often between a batch's in-flight mark and its
    bookkeeping); other kills strike after a random delay (fetching, analysing, starting up).
    """
    deadline = time.monotonic() + 600
    while b"daemon started" not in log.read_bytes():
        if daemon.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    if by_writes:
        # After a random share of the write-back, at a moment a batch is in flight: marked
        # in_flight and handed to the platform, its outcome not yet recorded.
        target = _ledger_rows(db) + rng.randint(0, 400)
        while _ledger_rows(db) < target or not _in_flight(db):
            if daemon.poll() is not None or time.monotonic() > deadline:
                return False
            if _CAUGHT_UP.search(log.read_bytes()):
                break  # caught up: nothing left to interrupt
            time.sleep(0.005)
        # Somewhere in the write: before the request, while the platform applies it, or after
        # its answer but before the bookkeeping commit.
        time.sleep(rng.uniform(0.0, 0.3))
    else:
        until = time.monotonic() + rng.uniform(0.1, max_wait)
        while time.monotonic() < until:
            if daemon.poll() is not None:
                return False
            time.sleep(0.01)
    if daemon.poll() is not None:
        return False
    os.kill(daemon.pid, signal.SIGKILL)
    return True


def trial(
    workdir: Path,
    *,
    records: int,
    kills: int,
    seed: int,
    error_rate: float = 0.0,
    drop_rate: float = 0.0,
    max_wait: float = 8.0,
) -> Outcome:
    """Run one trial in ``workdir`` and return what it measured."""
    rng = random.Random(seed)
    started = time.monotonic()
    outcome = Outcome(records=records)
    sandbox, url = start_sandbox(workdir, records, seed, error_rate, drop_rate)
    try:
        config = write_config(workdir, url)
        env = environment()
        for n in range(kills):
            daemon_log = workdir / f"daemon-{n}.log"
            with daemon_log.open("wb") as log:
                daemon = subprocess.Popen(
                    [str(BIN), "-v", "run", "--config", str(config)],
                    env=env,
                    stdout=log,
                    stderr=log,
                )
            try:
                if _kill_at_random_point(
                    daemon, daemon_log, workdir / "store.db", rng, max_wait, by_writes=n % 2 == 0
                ):
                    outcome.kills += 1
            finally:
                if daemon.poll() is None:  # never leave a daemon behind, whatever happened
                    daemon.kill()
                daemon.wait()
            if _in_flight(workdir / "store.db"):
                outcome.kills_mid_write += 1
            outcome.reconciled += sum(int(m) for m in _RECONCILED.findall(daemon_log.read_text()))
        # Restart and finish: a plain sync repeats cycles until it is caught up.
        for _ in range(20):
            done = subprocess.run(
                [str(BIN), "sync", "--config", str(config), "--json"],
                env=env,
                capture_output=True,
                check=False,
            )
            reports = json.loads(done.stdout or b"[]")
            outcome.reconciled += sum(int(r.get("reconciled", 0)) for r in reports)
            if done.returncode == 0 and all(
                r["status"] == "ok" and not r["analyzed"] and not r["written"] for r in reports
            ):
                break
        outcome.kills_survived = outcome.kills
        expected = _get(f"{url}/_sandbox/expected")
        stats = _get(f"{url}/_sandbox/stats")
        analysed, pending, letters = _store_counts(workdir / "store.db")
        outcome.comments = len(expected["comment_ids"])
        outcome.records_lost = len(set(expected["comment_ids"]) - analysed)
        outcome.duplicate_writes = len(expected["redundant"])
        outcome.writes = int(expected["writes"])
        outcome.unenriched = len(expected["unenriched"])
        outcome.pending_after = pending
        outcome.dead_letters = letters
        outcome.faults_injected = dict(stats.get("faults", {}))
        outcome.throttled_429 = int(stats.get("throttled", 0))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
    outcome.seconds = round(time.monotonic() - started, 1)
    return outcome


def main(argv: list[str] | None = None) -> None:
    """``serve`` the counting sandbox or ``run`` trials and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--records", type=int, default=2000)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--no-rate-limits", action="store_true")
    s.add_argument("--error-rate", type=float, default=0.0)
    s.add_argument("--drop-rate", type=float, default=0.0)
    s.add_argument("--latency-ms", type=float, default=0.0)
    s.add_argument("--rate-window", type=float, default=60.0)
    s.add_argument("--plan", default="high_volume")
    s.add_argument(
        "--job-polls",
        type=int,
        default=2,
        help="Polls before an update job completes (widens the write window).",
    )
    r = sub.add_parser("run")
    r.add_argument("--records", type=int, default=5000)
    r.add_argument("--kills", type=int, default=8)
    r.add_argument("--seed", type=int, default=3)
    r.add_argument("--trials", type=int, default=1)
    r.add_argument("--error-rate", type=float, default=0.02)
    r.add_argument("--drop-rate", type=float, default=0.01)
    r.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args)
        return
    import tempfile

    outcomes = []
    for n in range(args.trials):
        with tempfile.TemporaryDirectory(prefix="eb-crash-") as tmp:
            workdir = args.workdir or Path(tmp)
            workdir.mkdir(parents=True, exist_ok=True)
            outcome = trial(
                workdir,
                records=args.records,
                kills=args.kills,
                seed=args.seed + n,
                error_rate=args.error_rate,
                drop_rate=args.drop_rate,
            )
            outcomes.append(outcome)
            print(json.dumps(asdict(outcome)), flush=True)
    total = {
        "trials": len(outcomes),
        "records": sum(o.records for o in outcomes),
        "comments": sum(o.comments for o in outcomes),
        "faults_injected": sum(sum(o.faults_injected.values()) for o in outcomes),
        "kills_survived": sum(o.kills_survived for o in outcomes),
        "kills_mid_write": sum(o.kills_mid_write for o in outcomes),
        "reconciled_without_rewrite": sum(o.reconciled for o in outcomes),
        "records_lost": sum(o.records_lost for o in outcomes),
        "throttled_429": sum(o.throttled_429 for o in outcomes),
        "duplicate_writes": sum(o.duplicate_writes for o in outcomes),
        "pending_after": sum(o.pending_after for o in outcomes),
        "unenriched": sum(o.unenriched for o in outcomes),
    }
    print(json.dumps({"total": total}), flush=True)


if __name__ == "__main__":
    main()

"""``empathy-bridge run``: APScheduler jobs over one :class:`~empathy_bridge.Bridge`.

- one sync job per enabled source, on its ``schedule`` (interval or cron);
- the jobs plugins contribute through ``empathy_bridge_register_jobs`` (metrics, listening
  rules), so the daemon never imports those features;
- each job runs at most once at a time (``max_instances=1``), missed runs are coalesced into
  one, and the schedule is persisted in the store (``apscheduler_jobs`` table) so that
  ``empathy-bridge status`` can show the next run from another process;
- SIGTERM/SIGINT set a stop flag that sync jobs check between batches (the current batch's
  transaction commits or rolls back as a whole), then the scheduler waits for running jobs and
  the process exits 0.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import obj_to_ref

from empathy_bridge.adapter import ScheduleConfig
from empathy_bridge.daemon import jobs
from empathy_bridge.daemon.health import JOB_TABLE, paused_until, sync_job_id
from empathy_bridge.engine import Bridge, Progress, SyncReport
from empathy_bridge.errors import ConfigError, EmpathyBridgeError

__all__ = ["Daemon", "JobSpec", "trigger_for"]

log = logging.getLogger("empathy_bridge.daemon")


@dataclass(frozen=True)
class JobSpec:
    """A periodic job: its id, the ``module:function`` it runs, arguments and trigger."""

    id: str
    func: str
    args: tuple[str, ...]
    trigger: BaseTrigger
    name: str


def trigger_for(schedule: ScheduleConfig, what: str) -> BaseTrigger:
    """The APScheduler trigger of a schedule (cron wins over interval)."""
    if schedule.cron:
        try:
            return CronTrigger.from_crontab(schedule.cron, timezone=UTC)
        except ValueError as exc:
            raise ConfigError(f"{what}.schedule.cron {schedule.cron!r}: {exc}") from None
    return IntervalTrigger(seconds=schedule.interval_seconds or 300, timezone=UTC)


class Daemon:
    """The scheduler process of one config.

    :param bridge: the bridge whose sources and plugins are scheduled.
    :param sources: only these sources (default: every enabled source).
    :param progress: progress callback factory ``(source) -> callback`` for interactive runs.
    """

    def __init__(
        self,
        bridge: Bridge,
        sources: tuple[str, ...] = (),
        progress: Callable[[str], Progress | None] | None = None,
    ) -> None:
        self.bridge = bridge
        self.sources = list(sources) or [
            name for name, cfg in bridge.source_configs.items() if cfg.enabled
        ]
        for name in self.sources:
            bridge.adapter(name)  # unknown sources and bad credentials fail before we start
        self._progress = progress
        self._stop = threading.Event()
        # The engine's retry waits end early on shutdown (the remaining attempts then fail fast
        # and the cycle stops): SIGTERM should not wait out a long Retry-After.
        bridge.retry_policy = dataclasses.replace(bridge.retry_policy, sleep=self._sleep)
        self.reports: list[SyncReport] = []
        self._reports_lock = threading.Lock()
        self.scheduler: BackgroundScheduler | None = None

    # -- jobs ------------------------------------------------------------------------------

    def job_specs(self) -> list[JobSpec]:
        """Every job this daemon schedules: source syncs, then plugin jobs."""
        specs = [
            JobSpec(
                id=sync_job_id(name),
                func=f"{jobs.__name__}:sync_job",
                args=(name,),
                trigger=trigger_for(self.bridge.source_configs[name].schedule, f"sources.{name}"),
                name=f"sync {name}",
            )
            for name in self.sources
        ]
        plugin_specs: list[JobSpec] = []

        def register(
            name: str,
            func: Callable[[Bridge], Any],
            *,
            interval_seconds: int | None = None,
            cron: str | None = None,
        ) -> None:
            if any(s.id == f"job:{name}" for s in plugin_specs):
                raise ConfigError(f"two plugins register a daemon job named {name!r}")
            schedule = ScheduleConfig(interval_seconds=interval_seconds or 300, cron=cron)
            plugin_specs.append(
                JobSpec(
                    id=f"job:{name}",
                    func=f"{jobs.__name__}:plugin_job",
                    args=(name, obj_to_ref(func)),
                    trigger=trigger_for(schedule, f"job {name}"),
                    name=name,
                )
            )

        self.bridge.pm.hook.empathy_bridge_register_jobs(
            register=register, config=self.bridge.config
        )
        return specs + plugin_specs

    def _schedule(self, scheduler: BackgroundScheduler) -> None:
        """Bring the persisted schedule in line with the config, keeping unchanged jobs' times."""
        wanted = {spec.id: spec for spec in self.job_specs()}
        for job in scheduler.get_jobs():
            if job.id not in wanted:
                log.info("removing job %s (no longer configured)", job.id)
                job.remove()
        now = datetime.now(UTC)
        for spec in wanted.values():
            existing = scheduler.get_job(spec.id)
            if (
                existing is not None
                and str(existing.trigger) == str(spec.trigger)
                and existing.args == spec.args
            ):
                # Same schedule: keep the persisted next run; a time in the past runs once now.
                continue
            scheduler.add_job(
                spec.func,
                trigger=spec.trigger,
                args=list(spec.args),
                id=spec.id,
                name=spec.name,
                replace_existing=True,
                next_run_time=now,
            )

    # -- running ---------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    @property
    def stopping(self) -> bool:
        """Whether a shutdown was requested."""
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask running jobs to stop after their current batch, and the daemon to exit."""
        self._stop.set()

    def run_sync(self, source: str) -> None:
        """One scheduled sync of ``source``: cycles until caught up, paused, failed or stopped."""
        store = self.bridge.store
        run = next((r for r in store.source_runs() if r["source"] == source), {})
        resume = paused_until(run.get("last_status"), run.get("last_detail"))
        if resume is not None and resume > datetime.now(UTC):
            log.info("sync %s skipped: quota paused until %s", source, resume.isoformat())
            return
        progress = self._progress(source) if self._progress else None
        while not self.stopping:
            try:
                report = self.bridge.sync(source, progress=progress, should_stop=self._stop.is_set)
            except EmpathyBridgeError as exc:
                log.error("sync %s failed: %s", source, exc)
                return
            with self._reports_lock:
                self.reports.append(report)
            if report.status != "ok" or not (report.analyzed or report.written):
                return

    def start(self) -> BackgroundScheduler:
        """Start the scheduler in the background (see :meth:`run` for the blocking form)."""
        jobstore = SQLAlchemyJobStore(engine=self.bridge.store.engine, tablename=JOB_TABLE)
        specs = self.job_specs()
        scheduler = BackgroundScheduler(
            jobstores={"default": jobstore},
            executors={"default": ThreadPoolExecutor(max(2, len(specs)))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        jobs.set_current(self)
        # "Skipped: maximum number of running instances reached" is the designed behaviour of a
        # long sync (no overlap), not news: keep APScheduler's executor log to errors.
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        scheduler.start(paused=True)
        self._schedule(scheduler)
        scheduler.resume()
        self.scheduler = scheduler
        log.info("daemon started: %s", ", ".join(j.id for j in scheduler.get_jobs()))
        return scheduler

    def shutdown(self) -> None:
        """Stop jobs after their current batch, wait for them, and close the bridge."""
        self.stop()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        jobs.set_current(None)
        log.info("daemon stopped")

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit status (0 after a graceful shutdown)."""
        with _signals(self.stop):
            self.start()
            try:
                while not self.stopping:
                    # A short sleep rather than Event.wait: the signal handler only sets a flag.
                    time.sleep(0.2)
            finally:
                self.shutdown()
        return 0


@contextmanager
def _signals(on_signal: Callable[[], None]) -> Iterator[None]:
    """Route SIGTERM and SIGINT to ``on_signal`` while inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.warning(
            "received %s: finishing the current batch, then exiting", signal.Signals(signum).name
        )
        on_signal()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        sys.stderr.flush()

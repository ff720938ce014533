"""Background tasks: RQ workers on Redis when REDIS_URL is set, an in-process thread otherwise.

A domain registers a named task (a function run inside an app context that does all work due
now and returns the seconds until more work is due, or None) and kicks it after a commit that
gave it work. Tasks must be safe to run twice at once (they claim their rows atomically):
several gunicorn workers, threads and RQ workers may all run them.

JOBS_MODE: `rq` (REDIS_URL set), `thread` (the embedded default), `off` (tests; run the task
with its CLI command or `run_task`).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click
from flask import Flask, current_app, has_app_context

log = logging.getLogger(__name__)

Task = Callable[[], float | None]
_TASKS: dict[str, Task] = {}
_THREADS: dict[tuple[int, str], _TaskThread] = {}
_LOCK = threading.Lock()
IDLE_POLL_SECONDS = 30.0
QUEUE_NAME = "choque"


def init_app(app: Flask) -> None:
    default = "rq" if app.config.get("REDIS_URL") else "thread"
    if app.config.get("TESTING"):
        default = "off"
    mode = os.environ.get("JOBS_MODE") or default
    app.config.setdefault("JOBS_MODE", mode)
    if app.config["JOBS_MODE"] not in ("rq", "thread", "off"):
        raise RuntimeError(f"JOBS_MODE must be rq, thread or off, got {mode!r}")
    app.config.setdefault("JOBS_QUEUE", os.environ.get("JOBS_QUEUE") or QUEUE_NAME)
    app.cli.add_command(worker)


def register(name: str, task: Task) -> None:
    _TASKS[name] = task


def run_task(name: str) -> float | None:
    """Run a registered task once inside an app context (the thread's loop, a CLI command)."""
    return _TASKS[name]()


def kick(name: str) -> None:
    """There is work for `name` (called after the commit that made it)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    mode = app.config.get("JOBS_MODE", "off")
    if mode == "thread":
        _thread(app, name).wake()
    elif mode == "rq":
        _queue(app).enqueue(run_rq_job, name, job_timeout=600)


def run_rq_job(name: str) -> None:
    """The RQ job (`flask worker` or a plain `rq worker`): run the task, then schedule itself
    for when more work falls due (retries)."""
    if has_app_context():
        _run_and_reschedule(current_app._get_current_object(), name)  # type: ignore[attr-defined]
        return
    app = importlib.import_module(os.environ.get("CHOQUE_APP_MODULE", "wsgi")).create_app()
    with app.app_context():
        _run_and_reschedule(app, name)


def _run_and_reschedule(app: Flask, name: str) -> None:
    delay = _TASKS[name]()
    if delay is not None:
        _queue(app).enqueue_in(timedelta(seconds=max(delay, 1)), run_rq_job, name)


def _queue(app: Flask) -> Any:
    from redis import Redis
    from rq import Queue

    return Queue(app.config["JOBS_QUEUE"], connection=Redis.from_url(app.config["REDIS_URL"]))


def start_worker(app: Flask, *, burst: bool = False) -> None:
    """`flask worker`: an RQ worker (with its scheduler, for retries) inside this app context."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(app.config["REDIS_URL"])
    queue = Queue(app.config["JOBS_QUEUE"], connection=connection)
    worker = SimpleWorker([queue], connection=connection)
    worker.work(with_scheduler=True, burst=burst)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Start an RQ worker for every background task (needs REDIS_URL). Without Redis the web
    workers run the tasks in a thread, or run each task's own command from cron."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        raise click.ClickException(
            "REDIS_URL is not set: tasks run in the web workers' thread, or by their commands"
            " (flask webhooks deliver --loop, flask payments import-statements)."
        )
    app.config["JOBS_MODE"] = "rq"
    for name in sorted(_TASKS):  # whatever waited while no worker ran
        kick(name)
    start_worker(app, burst=burst)


class _TaskThread(threading.Thread):
    """Runs one task in the background of one process: at once when woken, then when the task
    says more work falls due, and every IDLE_POLL_SECONDS as a safety net."""

    def __init__(self, app: Flask, name: str) -> None:
        super().__init__(name=f"task-{name}", daemon=True)
        self.app, self.task_name = app, name
        self.event = threading.Event()

    def wake(self) -> None:
        self.event.set()

    def run(self) -> None:
        while True:
            self.event.clear()
            delay: float | None = None
            try:
                with self.app.app_context():
                    delay = _TASKS[self.task_name]()
            except Exception:  # a bad moment (database restart) must not end the thread
                log.exception("background task %s failed; retrying", self.task_name)
                delay = 5.0
            wait = IDLE_POLL_SECONDS if delay is None else min(max(delay, 0.05), IDLE_POLL_SECONDS)
            self.event.wait(wait)
            time.sleep(0)  # yield to the request threads


def _thread(app: Flask, name: str) -> _TaskThread:
    key = (os.getpid(), name)  # a forked gunicorn worker starts its own
    with _LOCK:
        thread = _THREADS.get(key)
        if thread is None or not thread.is_alive():
            thread = _THREADS[key] = _TaskThread(app, name)
            thread.start()
    return thread

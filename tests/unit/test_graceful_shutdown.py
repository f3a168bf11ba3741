"""Which gunicorn settings the service adds to functions-framework's."""

from __future__ import annotations

import pytest
from gunicorn.config import Config

from models_api import graceful_shutdown
from models_api.graceful_shutdown import GRACEFUL_TIMEOUT_SECONDS, DrainingThreadWorker


def _config(threads: int, worker_class: str = "sync") -> Config:
    config = Config()
    config.set("threads", threads)
    config.set("worker_class", worker_class)
    return config


def test_threaded_workers_drain_and_finish_within_cloud_runs_grace() -> None:
    config = _config(threads=4)

    graceful_shutdown.configure(config)

    assert config.worker_class is DrainingThreadWorker
    assert config.graceful_timeout == GRACEFUL_TIMEOUT_SECONDS < 10  # Cloud Run: SIGKILL at 10 s


FRAMEWORK_TIMEOUT_WORKER = "functions_framework._http.gunicorn.GThreadWorkerWithTimeoutSupport"


@pytest.mark.parametrize(
    ("threads", "worker_class", "expected"),
    [
        (1, "sync", "SyncWorker"),  # THREADS=1: gunicorn's sync worker, nothing kept alive
        (4, FRAMEWORK_TIMEOUT_WORKER, "GThreadWorkerWithTimeoutSupport"),  # the framework's pick
    ],
)
def test_other_worker_choices_are_left_alone(
    threads: int, worker_class: str, expected: str
) -> None:
    config = _config(threads, worker_class)

    graceful_shutdown.configure(config)

    assert config.worker_class.__name__ == expected

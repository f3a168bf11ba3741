"""Which gunicorn settings the service adds to functions-framework's."""

from __future__ import annotations

import pytest
from gunicorn.config import Config

from models_api import serving_worker
from models_api.serving_worker import GRACEFUL_TIMEOUT_SECONDS, ServiceThreadWorker


def _config(threads: int, worker_class: str = "sync") -> Config:
    config = Config()
    config.set("threads", threads)
    config.set("worker_class", worker_class)
    return config


@pytest.mark.parametrize("threads", [1, 4])
def test_the_service_worker_is_used_and_finishes_within_cloud_runs_grace(threads: int) -> None:
    config = _config(threads=threads)  # THREADS=1 too: a sync worker is one slow client away

    serving_worker.configure(config)

    assert config.worker_class is ServiceThreadWorker
    assert config.graceful_timeout == GRACEFUL_TIMEOUT_SECONDS < 10  # Cloud Run: SIGKILL at 10 s


FRAMEWORK_TIMEOUT_WORKER = "functions_framework._http.gunicorn.GThreadWorkerWithTimeoutSupport"


@pytest.mark.parametrize(
    ("threads", "worker_class", "expected"),
    [
        (4, FRAMEWORK_TIMEOUT_WORKER, "GThreadWorkerWithTimeoutSupport"),  # the framework's pick
    ],
)
def test_other_worker_choices_are_left_alone(
    threads: int, worker_class: str, expected: str
) -> None:
    config = _config(threads, worker_class)

    serving_worker.configure(config)

    assert config.worker_class.__name__ == expected

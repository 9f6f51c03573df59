"""FakeExecutor: records requests and answers as scripted."""

from __future__ import annotations

import threading
import time

from sophrosyne.executors.base import ExecRequest, ExecResult, Executor
from sophrosyne.executors.fake import FakeExecutor


def test_default_answer_echoes_argv_and_records_the_request() -> None:
    fake = FakeExecutor()
    request = ExecRequest(argv=["systemctl", "restart", "nginx"], timeout_seconds=5)
    result = fake.run(request)
    assert result == ExecResult(0, "fake: systemctl restart nginx", False, 0.0)
    assert result.succeeded
    assert fake.requests == [request]


def test_responder_scripts_the_result_and_sees_the_request() -> None:
    def responder(request: ExecRequest) -> ExecResult:
        return ExecResult(2, f"failed {request.argv[0]}", False, 0.1, error=None)

    fake = FakeExecutor(responder)
    result = fake.run(ExecRequest(argv=["deploy"], timeout_seconds=5))
    assert (result.exit_code, result.output) == (2, "failed deploy")
    assert not result.succeeded


def test_on_output_gets_the_scripted_output() -> None:
    chunks: list[str] = []
    FakeExecutor().run(ExecRequest(argv=["ls"], timeout_seconds=5, on_output=chunks.append))
    assert chunks == ["fake: ls"]


def test_delay_honours_cancellation() -> None:
    started = time.monotonic()
    request = ExecRequest(
        argv=["sleep"],
        timeout_seconds=60,
        should_cancel=lambda: time.monotonic() - started > 0.1,
    )
    result = FakeExecutor(delay_seconds=30).run(request)
    assert result.cancelled
    assert result.exit_code is None
    assert time.monotonic() - started < 5


def test_delay_beyond_timeout_times_out() -> None:
    result = FakeExecutor(delay_seconds=30).run(ExecRequest(argv=["x"], timeout_seconds=0.1))
    assert result.timed_out
    assert result.exit_code is None


def test_delay_without_cancel_then_answers() -> None:
    result = FakeExecutor(delay_seconds=0.1).run(ExecRequest(argv=["x"], timeout_seconds=5))
    assert result.exit_code == 0


def test_records_requests_from_many_threads() -> None:
    fake = FakeExecutor()
    executor: Executor = fake  # satisfies the protocol

    def work(n: int) -> None:
        for i in range(50):
            executor.run(ExecRequest(argv=[str(n), str(i)], timeout_seconds=1))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake.requests) == 400
    assert {tuple(r.argv) for r in fake.requests} == {
        (str(n), str(i)) for n in range(8) for i in range(50)
    }

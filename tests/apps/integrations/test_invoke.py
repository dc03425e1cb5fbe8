"""A connector call runs on a kept thread, within its timeout; a hung call never blocks the next."""

from __future__ import annotations

import os
import threading

import pytest

from apps.integrations import invoke


def test_a_result_and_an_error_come_back_to_the_caller() -> None:
    assert invoke._run_with_timeout(lambda: {"ok": 1}, 5.0) == {"ok": 1}

    def fails() -> None:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        invoke._run_with_timeout(fails, 5.0)


def test_consecutive_calls_share_one_connector_thread() -> None:
    threads = [invoke._run_with_timeout(threading.current_thread, 5.0) for _ in range(3)]

    assert len(set(threads)) == 1
    assert threads[0] is not threading.current_thread()
    assert threads[0].name == "connector-call"


def test_a_call_past_its_timeout_is_abandoned_and_the_next_call_gets_another_thread() -> None:
    release = threading.Event()
    hung_on: list[threading.Thread] = []

    def hangs() -> None:
        hung_on.append(threading.current_thread())
        release.wait(10)

    try:
        with pytest.raises(invoke._TimedOut):
            invoke._run_with_timeout(hangs, 0.1)
        next_thread = invoke._run_with_timeout(threading.current_thread, 5.0)
    finally:
        release.set()

    assert next_thread is not hung_on[0]
    assert invoke._run_with_timeout(threading.current_thread, 5.0) is next_thread  # the hung one is not taken back


def test_a_forked_child_does_not_wait_on_its_parents_threads() -> None:
    invoke._run_with_timeout(lambda: None, 5.0)
    assert invoke._idle

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first call must run although no parent thread exists here
        os.close(read)
        try:
            answer = invoke._run_with_timeout(lambda: b"ran", 2.0)
        except BaseException:  # any failure is the child's answer
            answer = b"failed"
        os.write(write, answer)
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as pipe:
        assert pipe.read() == b"ran"
    assert status == 0

"""The rt-app reader: what it accepts, and where and how it says a file is wrong."""

from __future__ import annotations

import pytest

from schedlang.runtime import workloads as vm_workloads
from schedlang.runtime.sim import rtapp
from schedlang.runtime.sim.rtapp import Event, WorkloadError


def error(text: str) -> WorkloadError:
    with pytest.raises(WorkloadError) as caught:
        rtapp.parse(text, "w.json")
    return caught.value


def test_events_in_order_with_numbered_keys_phases_and_thread_properties() -> None:
    text = """{
      "global": {"duration": 2, "calibration": "CPU0", "logdir": "/tmp"},
      "tasks": {
        "worker": {
          "instance": 3, "loop": 5, "delay": 100, "priority": -5, "cpus": [0, 2],
          "phases": {
            "p0": {"loop": 2, "run0": 10, "sleep0": 20, "run1": 30, "runtime": 40},
            "p1": {"timer0": {"ref": "tick", "period": 1000, "mode": "absolute"},
                   "suspend": "", "resume": "worker", "yield": ""}
          }
        }
      }
    }"""
    workload = rtapp.parse(text, "w.json")
    assert workload.name == "w" and workload.duration_ns == 2_000_000_000
    (spec,) = workload.threads
    assert (spec.name, spec.instances, spec.loop, spec.delay_ns, spec.nice) == (
        "worker", 3, 5, 100_000, -5,
    )  # fmt: skip
    assert spec.cpus == frozenset({0, 2})
    p0, p1 = spec.phases
    assert p0.loop == 2
    assert p0.events == (
        Event("run", "run0", ns=10_000),
        Event("sleep", "sleep0", ns=20_000),
        Event("run", "run1", ns=30_000),
        Event("runtime", "runtime", ns=40_000),
    )
    assert p1.events == (
        Event("timer", "timer0", ns=1_000_000, ref="tick", mode="absolute"),
        Event("suspend", "suspend", ref="worker"),  # an empty suspend names the task itself
        Event("resume", "resume", ref="worker"),
        Event("yield", "yield"),
    )


@pytest.mark.parametrize(
    ("text", "where", "message", "hint"),
    [
        (
            '{"tasks": {"a": {"run": 10,}}}',
            (1, 28),
            "bad JSON: expected a quoted key (JSON has no trailing commas)",
            "",
        ),
        (
            '{"tasks": {\n  "a": {"run": 10, "slep": 5}}}',
            (2, 20),
            "unknown key 'slep' in task 'a'",
            "did you mean 'sleep'?",
        ),
        (
            '{"tasks": {"a": {"run": 10, "run": 5}}}',
            (1, 29),
            "bad JSON: duplicate key 'run' (first at line 1); JSON keeps only the last one, so number "
            "repeated events: run0, run1, ...",
            "",
        ),
        (
            '{"tasks": {"a": {"run": 10, "fork0": "b"}}}',
            (1, 29),
            "event 'fork0' is not modelled",
            "threads are created at the start; give the task a delay instead",
        ),
        (
            '{"tasks": {"a": {"policy": "SCHED_FIFO", "run": 10}}}',
            (1, 28),
            "policy SCHED_FIFO is not run by sched_ext, so the simulator has no model of it",
            "use one of SCHED_OTHER, SCHED_IDLE",
        ),
        (
            '{"tasks": {"a": {"run": 10, "resume": "bb"}, "b": {"suspend": "", "run": 1}}}',
            (1, 11),
            "'resume' of 'a' resumes 'bb', which is no task",
            "did you mean 'b'?",
        ),
        (
            '{"tasks": {"a": {"phases": {"p": {"cpus": [1], "run": 1}}}}}',
            (1, 35),
            "'cpus' in a phase is not modelled by the simulator",
            "set 'cpus' on the task",
        ),
        (
            '{"tasks": {"a": {"loop": 0, "run": 1}}}',
            (1, 26),
            "'loop' is 0: the task would do nothing",
            "remove it",
        ),
        (
            '{"tasks": {"a": {"priority": 25, "run": 1}}}',
            (1, 30),
            "'priority' (the nice value) is 25; it must be between -20 and 19",
            "",
        ),
        (
            '{"tasks": {"a": {"resume": "a"}}}',
            (1, 12),
            "task 'a' loops forever without taking time",
            "add a run, sleep or timer event, or a finite 'loop'",
        ),
        (
            '{"tasks": {"a": {"run": "10"}}}',
            (1, 25),
            "'run' (µs) must be an integer, not '10'",
            "",
        ),
        (
            '{"task": {}}',
            (1, 2),
            "unknown key 'task' in the file",
            "did you mean 'tasks'?",
        ),
    ],
)
def test_errors_say_where_what_and_how_to_fix(
    text: str, where: tuple[int, int], message: str, hint: str
) -> None:
    err = error(text)
    assert (err.line, err.col) == where
    assert err.message == message
    assert err.hint == hint
    assert str(err).startswith(f"w.json:{where[0]}:{where[1]}: {message}")


def test_the_shipped_models_are_named_like_the_vm_workloads_they_model() -> None:
    names = rtapp.builtin_names()
    assert names == ("build", "cyclictest", "hackbench", "messaging", "mix", "pipe", "stress-cpu")
    assert set(names) <= set(vm_workloads.WORKLOADS)
    for name in names:
        model = rtapp.load(name)
        assert model.name == name and model.description


def test_an_unknown_workload_name_suggests_the_close_one() -> None:
    with pytest.raises(WorkloadError) as caught:
        rtapp.load("hackbnech")
    assert caught.value.message == "no simulated workload 'hackbnech'"
    assert caught.value.hint.startswith("did you mean 'hackbench'? known: build, cyclictest")


def test_a_missing_file_is_an_error_not_a_traceback(tmp_path: object) -> None:
    with pytest.raises(WorkloadError) as caught:
        rtapp.load("/nonexistent/w.json")
    assert caught.value.message == "cannot read the file: No such file or directory"

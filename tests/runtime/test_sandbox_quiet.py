"""`run_in_guest(quiet_timeout_s=...)`: a command that started and then goes silent (a policy
that livelocked the guest, for `schedlang fuzz --vm`) is killed long before the total timeout,
and what it printed before is kept."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from schedlang.runtime import provision, sandbox


@pytest.mark.vm
def test_a_silent_command_is_killed_after_the_quiet_timeout(tmp_path: Path) -> None:
    try:
        provision.ensure()
    except provision.ProvisionError as exc:
        pytest.skip(f"sandbox cannot be provisioned: {exc}")
    seen: list[str] = []
    started = time.monotonic()
    with pytest.raises(sandbox.GuestTimeout) as err:
        sandbox.run_in_guest(
            "echo one; sleep 1; echo two; sleep 600",
            timeout_s=500,
            quiet_timeout_s=10,
            outdir=tmp_path,
            on_line=seen.append,
        )
    assert "printed nothing for 10 s" in str(err.value)
    assert seen == ["one", "two"] and err.value.result.output == "one\ntwo"
    assert time.monotonic() - started < 300

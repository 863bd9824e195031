"""The README's first command, as a person runs it: the simulator in a real pseudo-terminal, no
environment variables, the runbook journey typed key by key."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

pytestmark = pytest.mark.slow  # real processes, terminals or long journeys: not in the fast tier

ROOT = Path(__file__).resolve().parents[1]


def test_the_simulator_runs_the_journey_in_a_terminal_with_no_environment(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "TERM": "xterm"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "entrypoints.simulator", "--data-dir", str(tmp_path / "data"), "--speed", "20"],
        cwd=str(ROOT), env=env, encoding="utf-8", timeout=30, dimensions=(60, 160),
    )
    try:
        child.expect("Картинки и дизайн")
        child.sendline("1")
        child.expect(r"\[1\] Z-Image")
        child.sendline("1")
        child.expect("Напишите, что нужно сделать")
        child.sendline("test")
        child.expect("Проверьте заказ")
        child.expect("Запустить")
        child.sendline("1")
        child.expect(r"📎 photo: (\S+\.png)")
        result = Path(child.match.group(1))
        child.expect("Ещё раз")
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert result.read_bytes().startswith(b"\x89PNG")
    assert child.exitstatus == 0

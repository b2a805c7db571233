"""The live status line: on a terminal only, quiet with --quiet, erased when done."""

from __future__ import annotations

import io
import time

from siting.cli import _parser, _StatusLine


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_status_line_shows_the_stage_and_its_time_then_erases_itself():
    stream = Terminal()
    status = _StatusLine(quiet=False, stream=stream, interval_s=0.05)
    status.show("plan: demand surface …")
    time.sleep(0.2)  # the ticker redraws the running time meanwhile
    status.show("plan: public …")
    status.clear()
    text = stream.getvalue()
    assert text.count("\r") >= 4 and "plan: demand surface … 0 s" in text and "plan: public … 0 s" in text
    assert text.endswith("\r") and text.rsplit("\r", 2)[-2].strip() == ""  # the line is blanked at the end
    assert status._ticker is None


def test_status_line_is_silent_when_quiet_or_not_a_terminal():
    for status in (_StatusLine(quiet=True, stream=Terminal()), _StatusLine(quiet=False, stream=io.StringIO())):
        status.show("plan: public …")
        status.clear()
        assert status.stream.getvalue() == ""


def test_quiet_works_before_and_after_the_subcommand():
    parser = _parser()
    assert parser.parse_args(["--quiet", "plan"]).quiet is True
    assert parser.parse_args(["plan", "--quiet"]).quiet is True
    assert parser.parse_args(["plan"]).quiet is False
    assert parser.parse_args(["--quiet", "compare", "a", "b"]).quiet is True

"""Tests of the transcript runner and of the shipped flows' transcripts (coverage included)."""

from __future__ import annotations

from flows_helpers import SHIPPED

from flows import run_transcripts
from hotline.commands.flows import demo_help_directory
from routing.gazetteer import default_gazetteer

SHIPPED_FLOWS = {"screening", "witness", "main", "job-check", "rights", "help-near-me"}


def run_shipped(paths=None):
    """Run transcripts against the real gazetteer and the demo directory's help points,
    as the app and `hotline flows test` do."""
    return run_transcripts(paths or [SHIPPED], places=default_gazetteer(),
                           help_directory=demo_help_directory())


def test_shipped_transcripts_pass():
    """Every transcript of the shipped flows passes on each channel against the gazetteer."""
    report = run_shipped()
    assert report.ok, report.summary()
    assert len(report.passed) >= 20


def test_shipped_transcripts_visit_every_node_on_both_channels():
    """Together the transcripts visit every node of every shipped flow on USSD and on SMS."""
    report = run_shipped()
    assert set(report.nodes) == SHIPPED_FLOWS
    for flow_id in report.nodes:
        for channel in ("ussd", "sms"):
            assert report.uncovered(flow_id, channel) == set(), (flow_id, channel)


def test_each_language_has_a_full_path_on_both_channels():
    """Each flow has a test ending in a case in fr, bm and en, run on USSD and SMS."""
    import yaml

    for name in ("screening", "witness"):
        spec = yaml.safe_load((SHIPPED / f"{name}.test.yaml").read_text(encoding="utf-8"))
        languages = {t["case"]["language"] for t in spec["tests"]
                     if isinstance(t.get("case"), dict) and "language" in t["case"]
                     and set(t.get("channels", ["ussd", "sms"])) == {"ussd", "sms"}}
        assert languages == {"fr", "bm", "en"}, name


def write_copy(tmp_path, transform) -> str:
    """Copy the screening flow and a transformed transcript file into tmp_path."""
    (tmp_path / "screening.yaml").write_text(
        (SHIPPED / "screening.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    text = transform((SHIPPED / "screening.test.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "screening.test.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_wrong_expectation_names_file_test_step_and_difference(tmp_path):
    """A failing step reports the file, the test, the channel, the step and what differed."""
    path = write_copy(tmp_path, lambda t: t.replace('expect: "dette"', 'expect: "loyer"'))
    report = run_shipped([path])
    assert not report.ok
    failure = report.failures[0]
    assert failure.path == path and failure.test.startswith("French, not in danger")
    assert failure.step == 10 and "expected 'loyer' in the screen" in failure.message
    assert "dette" in failure.message
    assert {f.channel for f in report.failures} == {"ussd", "sms"}
    assert str(failure).startswith(f"{path}:")


def test_a_wrong_case_expectation_is_reported(tmp_path):
    """The case at the end is compared with what the test expects."""
    path = write_copy(tmp_path, lambda t: t.replace("needs: [shelter, medical]",
                                                    "needs: [shelter]"))
    report = run_shipped([path])
    assert any("case needs: expected ['shelter'], got ['medical', 'shelter']" in f.message
               for f in report.failures)


def test_a_malformed_transcript_file_is_a_problem_with_a_line(tmp_path):
    """Unknown keys in a transcript file are reported with their line."""
    path = write_copy(tmp_path, lambda t: t.replace("      - send: \"2\"\n        expect: "
                                                    "\"Quel âge avez-vous\"",
                                                    "      - sned: \"2\"\n        expect: "
                                                    "\"Quel âge avez-vous\""))
    report = run_shipped([path])
    assert not report.ok and report.problems
    assert "sned" in report.problems[0].message
    assert report.to_dict()["ok"] is False


def test_a_case_place_can_be_checked_per_channel(tmp_path):
    """`place: {ussd: ..., sms: ...}` checks each channel's place on its own."""
    path = write_copy(tmp_path, lambda t: t.replace(
        "place: {ussd: bamako.commune-iv, sms: bamako.commune-iv.lafiabougou}",
        "place: {ussd: bamako.commune-iv, sms: bamako.commune-iv}"))
    report = run_shipped([path])
    [failure] = report.failures
    assert failure.channel == "sms" and failure.test.startswith("French, not in danger")
    assert ("case place: expected 'bamako.commune-iv', got 'bamako.commune-iv.lafiabougou'"
            in failure.message)

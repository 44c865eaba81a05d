"""Tests of `hotline flows check|test` and `hotline simulate`: pure engines, no database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hotline.cases import REFERENCE_ALPHABET, REFERENCE_LENGTH
from hotline.commands.flows import case_profile, flows_group, simulate
from routing.directory import load_demo_providers

SHIPPED = Path(__file__).resolve().parents[1] / "flows" / "shipped"
REFERENCE = re.compile(rf"case ready: reference ([{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}) ")
# With a preset language on USSD: continue; may talk; danger now; 12-17; female; Bamako;
# Commune I; shelter + police; call back yes; police yes.
PRESET_DANGER = ["1", "1", "1", "2", "1", "1", "1", "1 3", "1", "1"]
# As a USSD dial (tests/test_referrals.py): French; ...; region 8 Gao, cercle Gao; shelter.
GAO_DANGER = ["1", "1", "1", "1", "3", "1", "8", "1", "1", "2", "2"]
AT = "2026-01-15T10:00"


@pytest.fixture
def hotline_cli():
    """A `hotline`-like group with the flow commands, as the lead will register them."""

    @click.group()
    def group() -> None:
        """Test group."""

    group.add_command(flows_group)
    group.add_command(simulate)
    return group


def invoke(group, args, stdin=None):
    """Run the group with arguments and optional stdin lines; return the click result."""
    text = None if stdin is None else "".join(f"{line}\n" for line in stdin)
    return CliRunner().invoke(group, args, input=text, catch_exceptions=False)


def broken_copy(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """Write the screening flow with one change; return its path and the changed line."""
    text = (SHIPPED / "screening.yaml").read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    text = text.replace(old, new, 1)
    path = tmp_path / "screening.yaml"
    path.write_text(text, encoding="utf-8")
    first_changed = new.split("\n")[0]
    line = next(i for i, row in enumerate(text.splitlines(), 1) if first_changed in row)
    return path, line


def test_check_passes_on_the_shipped_flows(hotline_cli):
    """`flows check` with no path lints every shipped flow against the gazetteer: no problem."""
    result = invoke(hotline_cli, ["flows", "check"])
    assert result.exit_code == 0, result.output
    assert "6 flow file(s) checked against the gazetteer (20 regions): 0 error(s), 0 warning(s)" \
        in result.output
    assert "error:" not in result.output and "warning:" not in result.output


@pytest.mark.parametrize(("old", "new", "words"), [
    ("        next: debt\n      - value: \"no\"", "        next: debtt\n      - value: \"no\"",
     "unknown node 'debtt'"),
    ('      - when: "danger_now"', '      - when: "danger_now and"', "does not compile"),
    ('      en: "Are you in danger right now?"',
     '      en: "Are you in danger right now? ' + "Please answer. " * 12 + '"',
     "characters; the limit is 182"),
    ("        indicators: [debt_bondage]", "        indicators: [debt_bondagee]",
     "Unknown indicator 'debt_bondagee'"),
], ids=["unknown-target", "bad-expression", "long-ussd-screen", "unknown-indicator"])
def test_check_fails_on_a_broken_copy_naming_file_and_line(hotline_cli, tmp_path, old, new,
                                                          words):
    """A broken copy of a shipped flow exits 1 with `file:line: error: sentence`."""
    path, line = broken_copy(tmp_path, old, new)
    result = invoke(hotline_cli, ["flows", "check", str(path)])
    assert result.exit_code == 1, result.output
    errors = [row for row in result.output.splitlines() if ": error: " in row]
    assert errors and any(row.startswith(f"{path}:{line}: error: ") and words in row
                          for row in errors), result.output


def test_check_json_output_parses(hotline_cli, tmp_path):
    """`--json` prints a JSON list of {path, line, severity, message} and keeps the exit code."""
    path, line = broken_copy(tmp_path, "        next: debt\n", "        next: debtt\n")
    result = invoke(hotline_cli, ["flows", "check", "--json", str(path)])
    assert result.exit_code == 1
    problems = json.loads(result.output)
    assert problems == [{"path": str(path), "line": line, "severity": "error",
                         "message": "Node 'documents' leads to unknown node 'debtt'."}]
    clean = invoke(hotline_cli, ["flows", "check", "--json"])
    assert clean.exit_code == 0 and json.loads(clean.output) == []


def test_check_on_a_missing_file_exits_1(hotline_cli, tmp_path):
    """A path that does not exist is an error, not a crash."""
    result = invoke(hotline_cli, ["flows", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert f"{tmp_path / 'nope.yaml'}:1: error: There is no such file" in result.output


def test_test_passes_on_the_shipped_transcripts_with_coverage(hotline_cli):
    """`flows test` runs every shipped transcript on the gazetteer and reports full coverage."""
    result = invoke(hotline_cli, ["flows", "test"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^\d{2} passed, 0 failed$", result.output, re.M), result.output
    for flow_id in ("screening", "witness", "main", "job-check", "rights", "help-near-me"):
        for channel in ("ussd", "sms"):
            assert re.search(rf"^coverage {flow_id} \[{channel}\]: (\d+)/\1 nodes visited$",
                             result.output, re.M), result.output


def test_a_broken_transcript_fails_naming_test_and_step(hotline_cli, tmp_path):
    """A wrong expectation exits 1 naming the file, the test, the channel and the step."""
    (tmp_path / "screening.yaml").write_text(
        (SHIPPED / "screening.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    text = (SHIPPED / "screening.test.yaml").read_text(encoding="utf-8")
    path = tmp_path / "screening.test.yaml"
    path.write_text(text.replace('expect: "dette"', 'expect: "loyer"'), encoding="utf-8")
    result = invoke(hotline_cli, ["flows", "test", str(path)])
    assert result.exit_code == 1
    for channel in ("ussd", "sms"):
        assert (f"{path}:" in result.output and "test 'French, not in danger, a child "
                f"begging, every indicator question' [{channel}] step 10: expected 'loyer' "
                "in the screen" in result.output), result.output
    assert re.search(r"^\d+ passed, 2 failed$", result.output, re.M)


def demo_provider_names() -> set[str]:
    """Names of every provider in the shipped demo directory."""
    return {provider.name for provider in load_demo_providers()}


def alerted_lines(output: str) -> list[str]:
    """The '- provider ...' lines under the 'who would be alerted' heading."""
    tail = output.split("=== who would be alerted", 1)[1]
    return [row for row in tail.splitlines() if row.startswith("- ")]


@pytest.mark.parametrize(("lang", "closing"), [
    ("fr", "Votre référence : {ref}"), ("bm", "I ka nimoro: {ref}"),
    ("en", "Your reference: {ref}"),
])
def test_simulator_completes_a_screening_in_each_language(hotline_cli, lang, closing):
    """A USSD screening in fr, bm and en ends with the case and who would be alerted."""
    result = invoke(hotline_cli, ["simulate", "--flow", "screening", "--channel", "ussd",
                                  "--lang", lang, "--at", AT], PRESET_DANGER)
    assert result.exit_code == 0, result.output
    reference = REFERENCE.search(result.output).group(1)
    [end] = [row for row in result.output.splitlines() if row.startswith("END ")]
    assert closing.format(ref=reference) in end
    assert "risk: critical (score 7)" in result.output
    assert "immediate_danger raises it to at least critical" in result.output
    assert "place: Commune I, Bamako (bamako.commune-i;" in result.output
    assert "=== who would be alerted" in result.output
    alerted = alerted_lines(result.output)
    assert any(line.startswith("- Centre AJDM, Bamako (demo) [shelter] as shelter")
               for line in alerted), result.output
    names = demo_provider_names()
    assert all(any(name in line for name in names) for line in alerted)
    assert "(session over)" in result.output


def test_simulator_starts_at_the_language_menu_like_a_dial(hotline_cli):
    """Without --lang the caller picks the language; the Gao case alerts Direy Ben."""
    result = invoke(hotline_cli, ["simulate", "--at", AT], GAO_DANGER)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == "CON Langue / Kan / Language:"
    assert "place: Gao (gao.gao;" in result.output
    alerted = alerted_lines(result.output)
    assert any(line.startswith("- Centre Direy Ben, Gao (demo) [shelter]") for line in alerted)
    assert 'exception "danger_to_life" applies' in result.output


def test_simulator_shows_ussd_length_and_sms_encoding(hotline_cli):
    """USSD screens carry CON and their length; SMS screens their encoding and segments."""
    ussd = invoke(hotline_cli, ["simulate", "--lang", "fr"], [])
    assert re.search(r"^CON Ce service est gratuit", ussd.output, re.M)
    assert re.search(r"\[USSD, \d+/182 characters\]", ussd.output)
    sms = invoke(hotline_cli, ["simulate", "--channel", "sms", "--lang", "bm"],
                 ["ok", "1", "1", "3", "1", "Paris", "98"])
    assert "[SMS, UCS-2, 2 segment(s), 121 units]" in sms.output
    assert re.search(r"\[SMS, UCS-2, [123] segment\(s\), \d+ units, page 1/2\]", sms.output)
    assert "21. N t'a dɔn" in sms.output and "page 2/2" in sms.output


def test_simulator_accepts_help_back_and_stop(hotline_cli):
    """AIDE repeats with a hint, 0 goes back on USSD, STOP ends and forgets; no case."""
    result = invoke(hotline_cli, ["simulate"], ["1", "AIDE", "0", "1", "1", "STOP"])
    assert result.exit_code == 0, result.output
    screens = [row for row in result.output.splitlines() if row.startswith(("CON ", "END "))]
    assert screens[2].startswith("CON Envoyez n'importe quelle réponse pour continuer.")
    assert screens[3] == "CON Langue / Kan / Language:"
    assert screens[-1].startswith("END Conversation arrêtée et effacée")
    assert "[STOP: the session was ended" in result.output
    assert "case ready" not in result.output and "(session over)" in result.output


def test_simulator_stops_at_end_of_input(hotline_cli):
    """When stdin ends mid-conversation the simulator says so and exits 0."""
    result = invoke(hotline_cli, ["simulate", "--channel", "sms"], ["1"])
    assert result.exit_code == 0
    assert result.output.rstrip().endswith("(end of input: the session is left unfinished)")


def test_simulator_refuses_an_unknown_flow_or_language(hotline_cli, tmp_path):
    """An unknown flow id, a language the flow lacks, or a broken --file are usage errors."""
    unknown = CliRunner().invoke(hotline_cli, ["simulate", "--flow", "../screening"])
    assert unknown.exit_code == 2
    assert "the shipped flows are help-near-me, job-check, main, rights, screening, witness" in unknown.output
    lang = CliRunner().invoke(hotline_cli, ["simulate", "--lang", "son"])
    assert lang.exit_code == 2 and "has no language 'son'" in lang.output
    path, line = broken_copy(tmp_path, "        next: debt\n", "        next: debtt\n")
    broken = CliRunner().invoke(hotline_cli, ["simulate", "--file", str(path)])
    assert broken.exit_code == 1 and f"{path}:{line}: error:" in broken.output


def test_check_names_a_switch_to_an_unknown_flow_with_file_and_line(hotline_cli, tmp_path):
    """A menu option starting a flow that is neither checked with it nor shipped is an error at its line."""
    text = (SHIPPED / "main.yaml").read_text(encoding="utf-8").replace("flow: rights", "flow: rigths")
    path = tmp_path / "main.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "flow: rigths" in row)
    result = invoke(hotline_cli, ["flows", "check", str(path)])
    assert result.exit_code == 1, result.output
    assert f"{path}:{line}: error: Node 'menu' starts flow 'rigths', which is not a known flow" in result.output
    # Checked together, a copied flow may be the target.
    (tmp_path / "rigths.yaml").write_text(
        (SHIPPED / "rights.yaml").read_text(encoding="utf-8").replace("id: rights", "id: rigths"),
        encoding="utf-8")
    together = invoke(hotline_cli, ["flows", "check", str(tmp_path)])
    assert together.exit_code == 0, together.output


def test_simulator_follows_the_main_menu_into_help_near_me(hotline_cli):
    """`simulate --flow main` switches to help-near-me and lists the demo directory's help in Gao."""
    result = invoke(hotline_cli, ["simulate", "--flow", "main"], ["1", "4", "8", "1"])
    assert result.exit_code == 0, result.output
    assert "[switch: main hands over to help-near-me 2025.1, language fr]" in result.output
    assert "CON Aide près de Gao :" in result.output
    assert "Gao, tél +22320000201" in result.output


def test_case_profile_uses_the_apps_mapping_to_routing_terms():
    """Flow answers 26_40, undisclosed and legal_aid become 26_plus, unknown and legal."""
    case = {"case_ref": "ACDE34", "risk_level": "medium", "danger_now": False,
            "age_band": "26_40", "sex": "undisclosed", "needs": ["legal_aid", "shelter"],
            "language": "bm", "place": None, "consent": {"callback": True, "police": False}}
    profile, unknown = case_profile(case)
    assert (profile.age_band, profile.sex) == ("26_plus", "unknown")
    assert profile.needs == frozenset({"legal", "shelter"}) and unknown == []
    assert profile.place is None and profile.consent_callback and not profile.consent_police


def test_the_commands_work_in_the_hotline_cli_without_services(monkeypatch):
    """Registered on `hotline.cli.cli`, the commands run with no reachable database or Redis."""
    from hotline.cli import cli

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    added = []
    for command in (flows_group, simulate):
        if command.name not in cli.commands:  # the lead's registration may already be there
            cli.add_command(command)
            added.append(command.name)
    try:
        check = CliRunner().invoke(cli, ["flows", "check"])
        assert check.exit_code == 0, check.output
        run = CliRunner().invoke(cli, ["simulate", "--at", AT], input="".join(
            f"{line}\n" for line in GAO_DANGER))
        assert run.exit_code == 0, run.output
        assert "=== who would be alerted" in run.output
    finally:
        for name in added:
            cli.commands.pop(name, None)

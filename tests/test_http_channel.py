"""A gateway connected by YAML only: the shipped example aggregator runs a screening end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline import create_app
from hotline.channels.generic_http import ChannelConfigError, load_channel_config
from tests.referral_helpers import BAMAKO_DANGER

EXAMPLE = Path(__file__).resolve().parent.parent / "hotline" / "channels" / "examples" / "aggregator-ussd.yaml"
TOKEN = "aggregator-secret"


@pytest.fixture
def app_overrides(monkeypatch):
    monkeypatch.setenv("EXAMPLE_USSD_TOKEN", TOKEN)
    return {"HOTLINE_HTTP_CHANNELS": str(EXAMPLE)}


def hop(client, session_id: str, text: str, request_id: str, token: str = TOKEN):
    return client.post(f"/webhooks/http/example-ussd?key={token}", json={
        "sessionId": session_id, "msisdn": "76 50 00 01", "input": text, "shortCode": "*8000#",
        "requestId": request_id})


def test_example_aggregator_runs_a_full_screening(app, client):
    """Newest-input hops in JSON get JSON replies with FC until the closing FB that carries the reference."""
    answers = [hop(client, "AGG-1", "", "r0").get_json()]
    for number, text in enumerate(BAMAKO_DANGER, start=1):
        answers.append(hop(client, "AGG-1", text, f"r{number}").get_json())
    assert [a["action"] for a in answers[:-1]] == ["FC"] * (len(answers) - 1)
    assert answers[-1]["action"] == "FB"
    assert "référence" in answers[-1]["message"]


def test_a_retried_hop_is_answered_again_without_a_step(app, client):
    """The aggregator's retry of a hop (same requestId) gets the same screen and does not advance."""
    hop(client, "AGG-2", "", "r0")
    first = hop(client, "AGG-2", "1", "r1").get_json()
    again = hop(client, "AGG-2", "1", "r1").get_json()
    assert first == again
    following = hop(client, "AGG-2", "1", "r2").get_json()
    assert following != first


def test_wrong_token_and_missing_field_are_refused(app, client):
    """A wrong key is a 403; a hop without the caller's number is a 400 naming the field."""
    assert hop(client, "AGG-3", "", "r0", token="nope").status_code == 403
    response = client.post(f"/webhooks/http/example-ussd?key={TOKEN}", json={"sessionId": "AGG-3", "input": ""})
    assert (response.status_code, response.get_data(as_text=True)) == (400, "missing field 'msisdn'")
    assert client.post(f"/webhooks/http/nobody?key={TOKEN}", json={}).status_code == 404


def test_a_broken_channel_file_names_the_file_and_the_problem(tmp_path):
    """A channel file with an unknown setting is refused at start, naming the file and the setting."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(EXAMPLE.read_text().replace("text_mode: latest", "text_mode: latest\n  colour: blue"))
    with pytest.raises(ChannelConfigError) as refused:
        load_channel_config(broken)
    assert str(broken) in str(refused.value) and "request.colour" in str(refused.value)


def test_a_channel_whose_token_variable_is_unset_refuses_to_start(tmp_path, monkeypatch):
    """Starting with a channel whose token variable is missing fails, naming the variable."""
    monkeypatch.delenv("EXAMPLE_USSD_TOKEN", raising=False)
    with pytest.raises(ChannelConfigError, match="EXAMPLE_USSD_TOKEN"):
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
                    "HOTLINE_HTTP_CHANNELS": str(EXAMPLE)})

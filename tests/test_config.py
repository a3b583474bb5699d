"""`quizzer config`: JSON for scripts, and a negative number refused for what it is."""

from __future__ import annotations

import json

from helpers import Invoke


def test_config_json_lists_gets_and_sets(invoke: Invoke) -> None:
    listed = invoke("config", "--json")
    assert listed.exit_code == 0, listed.output
    settings = json.loads(listed.output)
    assert settings["new-per-day"] == 10 and settings["leech-threshold"] == 8
    assert settings["scheduler"] == "sm2"
    assert json.loads(invoke("config", "new-per-day", "15", "--json").output) == {"new-per-day": 15}
    assert json.loads(invoke("config", "new-per-day", "--json").output) == {"new-per-day": 15}
    assert invoke("config", "new-per-day").output == "15\n"


def test_a_negative_value_is_refused_with_the_reason(invoke: Invoke) -> None:
    assert invoke("config", "new-per-day", "7").exit_code == 0
    refused = invoke("config", "new-per-day", "-1")
    assert refused.exit_code == 1
    assert refused.output == "Error: new-per-day: must not be negative\n"
    assert invoke("config", "new-per-day").output == "7\n"

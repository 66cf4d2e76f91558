import pytest
import yaml

from services.application.command import (
    check_command,
    check_names,
    disabled_checks_layer,
    label_for,
    layer_text,
)
from services.application.model import ModelError
from services.common.errors import Failure
from services.plan.plan.parse import parse_layer


def test_a_command_becomes_a_one_service_layer_that_replaces():
    command = check_command("web", {"command": "sleep 100", "environment": {"A": "1"}, "override": "merge"})
    assert command == {"command": "sleep 100", "environment": {"A": "1"}}
    text = layer_text("web", command, summary="shoal application web, deployment 3")
    layer = parse_layer(0, label_for("web"), text)
    assert list(layer.services) == ["web"]
    service = layer.services["web"]
    assert service.override == "replace" and service.command == "sleep 100" and service.environment == {"A": "1"}
    assert yaml.safe_load(text)["summary"] == "shoal application web, deployment 3"


def test_whole_numbers_from_json_stay_integers():
    command = check_command("web", {"command": "x", "user-id": 1000.0, "backoff-factor": 1.5})
    assert command["user-id"] == 1000 and isinstance(command["user-id"], int)
    assert parse_layer(0, "app-web", layer_text("web", command)).services["web"].user_id == 1000


@pytest.mark.parametrize(
    "command, message",
    [
        (None, "Command is empty"),
        ({}, "Command is empty"),
        ({"environment": {"A": "1"}}, 'must give "command"'),
        ({"command": "  "}, 'must give "command"'),
        ({"command": "sleep 'x"}, 'plan service "web" command invalid'),
        ({"command": "x", "bogus": 1}, "field bogus not found in type plan.Service"),
        ({"command": "x", "on-failure": "explode"}, 'on-failure action "explode" invalid'),
        ({"command": "x", "environment": ["A=1"]}, "cannot unmarshal"),
    ],
)
def test_bad_commands_are_refused_with_the_plans_own_messages(command, message):
    with pytest.raises(ModelError, match=message) as caught:
        check_command("web", command)
    assert caught.value.failure is Failure.INVALID


def test_checks_travel_in_the_layer_and_the_deployment_in_the_environment():
    command = check_command("web", {"command": "sleep 100", "environment": {"A": "1"},
                                    "checks": {"web.up": {"level": "ready", "exec": {"command": "true"},
                                                          "override": "merge"}}})
    assert command["checks"] == {"web.up": {"level": "ready", "exec": {"command": "true"}}}
    assert check_names(command) == ["web.up"]
    layer = parse_layer(0, label_for("web"), layer_text("web", command, deployment=7))
    assert layer.services["web"].environment == {"A": "1", "SHOAL_DEPLOYMENT": "7"}
    assert layer.checks["web.up"].override == "replace" and layer.checks["web.up"].level == "ready"


@pytest.mark.parametrize("checks", [["web.up"], {"web.up": "true"}])
def test_checks_must_be_named_check_definitions(checks):
    with pytest.raises(ModelError, match="Command checks must map each check's name to its Pebble fields"):
        check_command("web", {"command": "x", "checks": checks})


def test_a_bad_check_is_refused_with_the_plans_message():
    with pytest.raises(ModelError, match="invalid Command"):
        check_command("web", {"command": "x", "checks": {"web": {"level": "sometimes", "exec": {"command": "true"}}}})


@pytest.mark.parametrize("check", ["up", "web-up", "webby.up", ""])
def test_a_check_is_named_after_its_application(check):
    with pytest.raises(ModelError, match=f'check "{check}" must be named "web" or "web.SOMETHING"'):
        check_command("web", {"command": "x", "checks": {check: {"exec": {"command": "true"}}}})


def test_a_rollback_keeps_the_new_checks_but_never_starts_them():
    command = check_command("web", {"command": "x", "checks": {"web.up": {"level": "ready", "exec": {"command": "true"}},
                                                              "web.old": {"exec": {"command": "true"}}}})
    layer = parse_layer(0, label_for("web"), disabled_checks_layer(command, ["web.up"]))
    assert list(layer.checks) == ["web.up"] and not layer.services
    check = layer.checks["web.up"]
    assert (check.override, check.startup, check.level) == ("replace", "disabled", "ready")

"""The settings table: it drives the parser, and environment() renders values the parser reads back unchanged."""

import dataclasses

import pytest

from serving.settings import BY_FIELD, SETTINGS, Settings, environment, parse_settings

# One value per setting, none of them its default, so a round trip that dropped a variable would show.
SAMPLES = {
    "model_uri": "models:/churn@champion", "host": "0.0.0.0", "port": 9123, "workers": 3, "model_name": "churn-v2",
    "batching": False, "max_batch_size": 17, "max_batch_wait_ms": 2.5, "request_timeout": 7.25, "read_timeout": 3.5,
    "keep_alive_timeout": 1.5, "max_connections": 99,
    "max_body_bytes": 123456, "memory_budget_bytes": 654321, "access_log": False, "load_retries": 5, "graceful_timeout": 4.5,
    "numeric_threads": 2, "requirements_check": "strict",
}


def test_the_table_names_every_settings_field_once():
    assert [setting.field for setting in SETTINGS] == [field.name for field in dataclasses.fields(Settings)]
    variables = [setting.variable for setting in SETTINGS]
    flags = [flag for setting in SETTINGS for flag in setting.flags]
    assert len(set(variables)) == len(variables) and len(set(flags)) == len(flags)


def test_environment_round_trips_through_the_parser_for_every_setting():
    assert set(SAMPLES) == set(BY_FIELD), "every setting needs a sample value here"
    parsed = parse_settings(argv=[], env=environment(SAMPLES))
    assert dataclasses.asdict(parsed) == SAMPLES
    for setting in SETTINGS:
        assert getattr(parsed, setting.field) != setting.default, setting.field


@pytest.mark.parametrize("field", sorted(SAMPLES))
def test_each_setting_alone_round_trips(field):
    values = {"model_uri": "m", field: SAMPLES[field]}
    assert getattr(parse_settings(argv=[], env=environment(values)), field) == SAMPLES[field]


def test_environment_of_the_stack_values():
    values = {"model_uri": "models:/churn@champion", "host": "0.0.0.0", "port": 8080, "workers": 1,
              "max_batch_size": 64, "max_batch_wait_ms": 0}
    rendered = environment(values)
    assert rendered == {"MODEL_URI": "models:/churn@champion", "HOST": "0.0.0.0", "PORT": "8080", "WORKERS": "1",
                        "MAX_BATCH_SIZE": "64", "MAX_BATCH_WAIT_MS": "0"}
    assert list(rendered) == ["MODEL_URI", "HOST", "PORT", "WORKERS", "MAX_BATCH_SIZE", "MAX_BATCH_WAIT_MS"]
    assert environment({"batching": True, "access_log": False}) == {"BATCHING": "true", "ACCESS_LOG": "false"}


def test_environment_refuses_an_unknown_setting_by_name():
    with pytest.raises(KeyError, match="max_batch_sise"):
        environment({"max_batch_sise": 3})


@pytest.mark.parametrize("field, value", [
    ("port", "8080"), ("port", True), ("port", 70000), ("workers", 0), ("batching", 1), ("max_batch_wait_ms", -1),
    ("request_timeout", float("nan")), ("requirements_check", "loud"), ("model_uri", 3),
])
def test_environment_refuses_a_value_the_server_would_not_accept(field, value):
    with pytest.raises(ValueError, match=field):
        environment({field: value})


def test_flags_and_short_options_still_work():
    parsed = parse_settings(["-m", "models:/a/1", "-H", "0.0.0.0", "-p", "81", "-w", "2", "--no-batching",
                             "--max-batch-size", "8", "--max-batch-wait-ms", "1.5", "--request-timeout", "3",
                             "--no-access-log", "--requirements-check", "off"], env={})
    assert (parsed.model_uri, parsed.host, parsed.port, parsed.workers, parsed.batching) == ("models:/a/1", "0.0.0.0", 81, 2, False)
    assert (parsed.max_batch_size, parsed.max_batch_wait_ms, parsed.request_timeout) == (8, 1.5, 3.0)
    assert (parsed.access_log, parsed.requirements_check) == (False, "off")


def test_a_flag_overrides_its_variable():
    assert parse_settings(["--port", "81"], env={"MODEL_URI": "m", "PORT": "82"}).port == 81


def test_unset_settings_take_the_table_defaults():
    parsed = parse_settings([], env={"MODEL_URI": "m"})
    for setting in SETTINGS:
        if setting.default is not None:
            assert getattr(parsed, setting.field) == setting.default, setting.field
    assert parsed.model_name is None and parsed.numeric_threads >= 1


@pytest.mark.parametrize("variable, raw", [("PORT", "eighty"), ("BATCHING", "maybe"), ("WORKERS", "0"),
                                           ("REQUIREMENTS_CHECK", "loud"), ("REQUEST_TIMEOUT_SECONDS", "inf")])
def test_a_bad_variable_fails_with_one_line_naming_it(variable, raw, capsys):
    with pytest.raises(SystemExit):
        parse_settings([], env={"MODEL_URI": "m", variable: raw})
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert variable in error and repr(raw) in error


def test_a_model_is_required(capsys):
    with pytest.raises(SystemExit):
        parse_settings([], env={})
    assert "MODEL_URI" in capsys.readouterr().err


def test_help_names_every_variable(capsys):
    with pytest.raises(SystemExit):
        parse_settings(["--help"], env={})
    text = capsys.readouterr().out
    assert all(setting.variable in text for setting in SETTINGS)


def test_docs_serving_md_lists_the_settings_as_the_table_does():
    from serving.settings import reference_table
    from tests.serving.testkit import REPO

    text = (REPO / "docs" / "serving.md").read_text()
    start, end = "<!-- settings-reference:start -->\n", "\n<!-- settings-reference:end -->"
    assert text[text.index(start) + len(start):text.index(end)] == reference_table()

"""The engine run's stand-in for pulumi-random honours RandomPassword's contract (default tier: no engine needed)."""
import string
import warnings

import pytest

from .random_standin import password

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt


def checked(**news) -> dict:
    inputs, failures = password.with_defaults(news)
    assert failures == []
    return inputs


def test_defaults_are_the_providers_and_numbers_are_whole():
    inputs = checked(length=32.0)
    assert inputs["length"] == 32 and isinstance(inputs["length"], int)
    assert all(inputs[flag] for flag in ("upper", "lower", "numeric", "number", "special"))
    assert all(inputs[key] == 0 for key in ("minUpper", "minLower", "minNumeric", "minSpecial"))


def test_result_has_the_length_and_only_the_enabled_classes():
    result = password.generate(checked(length=64, special=False))
    assert len(result) == 64
    assert set(result) <= set(string.ascii_letters + string.digits)


def test_minimums_of_each_class_are_met():
    for _ in range(20):
        result = password.generate(checked(length=8, minUpper=2, minLower=2, minNumeric=2, minSpecial=2))
        assert sum(c.isupper() for c in result) >= 2 and sum(c.islower() for c in result) >= 2
        assert sum(c.isdigit() for c in result) >= 2 and sum(c in password.DEFAULT_SPECIAL for c in result) >= 2


def test_override_special_replaces_the_special_characters():
    result = password.generate(checked(length=40, upper=False, lower=False, numeric=False, overrideSpecial="#"))
    assert result == "#" * 40


def test_number_false_turns_the_numeric_class_off_like_numeric_false():
    inputs = checked(length=50, number=False)
    assert inputs["numeric"] is False
    assert not any(c.isdigit() for c in password.generate(inputs))


def test_each_password_is_new_and_its_bcrypt_hash_verifies():
    first, second = password.outputs(checked(length=32)), password.outputs(checked(length=32))
    assert first["result"] != second["result"]
    assert first["bcryptHash"].startswith("$2b$10$")
    assert crypt.crypt(first["result"], first["bcryptHash"]) == first["bcryptHash"]


@pytest.mark.parametrize("news, reason", [
    ({"length": 0}, "at least 1"),
    ({"length": 3, "minUpper": 2, "minNumeric": 2}, "sum of the minimums"),
    ({"length": 8, "upper": False, "lower": False, "numeric": False, "special": False}, "at least one of"),
])
def test_impossible_inputs_fail_check_on_length(news, reason):
    _, failures = password.with_defaults(news)
    assert [prop for prop, _ in failures] == ["length"] and reason in failures[0][1]


def test_any_changed_input_replaces_and_an_unchanged_one_does_not():
    olds = password.outputs(checked(length=32, special=False, keepers={"model": "7"}))
    assert password.replacing_keys(olds, checked(length=32, special=False, keepers={"model": "7"})) == []
    assert password.replacing_keys(olds, checked(length=32, special=False, keepers={"model": "8"})) == ["keepers"]
    assert password.replacing_keys(olds, checked(length=33, special=False, keepers={"model": "7"})) == ["length"]

"""The server's check of a model's requirements.txt and Python version against what the image has installed."""
import logging
import sys
from importlib import metadata

from serving.requirements_check import check_requirements


def _only_skinny_installed(versions: dict[str, str]):
    def version(name: str) -> str:
        if name not in versions:
            raise metadata.PackageNotFoundError(name)
        return versions[name]
    return version


def test_mlflow_skinny_meets_a_models_mlflow_requirement_at_its_version(tmp_path, monkeypatch):
    (tmp_path / "requirements.txt").write_text("mlflow==3.17.2\nMLflow>=3\n")
    monkeypatch.setattr(metadata, "version", _only_skinny_installed({"mlflow-skinny": "3.17.2"}))
    assert check_requirements(str(tmp_path)) == ([], [])


def test_mlflow_skinny_at_another_version_is_a_mismatch(tmp_path, monkeypatch):
    (tmp_path / "requirements.txt").write_text("mlflow==3.16.0\n")
    monkeypatch.setattr(metadata, "version", _only_skinny_installed({"mlflow-skinny": "3.17.2"}))
    assert check_requirements(str(tmp_path)) == ([], ["mlflow==3.16.0 (installed 3.17.2)"])


def test_a_package_nothing_provides_is_missing(tmp_path, monkeypatch):
    (tmp_path / "requirements.txt").write_text("mlflow==3.17.2\nlightgbm==4.6.0  # a flavor\n")
    monkeypatch.setattr(metadata, "version", _only_skinny_installed({"mlflow-skinny": "3.17.2"}))
    assert check_requirements(str(tmp_path)) == (["lightgbm==4.6.0"], [])


def test_a_model_logged_with_another_python_is_served_with_a_warning(caplog):
    from serving.model import _warn_on_other_python

    with caplog.at_level(logging.WARNING, logger="serving"):
        _warn_on_other_python("2.7.18")
        _warn_on_other_python(".".join(map(str, sys.version_info[:3])))
        _warn_on_other_python(None)
    running = ".".join(map(str, sys.version_info[:2]))
    assert [record.getMessage() for record in caplog.records] == [
        f"the model was logged with Python 2.7.18 and is served with Python {running}"]

"""The server's check of a model's requirements.txt against what the image has installed."""
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

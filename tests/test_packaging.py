"""What a stranger installs: a wheel and an sdist with their licence, data and metadata;
a pre-commit hook for deck repositories; a public CI workflow that its schema accepts."""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import quizzer

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    if found is None:
        pytest.fail(f"{name} is not installed; install the test group: pip install --group test .")
    return found


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel and an sdist built from this checkout (hatchling from the test group)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def test_the_wheel_and_sdist_pass_twine_check(dist: Path) -> None:
    files = sorted(dist.iterdir())
    assert sorted(f.suffix for f in files) == [".gz", ".whl"], files
    result = subprocess.run(
        [_tool("twine"), "check", "--strict", *map(str, files)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_wheel_holds_licence_decks_migrations_and_schema(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    assert wheel.name == f"quizzer_srs-{quizzer.__version__}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    info = f"quizzer_srs-{quizzer.__version__}.dist-info"
    assert f"{info}/licenses/LICENSE" in names
    bundled = sorted(p.name for p in (ROOT / "decks").glob("*.yaml"))
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("quizzer/_data/decks/")) == (
        bundled
    )
    revisions = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("0*.py"))
    assert revisions and all(f"quizzer/_data/migrations/versions/{r}" in names for r in revisions)
    assert "quizzer/_data/migrations/env.py" in names
    assert "quizzer/_data/schema/quizzer-deck.schema.json" in names
    assert "quizzer/py.typed" in names
    assert "quizzer/bundled_html.json" in names  # the bundled decks' code, highlighted
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]


def test_the_metadata_is_complete(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(f"quizzer_srs-{quizzer.__version__}.dist-info/METADATA").decode()
    meta = email.parser.Parser().parsestr(text)
    assert meta["Name"] == "quizzer-srs"
    assert meta["Version"] == quizzer.__version__
    assert meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["Author"] or meta["Author-email"]
    assert "spaced-repetition" in meta["Keywords"]
    classifiers = meta.get_all("Classifier") or []
    for wanted in ("Programming Language :: Python :: 3.13", "Operating System :: POSIX :: Linux"):
        assert wanted in classifiers
    # Developer tools are a dependency group, not a public extra.
    assert meta.get_all("Provides-Extra") == ["postgres"]
    assert meta["Description-Content-Type"] == "text/markdown"


def test_the_sdist_holds_what_rebuilds_and_tests_it(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for wanted in ("LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "alembic.ini"):
        assert wanted in names
    assert "schema/quizzer-deck.schema.json" in names
    assert "docs/architecture.md" in names
    assert "tests/conftest.py" in names


def test_the_public_workflow_is_valid() -> None:
    workflow = ROOT / ".github" / "workflows" / "ci.yml"
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = workflow.read_text()
    # It mirrors .ci/run: the README's install and test command.
    assert "pip install --group test ." in text and ".venv/bin/pytest" in text
    assert "--group test ." in (ROOT / ".ci" / "run").read_text()

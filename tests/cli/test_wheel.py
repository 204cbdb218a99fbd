"""A built wheel installs only `roomwire` (no generic top-level names such as `spec`), carries every module and
data file of the mapped folders and none of the benchmarks (`bench/`, built alongside), and works when installed:
its schemas, SPEC.md and fixtures load."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DIST_INFO = re.compile(r"^roomwire-[^/]+\.dist-info/")

#: Subprocesses run without coverage's subprocess patch: the build measures nothing of ours, and the installed
#: copy would be reported as a second, uncovered `roomwire` under its temporary path.
PLAIN_ENV = {name: value for name, value in os.environ.items() if not name.startswith("COVERAGE")}


def _folders() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("roomwire_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # setup.py calls setup() only as __main__
    folders: dict[str, str] = module.FOLDERS
    return folders


def _project_files() -> list[str]:
    """The files a clean checkout would have: tracked and untracked-but-not-ignored (git), else a plain walk."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):  # pragma: no cover - a source tree without git
        listed = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return [name for name in listed if (ROOT / name).is_file()]


def _packaged(name: str, folders: dict[str, str]) -> bool:
    """A module or data file of a mapped folder (not tests, caches, or VCS dotfiles such as .gitattributes)."""
    parts = name.split("/")
    return (
        len(parts) > 1
        and parts[0] in folders
        and "tests" not in parts
        and "__pycache__" not in parts
        and not parts[-1].startswith(".")
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Build a wheel from a copy of the tree (so no build/ or egg-info lands in it) and list what it should hold.

    The copy has `bench/` too, as a clone has: the wheel must leave it out by setup.py's mapping, not by luck."""
    folders = _folders()
    source = tmp_path_factory.mktemp("source")
    top = ("setup.py", "pyproject.toml", "README.md")
    files = [n for n in _project_files() if _packaged(n, folders) or n in top or n.startswith("bench/")]
    for name in files:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    command = [
        sys.executable,
        "-m",
        "build",
        "--wheel",
        "--no-isolation",
        "--skip-dependency-check",
        "--outdir",
        str(dist),
        str(source),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=PLAIN_ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = dist.glob("roomwire-*.whl")
    return wheel, [n for n in files if _packaged(n, folders)]


def test_the_wheel_installs_only_roomwire(built: tuple[Path, list[str]]) -> None:
    wheel, _ = built
    names = zipfile.ZipFile(wheel).namelist()
    strays = [n for n in names if not n.startswith("roomwire/") and not DIST_INFO.match(n)]
    assert strays == []
    top_level = [n for n in names if n.endswith(".dist-info/top_level.txt")]
    if top_level:
        assert zipfile.ZipFile(wheel).read(top_level[0]).decode().split() == ["roomwire"]


def test_every_module_and_data_file_of_the_mapped_folders_is_in_the_wheel(built: tuple[Path, list[str]]) -> None:
    wheel, expected = built
    folders = _folders()
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = []
    for name in expected:
        folder, rest = name.split("/", 1)
        target = "/".join([*folders[folder].split("."), rest])
        if target not in names:
            missing.append(name)
    assert missing == [], "not in the wheel (add the file type to [tool.setuptools.package-data]?)"
    assert not [n for n in names if "/tests/" in n or "__pycache__" in n]


def test_no_benchmark_module_is_in_the_wheel(built: tuple[Path, list[str]]) -> None:
    names = zipfile.ZipFile(built[0]).namelist()
    assert (ROOT / "bench" / "run.py").is_file()  # the benchmarks exist in the tree the wheel was built from
    assert [n for n in names if "bench" in n.split("/")] == []
    assert not [n for n in names if n.endswith(("node_ws.py", "scaleout.py", "ceiling.py"))]


def test_the_spec_and_its_data_are_inside(built: tuple[Path, list[str]]) -> None:
    names = set(zipfile.ZipFile(built[0]).namelist())
    for required in [
        "roomwire/spec/SPEC.md",
        "roomwire/spec/asyncapi.yaml",
        "roomwire/spec/schemas/client-frame.schema.json",
        "roomwire/spec/schemas/server/system.schema.json",
        "roomwire/spec/vendor/asyncapi-3.0.0.schema.json",
        "roomwire/fixtures/frames/invalid/manifest.json",
        "roomwire/fixtures/frames/seed/client/user_msg.json",
    ]:
        assert required in names


def test_the_installed_wheel_works(built: tuple[Path, list[str]], tmp_path: Path) -> None:
    target = tmp_path / "site"
    install = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-compile",
        "--target",
        str(target),
        str(built[0]),
    ]
    subprocess.run(install, check=True, capture_output=True, timeout=300, env=PLAIN_ENV)
    assert {p.name for p in target.iterdir()} - {"bin"} <= {"roomwire"} | {
        p.name for p in target.glob("roomwire-*.dist-info")
    }
    probe = (
        "import roomwire, roomwire.spec.selfcheck as s, roomwire.fixtures as f; "
        "print(roomwire.__file__); "
        "assert all(c.ok for c in s.run_checks({'fixtures': f.fixture_problems})), s.run_checks()"
    )
    env = {**PLAIN_ENV, "PYTHONPATH": str(target)}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().startswith(str(target))

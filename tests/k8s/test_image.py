"""The container image, built for real with podman (chroot isolation, local Debian base).

``scripts/image/build.sh`` makes the base image once with debootstrap and builds the
Dockerfile on top of it; a warm build reuses podman's layer cache and takes seconds. The
checks look inside the image without a container runtime: ``podman image mount`` and
``chroot`` as the image's own non-root user.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(3600)]

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "scripts" / "image" / "build.sh"
IMAGE = os.environ.get("TELESNIFF_TEST_IMAGE", "localhost/telesniff:dev")
VENV = "/opt/telesniff"
UID = 10001


def _version() -> str:
    text = (REPO / "src" / "telesniff" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    assert match
    return match.group(1)


def _podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=check
    )


@pytest.fixture(scope="module")
def image() -> str:
    """Build (or, with the layer cache, rebuild in seconds) the project image."""
    if os.geteuid() != 0 and shutil.which("sudo") is None:
        pytest.skip("building the image needs root (podman, debootstrap)")
    began = time.monotonic()
    proc = subprocess.run(
        ["bash", str(BUILD)],
        env={**os.environ, "IMAGE": IMAGE},
        capture_output=True,
        text=True,
        timeout=3000,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        pytest.fail(f"{BUILD} failed:\n{tail}")
    print(f"image {IMAGE} built in {time.monotonic() - began:.0f} s")
    return IMAGE


@pytest.fixture(scope="module")
def config(image: str) -> dict[str, Any]:
    (inspected,) = json.loads(_podman("image", "inspect", image).stdout)
    result: dict[str, Any] = inspected["Config"]
    return result


@pytest.fixture(scope="module")
def rootfs(image: str) -> Iterator[Path]:
    mount = Path(_podman("image", "mount", image).stdout.strip())
    try:
        yield mount
    finally:
        _podman("image", "unmount", image, check=False)


def _chroot(rootfs: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run a command inside the image's filesystem as the image's user."""
    chroot = shutil.which("chroot") or shutil.which("chroot", path="/usr/sbin:/sbin")
    assert chroot, "chroot (coreutils) is missing"
    return subprocess.run(
        [chroot, f"--userspec={UID}:{UID}", str(rootfs), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": f"{VENV}/bin:/usr/bin:/bin", "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"},
    )


def test_the_image_runs_as_a_non_root_user(config: dict[str, Any]) -> None:
    user = str(config.get("User", ""))
    assert user, "the image sets no USER, so it would run as root"
    uid, _, gid = user.partition(":")
    assert uid == str(UID)
    assert gid == str(UID)


def test_the_entrypoint_is_telesniff(config: dict[str, Any]) -> None:
    assert config["Entrypoint"] == ["telesniff"]
    env = dict(item.split("=", 1) for item in config.get("Env", []))
    assert env["PATH"].split(":")[0] == f"{VENV}/bin"


def test_telesniff_version_runs_inside_the_image(rootfs: Path) -> None:
    proc = _chroot(rootfs, f"{VENV}/bin/telesniff", "--version")
    assert proc.returncode == 0, proc.stderr
    assert _version() in proc.stdout


def test_every_command_is_installed(rootfs: Path) -> None:
    proc = _chroot(rootfs, f"{VENV}/bin/telesniff", "--help")
    assert proc.returncode == 0, proc.stderr
    for command in ("consumer", "gateway", "operator", "listener", "dev", "detect"):
        assert re.search(rf"^\W*{command}\b", proc.stdout, re.MULTILINE), command


def test_the_installed_package_is_the_wheel_not_the_source(rootfs: Path) -> None:
    # The package lives in the venv's site-packages (installed from the wheel) and the
    # source tree, build tools and pip are not in the final image.
    code = (
        "import telesniff, telesniff.operator, sys; "
        "print(telesniff.__file__); print(sys.version_info[:2] >= (3, 11))"
    )
    proc = _chroot(rootfs, f"{VENV}/bin/python", "-c", code)
    assert proc.returncode == 0, proc.stderr
    location, modern = proc.stdout.split()
    assert location.startswith(f"{VENV}/lib/python3.")
    assert "/site-packages/telesniff/" in location
    assert modern == "True"
    assert not (rootfs / "src").exists()
    assert not (rootfs / "dist").exists()
    assert not list((rootfs / VENV.lstrip("/") / "bin").glob("pip*"))


def test_the_runtime_user_cannot_change_the_installed_code(rootfs: Path) -> None:
    venv = rootfs / VENV.lstrip("/")
    for path in [venv, *venv.glob("lib/python3.*/site-packages/telesniff")]:
        stat = path.stat()
        assert stat.st_uid == 0, path
        assert not stat.st_mode & 0o022, path  # not group/other writable
    data = rootfs / "var" / "lib" / "telesniff"
    assert data.stat().st_uid == UID

"""``scripts/build_image.py`` (``make image``): the Debian mirror it takes from apt's sources.

The build itself runs in tests/container; this checks, without Docker, that apt's sources
are read as apt reads them.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_image.py"


@pytest.fixture(scope="module")
def build_image() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_image", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


ONE_LINE = """\
# the main archive
deb [ arch=amd64 signed-by=/etc/k.gpg ] http://ftp.example.org/debian bookworm main contrib
deb-src http://ftp.example.org/debian bookworm main
deb http://security.example.org/debian-security bookworm-security main  # security
deb ftp://old.example.org/debian bookworm main
"""

DEB822 = """\
# Disabled: a mirror that must not be taken.
Types: deb
URIs: http://disabled.example.org/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb deb-src
URIs: http://deb.debian.org/debian
  http://second.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
"""


def test_one_line_entries(build_image: ModuleType) -> None:
    sources = build_image.parse_one_line(ONE_LINE, "sources.list")
    assert [(s.types, s.uris, s.suites, s.components) for s in sources] == [
        (("deb",), ("http://ftp.example.org/debian",), ("bookworm",), ("main", "contrib")),
        (("deb-src",), ("http://ftp.example.org/debian",), ("bookworm",), ("main",)),
        (
            ("deb",),
            ("http://security.example.org/debian-security",),
            ("bookworm-security",),
            ("main",),
        ),
        (("deb",), ("ftp://old.example.org/debian",), ("bookworm",), ("main",)),
    ]
    assert sources[0].options == {"arch": "amd64", "signed-by": "/etc/k.gpg"}


def test_deb822_stanzas(build_image: ModuleType) -> None:
    sources = build_image.parse_deb822(DEB822, "debian.sources")
    assert [s.enabled for s in sources] == [False, True, True]
    second = sources[1]
    assert second.types == ("deb", "deb-src")
    assert second.uris == ("http://deb.debian.org/debian", "http://second.example.org/debian")
    assert second.suites == ("bookworm", "bookworm-updates")
    assert second.options == {"signed-by": "/usr/share/keyrings/debian-archive-keyring.gpg"}


def test_the_mirror_is_the_first_enabled_bookworm_main(
    build_image: ModuleType, tmp_path: Path
) -> None:
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    (parts / "debian.sources").write_text(DEB822)
    (parts / "aaa.sources.disabled-by-farm").write_text(DEB822.replace("Enabled: no", ""))
    (parts / "zz-other.list").write_text("deb http://other.example.org/debian trixie main\n")

    sources = build_image.read_apt_sources(tmp_path)

    assert {s.origin for s in sources} == {
        str(parts / "debian.sources"),
        str(parts / "zz-other.list"),
    }
    assert build_image.debian_mirror(sources) == "http://deb.debian.org/debian"
    assert build_image.chroot_sources(sources, "http://deb.debian.org/debian").splitlines() == [
        "deb http://deb.debian.org/debian bookworm main",
        "deb http://deb.debian.org/debian bookworm-updates main",
        "deb http://second.example.org/debian bookworm-updates main",
        "deb http://deb.debian.org/debian-security bookworm-security main",
    ]


def test_sources_list_comes_first(build_image: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(ONE_LINE)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)

    sources = build_image.read_apt_sources(tmp_path)

    assert build_image.debian_mirror(sources) == "http://ftp.example.org/debian"


def test_no_bookworm_source_is_an_error(build_image: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "deb http://deb.debian.org/debian trixie main\n"
        "deb-src http://deb.debian.org/debian bookworm main\n"
        "deb http://deb.debian.org/debian bookworm contrib\n"
    )
    sources = build_image.read_apt_sources(tmp_path)
    with pytest.raises(build_image.BuildError, match="no 'deb' source of suite bookworm"):
        build_image.debian_mirror(sources)


def test_local_ca_certificates(build_image: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "b.crt").write_text("-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.crt").write_text("A\n")
    (tmp_path / "README").write_text("not a certificate")
    assert build_image.local_ca_certificates(tmp_path) == (
        "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\nA\n"
    )
    assert build_image.local_ca_certificates(tmp_path / "absent") == ""

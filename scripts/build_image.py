"""Build the spfed image and the compose federation's PostgreSQL image (``make image``).

    python scripts/build_image.py                  # spfed:latest and spfed-postgres:15
    python scripts/build_image.py --base IMAGE     # spfed on that base
    python scripts/build_image.py --no-postgres    # the spfed image only

The spfed image's base is ``--base``, else ``$SPFED_BASE``, else the official
``python:3.11-slim``; PostgreSQL's is ``debian:bookworm-slim``. A base that is neither present
locally nor can be pulled (machines that reach no container registry, such as this project's
CI) is replaced by ``spfed-base:bookworm``, built here from Debian's packages:

1. ``debootstrap --variant=minbase bookworm`` with python3, from the mirror
   apt is configured with: the first ``deb`` source of suite bookworm, component main, in
   ``/etc/apt/sources.list`` and ``/etc/apt/sources.list.d/*.list|*.sources``;
2. inside it, apt's sources become every bookworm suite the host has (updates, security),
   and their upgrades are applied; documentation, manuals, translations and caches are left
   out, now and for later installs (as in Debian's slim images);
3. ``docker import`` tags it ``spfed-base:bookworm``.

That tag is kept, so later runs skip all of it (``--rebuild-base`` makes it again). It needs
root, for debootstrap. Builds run on the host's network (``--network host``): the builder
stage installs from PyPI and needs no bridge network. The Docker client is ``$DOCKER``, else
Debian's ``/usr/bin/docker`` (of the docker.io engine), else ``docker`` on the PATH.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE = "python:3.11-slim"
POSTGRES_BASE = "debian:bookworm-slim"
DEBIAN_BASE = "spfed-base:bookworm"
SPFED_TAG = "spfed:latest"
POSTGRES_TAG = "spfed-postgres:15"
SUITE = "bookworm"
BASE_PACKAGES = ("python3",)
"""What the base adds to minbase; the Dockerfile's builder stage adds python3-venv itself."""
APT_DIR = Path("/etc/apt")
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
"""Where Debian keeps the CAs a host adds to its trust (update-ca-certificates)."""
_SCHEMES = ("http://", "https://", "file:/")
"""Mirrors debootstrap can fetch from."""
_IMPORT_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)
_DPKG_EXCLUDES = """\
# Left out of the image, as in Debian's slim images (scripts/build_image.py).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
"""
_APT_CLEAN = """\
# No package files kept after installs (scripts/build_image.py).
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT::Keep-Downloaded-Packages "false";
"""


class BuildError(RuntimeError):
    """A step failed; the message says which and why."""


# --- apt's sources ------------------------------------------------------------------------


@dataclass(frozen=True)
class AptSource:
    """One entry of apt's sources, in either format."""

    types: tuple[str, ...]
    """``deb``, ``deb-src``."""
    uris: tuple[str, ...]
    """Mirrors."""
    suites: tuple[str, ...]
    """``bookworm``, ``bookworm-updates``, …"""
    components: tuple[str, ...] = ()
    """``main``, …"""
    origin: str = ""
    """The file it came from."""
    enabled: bool = True
    """``Enabled: no`` in a deb822 stanza."""
    options: dict[str, str] = field(default_factory=dict)
    """``[key=value]`` of a one-line entry, other fields of a stanza."""


def parse_one_line(text: str, origin: str = "") -> list[AptSource]:
    """Entries of a ``sources.list`` file: ``deb [options] URI SUITE [COMPONENT...]``."""
    sources = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        kind, _, rest = line.partition(" ")
        options: dict[str, str] = {}
        rest = rest.strip()
        if rest.startswith("["):
            inside, _, rest = rest[1:].partition("]")
            for option in inside.split():
                key, _, value = option.partition("=")
                options[key] = value
        words = rest.split()
        if kind not in ("deb", "deb-src") or len(words) < 2:
            continue
        sources.append(
            AptSource(
                types=(kind,),
                uris=(words[0],),
                suites=(words[1],),
                components=tuple(words[2:]),
                origin=origin,
                options=options,
            )
        )
    return sources


def parse_deb822(text: str, origin: str = "") -> list[AptSource]:
    """Stanzas of a ``*.sources`` file (deb822: ``Types``, ``URIs``, ``Suites``, …)."""
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for raw in [*text.splitlines(), ""]:
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if current:
                stanzas.append(current)
            current, last = {}, ""
            continue
        if raw[0] in " \t" and last:
            current[last] += "\n" + raw.strip()
            continue
        key, sep, value = raw.partition(":")
        if sep:
            last = key.strip().lower()
            current[last] = value.strip()
    sources = []
    for stanza in stanzas:
        words = {key: tuple(stanza.get(key, "").split()) for key in ("types", "uris", "suites")}
        if not all(words.values()):
            continue
        sources.append(
            AptSource(
                types=words["types"],
                uris=words["uris"],
                suites=words["suites"],
                components=tuple(stanza.get("components", "").split()),
                origin=origin,
                enabled=stanza.get("enabled", "yes").lower() not in ("no", "false", "0"),
                options={
                    k: v for k, v in stanza.items() if k not in (*words, "components", "enabled")
                },
            )
        )
    return sources


def read_apt_sources(apt_dir: Path = APT_DIR) -> list[AptSource]:
    """Every entry apt reads: ``sources.list``, then ``sources.list.d/*.list`` and
    ``*.sources`` in name order (apt ignores other names, e.g. ``*.disabled``)."""
    sources = []
    main = apt_dir / "sources.list"
    if main.is_file():
        sources += parse_one_line(main.read_text(), str(main))
    parts = apt_dir / "sources.list.d"
    for path in sorted(parts.iterdir()) if parts.is_dir() else []:
        if path.suffix == ".list":
            sources += parse_one_line(path.read_text(), str(path))
        elif path.suffix == ".sources":
            sources += parse_deb822(path.read_text(), str(path))
    return sources


def _debian_entries(sources: Iterable[AptSource], suites: Sequence[str]) -> list[tuple[str, str]]:
    """(mirror, suite) of every enabled ``deb`` entry with component main in ``suites``."""
    return [
        (uri, suite)
        for source in sources
        if source.enabled and "deb" in source.types and "main" in source.components
        for suite in source.suites
        if suite in suites
        for uri in source.uris
        if uri.startswith(_SCHEMES)
    ]


def debian_mirror(sources: Sequence[AptSource], suite: str = SUITE) -> str:
    """The mirror of the first ``deb`` entry of ``suite`` (component main).

    Raises:
        BuildError: apt has no such entry.
    """
    found = _debian_entries(sources, [suite])
    if not found:
        origins = sorted({s.origin for s in sources}) or ["no files"]
        raise BuildError(
            f"apt has no 'deb' source of suite {suite} with component main"
            f" (read: {', '.join(origins)}); pass --mirror URL"
        )
    return found[0][0]


def chroot_sources(sources: Sequence[AptSource], mirror: str, suite: str = SUITE) -> str:
    """``sources.list`` of the base: ``mirror``'s ``suite``, then the host's other suites of
    that release (``bookworm-updates``, ``bookworm-security``), component main."""
    release = sorted({name for s in sources for name in s.suites if name.startswith(suite + "-")})
    lines = [f"deb {mirror} {suite} main"]
    lines += [f"deb {uri} {name} main" for uri, name in _debian_entries(sources, release)]
    return "\n".join(dict.fromkeys(lines)) + "\n"


# --- docker -------------------------------------------------------------------------------


def docker_command() -> list[str]:
    """The Docker client: ``$DOCKER``, else Debian's, else the one on the PATH."""
    explicit = os.environ.get("DOCKER")
    if explicit:
        return shlex.split(explicit)
    if Path("/usr/bin/docker").exists():
        return ["/usr/bin/docker"]
    return ["docker"]


def _run(
    command: Sequence[str],
    what: str,
    env: Mapping[str, str] | None = None,
    *,
    shown: Sequence[str] = (),
) -> None:
    """Run ``command`` (printed as ``shown``, if given); BuildError when it fails."""
    printed = shlex.join(shown or command)
    print("+ " + printed, flush=True)
    done = subprocess.run(command, check=False, env=env)
    if done.returncode != 0:
        raise BuildError(f"{what} failed (exit {done.returncode}): {printed}")


def image_exists(docker: Sequence[str], ref: str) -> bool:
    """Whether ``ref`` is present locally."""
    done = subprocess.run(
        [*docker, "image", "inspect", ref], capture_output=True, check=False, text=True
    )
    return done.returncode == 0


def _image_id(docker: Sequence[str], ref: str) -> str:
    done = subprocess.run(
        [*docker, "image", "inspect", "--format", "{{.Id}}", ref],
        capture_output=True,
        check=False,
        text=True,
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def image_size(docker: Sequence[str], ref: str) -> int:
    """Size of ``ref`` in bytes, as ``docker images`` counts it."""
    done = subprocess.run(
        [*docker, "image", "inspect", "--format", "{{.Size}}", ref],
        capture_output=True,
        check=True,
        text=True,
    )
    return int(done.stdout.strip())


def _pulled(docker: Sequence[str], ref: str) -> bool:
    print(f"base {ref} is not present locally; pulling it", flush=True)
    done = subprocess.run([*docker, "pull", ref], capture_output=True, check=False, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        print(f"cannot pull {ref}: {last}", flush=True)
    return done.returncode == 0


# --- the base from Debian's packages -------------------------------------------------------


def _slim(root: Path) -> None:
    """Leave documentation and caches out, now and for later installs."""
    (root / "etc/dpkg/dpkg.cfg.d/01-spfed-slim").write_text(_DPKG_EXCLUDES)
    (root / "etc/apt/apt.conf.d/01-spfed-clean").write_text(_APT_CLEAN)
    for directory in ("usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian"):
        shutil.rmtree(root / directory, ignore_errors=True)
        (root / directory).mkdir(parents=True, exist_ok=True)
    doc = root / "usr/share/doc"
    for path in sorted(doc.rglob("*"), reverse=True) if doc.is_dir() else []:
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif path.name != "copyright":
            path.unlink()
    for directory in ("var/lib/apt/lists", "var/cache/apt", "var/log", "tmp", "var/tmp"):
        for path in (root / directory).glob("*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.name != "lock":
                path.unlink()


def _upgrade(root: Path, sources_list: str) -> None:
    """The host's update and security suites in the base's apt sources, applied."""
    (root / "etc/apt/sources.list").write_text(sources_list)
    shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")  # start no service while upgrading
    policy.chmod(0o755)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive"}
    try:
        _run(["chroot", str(root), "apt-get", "update", "-q"], "apt-get update (base)", env=env)
        _run(
            ["chroot", str(root), "apt-get", "upgrade", "-q", "--yes"],
            "apt-get upgrade (base)",
            env=env,
        )
    finally:
        policy.unlink()
        (root / "etc/resolv.conf").write_text("")


def build_debian_base(
    docker: Sequence[str], tag: str, mirror: str, sources_list: str, suite: str = SUITE
) -> None:
    """debootstrap, upgrade, slim, ``docker import`` as ``tag``.

    Raises:
        BuildError: not root, no debootstrap, or a step failed.
    """
    if os.geteuid() != 0:
        raise BuildError(f"building {tag} from Debian's packages needs root (debootstrap)")
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed (apt-get install debootstrap)")
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="spfed-base-", dir="/var/tmp"))
    root = work / "rootfs"
    try:
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                "--components=main",
                suite,
                str(root),
                mirror,
            ],
            f"debootstrap {suite} from {mirror}",
        )
        _upgrade(root, sources_list)
        _slim(root)
        changes = [
            *_IMPORT_CHANGES,
            f"LABEL org.opencontainers.image.description=debootstrap-{suite}-minbase-python3",
        ]
        import_command = [*docker, "import"]
        for change in changes:
            import_command += ["--change", change]
        import_command += ["-", tag]
        print("+ tar -C " + shlex.quote(str(root)) + " -c . | " + shlex.join(import_command))
        with subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE
        ) as tar:
            imported = subprocess.run(import_command, stdin=tar.stdout, check=False)
        if tar.returncode != 0 or imported.returncode != 0:
            raise BuildError(f"importing {root} as {tag} failed")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"built {tag} from {mirror} in {time.monotonic() - began:.0f} s", flush=True)


# --- the images ---------------------------------------------------------------------------


@dataclass
class Bases:
    """Resolves base images: present, pulled, or replaced by the Debian base."""

    docker: list[str]
    mirror: str = ""
    rebuild_debian: bool = False
    debian_ready: bool = False

    def resolve(self, wanted: str, *, explicit: bool) -> str:
        """``wanted`` when it is here or can be pulled, else the Debian base (built once).

        An explicit ``--base`` is not replaced: it must be here or pullable.
        """
        if wanted != DEBIAN_BASE and (
            image_exists(self.docker, wanted) or _pulled(self.docker, wanted)
        ):
            return wanted
        if explicit and wanted != DEBIAN_BASE:
            raise BuildError(f"base {wanted} is neither present nor can be pulled")
        self.ensure_debian()
        return DEBIAN_BASE

    def ensure_debian(self) -> None:
        """Build ``spfed-base:bookworm`` unless it exists (or once, with ``--rebuild-base``)."""
        if self.debian_ready:
            return
        if self.rebuild_debian or not image_exists(self.docker, DEBIAN_BASE):
            sources = read_apt_sources()
            mirror = self.mirror or debian_mirror(sources)
            build_debian_base(self.docker, DEBIAN_BASE, mirror, chroot_sources(sources, mirror))
        else:
            print(f"reusing {DEBIAN_BASE} (--rebuild-base makes it again)", flush=True)
        self.debian_ready = True


def local_ca_certificates(directory: Path = LOCAL_CAS) -> str:
    """The PEM of the CAs the host added to its trust, e.g. a TLS-intercepting proxy's."""
    found = sorted(directory.rglob("*.crt")) if directory.is_dir() else []
    return "".join(path.read_text().strip() + "\n" for path in found)


def build_image(
    docker: Sequence[str],
    context: Path,
    tag: str,
    base: str,
    *,
    network: str = "host",
    build_args: Mapping[str, str] | None = None,
    target: str = "",
) -> float:
    """``docker build`` of ``context`` with ``--build-arg BASE=base``; seconds it took.

    The image ``tag`` named before is removed when the build replaced it (unless a
    container still uses it), so rebuilds do not pile up untagged images.
    """
    began = time.monotonic()
    before = _image_id(docker, tag)
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}  # the classic builder: no frontend to pull
    command = [
        *docker,
        "build",
        "--force-rm",
        f"--network={network}",
        "--build-arg",
        f"BASE={base}",
    ]
    if target:
        command += ["--target", target]
    shown = list(command)
    for name, value in (build_args or {}).items():
        command += ["--build-arg", f"{name}={value}"]
        shown += ["--build-arg", f"{name}=<{len(value)} characters>"]
    tail = ["--tag", tag, str(context)]
    _run([*command, *tail], f"building {tag}", env=env, shown=[*shown, *tail])
    if before and before != _image_id(docker, tag):
        subprocess.run([*docker, "image", "rm", before], capture_output=True, check=False)
    return time.monotonic() - began


def main(argv: Sequence[str] | None = None) -> int:
    """Build the images; exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--base", default="", help=f"the spfed image's base [{DEFAULT_BASE}]")
    parser.add_argument("--tag", default=SPFED_TAG, help="the spfed image's tag [%(default)s]")
    parser.add_argument(
        "--postgres-tag", default=POSTGRES_TAG, help="the PostgreSQL image's tag [%(default)s]"
    )
    parser.add_argument("--no-postgres", action="store_true", help="build the spfed image only")
    parser.add_argument(
        "--rebuild-base", action="store_true", help=f"build {DEBIAN_BASE} again if it is used"
    )
    parser.add_argument("--mirror", default="", help="Debian mirror [from apt's sources]")
    parser.add_argument("--network", default="host", help="network of the builds [host]")
    args = parser.parse_args(argv)

    docker = docker_command()
    explicit = args.base or os.environ.get("SPFED_BASE", "")
    bases = Bases(docker, mirror=args.mirror, rebuild_debian=args.rebuild_base)
    try:
        base = bases.resolve(explicit or DEFAULT_BASE, explicit=bool(explicit))
        cas = local_ca_certificates()
        build_args = {"EXTRA_CA_CERTS": cas} if cas else None
        # The builder stage tagged too: the layers a rebuild reuses (the dependencies) stay
        # named, and the stage an earlier build left is removed like the image.
        seconds = build_image(
            docker,
            ROOT,
            f"{args.tag}-builder",
            base,
            network=args.network,
            build_args=build_args,
            target="builder",
        )
        seconds += build_image(
            docker, ROOT, args.tag, base, network=args.network, build_args=build_args
        )
        built = [(args.tag, base, seconds)]
        if not args.no_postgres:
            pg_base = bases.resolve(POSTGRES_BASE, explicit=False)
            context = ROOT / "docker" / "postgres"
            seconds = build_image(docker, context, args.postgres_tag, pg_base, network=args.network)
            built.append((args.postgres_tag, pg_base, seconds))
    except BuildError as exc:
        print(f"build_image: {exc}", file=sys.stderr)
        return 1
    for tag, on, seconds in built:
        size = image_size(docker, tag) / 1e6
        print(f"image {tag}: {size:.0f} MB, on {on}, built in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

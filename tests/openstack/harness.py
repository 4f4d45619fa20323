"""A real, minimal OpenStack on this machine, for the qualification tests of the VIM driver.

``OpenStackHarness().up()`` installs (once) a pinned OpenStack into its own virtualenv,
configures Keystone, Placement, Glance, Neutron and Nova (with Nova's fake virt driver)
against the MariaDB and RabbitMQ already running on 127.0.0.1, in databases and a vhost of
its own, starts them on free local ports, fills the cloud with what the tests need, boots a
probe server, and returns a :class:`CloudInfo`. ``down()`` stops exactly the processes it
started, drops its databases, deletes its vhost and removes its run directory.

Every resource is written to ``<run_dir>/state.json`` as soon as it exists, so a failed or
interrupted bring-up is torn down as completely as a finished one; a run whose owner died
without tearing it down is collected by the next ``up()`` (unless it was started detached,
as ``python -m tests.openstack up`` does).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tests.openstack import _backends, _bringup, _config, _install, _procs, _provision

__all__ = ["CloudInfo", "HarnessError", "OpenStackHarness"]

Log = Callable[[str], None]

NOVA_DAEMONS = ("nova-conductor", "nova-scheduler")
LOG_TAIL_LINES = 40
HEALTH_TIMEOUT = 5.0


@dataclass(frozen=True)
class CloudInfo:
    """What a test needs to use the cloud."""

    clouds_yaml: Path
    """File with the clouds ``spfed-qual`` (member of project spfed) and ``spfed-qual-admin``."""
    cloud: str
    admin_cloud: str
    region: str
    image_name: str
    image_md5: str
    flavors: tuple[str, ...]
    project_id: str
    """Id of project ``spfed``."""
    run_dir: Path
    """Configuration and logs (``logs/<service>.log``) of the run."""

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready data."""
        data = asdict(self)
        data["clouds_yaml"] = str(self.clouds_yaml)
        data["run_dir"] = str(self.run_dir)
        data["flavors"] = list(self.flavors)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CloudInfo:
        """The CloudInfo written by :meth:`to_json`."""
        values = {f.name: data[f.name] for f in fields(cls)}
        values["clouds_yaml"] = Path(values["clouds_yaml"])
        values["run_dir"] = Path(values["run_dir"])
        values["flavors"] = tuple(values["flavors"])
        return cls(**values)


class HarnessError(RuntimeError):
    """The harness could not bring the cloud up (or tear it down); the message says why."""


@dataclass
class _State:
    """Everything one run made, as far as it got; saved after every change."""

    run_id: str
    home: Path
    run_dir: Path
    venv: Path
    owner_pid: int
    owner_start: int
    detached: bool
    ports: dict[str, int] = field(default_factory=dict)
    databases: list[str] = field(default_factory=list)
    vhost: str = ""
    processes: list[_procs.ProcRecord] = field(default_factory=list)
    cloud: CloudInfo | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "run_id": self.run_id,
            "home": str(self.home),
            "run_dir": str(self.run_dir),
            "venv": str(self.venv),
            "owner_pid": self.owner_pid,
            "owner_start": self.owner_start,
            "detached": self.detached,
            "ports": self.ports,
            "databases": self.databases,
            "vhost": self.vhost,
            "processes": [p.to_json() for p in self.processes],
            "cloud": self.cloud.to_json() if self.cloud else None,
            "timings": self.timings,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _State:
        """The state written by :meth:`to_json`."""
        return cls(
            run_id=str(data["run_id"]),
            home=Path(data["home"]),
            run_dir=Path(data["run_dir"]),
            venv=Path(data["venv"]),
            owner_pid=int(data["owner_pid"]),
            owner_start=int(data["owner_start"]),
            detached=bool(data["detached"]),
            ports={str(k): int(v) for k, v in data["ports"].items()},
            databases=[str(d) for d in data["databases"]],
            vhost=str(data["vhost"]),
            processes=[_procs.ProcRecord.from_json(p) for p in data["processes"]],
            cloud=CloudInfo.from_json(data["cloud"]) if data.get("cloud") else None,
            timings={str(k): float(v) for k, v in data.get("timings", {}).items()},
        )


def _stderr_log(message: str) -> None:
    """Default progress output: one timestamped line on stderr."""
    print(f"[openstack {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _own_start_time() -> int:
    """Start time (clock ticks since boot) of this process."""
    start = _procs.process_start_time(os.getpid())
    return start if start is not None else -1


PORT_RANGE = (20000, 32767)
"""Where API ports are picked: below Linux's ephemeral range (32768-60999), so that no
outgoing connection takes one between the pick and the bind."""


def _free_ports(count: int, attempts: int = 500) -> list[int]:
    """``count`` distinct TCP ports of PORT_RANGE on 127.0.0.1 that were free a moment ago."""
    chosen: list[int] = []
    for _ in range(attempts):
        port = secrets.randbelow(PORT_RANGE[1] - PORT_RANGE[0]) + PORT_RANGE[0]
        if port in chosen:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((_backends.HOST, port))
            except OSError:
                continue
        chosen.append(port)
        if len(chosen) == count:
            return chosen
    raise HarnessError(f"found only {len(chosen)} free ports in {PORT_RANGE}")


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of ``path`` ("" if it cannot be read)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 200 * lines))
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _error_lines(run_dir: Path, limit: int = 30) -> str:
    """The last ERROR/CRITICAL lines of every service log of ``run_dir``."""
    found = []
    for log in sorted((run_dir / "logs").glob("*.log")):
        for line in log_tail(log, 400).splitlines():
            if " ERROR " in line or " CRITICAL " in line:
                found.append(f"{log.name}: {line}")
    return "\n".join(found[-limit:])


class OpenStackHarness:
    """One run of the qualification cloud: ``up()`` to start it, ``down()`` to remove it."""

    def __init__(
        self,
        home: Path | None = None,
        run_dir: Path | None = None,
        *,
        state_file: Path | None = None,
        detached: bool = False,
        log: Log | None = None,
    ) -> None:
        """Prepare a run (nothing starts before :meth:`up`).

        ``home`` holds the virtualenv and, by default, the run directories
        (``$SPFED_OPENSTACK_HOME`` or ``~/.cache/spfed/openstack``); ``run_dir`` is where
        this run's configuration, data and logs go (default ``<home>/runs/<run id>``).
        ``state_file`` is an extra copy of the state (the CLI's ``build/openstack/state.json``);
        ``detached`` says that the run outlives this process on purpose.
        """
        self.home = home if home is not None else _install.default_home()
        self._run_dir = run_dir
        self._state_file = state_file
        self._detached = detached
        self._log = log or _stderr_log
        self._state: _State | None = None
        self._lock = threading.Lock()

    # --- persistence -------------------------------------------------------------------

    @classmethod
    def from_state(cls, path: Path, log: Log | None = None) -> OpenStackHarness:
        """The harness whose state was saved at ``path`` (to check it, reuse it or stop it)."""
        state = _State.from_json(json.loads(path.read_text()))
        harness = cls(state.home, state.run_dir, state_file=path, detached=state.detached, log=log)
        harness._state = state
        return harness

    def _save(self) -> None:
        """Write the state to ``<run_dir>/state.json`` (and the extra state file)."""
        with self._lock:
            if self._state is None:
                return
            text = json.dumps(self._state.to_json(), indent=2) + "\n"
            targets = [self._state.run_dir / "state.json"]
            if self._state_file is not None:
                targets.append(self._state_file)
            for target in targets:
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary = target.with_name(f".{target.name}.tmp")
                temporary.write_text(text)
                temporary.chmod(0o600)
                temporary.replace(target)

    def _record_process(self, record: _procs.ProcRecord) -> None:
        """Remember a started process (before anything else can fail)."""
        assert self._state is not None
        with self._lock:
            self._state.processes.append(record)
        self._save()

    # --- queries -----------------------------------------------------------------------

    @property
    def info(self) -> CloudInfo | None:
        """The cloud, once :meth:`up` has succeeded."""
        return self._state.cloud if self._state else None

    def healthy(self) -> bool:
        """Whether every process of the run is alive and Keystone and Nova answer."""
        state = self._state
        if state is None or state.cloud is None or not state.processes:
            return False
        if not all(_procs.alive(p) for p in state.processes):
            return False
        for service, path in (("keystone", "/v3"), ("nova", "/")):
            try:
                url = f"http://{_backends.HOST}:{state.ports[service]}{path}"
                with urllib.request.urlopen(url, timeout=HEALTH_TIMEOUT) as response:
                    response.read()
            except urllib.error.HTTPError:
                continue
            except (OSError, KeyError):
                return False
        return True

    def status(self) -> dict[str, Any]:
        """The saved state with each process's liveness, for ``status``."""
        if self._state is None:
            return {"running": False}
        data = self._state.to_json()
        data["running"] = self.healthy()
        data["alive"] = {p.name: _procs.alive(p) for p in self._state.processes}
        return data

    # --- up ----------------------------------------------------------------------------

    def up(self) -> CloudInfo:
        """Install if needed, start everything, wait until Nova boots a server; the cloud.

        Idempotent for a healthy running harness. On failure everything started is torn
        down (unless ``SPFED_OPENSTACK_KEEP=1``) and HarnessError carries the relevant
        log's tail.
        """
        if self._state is not None and self._state.cloud is not None and self.healthy():
            return self._state.cloud
        if self._state is not None:
            self.down()
        started = time.monotonic()
        try:
            venv = _install.ensure_venv(self.home, self._log)
        except _install.InstallError as error:
            raise HarnessError(f"installing OpenStack failed: {error}") from error
        install_s = time.monotonic() - started
        collect_stale(self.home, self._log)
        self._new_state(venv)
        assert self._state is not None
        self._state.timings["install_s"] = round(install_s, 1)
        try:
            info = self._bring_up()
        except Exception as error:
            message = self._describe_failure(error)
            self._log(f"bring-up failed: {message.splitlines()[0]}")
            self._abandon()
            raise HarnessError(message) from error
        except BaseException:
            self._abandon()
            raise
        self._state.timings["start_s"] = round(time.monotonic() - started - install_s, 1)
        self._save()
        self._log(
            f"ready in {self._state.timings['start_s']:.0f} s "
            f"(install {install_s:.0f} s): {info.clouds_yaml}"
        )
        return info

    def _new_state(self, venv: Path) -> None:
        """Choose the run id, directory and ports, and save the first state."""
        run_id = secrets.token_hex(4)
        run_dir = self._run_dir or self.home / "runs" / run_id
        if run_dir.exists() and any(run_dir.iterdir()):
            raise HarnessError(f"run directory {run_dir} is not empty")
        run_dir.mkdir(parents=True, exist_ok=True)
        ports = _free_ports(len(_config.API_SERVICES))
        self._state = _State(
            run_id=run_id,
            home=self.home,
            run_dir=run_dir.resolve(),
            venv=venv,
            owner_pid=os.getpid(),
            owner_start=_own_start_time(),
            detached=self._detached,
            ports=dict(zip(_config.API_SERVICES, ports, strict=True)),
        )
        self._save()

    def _abandon(self) -> None:
        """Tear down a failed bring-up, unless ``SPFED_OPENSTACK_KEEP=1`` asks to keep it."""
        if os.environ.get("SPFED_OPENSTACK_KEEP") == "1" and self._state is not None:
            self._log(f"SPFED_OPENSTACK_KEEP=1: left running in {self._state.run_dir}")
            return
        try:
            self.down()
        except HarnessError as error:
            self._log(f"tear-down after the failure: {error}")

    def _describe_failure(self, error: BaseException) -> str:
        """The error, with the tail of the log that explains it (read before tear-down)."""
        assert self._state is not None
        message = f"{type(error).__name__}: {error}"
        log = getattr(error, "log", None)
        if isinstance(log, Path):
            return f"{message}\n--- last lines of {log} ---\n{log_tail(log)}"
        errors = _error_lines(self._state.run_dir)
        if errors:
            return f"{message}\n--- ERROR lines of the service logs ---\n{errors}"
        return message

    def _layout(self) -> _config.Layout:
        """The configuration of the current run (new passwords, the run's names)."""
        assert self._state is not None
        prefix = f"spfedq_{self._state.run_id}"
        users = ("admin", _provision.MEMBER, *_config.SERVICE_USERS)
        return _config.Layout(
            run_id=self._state.run_id,
            run_dir=self._state.run_dir,
            venv=self._state.venv,
            ports=self._state.ports,
            # Hex: a urlsafe token may start with '-', which keystone-manage's argparse then
            # reads as an option ("--bootstrap-password: expected one argument").
            passwords={user: secrets.token_hex(16) for user in users},
            databases={
                name: f"{prefix}_{name}" for name in ("nova_api", "nova_cell0", "nova", "neutron")
            },
            vhost=prefix,
        )

    def _bring_up(self) -> CloudInfo:
        """Every step from configuration files to a successful probe boot."""
        assert self._state is not None
        state = self._state
        layout = self._layout()
        _config.write_all(layout)
        clouds_yaml = state.run_dir / "clouds.yaml"
        _provision.write_clouds_yaml(clouds_yaml, layout)
        self._make_backends(layout)
        abort = threading.Event()
        with ThreadPoolExecutor(max_workers=len(_config.API_SERVICES)) as pool:
            try:
                syncs = _bringup.run_syncs(layout, pool, abort)
                info = self._start_services(layout, syncs, clouds_yaml)
            except BaseException:
                abort.set()
                raise
        state.cloud = info
        self._save()
        return info

    def _make_backends(self, layout: _config.Layout) -> None:
        """Create the run's databases and vhost, recording each before it is made."""
        assert self._state is not None
        step = time.monotonic()
        self._state.databases = sorted(layout.databases.values())
        self._state.vhost = layout.vhost
        self._save()
        python = layout.venv / "bin" / "python"
        _backends.create_databases(python, self._state.databases)
        _backends.add_vhost(layout.vhost)
        self._step("databases and vhost", step)

    def _step(self, name: str, since: float) -> None:
        """Log and record how long step ``name`` took."""
        assert self._state is not None
        elapsed = time.monotonic() - since
        self._state.timings[name] = round(elapsed, 1)
        self._log(f"{name}: {elapsed:.1f} s")

    def _start_api(self, layout: _config.Layout, service: str) -> _procs.ProcRecord:
        """Start ``service``'s API under uwsgi."""
        argv = _bringup.uwsgi_argv(layout, service)
        return _bringup.start(layout, f"{service}-api", argv, self._record_process)

    def _start_services(
        self, layout: _config.Layout, syncs: dict[str, Future[None]], clouds_yaml: Path
    ) -> CloudInfo:
        """Start each service once its schema exists, then provision and probe the cloud."""
        begin = time.monotonic()
        project_id = self._start_identity(layout, syncs["keystone"], clouds_yaml, begin)
        # A new connection: the first one's token carries the catalog from before.
        with contextlib.closing(_provision.connect(clouds_yaml, _provision.ADMIN_CLOUD)) as admin:
            self._start_apis(layout, syncs, begin)
            compute = _bringup.start(
                layout,
                "nova-compute",
                _bringup.daemon_argv(layout, "nova-compute"),
                self._record_process,
            )
            _provision.set_quotas(admin, project_id)
            flavors = _provision.create_flavors(admin)
            md5 = _provision.create_image(admin)
            self._step("quotas, flavors, image", begin)
            self._wait_compute(layout, admin, compute)
            self._step("compute mapped", begin)
        with contextlib.closing(_provision.connect(clouds_yaml, _provision.CLOUD)) as member:
            _provision.boot_probe(member, self._log)
        self._step("probe boot", begin)
        return CloudInfo(
            clouds_yaml=clouds_yaml,
            cloud=_provision.CLOUD,
            admin_cloud=_provision.ADMIN_CLOUD,
            region=_config.REGION,
            image_name=_provision.IMAGE_NAME,
            image_md5=md5,
            flavors=flavors,
            project_id=project_id,
            run_dir=layout.run_dir,
        )

    def _start_identity(
        self, layout: _config.Layout, sync: Future[None], clouds_yaml: Path, begin: float
    ) -> str:
        """Start Keystone once bootstrapped, then make users and catalog; project spfed's id."""
        sync.result()
        self._step("keystone sync", begin)
        keystone = self._start_api(layout, "keystone")
        _bringup.wait_http(layout.auth_url, keystone)
        self._step("keystone up", begin)
        with contextlib.closing(_provision.connect(clouds_yaml, _provision.ADMIN_CLOUD)) as admin:
            project_id = _provision.create_identity(admin, layout)
        self._step("identity", begin)
        return project_id

    def _start_apis(
        self, layout: _config.Layout, syncs: dict[str, Future[None]], begin: float
    ) -> None:
        """Start the other APIs (and Nova's conductor and scheduler) as their syncs finish."""
        apis = {}
        for service in _config.API_SERVICES[1:]:
            syncs[service].result()
            self._step(f"{service} sync", begin)
            apis[service] = self._start_api(layout, service)
            if service == "nova":
                for daemon in NOVA_DAEMONS:
                    argv = _bringup.daemon_argv(layout, daemon)
                    _bringup.start(layout, daemon, argv, self._record_process)
        for service, proc in apis.items():
            _bringup.wait_http(layout.url(service), proc)
        self._step("APIs up", begin)

    def _wait_compute(self, layout: _config.Layout, admin: Any, compute: _procs.ProcRecord) -> None:
        """Wait for nova-compute's provider in Placement, then map the host into cell1."""
        deadline = time.monotonic() + _bringup.COMPUTE_TIMEOUT
        while not _provision.has_compute_capacity(admin):
            if not _procs.alive(compute):
                raise _bringup.StepError("nova-compute exited", Path(compute.log))
            if time.monotonic() > deadline:
                raise _bringup.StepError(
                    "nova-compute reported no resources to Placement", Path(compute.log)
                )
            time.sleep(_bringup.POLL * 2)
        abort = threading.Event()
        while True:
            if _bringup.map_compute_host(layout, abort):
                return
            if time.monotonic() > deadline:
                raise _bringup.StepError(
                    "nova-compute's host was never mapped", layout.log("nova-manage")
                )
            time.sleep(1.0)

    # --- down --------------------------------------------------------------------------

    def down(self) -> None:
        """Stop what this run started, drop its databases and vhost, remove its run directory.

        Safe to call twice, and on a run that failed half-way. HarnessError if something
        could not be removed (after trying everything).
        """
        state = self._state
        if state is None:
            return
        problems = []
        survivors = _procs.stop(state.processes)
        if survivors:
            problems.append(f"processes still running: {[p.pid for p in survivors]}")
        python = state.venv / "bin" / "python"
        try:
            _backends.drop_databases(python, state.databases)
        except (_backends.BackendError, OSError) as error:
            problems.append(str(error))
        try:
            if state.vhost:
                _backends.delete_vhost(state.vhost)
        except (_backends.BackendError, OSError) as error:
            problems.append(str(error))
        if problems:
            raise HarnessError("tear-down incomplete: " + "; ".join(problems))
        shutil.rmtree(state.run_dir, ignore_errors=True)
        if self._state_file is not None:
            self._state_file.unlink(missing_ok=True)
        self._state = None
        self._log(f"run {state.run_id} removed")


def collect_stale(home: Path, log: Log) -> None:
    """Tear down runs under ``<home>/runs`` whose owner died without doing it (not detached)."""
    runs = home / "runs"
    if not runs.is_dir():
        return
    for state_file in sorted(runs.glob("*/state.json")):
        try:
            harness = OpenStackHarness.from_state(state_file, log=log)
        except (OSError, ValueError, KeyError):
            continue
        state = harness._state
        if state is None or state.detached:
            continue
        owner = _procs.ProcRecord("owner", state.owner_pid, state.owner_start, "")
        if _procs.alive(owner):
            continue
        log(f"collecting run {state.run_id}: its owner {state.owner_pid} is gone")
        harness._state_file = None
        with contextlib.suppress(HarnessError):
            harness.down()


@contextlib.contextmanager
def running(home: Path | None = None) -> Iterator[CloudInfo]:
    """A cloud for the duration of a ``with`` block."""
    harness = OpenStackHarness(home)
    try:
        yield harness.up()
    finally:
        harness.down()

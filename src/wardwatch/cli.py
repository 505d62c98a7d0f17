"""The ``wardwatch`` command: set-up, serving, the demo, audit verification and benchmarks."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from wardwatch.kernel.config import Settings, load_settings
from wardwatch.kernel.context import locale_var
from wardwatch.kernel.errors import ConfigError, Problem
from wardwatch.kernel.i18n import normalize_locale, t

app = typer.Typer(no_args_is_help=True, add_completion=False, help="WardWatch command line.")
audit_app = typer.Typer(no_args_is_help=True, help="Audit log: verify and checkpoint.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print one JSON object.")
app.add_typer(audit_app, name="audit")
sim_app = typer.Typer(no_args_is_help=True, help="Simulated cameras for the demo, tests and benchmarks.")
app.add_typer(bench_app, name="bench")
app.add_typer(sim_app, name="sim")
practitioners_app = typer.Typer(no_args_is_help=True, help="Practitioner register: import the export.")
app.add_typer(practitioners_app, name="practitioners")

err = Console(stderr=True)
out = Console()
# Tables stay legible when the output is a file or a pipe rather than a terminal.
wide = Console(width=max(out.width, 140))

DataOption = Annotated[Path | None, typer.Option("--data", help="Data directory (default: $WARDWATCH_DATA).")]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="YAML configuration file.")]

T = TypeVar("T")


def _cli_locale() -> None:
    for var in ("WARDWATCH_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        locale = normalize_locale(os.environ.get(var, "").split(".")[0])
        if locale:
            locale_var.set(locale)
            return


def _fail(message: str, code: int = 1) -> None:
    err.print(f"wardwatch: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def guarded(fn: Callable[[], T]) -> T:
    """Run a command body; expected failures become one translated line and exit code 1."""
    from wardwatch.audit.log import AuditIntegrityError  # noqa: PLC0415

    try:
        return fn()
    except ConfigError as exc:
        _fail(t("cli.config_error", detail=str(exc)))
    except Problem as exc:
        _fail(exc.detail())
    except AuditIntegrityError as exc:
        _fail(t("cli.audit_integrity", detail=str(exc)))
    except OSError as exc:
        _fail(t("cli.os_error", detail=f"{exc.filename or ''} {exc.strerror or exc}".strip()))
    raise AssertionError("unreachable")


def _settings(data: Path | None, config: Path | None, **overrides: Any) -> Settings:
    return load_settings(data, config, **overrides)


def _configure_logging(settings: Settings) -> None:
    from wardwatch.kernel.logging import configure_logging  # noqa: PLC0415

    configure_logging(settings.logging.level, settings.logging.json_format)


def _read_admin_password(username: str) -> str:
    password = os.environ.get("WARDWATCH_ADMIN_PASSWORD")
    if password:
        return password
    if not sys.stdin.isatty():
        _fail(t("cli.password_needed"))
    first = typer.prompt(t("cli.password_prompt", username=username), hide_input=True)
    second = typer.prompt(t("cli.password_repeat"), hide_input=True)
    if first != second:
        _fail(t("cli.password_mismatch"))
    return str(first)


@app.command()
def init(
    admin: Annotated[str, typer.Option("--admin", help="Username of the first administrator.")],
    data: DataOption = None,
    config: ConfigOption = None,
    org_name: Annotated[
        str, typer.Option("--org-name", help="Name of the root org node.")
    ] = "Ministry of Health",
) -> None:
    """Create the data directory, run migrations and create the first administrator.

    The password is read from WARDWATCH_ADMIN_PASSWORD or asked for at a prompt.
    """
    from wardwatch.instance import init_instance  # noqa: PLC0415

    def run() -> None:
        settings = _settings(data, config)
        password = _read_admin_password(admin)
        result = init_instance(settings, admin_username=admin, admin_password=password, org_name=org_name)
        out.print(t("cli.init_done", data=str(settings.data), admin=admin, size=result.checkpoint_size))

    guarded(run)


@app.command()
def migrate(data: DataOption = None, config: ConfigOption = None) -> None:
    """Upgrade the database schema to this version of WardWatch (audited)."""
    from wardwatch.instance import migrate_instance  # noqa: PLC0415

    def run() -> None:
        before, after = migrate_instance(_settings(data, config))
        out.print(t("cli.migrated", revision=after or ""))
        if before != after:
            out.print(t("cli.migrated_from", revision=before or "-"))

    guarded(run)


def _serve(settings: Settings, banner: Callable[[], None] | None = None) -> None:
    import uvicorn  # noqa: PLC0415

    from wardwatch.api.app import create_app  # noqa: PLC0415
    from wardwatch.instance import open_instance  # noqa: PLC0415
    from wardwatch.kernel import affinity  # noqa: PLC0415
    from wardwatch.kernel.heap import settle_after_start  # noqa: PLC0415

    _configure_logging(settings)
    if settings.server.cpu_affinity:
        try:
            affinity.pin(settings.server.cpu_affinity)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    container = open_instance(settings)
    # A server runs for months: start-up's objects leave the collector's walks once it is up.
    api = create_app(container, on_started=settle_after_start)
    if banner is not None:
        banner()
    try:
        uvicorn.run(
            api,
            host=settings.server.host,
            port=settings.server.port,
            log_config=None,
            access_log=False,
            proxy_headers=False,
            # A stop must not wait on open live views: they are told to close, then cut.
            timeout_graceful_shutdown=10,
        )
    finally:
        container.close()


@app.command()
def serve(
    data: DataOption = None,
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve the API (and the console) for an initialised data directory."""

    def run() -> None:
        server: dict[str, Any] = {}
        if host:
            server["host"] = host
        if port:
            server["port"] = port
        settings = _settings(data, config, **({"server": server} if server else {}))
        _serve(settings)

    guarded(run)


@app.command()
def demo(
    data: Annotated[Path, typer.Option("--data", help="Demo data directory.")] = Path("demo-data"),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    camera_port: Annotated[
        int, typer.Option("--camera-port", help="Port of the first simulated camera (control: one below).")
    ] = 8554,
    cameras: Annotated[
        bool, typer.Option("--cameras/--no-cameras", help="Start the simulated cameras and record them.")
    ] = True,
    fresh: Annotated[bool, typer.Option("--fresh", help="Start from an empty demo.")] = False,
    seed_only: Annotated[bool, typer.Option("--seed-only", help="Seed, print and exit.")] = False,
    expose: Annotated[
        bool, typer.Option("--expose", help="Allow a non-loopback --host (the demo password is public).")
    ] = False,
) -> None:
    """Seed a demo org tree with one user per role and simulated cameras, record them and serve it."""
    from wardwatch import demo as demo_seed  # noqa: PLC0415
    from wardwatch.sim.process import SimulatorProcess  # noqa: PLC0415

    def run() -> None:
        if host not in ("127.0.0.1", "localhost", "::1") and not expose:
            # Every demo account shares a published password: only this machine may reach it.
            _fail(t("cli.demo_not_loopback", host=host))
        if fresh:
            demo_seed.remove_demo(data)
        with out.status(t("cli.demo_seeding")):
            saved = demo_seed.ensure_demo(data, camera_port=camera_port if cameras else None)
        settings = _settings(data, None, server={"host": host, "port": port, "cookie_secure": False})

        def banner() -> None:
            _print_demo_banner(settings, saved)

        if seed_only:
            banner()
            return
        seeded = saved.get("cameras") or {"count": 0}
        simulator = None
        if cameras and seeded["count"]:
            main_size, sub_size = demo_seed.CAMERA_RESOLUTION
            simulator = SimulatorProcess(seeded["count"], seeded["port"], resolution=main_size, sub=sub_size)
            with out.status(t("cli.demo_cameras_starting", count=seeded["count"])):
                try:
                    simulator.start()
                except RuntimeError as exc:
                    _fail(t("cli.demo_cameras_failed", detail=str(exc)))
        # Yesterday's theatre day, with violations, so the demo shows alerts of every colour.
        theatre_days = demo_seed.prepare_theatre_days(settings)

        def replay() -> None:
            try:
                demo_seed.replay_theatre_days(f"http://{host}:{port}", theatre_days)
            except Exception as exc:
                out.print(t("cli.demo_doors_failed", detail=str(exc)))

        out.print(t("cli.demo_doors_started"))
        threading.Thread(target=replay, name="demo-doors", daemon=True).start()
        try:
            _serve(settings, banner)
        finally:
            if simulator is not None:
                simulator.stop()

    guarded(run)


def _print_demo_banner(settings: Settings, saved: dict[str, Any]) -> None:
    address = f"http://{settings.server.host}:{settings.server.port}"
    out.print(t("cli.demo_address", address=address))
    table = Table(title=t("cli.demo_accounts"))
    for column in ("cli.col_username", "cli.col_role", "cli.col_node", "cli.col_totp"):
        table.add_column(t(column), overflow="fold")
    for account in saved["accounts"]:
        table.add_row(
            account["username"], account["role"], account["node_name"], account.get("totp_secret") or "-"
        )
    wide.print(table)
    out.print(t("cli.demo_password", password=saved["password"]))
    cameras = saved.get("cameras") or {}
    if cameras.get("count"):
        port = int(cameras["port"])
        out.print(
            t(
                "cli.demo_cameras",
                count=cameras["count"],
                first=f"rtsp://127.0.0.1:{port}/main",
                control=f"http://127.0.0.1:{port - 1}",
            )
        )
    out.print(t("cli.demo_metrics", token=saved["metrics_token"]))


@audit_app.command("verify")
def audit_verify(
    data: DataOption = None,
    config: ConfigOption = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="A signed checkpoint to verify against (from a witness).")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="Verifier key file (name+id+key).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recompute the log and check it; exits 1 and names the first bad entry on tampering."""
    from wardwatch.audit.log import read_exported  # noqa: PLC0415
    from wardwatch.audit.note import Verifier  # noqa: PLC0415
    from wardwatch.audit.service import describe  # noqa: PLC0415
    from wardwatch.audit.verify import verify_log  # noqa: PLC0415
    from wardwatch.bootstrap import load_keys  # noqa: PLC0415
    from wardwatch.kernel.db import Database  # noqa: PLC0415

    def run() -> bool:
        settings = _settings(data, config)
        keys = load_keys(settings)
        verifier = Verifier.parse(public_key.read_text("utf-8")) if public_key else keys.signer.verifier
        note = checkpoint.read_text("utf-8") if checkpoint else None
        db = Database(settings.effective_database_url)
        try:
            # A plain line, not a spinner: a spinner's thread would stop the workers forking.
            err.print(t("cli.verifying"), markup=False)
            report = verify_log(
                db,
                verifier=verifier,
                mac=keys.audit_mac,
                mac_key=keys.audit_mac_key,
                checkpoint_note=note,
                exported_notes=read_exported(settings.data / "checkpoints"),
                workers=settings.audit.verify_workers,
            )
        finally:
            db.dispose()
        if as_json:
            out.print_json(json.dumps({**report.as_dict(), "message": describe(report)}))
        elif report.ok:
            out.print(describe(report), markup=False, soft_wrap=True)
        else:
            err.print(f"wardwatch: {describe(report)}", markup=False, soft_wrap=True)
        return report.ok

    if not guarded(run):
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    data: DataOption = None,
    config: ConfigOption = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Also write the signed checkpoint to this file.")
    ] = None,
) -> None:
    """Sign a checkpoint of the current log now and print it (C2SP tlog-checkpoint)."""
    from wardwatch.instance import open_instance  # noqa: PLC0415
    from wardwatch.kernel.actor import system_actor  # noqa: PLC0415

    def run() -> None:
        container = open_instance(_settings(data, config))
        try:
            with container.deps.uow(system_actor("cli")) as uow:
                stored = container.audit.create_checkpoint(uow.conn)
                uow.audit(
                    "audit.checkpoint",
                    object_type="checkpoint",
                    object_id=str(stored.size),
                    details={"size": stored.size},
                )
                uow.commit()
            container.audit.export(stored)
        finally:
            container.close()
        if out_file is not None:
            out_file.write_text(stored.note, "utf-8")
        sys.stdout.write(stored.note)

    guarded(run)


def _bench(as_json: bool, measure: Callable[[Callable[[str], None]], dict[str, Any]]) -> None:
    """Run a benchmark: progress lines on stderr unless ``--json``, one JSON object on stdout.

    A benchmark that cannot run (a port taken, ffmpeg missing) raises RuntimeError: that is
    the one-line message and non-zero exit, never a half-printed result.
    """

    def progress(message: str) -> None:
        if not as_json:
            err.print(message, markup=False)

    def run() -> None:
        try:
            result = measure(progress)
        except RuntimeError as exc:
            _fail(str(exc))
        sys.stdout.write(json.dumps(result) + "\n")

    guarded(run)


@bench_app.command("audit")
def bench_audit(
    appends: Annotated[int, typer.Option(help="Appends to time, each its own transaction.")] = 20_000,
    entries: Annotated[int, typer.Option(help="Log size to verify.")] = 1_000_000,
    data: Annotated[
        Path | None, typer.Option("--data", help="Scratch directory (default: a temporary one).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """Audit append and verification throughput against the issue's targets."""
    from wardwatch.bench.audit import run_audit_bench  # noqa: PLC0415

    def run() -> None:
        result = run_audit_bench(appends=appends, entries=entries, scratch=data, progress=not as_json)
        sys.stdout.write(json.dumps(result) + "\n")

    guarded(run)


@bench_app.command("record")
def bench_record(
    cameras: Annotated[int, typer.Option("--cameras", help="Simulated cameras to record.")] = 50,
    seconds: Annotated[float, typer.Option("--seconds", help="Measured recording time.")] = 120,
    resolution: Annotated[str, typer.Option(help="1080p, 720p, 360p or WxH.")] = "1080p",
    port: Annotated[int, typer.Option(help="First camera port for the simulator.")] = 18554,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """Recording cost per stream against one ffmpeg -c copy process per camera."""
    from wardwatch.bench.record import run_record_bench  # noqa: PLC0415

    _bench(
        as_json,
        lambda _progress: run_record_bench(
            cameras=cameras, seconds=seconds, resolution=resolution, port=port
        ),
    )


@bench_app.command("health")
def bench_health(
    cameras: Annotated[int, typer.Option("--cameras", help="Simulated cameras (half get faults).")] = 20,
    healthy_minutes: Annotated[
        float, typer.Option("--healthy-minutes", help="Untouched phase before the faults.")
    ] = 10,
    resolution: Annotated[str, typer.Option(help="Main stream size: 1080p, 720p, 360p or WxH.")] = "1080p",
    sub: Annotated[str, typer.Option(help="Sub stream size (the one analysed).")] = "360p",
    port: Annotated[int, typer.Option(help="First camera port for the simulator.")] = 18900,
    record: Annotated[bool, typer.Option("--record/--no-record", help="Record the cameras too.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """Camera fault detection times, false alarms and analysis CPU against the issue's targets."""
    from wardwatch.bench.health import run_health_bench  # noqa: PLC0415

    _bench(
        as_json,
        lambda progress: run_health_bench(
            cameras=cameras,
            healthy_s=healthy_minutes * 60,
            resolution=resolution,
            sub=sub,
            port=port,
            record=record,
            progress=progress,
        ),
    )


@bench_app.command("live")
def bench_live(
    seconds: Annotated[float, typer.Option("--seconds", help="Measured viewing time.")] = 30,
    warmup: Annotated[float, typer.Option("--warmup", help="Seconds of playing before measuring.")] = 5,
    variant: Annotated[str, typer.Option(help="Stream to watch: main or sub.")] = "main",
    resolution: Annotated[str, typer.Option(help="Main stream size: 1080p, 720p, 360p or WxH.")] = "1080p",
    port: Annotated[int, typer.Option(help="Port of the simulated camera (control: one below).")] = 18700,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """Camera-to-screen latency of live view in headless Chromium, against the issue's target."""
    from wardwatch.bench.live import run_live_bench  # noqa: PLC0415

    _bench(
        as_json,
        lambda _progress: run_live_bench(
            seconds=seconds, warmup=warmup, variant=variant, resolution=resolution, port=port
        ),
    )


@bench_app.command("rules")
def bench_rules(
    events: Annotated[int, typer.Option("--events", help="Door events to stream, in all.")] = 60_000,
    rate: Annotated[float, typer.Option("--rate", help="Door events per second, in all.")] = 1000,
    path: Annotated[
        str, typer.Option("--path", help="mqtt, http, or both (half the clinics each).")
    ] = "both",
    facilities: Annotated[int, typer.Option("--facilities", help="Clinics with a terminal each.")] = 100,
    http_interval: Annotated[
        float, typer.Option("--http-interval", help="Seconds between an HTTP terminal's batches.")
    ] = 0.5,
    mqtt_host: Annotated[str, typer.Option("--mqtt-host", help="The broker.")] = "127.0.0.1",
    mqtt_port: Annotated[int, typer.Option("--mqtt-port", help="The broker's port.")] = 1883,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """Door and schedule events through the real ingest path into alerts, against the issue's targets."""
    from wardwatch.bench.rules import run_rules_bench  # noqa: PLC0415

    _bench(
        as_json,
        lambda progress: run_rules_bench(
            events=events,
            rate=rate,
            path=path,
            facilities=facilities,
            http_interval_s=http_interval,
            mqtt_host=mqtt_host,
            mqtt_port=mqtt_port,
            progress=progress,
        ),
    )


@sim_app.command("cameras")
def sim_cameras(
    count: Annotated[int, typer.Option("--count", help="How many cameras.")] = 4,
    port: Annotated[int, typer.Option("--port", help="Port of camera 0; camera i uses port+i.")] = 8554,
    control_port: Annotated[
        int | None, typer.Option("--control-port", help="Fault control API (default: port - 1).")
    ] = None,
    resolution: Annotated[str, typer.Option(help="Main stream size: 1080p, 720p, 360p or WxH.")] = "1080p",
    sub: Annotated[str, typer.Option(help="Sub stream size, or 'none'.")] = "360p",
    fps: Annotated[int, typer.Option(help="Frames per second.")] = 25,
    scene: Annotated[str, typer.Option(help="corridor, moving, dark, yard or mixed.")] = "mixed",
    credentials: Annotated[str | None, typer.Option(help="user:password required by every camera.")] = None,
    parent_pid: Annotated[
        int | None, typer.Option("--parent-pid", hidden=True, help="Stop when this parent process is gone.")
    ] = None,
) -> None:
    """Serve simulated RTSP cameras until interrupted (Ctrl-C)."""
    from wardwatch.sim.control import ControlServer  # noqa: PLC0415
    from wardwatch.sim.fleet import fleet, parse_resolution  # noqa: PLC0415
    from wardwatch.sim.loops import default_cache_dir  # noqa: PLC0415
    from wardwatch.sim.process import wait_for_stop  # noqa: PLC0415
    from wardwatch.sim.server import CameraFarm  # noqa: PLC0415

    def run() -> None:
        try:
            creds = tuple(credentials.split(":", 1)) if credentials else None
            if creds is not None and len(creds) != 2:
                raise ValueError("credentials must be user:password")
            configs = fleet(
                count,
                port,
                main=parse_resolution(resolution),
                sub=None if sub == "none" else parse_resolution(sub),
                fps=fps,
                scene=scene,
                credentials=creds,
            )
        except ValueError as exc:
            _fail(str(exc))
        farm = CameraFarm(configs, default_cache_dir())
        with out.status(t("cli.sim_preparing")) as status:
            farm.prepare(lambda what: status.update(t("cli.sim_preparing_scene", scene=what)))
        farm.start()
        control = ControlServer(farm, control_port if control_port is not None else port - 1)
        control.start()
        out.print(t("cli.sim_ready", count=count, control=f"http://127.0.0.1:{control.port}"))
        for row in farm.status():
            urls = "  ".join(url for url in (row["main_url"], row["sub_url"]) if url)
            out.print(f"  {row['name']}: {urls}", markup=False)
        try:
            wait_for_stop(parent_pid)
        except KeyboardInterrupt:
            pass
        finally:
            control.stop()
            farm.stop()

    guarded(run)


@sim_app.command("doors")
def sim_doors(
    facility: Annotated[str, typer.Option(help="The facility whose theatre day is simulated (its id).")],
    data: DataOption = None,
    config: ConfigOption = None,
    day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: yesterday at the facility).")] = None,
    violations: Annotated[
        str, typer.Option(help="Comma-separated rules to break (R1..R8), 'all' or 'none'.")
    ] = "all",
    via: Annotated[str, typer.Option(help="http (to --url) or mqtt (through the broker).")] = "http",
    url: Annotated[str, typer.Option(help="The running server.")] = "http://127.0.0.1:8000",
    admin: Annotated[str, typer.Option(help="The administrator account that provisions.")] = "admin",
) -> None:
    """Simulate a facility's door terminals for a day of operations, with violations injected."""
    from datetime import date  # noqa: PLC0415

    from wardwatch.instance import open_instance  # noqa: PLC0415
    from wardwatch.sim import doors as sim  # noqa: PLC0415

    def run() -> None:
        if via not in ("http", "mqtt"):
            _fail(f"--via must be http or mqtt, not {via!r}")
        chosen = {"all": list(sim.VIOLATIONS), "none": []}.get(violations)
        if chosen is None:
            chosen = [v.strip().upper() for v in violations.split(",") if v.strip()]
        settings = _settings(data, config)
        container = open_instance(settings)
        try:
            principal = sim.admin_principal(container, admin)
            place = container.registry.get_facility(principal, facility)
            rooms = [
                d
                for d in container.registry.list_doors(principal, facility)
                if d.kind == "operating_room_door"
            ]
            try:
                when = date.fromisoformat(day) if day else sim.yesterday(place.timezone)
                plan = sim.plan_day(when, chosen, rooms=len(rooms), tag=facility[-6:].upper())
            except ValueError as exc:
                _fail(str(exc))
            where = sim.provision(container, principal, facility, plan)
        finally:
            container.close()
        events = sim.door_events(plan, where)
        try:
            if via == "http":
                sent = sim.send_http(url, where.token, events)
            else:
                mqtt = settings.access.mqtt
                sent = sim.send_mqtt(mqtt.host, mqtt.port, mqtt.topic_prefix, facility, events)
        except Exception as exc:
            _fail(str(exc))
        summary = {
            "facility_id": facility,
            "day": plan.day.isoformat(),
            "operations": len(plan.operations),
            "events": len(events),
            "sent": sent,
            "expected_alerts": plan.expected,
            "skipped": plan.skipped,
        }
        print(json.dumps(summary, ensure_ascii=False))

    guarded(run)


@sim_app.command("fault")
def sim_fault(
    camera: Annotated[int, typer.Argument(help="Camera index.")],
    fault: Annotated[
        str, typer.Argument(help="healthy, stop, stall, freeze, black, covered, moved or wrong_credentials.")
    ],
    control: Annotated[str, typer.Option(help="The simulator's control API.")] = "http://127.0.0.1:8553",
) -> None:
    """Switch one simulated camera to a fault (or back to healthy)."""
    import httpx  # noqa: PLC0415

    def run() -> None:
        try:
            response = httpx.post(f"{control}/cameras/{camera}/fault", json={"fault": fault}, timeout=10)
        except httpx.HTTPError as exc:
            _fail(t("cli.sim_unreachable", control=control, detail=str(exc)))
        if response.status_code != 200:
            _fail(t("cli.sim_refused", detail=response.json().get("error", response.text)))
        out.print(t("cli.sim_fault_set", camera=camera, fault=fault))

    guarded(run)


@sim_app.command("prepare")
def sim_prepare(
    resolution: Annotated[str, typer.Option(help="Main stream size.")] = "1080p",
    sub: Annotated[str, typer.Option(help="Sub stream size, or 'none'.")] = "360p",
    fps: Annotated[int, typer.Option(help="Frames per second.")] = 25,
) -> None:
    """Encode and cache every scene loop now, so simulated cameras start in a moment later."""
    from wardwatch.sim.fleet import fleet, parse_resolution  # noqa: PLC0415
    from wardwatch.sim.loops import default_cache_dir  # noqa: PLC0415
    from wardwatch.sim.server import CameraFarm  # noqa: PLC0415

    def run() -> None:
        try:
            configs = fleet(
                3,
                20000,
                main=parse_resolution(resolution),
                sub=None if sub == "none" else parse_resolution(sub),
                fps=fps,
            )
        except ValueError as exc:
            _fail(str(exc))
        farm = CameraFarm(configs, default_cache_dir())
        with out.status(t("cli.sim_preparing")) as status:
            farm.prepare(lambda what: status.update(t("cli.sim_preparing_scene", scene=what)))
        out.print(t("cli.sim_prepared", cache=str(default_cache_dir())))

    guarded(run)


@practitioners_app.command("import")
def practitioners_import(
    file: Annotated[Path, typer.Argument(help="The register export, CSV or JSON.")],
    node: Annotated[str, typer.Option("--node", help="Id of the org node whose register this is.")],
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="incremental: add and change the rows given; full: the file is the whole register "
            "(practitioners absent from it are revoked).",
        ),
    ] = "incremental",
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or json (default: from the file name).")
    ] = None,
    data: DataOption = None,
    config: ConfigOption = None,
) -> None:
    """Import a practitioner register; a file with any error is refused whole (exit 1)."""
    from wardwatch.access.model import ImportMode  # noqa: PLC0415
    from wardwatch.access.register import ImportFile  # noqa: PLC0415
    from wardwatch.access.tables import FileFormat, format_of  # noqa: PLC0415
    from wardwatch.instance import open_instance  # noqa: PLC0415
    from wardwatch.kernel.actor import system_actor  # noqa: PLC0415

    def run() -> None:
        if mode not in {m.value for m in ImportMode}:
            _fail(t("cli.bad_choice", option="--mode", value=mode, allowed="full, incremental"))
        if file_format is not None and file_format not in {f.value for f in FileFormat}:
            _fail(t("cli.bad_choice", option="--format", value=file_format, allowed="csv, json"))
        fmt = FileFormat(file_format) if file_format else format_of(None, file.name)
        upload = ImportFile(data=file.read_bytes(), format=fmt, mode=ImportMode(mode), filename=file.name)
        container = open_instance(_settings(data, config))
        try:
            result = container.access.register.import_as(system_actor("cli"), node, upload)
        finally:
            container.close()
        out.print(
            t(
                "cli.practitioners_imported",
                node=node,
                rows=result.rows,
                added=result.added,
                changed=result.changed,
                unchanged=result.unchanged,
                revoked=result.revoked,
            ),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

    guarded(run)


def main() -> None:
    _cli_locale()
    app()


if __name__ == "__main__":
    main()

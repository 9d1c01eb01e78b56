"""The ``geoengine`` command: parse arguments, call the library, turn errors into exit codes.

Exit codes: 0 success; 2 a problem with the input the user can fix (one clear line
per problem, no traceback), including the environment: ``--out`` cannot be written, the
disk is full; 1 an internal failure (traceback only with ``--debug``).
"""

from __future__ import annotations

import errno
import logging
import sys
import traceback
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from .errors import GeoEngineError

app = typer.Typer(
    name="geoengine",
    help="Camera coverage and patrol planning on real street networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
network_app = typer.Typer(help="Road networks: fetch from OpenStreetMap (online) for offline use.", no_args_is_help=True)
app.add_typer(network_app, name="network")

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1


def _echo_err(text: str) -> None:
    typer.echo(text, err=True)


def _call(ctx: typer.Context, fn: Callable[[], Any]) -> Any:
    """Run ``fn``; user errors → exit 2 with their message, anything else → exit 1."""
    debug = bool((ctx.obj or {}).get("debug"))
    try:
        return fn()
    except GeoEngineError as err:
        lines = err.lines
        _echo_err(f"error: {lines[0]}")
        for line in lines[1:]:
            _echo_err(line)
        if debug:
            traceback.print_exc()
        raise typer.Exit(EXIT_USER_ERROR) from None
    except KeyboardInterrupt:
        _echo_err("interrupted")
        raise typer.Exit(130) from None
    except typer.Exit:
        raise
    except OSError as err:
        env_line = _environment_error(err)
        if env_line is None:
            return _internal_error(err, debug)
        _echo_err(f"error: {env_line}")
        if debug:
            traceback.print_exc()
        raise typer.Exit(EXIT_USER_ERROR) from None
    except Exception as err:  # an internal failure: a bug, not the user's input
        return _internal_error(err, debug)


def _internal_error(err: BaseException, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    _echo_err(
        f"internal error: {type(err).__name__}: {err}\n"
        "This is a bug in geoengine, not in your input. Rerun with --debug for the traceback and report it."
    )
    raise typer.Exit(EXIT_INTERNAL_ERROR) from None


def _environment_error(err: OSError) -> str | None:
    """The one line for an OSError the user's machine caused (a full disk, no permission),
    or None when it is an internal failure."""
    where = err.filename if err.filename is not None else "?"
    if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return f"disk full at {where} (free some space on that disk)"
    if err.errno == errno.EROFS:
        return f"cannot write {where}: read-only file system"
    if err.errno in (errno.EACCES, errno.EPERM) and err.filename is not None:
        return f"cannot write {where}: permission denied"
    return None


@app.callback()
def _main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress of each stage.")] = False,
) -> None:
    ctx.obj = {"debug": debug}
    # warnings are collected into the run summary and the manifest; the log repeats them only with -v
    logging.basicConfig(level=logging.INFO if verbose or debug else logging.ERROR, format="%(levelname)s %(name)s: %(message)s")


def _run_and_report(scenario: Path, out: Path | None, tiles: TileSource | None, quiet: bool, force: bool = False) -> None:
    from .pipeline import run as run_pipeline

    result = run_pipeline(scenario, out_dir=out, tiles=tiles.value if tiles else None, progress=not quiet, force=force)
    if not quiet:
        typer.echo(result.summary())


class TileSource(str, Enum):
    osm = "osm"


Tiles = Annotated[
    TileSource | None,
    typer.Option(help="Add web map tiles under the run's own basemap (needs internet to show)."),
]
Out = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Write the run exactly into this folder: a new one, or a previous run folder (replaced as a whole).",
    ),
]
Force = Annotated[
    bool,
    typer.Option("--force", help="Replace --out even when it is a file or a folder that is not a geoengine run."),
]


@app.command()
def run(
    ctx: typer.Context,
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Out = None,
    tiles: Tiles = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
    force: Force = False,
) -> None:
    """Run a scenario and write its run folder (map.html, manifest.json, …)."""
    _call(ctx, lambda: _run_and_report(scenario, out, tiles, quiet, force))


@app.command()
def validate(
    ctx: typer.Context,
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
) -> None:
    """Check a scenario file and report every problem at once."""
    from .scenario import load_scenario

    def _validate() -> None:
        sc = load_scenario(scenario)
        layers = ", ".join(sc.layer_sources()) or "none"
        windows = ", ".join(w.name for w in sc.windows)
        typer.echo(f"ok: {scenario} — scenario {sc.name!r}; layers: {layers}; windows: {windows}")
        for w in sc.warnings:
            typer.echo(f"warning: {w}", err=True)

    _call(ctx, _validate)


@app.command()
def demo(
    ctx: typer.Context,
    out: Out = None,
    tiles: Tiles = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    force: Force = False,
    write_layers: Annotated[
        Path | None,
        typer.Option(
            "--write-layers", metavar="DIR", help="Instead of running: regenerate the demo layers into DIR.", hidden=True
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", hidden=True, help="Seed of the regenerated demo layers.")] = 0,
) -> None:
    """Run the embedded demo offline: central Helsinki with synthetic incidents."""
    from .demo import demo_scenario, write_demo_layers

    if write_layers is not None:  # maintainers: regenerate the committed demo layers (layers/)

        def _write() -> None:
            for kind, path in write_demo_layers(write_layers, seed=seed).items():
                typer.echo(f"{kind}: {path}")

        _call(ctx, _write)
        return
    _call(ctx, lambda: _run_and_report(demo_scenario(), out, tiles, quiet, force))


@app.command()
def clean(
    ctx: typer.Context,
    folder: Annotated[
        Path | None,
        typer.Argument(
            help="A run folder, a folder of run folders, or a scenario file (its outputs folder). "
            "Default: ./runs and the current folder."
        ),
    ] = None,
) -> None:
    """Remove what killed runs left: hidden staging folders (.NAME.*.partial) and previous runs moved aside."""
    from ._io import clean_folder

    def _clean() -> None:
        if folder is None:
            folders = [Path("runs"), Path(".")] if Path("runs").is_dir() else [Path(".")]
        elif folder.suffix.lower() in (".yaml", ".yml") and folder.is_file():
            from .scenario import load_scenario

            folders = [Path(load_scenario(folder).outputs.folder)]
        else:
            folders = [folder]
        lines = [line for f in folders for line in clean_folder(f)]
        for line in lines:
            typer.echo(line)
        if not lines:
            typer.echo(f"nothing to clean in {', '.join(str(f) for f in folders)}")

    _call(ctx, _clean)


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (as in scenarios/schema.json)."""
    import json

    from .scenario import scenario_json_schema

    typer.echo(json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False))


@app.command()
def batch(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help="Scenario files, folders of them, or globs ('scenarios/*.yaml').")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder of the run folders and the summary.")] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Local worker processes (default: cores, at most 8).")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="An existing Dask scheduler, e.g. tcp://host:8786.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run many scenarios and sweeps on Dask; skip complete runs; summary.csv and summary.html."""
    from .batch import run_batch

    def _batch() -> None:
        result = run_batch(paths, out=out, workers=workers, scheduler=scheduler, progress=not quiet)
        typer.echo(result.summary())
        if not result.ok:
            raise typer.Exit(
                EXIT_USER_ERROR if all(r.failure in ("input", "infeasible") for r in result.failed) else EXIT_INTERNAL_ERROR
            )

    _call(ctx, _batch)


@app.command()
def compare(
    ctx: typer.Context,
    run_a: Annotated[Path, typer.Argument(help="The first run folder (before).")],
    run_b: Annotated[Path, typer.Argument(help="The second run folder (after).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for compare.html (default: compare-A-vs-B beside RUN_B).")
    ] = None,
) -> None:
    """Difference map of two runs: cameras added/removed, beats changed, coverage gained/lost."""
    from .compare import compare_runs

    def _compare() -> None:
        result = compare_runs(run_a, run_b, out=out)
        typer.echo(result.summary())

    _call(ctx, _compare)


@app.command()
def audit(
    ctx: typer.Context,
    run_folder: Annotated[Path, typer.Argument(help="A run folder written by geoengine run or geoengine demo.")],
) -> None:
    """Check a run's patrol plan against the streets and the scenario: exit 0 clean, 2 with one line per violation."""
    from .audit import audit_run

    def _audit() -> None:
        report = audit_run(run_folder)
        for line in report.lines():
            typer.echo(line)
        typer.echo(report.summary())
        if not report.clean:
            raise typer.Exit(EXIT_USER_ERROR)

    _call(ctx, _audit)


@network_app.command("fetch")
def network_fetch(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="GraphML file to write (use it as network.source).")],
    place: Annotated[str | None, typer.Option(help="Place name, e.g. 'Jing'an District, Shanghai'.")] = None,
    bbox: Annotated[str | None, typer.Option(help="west,south,east,north in degrees.")] = None,
    network_type: Annotated[str, typer.Option(help="all, drive or walk.")] = "all",
) -> None:
    """Download a street network from OpenStreetMap (needs internet) and save it as GraphML."""
    from . import network as net
    from .errors import ScenarioError

    def _fetch() -> None:
        if (place is None) == (bbox is None):
            raise ScenarioError.single("give exactly one of --place or --bbox", field="network fetch")
        if network_type not in ("all", "drive", "walk"):
            raise ScenarioError.single(
                f"unknown network type {network_type!r}", field="--network-type", hint="use all, drive or walk"
            )
        nt: Literal["all", "drive", "walk"] = network_type  # type: ignore[assignment]
        if bbox is not None:
            try:
                w, s, e, n = (float(v) for v in bbox.split(","))
            except ValueError:
                raise ScenarioError.single(
                    f"cannot read bbox {bbox!r}", field="--bbox", hint="give four numbers: west,south,east,north"
                ) from None
            network = net.network_from_bbox((w, s, e, n), network_type=nt)
        else:
            network = net.network_from_place(str(place), network_type=nt)
        path = net.save_graphml(network, out)
        typer.echo(f"saved {network.stats.nodes} nodes, {network.stats.edges} edges to {path}")

    _call(ctx, _fetch)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())


if __name__ == "__main__":
    main()

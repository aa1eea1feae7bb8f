"""`atelier`: GPUs, bookings and jobs from a terminal, through the REST API only.

atelier login https://atelier.studio.example
atelier gpus
atelier book --gpus 4 --start "2026-11-24 09:00" --end "2026-11-27 18:00"
atelier submit --gpus 2 --time 4h -- python train.py --lr 3e-4
atelier jobs
atelier logs -f 42
atelier cancel 42
atelier models register 42 --name detector --metrics metrics.json
"""

import shlex
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from cli.client import Api, CliError, Config

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
out = Console()
err = Console(stderr=True)


def api() -> Api:
    return Api(Config.load())


@app.command()
def login(url: str, token: str = typer.Option(None, help="a personal token from your profile page")):
    """Save the portal URL and a personal API token (create one on your profile page)."""
    token = token or typer.prompt("Personal API token (from your profile page)", hide_input=True)
    config = Config(url=url, token=token.strip())
    me = Api(config).call("GET", "me/")
    config.save()
    out.print(f"Logged in to {url} as {me['username']} ({me['time_zone']}).")


@app.command()
def gpus():
    """Every GPU, its state and use now."""
    body = api().call("GET", "gpus/", params={"page_size": 500})
    table = Table("node", "gpu", "model", "state", "util %", "memory MiB")
    for gpu in body.get("results", body):
        table.add_row(
            str(gpu.get("node")),
            str(gpu.get("index")),
            str(gpu.get("model")),
            str(gpu.get("state")),
            str(gpu.get("util_gpu_pct", "n/a")),
            f"{gpu.get('memory_used_mb', 'n/a')}/{gpu.get('memory_total_mb', 'n/a')}",
        )
    out.print(table)


@app.command()
def book(
    gpus: int = typer.Option(..., help="how many GPUs"),
    start: str = typer.Option(..., help="ISO 8601 with offset, or wall-clock 'YYYY-MM-DD HH:MM' in your time zone"),
    end: str = typer.Option(..., help="same forms as --start"),
    note: str = typer.Option("", help="what the booking is for"),
    model: str = typer.Option("", help="GPU model"),
    same_node: bool = typer.Option(True, help="all GPUs on one node"),
):
    """Book GPUs for a window."""
    body = {"gpus": gpus, "note": note, "same_node": same_node} | _window("start", start) | _window("end", end)
    if model:
        body["model"] = model
    booking = api().call("POST", "bookings/", json=body)
    out.print(f"Booking {booking['id']}: {len(booking['gpus'])} GPUs from {booking['start']} to {booking['end']}.")


def _window(name: str, value: str) -> dict:
    has_offset = value.endswith("Z") or "+" in value[10:] or value[10:].count("-") > 0
    return {name: value} if has_offset else {f"{name}_local": value}


@app.command()
def submit(
    command: list[str] = typer.Argument(..., help="the command, after --"),
    gpus: int = typer.Option(1, help="how many GPUs"),
    # Sent as typed: the server reads it with the same grammar as the submit form (docs/jobs.md "Durations").
    time_limit: str = typer.Option("1h", "--time", help="time limit: 4h, 90m, 1h30m, 2d, PT4H or 4:00:00"),
    name: str = typer.Option("", help="a name for the job"),
    workdir: str = typer.Option("", help="working directory under the portal's root"),
    model: str = typer.Option("", help="GPU model"),
    priority: str = typer.Option("normal", help="low, normal or high"),
    preemptible: bool = typer.Option(False, help="may be preempted (requeued) to return borrowed GPUs"),
    multi_node: bool = typer.Option(
        False, "--multi-node", help="may span nodes when no one node has the GPUs (torch.distributed rendezvous env)"
    ),
    env: list[str] = typer.Option([], help="NAME=value, repeatable"),
    booking: int = typer.Option(None, help="run inside this booking of your team"),
    reservation: int = typer.Option(None, hidden=True, help="the old name of --booking"),
    environment: str = typer.Option("", help="runtime environment `python` resolves in (atelier environments)"),
    dataset_version: int = typer.Option(
        None, help="train on this dataset version: its export is staged first, in ATELIER_INPUT_DATA"
    ),
    export_format: str = typer.Option("coco", help="with --dataset-version: the export's format"),
    register_as: str = typer.Option("", help="with --dataset-version: register model.pt as this model on success"),
):
    """Submit a job: everything after -- is the command."""
    variables = dict(item.split("=", 1) for item in env if "=" in item)
    body = {
        "command": shlex.join(command),
        "gpus": gpus,
        "time_limit": time_limit,
        "name": name,
        "working_dir": workdir,
        "gpu_model": model,
        "priority": priority,
        "preemptible": preemptible,
        "multi_node": multi_node,
        "env": variables,
        "booking": booking if booking is not None else reservation,
        "environment": environment,
    }
    if dataset_version is not None:
        body |= {"dataset_version": dataset_version, "export_format": export_format, "register_as": register_as}
        staging = api().call("POST", "staged-jobs/", json=body)
        out.print(
            f"Staging {staging['id']}: dataset version {dataset_version} is exported and staged, then the job is "
            f"submitted (atelier staged {staging['id']})."
        )
        return
    job = api().call("POST", "jobs/", json=body)
    out.print(f"Job {job['id']} submitted ({job['state']}).")


@app.command()
def staged(staging_id: int):
    """A job submitted with --dataset-version: its staging, then its job."""
    staging = api().call("GET", f"staged-jobs/{staging_id}/")
    export = f"export {staging['export']} {staging['export_state']}" + (" (reused)" if staging["reused_export"] else "")
    out.print(f"Staging {staging['id']}: {staging['state']}; {export}")
    if staging["job"]:
        out.print(f"Job {staging['job']} (atelier logs -f {staging['job']})")
    if staging["error"]:
        out.print(f"Error: {staging['error']}")
    if staging["model_version"]:
        out.print(f"Registered as model {staging['model']} version {staging['model_version']}")


@app.command()
def environments():
    """The runtime environments a job may name with --environment."""
    table = Table("name", "python prefix", "default", "description")
    for environment in api().call("GET", "environments/")["results"]:
        table.add_row(
            environment["name"],
            environment["python_prefix"],
            "yes" if environment["is_default"] else "",
            environment["description"],
        )
    out.print(table)


@app.command()
def jobs(all_: bool = typer.Option(False, "--all", help="the team's jobs, not only mine")):
    """Your jobs (or your teams' with --all)."""
    params = {} if all_ else {"mine": "true"}
    body = api().call("GET", "jobs/", params=params)
    table = Table("id", "name", "owner", "state", "gpus", "submitted", "queue")
    for job in body["results"]:
        queue = (
            f"#{job['queue_position']} {job['pending_reason']}"
            if job["state"] == "pending" and job["queue_position"]
            else job["pending_reason"]
        )
        table.add_row(
            str(job["id"]),
            job["name"],
            job["owner"],
            job["state"],
            str(job["gpus"]),
            job["submitted_at"][:19],
            queue or "",
        )
    out.print(table)


@app.command()
def logs(job: int, follow: bool = typer.Option(False, "-f", "--follow", help="keep printing until the job ends")):
    """Print a job's log (of its latest attempt)."""
    client, offset, attempt = api(), 0, None
    while True:
        params = {"offset": offset} | ({"attempt": attempt} if attempt else {})
        page = client.call("GET", f"jobs/{job}/log/", params=params)
        attempt = page["attempt"]
        sys.stdout.write(page["data"])
        sys.stdout.flush()
        offset = page["next_offset"]
        if page["complete"] or (not follow and not page["data"]):
            return
        if not page["data"]:
            time.sleep(1.0)


@app.command()
def cancel(job: int):
    """Cancel a job (a running one stops within a second or two)."""
    body = api().call("POST", f"jobs/{job}/cancel/")
    out.print(f"Job {job}: {body['state']} — {body['state_reason']}")


models_app = typer.Typer(help="The model registry (docs/models.md).", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("register")
def models_register(
    job: int = typer.Argument(..., help="the succeeded job whose outputs hold the checkpoint"),
    name: str = typer.Option(..., help="the model's name in the job's team; created when it does not exist yet"),
    checkpoint: str = typer.Option("model.pt", help="path in the job's outputs"),
    format: str = typer.Option("torch_state_dict", help="torch_state_dict or torchscript"),
    metrics: str = typer.Option("", help="a JSON file of metrics in the job's outputs"),
    config: str = typer.Option("", help="a config file in the job's outputs"),
):
    """Register a job's checkpoint as a new version of a model (with the job and its dataset version)."""
    client = api()
    team_name = client.call("GET", f"jobs/{job}/")["team"]
    team = next(
        t["id"] for t in client.call("GET", "teams/", params={"page_size": 500})["results"] if t["name"] == team_name
    )
    found = client.call("GET", "models/", params={"team": team, "name": name})["results"]
    model = found[0] if found else client.call("POST", "models/", json={"team": team, "name": name})
    body = {"job": job, "checkpoint": checkpoint, "format": format, "metrics_file": metrics, "config_file": config}
    version = client.call("POST", f"models/{model['id']}/versions/", json=body)
    out.print(f"Model {name} version {version['number']} registered from job {job}.")


@models_app.command("list")
def models_list():
    """Your teams' registered models."""
    table = Table("id", "team", "name", "description")
    for model in api().call("GET", "models/", params={"page_size": 500})["results"]:
        table.add_row(str(model["id"]), model["team_name"], model["name"], model["description"])
    out.print(table)


pipelines_app = typer.Typer(help="Pipelines of GPU jobs (docs/pipelines.md).", no_args_is_help=True)
app.add_typer(pipelines_app, name="pipelines")


@pipelines_app.command("list")
def pipelines_list():
    """Your teams' pipelines."""
    table = Table("id", "team", "name", "spec", "owner")
    for pipeline in api().call("GET", "pipelines/", params={"page_size": 500})["results"]:
        table.add_row(
            str(pipeline["id"]),
            pipeline["team_name"],
            pipeline["name"],
            f"v{pipeline['last_version_number']}",
            pipeline["owner"] or "",
        )
    out.print(table)


def _spec_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"Cannot read {path}: {error}") from None


@pipelines_app.command("validate")
def pipelines_validate(
    file: str = typer.Argument(..., help="the spec, YAML or JSON"),
    team: int = typer.Option(..., help="the team whose limits the spec must fit"),
):
    """Check a spec without saving it: every problem with its path, or its steps in the order they run."""
    report = api().call("POST", "pipelines/validate/", json={"team": team, "spec": _spec_file(file)})
    if report["ok"]:
        out.print("Valid: " + " → ".join(f"{s['name']} ({s['type']})" for s in report["steps"]))
        return
    for problem in report["problems"]:
        err.print(f"{problem['path'] or '(spec)'}: {problem['message']}", highlight=False, markup=False)
    raise typer.Exit(1)


@pipelines_app.command("push")
def pipelines_push(
    name: str = typer.Argument(..., help="the pipeline's name"),
    file: str = typer.Argument(..., help="the spec, YAML or JSON"),
    team: int = typer.Option(None, help="the team's id (needed to create; or when several teams have the name)"),
):
    """Create the pipeline, or save the file as its next spec version (nothing new when unchanged)."""
    client, text = api(), _spec_file(file)
    params = {"name": name} | ({"team": team} if team else {})
    found = client.call("GET", "pipelines/", params=params)["results"]
    if len(found) > 1:
        raise CliError(f"Several of your teams have a pipeline named {name!r}: give --team.")
    if not found:
        if team is None:
            raise CliError(f"No pipeline named {name!r}; give --team to create it.")
        created = client.call("POST", "pipelines/", json={"team": team, "name": name, "spec": text})
        out.print(f"Pipeline {name} created (id {created['id']}, spec v1).")
        return
    version = client.call("POST", f"pipelines/{found[0]['id']}/versions/", json={"spec": text})
    out.print(f"Pipeline {name}: spec v{version['number']} ({version['content_hash'][:12]}).")


@pipelines_app.command("run")
def pipelines_run(
    name: str = typer.Argument(..., help="the pipeline's name"),
    param: list[str] = typer.Option([], "-p", "--param", help="a run parameter, KEY=VALUE (repeat)"),
    team: int = typer.Option(None, help="the team's id, when several of your teams have a pipeline of this name"),
    no_cache: bool = typer.Option(False, "--no-cache", help="run every step, reusing nothing"),
):
    """Start a run of a pipeline's latest spec; prints the run's id."""
    parameters = {}
    for item in param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"-p takes KEY=VALUE, not {item!r}.")
        parameters[key.strip()] = value
    body = {"name": name, "team": team, "parameters": parameters, "use_cache": not no_cache}
    run = api().call("POST", "pipeline-runs/", json=body)
    out.print(
        f"Run {run['id']} of {run['pipeline_name']} (spec v{run['spec_version']}) started: atelier pipelines status {run['id']}"
    )


@pipelines_app.command("status")
def pipelines_status(run: int = typer.Argument(..., help="the run's id")):
    """A run's state and each step's: tries, job, cache hit or miss and why, error."""
    body = api().call("GET", f"pipeline-runs/{run}/")
    out.print(f"Run {body['id']} of {body['pipeline_name']} v{body['spec_version']}: {body['state']} {body['error']}")
    table = Table("step", "type", "state", "tries", "job", "seconds", "cache", "error")
    for step in body["steps"]:
        table.add_row(
            step["name"],
            step["type"],
            step["state"],
            str(step["tries"]),
            str(step["job"] or ""),
            "" if step["duration_s"] is None else f"{step['duration_s']:.1f}",
            step["cache_note"],
            step["error"],
        )
    out.print(table)


@pipelines_app.command("logs")
def pipelines_logs(
    run: int = typer.Argument(..., help="the run's id"),
    step: str = typer.Argument(..., help="the step's name"),
    follow: bool = typer.Option(False, "-f", "--follow", help="keep printing until the job ends"),
):
    """Print the log of a step's job (its latest try)."""
    steps = {s["name"]: s for s in api().call("GET", f"pipeline-runs/{run}/")["steps"]}
    if step not in steps:
        raise CliError(f"Run {run} has no step {step!r}; its steps: {', '.join(steps)}.")
    if not steps[step]["job"]:
        raise CliError(f"Step {step!r} runs no job now ({steps[step]['state']}; {steps[step]['cache_note']}).")
    logs(steps[step]["job"], follow=follow)


def main():
    try:
        app()
    except CliError as exc:
        err.print(f"atelier: {exc}", highlight=False, markup=False, soft_wrap=True)  # one line, however long
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()

"""The REST client behind the CLI: a base URL and a personal token kept in the user's config dir."""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import httpx
import typer

CONFIG_ENV = "ATELIER_CONFIG"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class CliError(Exception):
    """An error to print as one line, exiting with status 1."""


def config_path() -> Path:
    override = os.environ.get(CONFIG_ENV)
    return Path(override) if override else Path(typer.get_app_dir("atelier")) / "config.json"


@dataclass(frozen=True)
class Config:
    url: str
    token: str

    def save(self) -> None:
        path = config_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"url": self.url, "token": self.token}))
        path.chmod(0o600)  # the token is a password

    @classmethod
    def load(cls) -> "Config":
        path = config_path()
        if not path.exists():
            raise CliError("Not logged in: run `atelier login URL` first.")
        data = json.loads(path.read_text())
        return cls(url=data["url"], token=data["token"])


class Api:
    def __init__(self, config: Config):
        self.http = httpx.Client(
            base_url=config.url.rstrip("/") + "/api/v1/",
            headers={"Authorization": f"Token {config.token}", "Accept": "application/json"},
            timeout=TIMEOUT,
        )

    def call(self, method: str, path: str, **kwargs) -> dict | list:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CliError(f"Cannot reach {self.http.base_url}: {exc}") from None
        if response.status_code >= 400:
            raise CliError(_error_line(response))
        return response.json() if response.content else {}


def _error_line(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    detail = body.get("detail", "") if isinstance(body, dict) else str(body)
    if response.status_code == 401:
        return f"{detail} Run `atelier login URL` with a valid token."
    return f"{detail}" if detail else f"HTTP {response.status_code}"

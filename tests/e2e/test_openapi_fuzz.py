"""Schemathesis against a real server process on the demo's data, from the server's own
OpenAPI document, three times: with a tablet's device token, a coordinator's session and an
admin's session. It finds no server error (5xx), no status code, media type, header or body
the document does not declare, and no 405 without `Allow`.

Deterministic (the same requests every run) and bounded: a few examples per operation.
"""

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from server.access.authenticate import SESSION_COOKIE
from server.demo.staff import DEMO_PASSWORD

from .conftest import DOORSTEP, ServerProcess, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
EXAMPLES = 12
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
]
# What would end the credentials a run sends: its token (rotated), its session (logged
# out), and the login itself (its throttle is per address, shared by the whole run).
KEEPS_TOKEN = ["ApiDeviceRotateRotate"]
KEEPS_SESSION = ["ApiSessionLogin", "ApiSessionLogout", "ApiSessionLogoutLogoutForm"]
# The demo's grid member LP-01-02 and the coordinator of its community.
GRID, COORDINATOR, ADMIN = "LP-01-02", "coordinator-lp-01", "admin"


@dataclass(frozen=True)
class Run:
    who: str
    headers: dict[str, str]
    excluded: list[str]


def session(server: ServerProcess, username: str) -> dict[str, str]:
    """A browser's session: its cookie, and the CSRF token its changes send."""
    body = {"username": username, "password": DEMO_PASSWORD}
    answer = httpx.post(f"{server.url}/api/session", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    secret = answer.cookies[SESSION_COOKIE]
    return {"Cookie": f"{SESSION_COOKIE}={secret}", "X-CSRF-Token": answer.json()["csrf_token"]}


@pytest.fixture
def demo_server(database_url: str, tmp_path: Path) -> ServerProcess:
    """`doorstep demo --no-serve` on a fresh database, then `doorstep serve` on it."""
    built = subprocess.run(
        [DOORSTEP, "demo", "--no-serve", "--seed", "11", "--day", "2026-11-20"],
        env={**os.environ, "DOORSTEP_DATABASE_URL": database_url},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert built.returncode == 0, built.stderr
    server = ServerProcess(database_url, tmp_path)
    # Webhooks the fuzzer registers are delivered to a closed port here, never elsewhere.
    nowhere = f"http://127.0.0.1:{free_port()}"
    server.env.update(HTTP_PROXY=nowhere, HTTPS_PROXY=nowhere, ALL_PROXY=nowhere, NO_PROXY="")
    server.start()
    yield server
    server.stop()


def schemathesis(
    server: ServerProcess, run: Run, workdir: Path
) -> subprocess.CompletedProcess[str]:
    headers = [arg for name, value in run.headers.items() for arg in ("-H", f"{name}: {value}")]
    excluded = [arg for operation in run.excluded for arg in ("--exclude-operation-id", operation)]
    return subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{server.url}/schema/openapi.json",
            *headers,
            *excluded,
            f"--checks={','.join(CHECKS)}",
            f"--max-examples={EXAMPLES}",
            "--generation-deterministic",
            "--workers=1",
            "--request-timeout=60",
            "--no-color",
            "--output-truncate=false",
        ],
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=400,
    )


def test_schemathesis_finds_nothing(demo_server: ServerProcess, tmp_path: Path) -> None:
    # The sessions first: the device run's logins count against this address.
    runs = [
        Run("coordinator", session(demo_server, COORDINATOR), KEEPS_SESSION),
        Run("admin", session(demo_server, ADMIN), KEEPS_SESSION),
    ]
    device = {"Authorization": f"Bearer {demo_server.add_device(GRID)}"}
    # The device first: the coordinator may revoke its tablet, the admin its account.
    runs.insert(0, Run("device", device, KEEPS_TOKEN))
    found = []
    for run in runs:
        started = time.monotonic()
        done = schemathesis(demo_server, run, tmp_path)
        seconds = time.monotonic() - started
        summary = done.stdout.strip().splitlines()[-12:]
        print(f"{run.who}: {seconds:.0f} s", *summary, sep="\n")
        if done.returncode != 0:
            found.append(f"--- {run.who} ({seconds:.0f} s)\n{done.stdout[-20000:]}{done.stderr}")
    assert not found, "\n".join(found)
    assert demo_server.process is not None and demo_server.process.poll() is None

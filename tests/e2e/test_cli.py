"""First setup from the command line: the real `doorstep` commands on a real database, then
the app on that database honours what they made (and stops honouring what they revoked)."""

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.db.access_tables import audit_log
from tests.integration.harness import running_app

from .conftest import DOORSTEP

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TREE = """code,name,level,parent
LP,临平街道,street,
LP-01,梅堰社区,社区,LP
LP-01-01,梅堰北苑网格,网格,LP-01
LP-01-02,梅堰南苑网格,grid,LP-01
"""
# A grid whose parent is nowhere, and a level nobody knows.
BAD_TREE = """code,name,level,parent
LP,临平街道,street,
LP-02-01,荷花塘网格,grid,LP-02
LP-03,藕花洲社区,district,LP
"""
ADMIN_PASSWORD = "correct horse battery"
COORDINATOR_PASSWORD = "staple 4 ever, really"


def doorstep(
    database_url: str, cwd: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DOORSTEP, *args],
        env={**os.environ, "DOORSTEP_DATABASE_URL": database_url},
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def lines(text: str) -> list[str]:
    return text.strip().splitlines()


async def test_first_setup_then_the_app_honours_it(database_url: str, tmp_path: Path) -> None:
    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return doorstep(database_url, tmp_path, *args, stdin=stdin)

    # The first admin: a weak password is refused, a good one read from stdin.
    admin = ("admin", "create", "--username", "root", "--name", "管理员", "--password-stdin")
    weak = run(*admin, stdin="short\n")
    assert weak.returncode == 1 and "at least 10 characters" in weak.stderr
    created = run(*admin, stdin=ADMIN_PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    uuid.UUID(created.stdout.strip())  # the account id, alone on stdout

    # The org tree: a dry run changes nothing, a bad file nothing either (exit 1 with the
    # rows' errors), the real import everything, and a second one nothing more.
    (tmp_path / "tree.csv").write_text(TREE, encoding="utf-8")
    (tmp_path / "bad.csv").write_text(BAD_TREE, encoding="utf-8")
    units = ["LP", "LP-01", "LP-01-01", "LP-01-02"]
    dry = run("org", "import", "--dry-run", "tree.csv")
    assert dry.returncode == 0 and lines(dry.stdout) == [f"org_unit.created {u}" for u in units]
    bad = run("org", "import", "bad.csv")
    assert bad.returncode == 1
    assert "line 3: parent LP-02 is neither in the file nor in the tree" in bad.stderr
    assert "line 4: level 'district'" in bad.stderr and "nothing was imported" in bad.stderr
    done = run("org", "import", "tree.csv")
    assert done.returncode == 0 and lines(done.stdout) == lines(dry.stdout)
    again = run("org", "import", "tree.csv")
    assert again.returncode == 0 and again.stdout == ""

    # Accounts: a grid member with no password, a coordinator with one; no unknown units.
    member = run(
        *("account", "add", "--username", "wangfang", "--name", "王芳"),
        *("--role", "grid_member", "--unit", "LP-01-01"),
    )
    assert member.returncode == 0, member.stderr
    coordinator = run(
        *("account", "add", "--username", "lina", "--name", "李娜", "--role", "coordinator"),
        *("--unit", "LP-01", "--password-stdin"),
        stdin=COORDINATOR_PASSWORD + "\n",
    )
    assert coordinator.returncode == 0, coordinator.stderr
    nowhere = run(
        *("account", "add", "--username", "x", "--name", "某", "--role", "grid_member"),
        *("--unit", "LP-09"),
    )
    assert nowhere.returncode == 1 and "no org unit LP-09" in nowhere.stderr

    # An enrollment: the code alone on stdout; its QR code, payload and expiry on stderr.
    enrolled = run("device", "enroll", "--account", "wangfang", "--server", "http://10.0.0.5:8000")
    assert enrolled.returncode == 0, enrolled.stderr
    code = enrolled.stdout.strip()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{10}", code), code
    assert f"doorstep://enroll?server=http%3A%2F%2F10.0.0.5%3A8000&code={code}" in enrolled.stderr
    assert "▀" in enrolled.stderr and "valid once until" in enrolled.stderr
    unknown = run("device", "enroll", "--account", "nobody")
    assert unknown.returncode == 1 and "no active account 'nobody'" in unknown.stderr

    # A machine token: the token alone on stdout, its id (to revoke it) on stderr.
    made = run("token", "create", "--name", "nightly export", "--unit", "LP-01")
    assert made.returncode == 0, made.stderr
    machine_token = made.stdout.strip()
    token_id = re.search(r"token ([0-9a-f-]{36})", made.stderr)
    assert machine_token.startswith("dsm_") and token_id

    async with running_app(database_url) as app:
        http = app.client
        # The tablet redeems the code once, for its account's grid.
        answer = await http.post("/api/enroll", json={"code": code, "app_version": "1.0"})
        assert answer.status_code == 201, answer.text
        tablet = answer.json()
        assert (tablet["username"], tablet["grids"]) == ("wangfang", ["LP-01-01"])
        reused = await http.post("/api/enroll", json={"code": code})
        assert reused.status_code == 400
        device = {"Authorization": f"Bearer {tablet['token']}"}
        assert (await http.get("/api/households", headers=device)).status_code == 200

        # The desk accounts log in with the passwords given on stdin.
        for username, password in (("root", ADMIN_PASSWORD), ("lina", COORDINATOR_PASSWORD)):
            login = await http.post(
                "/api/session", json={"username": username, "password": password}
            )
            assert login.status_code == 200, (username, login.text)
        http.cookies.clear()

        machine = {"Authorization": f"Bearer {machine_token}"}
        assert (await http.get("/api/visits", headers=machine)).status_code == 200

        # `device list` names the device; revoking it, or the token, shuts each out at once.
        listed = run("device", "list", "--account", "wangfang")
        assert listed.returncode == 0
        assert lines(listed.stdout)[0].split("\t")[:3] == [
            tablet["device_id"],
            "wangfang",
            "王芳的平板",
        ]
        assert run("device", "revoke", tablet["device_id"]).returncode == 0
        assert (await http.get("/api/households", headers=device)).status_code == 401
        assert run("token", "revoke", token_id.group(1)).returncode == 0
        assert (await http.get("/api/visits", headers=machine)).status_code == 401
        gone = run("token", "revoke", token_id.group(1))
        assert gone.returncode == 1 and "no such active token" in gone.stderr

        # Every command's change is in the audit log, by the command line; no secret is.
        async with app.services.database.connect() as connection:
            rows = (await connection.execute(sa.select(audit_log))).mappings().all()
    by_cli = {row["action"] for row in rows if row["username"] == "(cli)"}
    assert by_cli >= {
        "account.created",
        "org_unit.created",
        "device.enrollment_started",
        "machine_token.created",
        "device.revoked",
        "machine_token.revoked",
    }
    logged = repr([dict(row) for row in rows])
    for secret in (ADMIN_PASSWORD, COORDINATOR_PASSWORD, code, machine_token, tablet["token"]):
        assert secret not in logged

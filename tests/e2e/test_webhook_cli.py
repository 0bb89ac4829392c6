"""`doorstep webhook add|list|remove` on a real database: the secret is printed once, the
webhook is listed without it, and removing it leaves nothing to deliver to."""

from pathlib import Path

import pytest

from .test_cli import doorstep

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def test_add_list_remove(database_url: str, tmp_path: Path) -> None:
    url = "https://platform.example/hook"
    added = doorstep(database_url, tmp_path, "webhook", "add", url, "--event", "record.reviewed")
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip()
    assert secret.startswith("whsec_") and len(secret) > 40
    hook_id = added.stderr.split()[1]

    listed = doorstep(database_url, tmp_path, "webhook", "list")
    assert listed.stdout.split() == [hook_id, url, "record.reviewed", "-"]
    assert secret not in listed.stdout

    refused = doorstep(database_url, tmp_path, "webhook", "add", "ftp://platform.example")
    assert refused.returncode != 0 and "http" in refused.stderr

    removed = doorstep(database_url, tmp_path, "webhook", "remove", hook_id)
    assert removed.returncode == 0, removed.stderr
    assert doorstep(database_url, tmp_path, "webhook", "list").stdout == ""
    again = doorstep(database_url, tmp_path, "webhook", "remove", hook_id)
    assert again.returncode == 1 and "no such webhook" in again.stderr

"""Group commit: the appends a worker has waiting for one site go in one transaction, and each
still gets its own answer."""

from __future__ import annotations

import dataclasses
import threading

from service.consents import service
from service.consents.group import GroupCommit
from service.consents.service import (
    OUTDATED,
    RECORDED_BEFORE,
    SITE_CHANGED,
    Appended,
    NotAppended,
    PendingAppend,
)
from service.extensions import db
from tests.helpers.consents import ORIGIN, event, publish, verify


def pending_for(site, documents: dict, **overrides) -> PendingAppend:
    body = event(documents=documents, **overrides)
    choices = {"necessary": True, "analytics": True, "marketing": False}
    fingerprint = service.request_fingerprint(site.id, body)
    item = service.entry_item(site.id, body, choices, fingerprint, None)
    return PendingAppend(site, documents, item)


def test_each_append_of_a_group_gets_its_own_result(app, client, admin, make_site):
    make_site()
    first = publish("privacy", "We collect little.")
    site = service.site_context("news-example", refresh=True)
    recorded = pending_for(site, {"privacy": first})
    [result] = service.append_group([recorded])
    assert isinstance(result, Appended) and result.row["seq"] == 1

    again = recorded  # the same event, already in the ledger
    fresh = pending_for(site, {"privacy": first})
    twin = dataclasses.replace(fresh)  # the same event twice in one group
    outdated = pending_for(site, {})
    stale = pending_for(dataclasses.replace(site, config_version=site.config_version - 1), {})
    second = pending_for(site, {"privacy": first})
    results = service.append_group([again, fresh, twin, outdated, stale, second])

    assert results[0] == results[2] == NotAppended(RECORDED_BEFORE)
    assert results[3].reason == OUTDATED
    assert isinstance(results[3].error, service.DocumentsOutdated)
    assert results[4] == NotAppended(SITE_CHANGED)
    assert [results[1].row["seq"], results[5].row["seq"]] == [2, 3]  # one transaction, in order
    db.session.rollback()
    report = verify(client, admin)
    assert report["ok"] and report["checked"] == 3


def test_appends_queued_behind_a_running_group_go_in_the_next_one():
    groups = GroupCommit()
    runs: list[list[str]] = []
    first_running, release_first = threading.Event(), threading.Event()

    def run(group):
        runs.append(list(group))
        if len(runs) == 1:
            first_running.set()
            release_first.wait(5)
        return [f"result of {name}" for name in group]

    results: dict[str, str] = {}

    def submit(name: str) -> None:
        results[name] = groups.submit("site", name, run)

    first = threading.Thread(target=submit, args=("a",))
    first.start()
    assert first_running.wait(5)
    others = [threading.Thread(target=submit, args=(name,)) for name in ("b", "c", "d")]
    for thread in others:
        thread.start()
    while groups.waiting() < 3:
        threading.Event().wait(0.01)
    release_first.set()
    for thread in [first, *others]:
        thread.join(5)
    assert runs[0] == ["a"] and sorted(runs[1]) == ["b", "c", "d"] and len(runs) == 2
    assert results == {name: f"result of {name}" for name in "abcd"}


def test_a_failed_group_fails_each_of_its_appends():
    groups = GroupCommit()

    def run(group):
        raise ConnectionError("database gone")

    try:
        groups.submit("site", "item", run)
    except ConnectionError as error:
        assert str(error) == "database gone"
    else:
        raise AssertionError("the group's error was not raised")


def test_threads_of_one_app_append_one_linear_chain(app, client, admin, make_site):
    make_site()
    answers: list[int] = []

    def writer(index: int) -> None:
        local = app.test_client()
        for n in range(10):
            response = local.post(
                "/api/v1/sites/news-example/consents",
                json=event(subject=f"s_group{index:02d}_{n:04d}"),
                headers={"Origin": ORIGIN},
            )
            answers.append(response.status_code)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [201] * 60
    db.session.rollback()
    report = verify(client, admin)
    assert report["ok"] and report["checked"] == 60

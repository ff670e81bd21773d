"""The widget and subject identity in real Chromium: later events carry the token of the first
answer, and a visitor whose token is gone (storage cleared with the subject cookie kept, or a
token the service no longer takes) starts a new subject instead of losing the event."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import LiveService
from .test_widget import banner, local_state, open_demo, wait_for_receipt

pytestmark = pytest.mark.e2e


def identity(page: Page) -> dict[str, Any]:
    return page.evaluate("() => JSON.parse(localStorage.getItem('consentry.subject') || '{}')")


def consent_answers(page: Page) -> list[tuple[dict[str, Any], int, str | None]]:
    """Every consent POST the page makes from now on: (body sent, status, error code)."""
    answers: list[tuple[dict[str, Any], int, str | None]] = []

    def seen(response) -> None:
        if response.request.method == "POST" and response.url.endswith("/consents"):
            error = (response.json().get("error") or {}).get("code")
            answers.append((json.loads(response.request.post_data), response.status, error))

    page.on("response", seen)
    return answers


def wait_for_answers(page: Page, answers: list, count: int) -> None:
    """Playwright hands response events over while the page is waited on: wait, not sleep."""
    for _ in range(200):
        if len(answers) >= count:
            return
        page.wait_for_timeout(50)
    assert len(answers) >= count, answers


def accept_then_keep_subject(page: Page, live: LiveService) -> str:
    """Accept all on the demo page; the subject it was recorded for."""
    open_demo(page, live)
    banner(page).get_by_role("button", name="Accept all").click()
    state = wait_for_receipt(page)
    [entry] = live.wait_for_entries(state["s"], 1)
    assert entry["action"] == "accept_all"
    return state["s"]


def reject_all_later(page: Page) -> None:
    page.reload()
    page.wait_for_load_state("load")
    page.wait_for_function("() => !!window.Consentry")
    page.evaluate("() => window.Consentry.rejectAll()")


def wait_for_empty_outbox(page: Page) -> None:
    page.wait_for_function(
        "() => JSON.parse(localStorage.getItem('consentry.outbox') || '[]').length === 0"
    )


def test_a_later_choice_carries_the_token_of_the_first_answer(page, live):
    subject = accept_then_keep_subject(page, live)
    first_token = identity(page)["tokens"][subject]
    assert first_token == local_state(page)["subject_token"]
    answers = consent_answers(page)
    reject_all_later(page)
    wait_for_empty_outbox(page)
    entries = live.wait_for_entries(subject, 2)
    assert [e["action"] for e in entries] == ["accept_all", "reject_all"]
    wait_for_answers(page, answers, 1)
    [(sent, status, _error)] = answers
    assert status == 201 and sent["subject"] == subject
    assert sent["subject_token"] == first_token


def test_storage_cleared_with_the_subject_cookie_kept_starts_a_new_subject(page, live):
    old = accept_then_keep_subject(page, live)
    page.evaluate("() => localStorage.clear()")  # the consentry cookie stays
    assert any(c["name"] == "consentry" for c in page.context.cookies())
    answers = consent_answers(page)
    reject_all_later(page)
    wait_for_empty_outbox(page)
    page.wait_for_function("() => JSON.parse(localStorage.getItem('consentry') || '{}').receipt")
    new = local_state(page)["s"]
    assert new != old
    wait_for_answers(page, answers, 2)
    assert [(sent["subject"], status, error) for sent, status, error in answers] == [
        (old, 403, "subject_token_required"),
        (new, 201, None),
    ]
    # Nothing lost, nothing added in the old subject's name.
    assert [e["action"] for e in live.entries(old)] == ["accept_all"]
    [entry] = live.wait_for_entries(new, 1)
    assert entry["action"] == "reject_all"
    assert entry["client_event_id"] == answers[0][0]["client_event_id"]
    assert identity(page)["map"] == {old: new}
    # The next choice, still made with the old subject of the cookie, follows the new one.
    page.reload()
    page.wait_for_function("() => !!window.Consentry")
    page.evaluate("() => window.Consentry.acceptAll()")
    wait_for_empty_outbox(page)
    assert [e["action"] for e in live.wait_for_entries(new, 2)] == ["reject_all", "accept_all"]
    assert [e["action"] for e in live.entries(old)] == ["accept_all"]
    expect(banner(page)).to_be_hidden()


def test_a_token_the_service_refuses_starts_a_new_subject(page, live):
    old = accept_then_keep_subject(page, live)
    page.evaluate(
        """(subject) => localStorage.setItem('consentry.subject',
             JSON.stringify({tokens: {[subject]: 'forged.token.value'}, map: {}}))""",
        old,
    )
    answers = consent_answers(page)
    reject_all_later(page)
    wait_for_empty_outbox(page)
    wait_for_answers(page, answers, 2)
    [(refused, first, code), (renewed, second, _none)] = answers
    assert (refused["subject"], refused["subject_token"], first, code) == (
        old,
        "forged.token.value",
        403,
        "subject_token_required",
    )
    assert second == 201 and renewed["subject"] != old and "subject_token" not in renewed
    [entry] = live.wait_for_entries(renewed["subject"], 1)
    assert entry["action"] == "reject_all"
    assert [e["action"] for e in live.entries(old)] == ["accept_all"]

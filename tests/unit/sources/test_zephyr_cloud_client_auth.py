"""ZephyrClient refused by Zephyr Scale Cloud: either 401 body gives one clear sentence, never the token.

Zephyr Scale Cloud's 401 answers had the ``{"errorCode", "message"}`` body of every other error;
SmartBear's current schemas give them ``{"error": "<reason>"}`` (the shared spec note
``zephyr-scale-cloud-v2-attachments.md``). ztoq must explain both the same way.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from ztoq.config import ZephyrConfig
from ztoq.errors import AuthenticationFailed
from ztoq.simulators.zephyr import ZephyrSimulator
from ztoq.sources.zephyr_cloud import ZephyrClient

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ6dG9xIn0.c2lnbmF0dXJl-secret"
BASE = "https://api.zephyrscale.smartbear.com/v2"


def refused_with(transport: httpx.AsyncBaseTransport, base_url: str = BASE) -> AuthenticationFailed:
    config = ZephyrConfig(base_url=base_url, api_token=SecretStr(TOKEN), retry_count=0)
    client = ZephyrClient.from_config(config, transport=transport)

    async def go() -> None:
        try:
            await client.project("DEMO")
        finally:
            await client.aclose()

    with pytest.raises(AuthenticationFailed) as caught:
        asyncio.run(go())
    return caught.value


def answering(status: int, body: Any) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


@pytest.mark.parametrize(
    "body",
    [
        {"error": "Invalid token: the signature does not match."},  # the current schemas
        {"errorCode": 401, "message": "Invalid token: the signature does not match."},  # the old body
        {"error": {"message": "Invalid token: the signature does not match."}},
    ],
)
def test_either_401_body_gives_one_sentence_with_the_reason(body: Any) -> None:
    message = str(refused_with(answering(401, body)))
    assert message == (
        f"Zephyr answered 401 to GET {BASE}/projects/DEMO: Invalid token: the signature does not match; "
        "check the token (and that it belongs to this base URL)."
    )


@pytest.mark.parametrize("body", [{}, {"error": ""}, {"error": None}, [], "nope"])
def test_a_401_without_a_reason_still_says_what_to_check(body: Any) -> None:
    message = str(refused_with(answering(401, body)))
    assert message == (
        f"Zephyr answered 401 to GET {BASE}/projects/DEMO; "
        "check the token (and that it belongs to this base URL)."
    )


def test_a_reason_echoing_the_token_never_shows_it() -> None:
    for body in ({"error": f"Token {TOKEN} is not valid"}, {"message": f"Bearer {TOKEN} refused"}):
        message = str(refused_with(answering(401, body)))
        assert TOKEN not in message
        assert "***" in message


def test_the_simulator_401_reads_as_one_sentence() -> None:
    sim = ZephyrSimulator(None)
    message = str(refused_with(httpx.ASGITransport(app=sim.app), "http://zephyr.test/v2"))
    assert message == (
        "Zephyr answered 401 to GET http://zephyr.test/v2/projects/DEMO: "
        "Invalid token: the signature does not match; "
        "check the token (and that it belongs to this base URL)."
    )
    assert TOKEN not in message

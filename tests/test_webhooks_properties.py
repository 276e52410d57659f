"""Property-based: whatever a sender puts in a request, the webhook answers 4xx or 2xx,
never 5xx, and nothing is stored without a valid signature."""

from __future__ import annotations

import json
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drafts.models import InboundEvent, Message
from tests.webhooks import encode, payload, signature_headers

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text as hostile as Python strings get: NUL, lone surrogates, control and wide characters.
hostile_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
# Values known to break naive receivers, drawn often so few examples reach them.
nasty = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "\ud800",
        "\udfff tail",
        "x" * 201,
        "y" * 5000,
        "not an email",
        "javascript:alert(1)",
        "2026-02-30T10:00:00Z",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "",
        " ",
    ]
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | hostile_text
    | nasty
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)
header_names = st.sampled_from(
    ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "x-anything"]
)


def _post(client: Any, channel: Any, body: bytes, headers: dict[str, str]) -> Any:
    return client.generic(
        "POST",
        channel.webhook_path,
        data=body,
        content_type=headers.pop("content-type", "application/json"),
        headers=headers,
    )


@PROPERTY_SETTINGS
@given(
    body=st.binary(max_size=600) | json_values.map(lambda v: json.dumps(v).encode()),
    headers=st.dictionaries(header_names, hostile_text, max_size=5),
    fresh_timestamp=st.booleans(),
    signature=st.lists(
        st.sampled_from(["v1", "v2", "", "v1,"]).flatmap(
            lambda v: st.text(max_size=60).map(lambda s: f"{v},{s}")
        ),
        max_size=3,
    ).map(" ".join),
)
def test_unsigned_requests_never_5xx_and_store_nothing(
    client, tenant, body, headers, fresh_timestamp, signature
):
    if fresh_timestamp:  # get past the timestamp check so the signature parsing runs
        headers.update(
            {"webhook-id": "msg_x", "webhook-timestamp": str(int(time.time()))},
            **({"webhook-signature": signature} if signature else {}),
        )

    response = _post(client, tenant.email_channel, body, headers)

    assert response.status_code in {400, 401, 411}, response.status_code
    assert Message.objects.count() == 0
    assert InboundEvent.objects.count() == 0


@PROPERTY_SETTINGS
@given(body=st.binary(max_size=600) | json_values.map(lambda v: json.dumps(v).encode()))
def test_signed_garbage_is_400_never_5xx(client, tenant, body):
    channel = tenant.email_channel
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(time.time()))}
        headers["webhook-signature"] = "v1,AAAA"  # the library cannot sign what is not text
    else:
        headers = signature_headers(channel.secret, body)
    events_before = InboundEvent.objects.count()

    response = _post(client, channel, body, headers)

    assert response.status_code == 400, response.status_code
    assert "error" in response.json()
    assert Message.objects.count() == 0
    assert InboundEvent.objects.count() - events_before in {0, 1}


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON document (dict keys and list indexes)."""
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


ALL_PATHS = _paths(payload(sender={"user_email": "rep@demo.test"}))[1:]


@PROPERTY_SETTINGS
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(ALL_PATHS), nasty | json_values | st.just("__delete__")),
        min_size=1,
        max_size=4,
    ),
    message_type=st.sampled_from(["message.inbound", "message.outbound"]),
)
def test_signed_near_misses_of_the_schema_never_5xx(client, tenant, changes, message_type):
    """The contract's example with a few values replaced by anything (or removed): accepted
    or a 400 with details, and a 400 keeps the event as rejected."""
    data = payload(sender={"user_email": "rep@demo.test"}, type=message_type)
    data["message"]["external_id"] = f"m-{time.monotonic_ns()}"
    for path, value in changes:
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part] if _has(parent, part) else None
            if parent is None:
                break
        if parent is None or not _has(parent, path[-1]):
            continue
        if value == "__delete__":
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    body = encode(json.dumps(data).encode())
    messages_before = Message.objects.count()
    rejected_before = InboundEvent.objects.filter(status="rejected").count()

    response = _post(
        client, tenant.email_channel, body, signature_headers(tenant.email_channel.secret, body)
    )

    assert response.status_code in {200, 202, 400}, response.status_code
    if response.status_code == 400:
        assert response.json()["details"], response.json()
        assert InboundEvent.objects.filter(status="rejected").count() == rejected_before + 1
        assert Message.objects.count() == messages_before
    else:
        assert Message.objects.filter(pk=response.json()["message_id"]).exists()


def _has(container: Any, key: Any) -> bool:
    if isinstance(container, dict):
        return key in container
    if isinstance(container, list):
        return isinstance(key, int) and 0 <= key < len(container)
    return False

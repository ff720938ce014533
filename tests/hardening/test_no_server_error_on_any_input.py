"""No 500 on any input: a Hypothesis property over every route of the URL map, every method,
as every role, with real objects in the database.

Path parts, query parameters and form fields are filled with real ids of the producer the user
belongs to, real ids of another producer, and hostile text: Unicode digits ("²", "٣"), numbers
past every integer range, empty strings, control characters, very long strings. The property:
the answer is never a server error (and no exception escapes).

Every (route, method) gets its own run of examples, so none is left to chance. Bounded for CI
(about a minute); a bigger run: HYPOTHESIS_ROUTE_EXAMPLES=200 (examples per route and method).
"""

from __future__ import annotations

import io
import os
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.security import limiter
from tests.conftest import login
from tests.hardening.world import (
    ARGUMENT,
    ROLES,
    build_world,
    fill,
    input_names,
    methods,
    path_values,
    rules,
)

EXAMPLES = int(os.environ.get("HYPOTHESIS_ROUTE_EXAMPLES", "12"))

HOSTILE = [
    "²",
    "²²²²²²",
    "٣٤٥٦٧٨",
    "１２３",
    "߁߂",
    "9" * 25,
    "2147483648",
    "-2147483649",
    "18446744073709551616",
    "-1",
    "0",
    "",
    " ",
    "1e9999",
    "NaN",
    "inf",
    "1,5",
    "0x10",
    "\x00",
    "a\x00b",
    "\r\n",
    "\u202e",
    "x" * 5000,
    "'; DROP TABLE user; --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "//evil.example",
    "9999-99-99",
    "2024-02-30",
]

UNICODE_DIGITS = ["²", "٣", "۴", "９", "߁", "१", "௭", "𝟘"]

hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    # a run of one Unicode digit, at the lengths the app checks (PIN 6, GTIN 8/12/13/14, …)
    st.builds(lambda d, n: d * n, st.sampled_from(UNICODE_DIGITS), st.integers(1, 26)),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=20),
    st.text(alphabet=st.characters(categories=["Cc", "Zs", "Cf"]), max_size=10),
    st.text(max_size=40),
)

# Plausible values, so a request gets past the first check and deep into the services.
PLAUSIBLE = {
    "name": "Cam Cao Phong",
    "name_vi": "Cam Cao Phong",
    "kind": "htx",
    "province_code": "25",
    "ward_code": "5089",
    "phone": "0987654321",
    "role": "member",
    "status": "published",
    "label": "thùng 5 kg",
    "pack_size": "5",
    "unit": "kg",
    "price": "150.000",
    "weight_grams": "5000",
    "quantity": "10",
    "first": "1",
    "last": "2",
    "lot_code": "LOT-HYP",
    "produced_on": "2026-11-10",
    "decision_date": "2024-03-15",
    "total_score": "80",
    "score_a": "32",
    "score_b": "20",
    "score_c": "28",
    "stars": "4",
    "reason": "thử",
    "pin": "123456",
    "code": "123456",
    "serial": "1",
    "page": "2",
}
FILE_FIELDS = ("photos", "photo", "logo", "upload")


@st.composite
def requests(draw, rule, method, world, names):
    role = draw(st.sampled_from(ROLES))
    own, other = path_values(world.a, world), path_values(world.b, world)
    values = dict(own)
    for match in ARGUMENT.finditer(rule.rule):
        if (match.group(1) or "").startswith("any("):
            continue  # a fixed choice (file format): fill() takes the first
        name = match.group(2)
        values[name] = draw(
            st.one_of(
                st.just(own[name]),
                st.just(other[name]),
                hostile_text.map(lambda text: quote(text, safe="") or "0"),
            )
        )
    url = fill(rule.rule, values, rule.endpoint)
    # Either a few chosen fields, or every field at once with one hostile value: then it
    # reaches whichever field the route reads.
    fields = st.one_of(
        st.dictionaries(st.sampled_from(names), hostile_text, max_size=8),
        # (cut, so the body stays under the size the test client would spool to a temp file)
        hostile_text.map(lambda text: dict.fromkeys(names, text[:2000])),
    )
    query = draw(fields)
    form: dict = {}
    if method == "POST":
        form = {**PLAUSIBLE, **draw(fields)}
        if draw(st.booleans()):
            field = draw(st.sampled_from(FILE_FIELDS))
            form[field] = (io.BytesIO(draw(st.binary(max_size=300))), "x.jpg")
    return role, url, query, form


def test_no_route_answers_a_server_error_whatever_the_input(app):
    with app.app_context():
        world = build_world()
    names = input_names()
    assert {"pin", "product", "province", "price", "weight_grams", "first", "17"} <= set(names)
    clients = {role: app.test_client() for role in ROLES}

    def run(rule, method: str) -> None:
        @given(request=requests(rule, method, world, names))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def never_a_server_error(request):
            role, url, query, form = request
            client = clients[role]
            if world.users[role] is not None:
                login(client, world.users[role])  # again: a POST /logout may have ended it
            limiter.reset()
            if method == "GET":
                response = client.get(url, query_string=query)
            else:
                response = client.post(url, query_string=query, data=form)
            status = response.status_code
            assert status < 500, (role, method, url, query, form, status)

        never_a_server_error()

    pairs = [(rule, method) for rule in rules(app) for method in methods(rule)]
    assert len(pairs) >= 90
    for rule, method in pairs:
        run(rule, method)

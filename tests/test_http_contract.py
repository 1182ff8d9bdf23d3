"""What every response honours, whatever the route: HEAD, strict integers, security headers (error
pages included), compression and a cache policy for static files."""

import gzip
import re

import pytest
from fastapi import APIRouter

from blockscope.api.web import ASSETS, PLOTLY_JS, PLOTLY_URL, STATIC

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")


def get_routes(client) -> list[str]:
    """Every documented GET path, with its path parameters filled in with a valid value, but those
    that run real tensors (HEAD on them is a 405: test_head_never_runs_real_tensors)."""
    paths = client.get("/openapi.json").json()["paths"]
    filled = {"{kind}": "group_conv", "{guideline}": "g1", "{name}": "shufflenet_v2_1x"}
    out = []
    for path, methods in paths.items():
        if "get" in methods:
            for key, value in filled.items():
                path = path.replace(key, value)
            real = r"latency|onnx|/measuring|/api/machine|/equivalence|/quantization/|/api/guidelines/[^/]+$"
            if "{" not in path and not re.search(real, path):
                out.append(path)
    return out


def test_head_answers_every_get_route_like_get_without_a_body(client):
    paths = [*get_routes(client)[:40], "/", "/healthz", "/blocks/conv", f"{ASSETS}/js/api.js", PLOTLY_URL]
    for path in paths:
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
        for name in SECURITY_HEADERS:
            assert name in head.headers, (path, name)


def test_head_never_runs_real_tensors(client, monkeypatch):
    """HEAD on a route that measures or checks would spend device time on an answer nobody reads."""
    from blockscope import measuring

    monkeypatch.setattr(measuring, "submit", lambda *a, **k: pytest.fail("ran a job for a HEAD"))
    for url in ("/api/blocks/conv/latency?height=8&width=8", "/api/guidelines/g1",
                "/api/blocks/conv_bn/reparam/equivalence", "/api/quantization/activations?measure=true"):
        r = client.head(url)
        assert r.status_code == 405 and r.headers["allow"] == "GET", url
    assert client.head("/api/blocks/conv_bn/reparam").status_code == 200  # the forms: no job


@pytest.mark.parametrize("written", ["64.0", "+64", "1_000", "1e3", " 64", "0x40", "６４", "9" * 40])
def test_integers_are_written_in_digits(client, written):
    for url in (f"/api/blocks/group_conv?in_channels={written}",
                f"/api/blocks/conv/latency?in_channels=8&repeats={written}",
                f"/api/guidelines/g1?batch={written}",
                f"/api/shuffle?channels={written}&groups=2",
                f"/api/quantization/activations?size={written}",
                f"/api/quantization/block?kind=mobilenet_v3_bneck&in_channels={written}"):
        r = client.get(url)
        assert r.status_code == 422, (url, r.status_code)
        detail = r.json()["detail"][0]
        name = re.search(r"[?&](\w+)=" + re.escape(written), url)[1]
        assert detail["loc"] == ["query", name], url
        assert "integer written in digits" in detail["msg"], url


def test_plain_integers_still_parse(client):
    assert client.get("/api/blocks/group_conv?in_channels=064&out_channels=64").status_code == 200
    r = client.get("/api/blocks/group_conv?in_channels=-8")
    assert r.status_code == 422 and "greater than or equal" in r.json()["detail"][0]["msg"]


def test_security_headers_are_on_errors_too(configure):
    c = configure()
    for status, url in ((404, "/nowhere"), (404, "/api/blocks/nonsense"),
                        (422, "/api/blocks/conv?in_channels=x"), (405, "/api/blocks/conv")):
        r = c.post(url) if status == 405 else c.get(url)
        assert r.status_code == status, url
        for name in SECURITY_HEADERS:
            assert name in r.headers, (url, name)


def test_security_headers_are_on_an_unhandled_error(configure):
    from fastapi.testclient import TestClient

    from blockscope.main import create_app

    app = create_app()
    broken = APIRouter()

    @broken.get("/broken")
    def fail():
        raise RuntimeError("a bug")

    app.include_router(broken)
    r = TestClient(app, raise_server_exceptions=False).get("/broken")
    assert r.status_code == 500
    for name in SECURITY_HEADERS:
        assert name in r.headers, name


def test_static_files_are_versioned_and_kept_for_a_year(client):
    page = client.get("/blocks/group_conv").text
    assert f'src="{ASSETS}/js/explorer.js"' in page and f'href="{ASSETS}/css/site.css"' in page
    assert not re.search(r'(src|href)="/static/(?!v/)', page)
    versioned = client.get(f"{ASSETS}/js/explorer.js")
    assert versioned.status_code == 200 and "immutable" in versioned.headers["cache-control"]
    assert versioned.content == (STATIC / "js" / "explorer.js").read_bytes()
    # unversioned URLs (the embed script a course page loads) stay, revalidated by ETag
    plain = client.get("/static/js/embed-host.js")
    assert plain.headers["cache-control"] == "no-cache" and plain.headers["etag"]
    again = client.get("/static/js/embed-host.js", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/static/v/000000000000/js/explorer.js").status_code == 404


def test_text_is_compressed_for_clients_that_accept_it(client):
    r = client.get(f"{ASSETS}/js/explorer.js", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"  # httpx decodes it; the bytes are the file's
    assert r.content == (STATIC / "js" / "explorer.js").read_bytes()
    raw = client.get("/api/blocks/resnext_bottleneck", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    plotly_js = client.get(PLOTLY_URL, headers={"Accept-Encoding": "gzip"})
    assert plotly_js.headers["content-encoding"] == "gzip"
    assert "immutable" in plotly_js.headers["cache-control"]
    assert plotly_js.content == PLOTLY_JS.read_bytes()
    assert int(plotly_js.headers["content-length"]) < PLOTLY_JS.stat().st_size / 2
    identity = client.get(PLOTLY_URL, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in identity.headers and identity.content == PLOTLY_JS.read_bytes()
    assert gzip.decompress(gzip.compress(b"x")) == b"x"


def _answers(client) -> dict:
    """What a few overlapping paths answer: a literal route, and the parameterised one beside it."""
    out = {}
    for url in ("/api/blocks/conv", "/api/blocks/nope", "/api/blocks/group_conv/sweep",
                "/api/blocks/conv/sweep", "/api/blocks/nope/latency", "/embed/quantization", "/embed/conv",
                "/embed/nope", "/api/guidelines/g2/sweep", "/api/guidelines/g9"):
        r = client.get(url)
        out[url] = (r.status_code, r.text if r.status_code == 404 else r.headers["content-type"])
    return out


def test_router_order_does_not_matter(configure):
    from fastapi.testclient import TestClient

    from blockscope.main import create_app, routers

    usual = _answers(configure())
    assert usual["/embed/quantization"][0] == 200 and "unknown block kind" in usual["/api/blocks/nope"][1]
    assert "no group parameter" in usual["/api/blocks/conv/sweep"][1]
    for order in (lambda: reversed(routers()), lambda: sorted(routers(), key=lambda r: len(r.routes))):
        assert _answers(TestClient(create_app(order))) == usual
    # the quantization page, not a block page for a kind named "quantization"
    page = TestClient(create_app(lambda: reversed(routers()))).get("/embed/quantization")
    assert 'data-role="kind"' in page.text


@pytest.mark.parametrize("word,shown", [("1", True), ("true", True), ("on", True), ("YES", True),
                                        ("0", False), ("off", False), ("no", False)])
def test_embed_controls_read_as_any_other_boolean(client, word, shown):
    page = client.get(f"/embed/conv?controls={word}")
    assert page.status_code == 200
    assert ('"controls":true' in page.text) is shown


def test_a_page_never_refuses_to_load_over_its_switch(client):
    """An embed's `controls` that is no boolean word (an empty value in a course page's template, a
    typo) leaves the controls off; the page still loads, and an unknown kind still gets the page
    that says so."""
    for word in ("", "2", "maybe"):
        page = client.get(f"/embed/conv?controls={word}")
        assert page.status_code == 200 and '"controls":false' in page.text, word
    missing = client.get("/embed/nope?controls=x")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


def test_a_boolean_that_is_no_boolean_is_refused_by_name(client):
    for url, name in (("/api/blocks/mobilenet_v3_bneck?use_se=maybe", "use_se"),
                      ("/api/quantization/block?kind=mobilenet_v3_bneck&use_se=maybe", "use_se")):
        r = client.get(url)
        assert r.status_code == 422, url
        assert r.json()["detail"][0]["loc"] == ["query", name]


def test_one_cache_policy(client):
    from blockscope.config import get_settings

    kept = f"public, max-age={get_settings().cache_max_age}"
    for url, policy in (("/api/blocks/conv", kept), ("/api/blocks/group_conv/sweep", kept),
                        ("/api/networks/mobilenet_v2", kept), ("/api/guidelines/g1?measure=false", kept),
                        ("/api/quantization/activations", kept), ("/api/devices", "no-store"),
                        ("/api/measuring", "no-store"), ("/api/guidelines/g1/last", "no-cache")):
        assert client.get(url).headers["cache-control"] == policy, url

"""The HTML pages: status codes, the CSP, escaping of reflected query values, 404s, Plotly from its
package."""

import json
import re
from pathlib import Path

import plotly
import pytest

from blockscope.api.pages import human
from blockscope.api.web import ASSETS, PLOTLY_URL
from blockscope.registry import BLOCKS
from blockscope.service import blocks as service

HOSTILE = '</script><script>alert(1)</script>"\'<img src=x onerror=alert(2)>&amp;'


def page_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    assert match, "page has no data block"
    return json.loads(match.group(1))


def test_gallery_lists_every_block_in_registry_order_with_default_numbers(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    kinds = re.findall(r'<li class="card" data-kind="([a-z0-9_]+)"', r.text)
    assert kinds == list(BLOCKS)
    for kind in BLOCKS:
        totals = service.analyse(kind, {}).data.model_dump()["totals"]
        card = r.text.split(f'data-kind="{kind}"', 1)[1].split("</li>", 1)[0]
        for key in ("params", "madds", "mac"):
            assert f'data-total="{key}" data-value="{totals[key]}">{human(totals[key])}<' in card
        assert f'href="/blocks/{kind}"' in card
    assert [c["kind"] for c in page_data(r.text)["cards"]] == list(BLOCKS)


@pytest.mark.parametrize("kind", list(BLOCKS))
def test_explorer_and_embed_pages_exist_for_every_kind(client, kind):
    spec = BLOCKS[kind]
    for path in (f"/blocks/{kind}", f"/embed/{kind}"):
        r = client.get(path)
        assert r.status_code == 200, path
        data = page_data(r.text)
        assert data["kind"] == kind
        assert [p["name"] for p in data["spec"]["params"]] == [p.name for p in spec.all_params]
        assert f'<script type="module" src="{ASSETS}/js/explorer.js"></script>' in r.text
    explorer = client.get(f"/blocks/{kind}").text
    assert "site-header" in explorer and spec.title in explorer
    embed = client.get(f"/embed/{kind}").text
    assert "site-header" not in embed  # no chrome in an iframe


def test_every_page_sends_the_csp_with_script_src_self(client):
    for path in ("/", "/blocks/group_conv", "/embed/group_conv?view=diagram", "/blocks/nope"):
        csp = client.get(path).headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-eval" not in csp
        assert "frame-ancestors" in csp


def test_pages_have_no_inline_scripts(client):
    for path in ("/", "/blocks/shufflenet_v2_unit", "/embed/repvgg_block?view=reparam"):
        html = client.get(path).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert 'src="' in tag or 'type="application/json"' in tag, tag
        assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_reflected_query_values_are_escaped(client):
    r = client.get("/blocks/group_conv", params={"groups": HOSTILE, "metric": HOSTILE, HOSTILE: "1"})
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text and "<img src=x" not in r.text
    # exactly one closing tag per script element: the data block cannot be broken out of
    assert r.text.count("</script>") == r.text.count("<script")
    data = page_data(r.text)
    assert data["query"]["groups"] == HOSTILE and data["query"][HOSTILE] == "1"
    embed = client.get("/embed/group_conv", params={"view": HOSTILE, "in_channels": HOSTILE})
    assert embed.status_code == 200 and "<img src=x" not in embed.text
    assert page_data(embed.text)["views"] == ["diagram", "totals"]  # unknown views are dropped


def test_unknown_kind_is_a_404_page_naming_the_blocks(client):
    for path in ("/blocks/nope", "/embed/nope"):
        r = client.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")
        for kind in BLOCKS:
            assert f'href="/blocks/{kind}"' in r.text
    r = client.get("/blocks/%3Cimg%20src=x%3E")
    assert r.status_code == 404 and "<img src=x>" not in r.text and "&lt;img src=x&gt;" in r.text


def test_embed_views_are_chosen_by_the_query(client):
    html = client.get("/embed/repvgg_block?view=reparam,totals").text
    assert 'id="view-reparam"' in html and 'id="view-totals"' in html
    assert 'id="view-diagram"' not in html and 'id="view-table"' not in html
    assert page_data(html)["views"] == ["reparam", "totals"]
    # Plotly is never loaded with the page: plot.js fetches it (named here) when a chart is drawn
    assert f'<meta name="plotly-src" content="{PLOTLY_URL}">' in html and "<script src=\"/vendor/" not in html
    light = client.get("/embed/group_conv?view=diagram&view=totals").text
    assert "<script src=\"/vendor/plotly" not in light
    assert 'id="view-diagram"' in light and 'id="view-totals"' in light


def test_plotly_is_served_from_the_installed_package(client):
    r = client.get("/vendor/plotly.min.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.content == (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    repo = Path(__file__).resolve().parents[1]
    assert not list((repo / "blockscope" / "static").rglob("plotly*.js")), "Plotly must not be in the repo"


def test_static_modules_are_served_as_javascript(client):
    static = Path(__file__).resolve().parents[1] / "blockscope" / "static" / "js"
    names = sorted(p.name for p in static.glob("*.js"))
    assert "explorer.js" in names and "api.js" in names
    for name in names:
        r = client.get(f"/static/js/{name}")
        assert r.status_code == 200 and "javascript" in r.headers["content-type"], name
        # relative imports only, all of them existing modules
        for target in re.findall(r'from "\./([a-z_-]+\.js)"', r.text):
            assert target in names, f"{name} imports missing {target}"


@pytest.mark.parametrize("value, text", [(0, "0"), (999, "999"), (1000, "1.0 K"), (12345, "12.3 K"),
                                         (4_100_000, "4.1 M"), (2_500_000_000, "2.5 G")])
def test_human_numbers(value, text):
    assert human(value) == text


def test_pages_show_only_the_views_that_apply_to_the_kind(client):
    for kind, spec in BLOCKS.items():
        html = client.get(f"/blocks/{kind}").text
        shown = re.findall(r'<section class="view view-([a-z]+)"', html)
        assert shown == [v for v in spec.views if v not in ("compare", "formula")], kind
        assert ('name="compare"' in html) == ("compare" in spec.views), kind
    assert "reparam" not in BLOCKS["activation"].views and "compare" not in BLOCKS["activation"].views
    assert "reparam" not in BLOCKS["channel_shuffle"].views
    # an embed asking for a view that does not apply gets the default views instead
    data = page_data(client.get("/embed/activation?view=reparam").text)
    assert data["views"] == ["diagram", "totals"]
    data = page_data(client.get("/embed/group_conv?view=sweep,reparam,nope").text)
    assert data["views"] == ["sweep", "reparam"]


def test_an_embed_has_controls_only_when_asked(client):
    plain = client.get("/embed/group_conv?view=diagram").text
    assert 'data-role="controls"' not in plain and page_data(plain)["controls"] is False
    live = client.get("/embed/group_conv?view=diagram&controls=1").text
    assert 'data-role="controls"' in live and page_data(live)["controls"] is True


def test_the_embed_host_script_is_a_classic_script_from_this_server(client):
    r = client.get("/static/js/embed-host.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    # a course page loads it with a plain <script src>: no module syntax, and it fetches nothing
    assert not re.search(r"^\s*(import|export)\b", r.text, re.M)
    assert "fetch(" not in r.text and "event.origin !== origin" in r.text


def test_block_schema_lists_views_group_rules_and_presets_that_build(client):
    for b in client.get("/api/blocks").json():
        spec = BLOCKS[b["kind"]]
        assert b["views"] == list(spec.views)
        assert set(b["widen"]) <= {p["name"] for p in b["params"]}
        assert set(b["group_divides"]) <= {p["name"] for p in b["params"]}
        for preset in b["presets"]:
            r = client.get(f"/api/blocks/{b['kind']}", params=preset["values"])
            assert r.status_code == 200, (b["kind"], preset)
    listed = {b["kind"]: b for b in client.get("/api/blocks").json()}
    sv1 = {p["label"]: p["values"] for p in listed["shufflenet_v1_unit"]["presets"]}
    assert sv1["g=8, 384 channels"] == {"in_channels": 384, "out_channels": 384, "groups": 8, "stride": 1}

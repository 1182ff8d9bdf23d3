"""One palette: every colour the pages show is defined in static/css/palette.css and nowhere else.
Stylesheets use its custom properties with var(); colors.js reads the same names with getComputedStyle
for SVG attributes and Plotly traces. No browser needed: the sources are read as text."""

import re
from pathlib import Path

import pytest

BLOCKSCOPE = Path(__file__).resolve().parents[1] / "blockscope"
STATIC = BLOCKSCOPE / "static"
TEMPLATES = BLOCKSCOPE / "templates"
HOME = STATIC / "css" / "palette.css"
COLORS_JS = STATIC / "js" / "colors.js"

HEX = re.compile(r"(?<![\w&])#(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3,4})(?![\w-])")
# a colour function with a literal argument (colors.js may build one from the palette's values)
FUNCTION = re.compile(r"\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color)\(\s*[\d.+-]", re.IGNORECASE)
# CSS's named colours (transparent and currentColor are not colours of a palette)
_NAMED_COLOURS = """
    aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet brown
    burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue darkcyan
    darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange darkorchid
    darkred darksalmon darkseagreen darkslateblue darkslategray darkslategrey darkturquoise darkviolet
    deeppink deepskyblue dimgray dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro
    ghostwhite gold goldenrod gray green greenyellow grey honeydew hotpink indianred indigo ivory khaki
    lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan lightgoldenrodyellow
    lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen lightskyblue lightslategray
    lightslategrey lightsteelblue lightyellow lime limegreen linen magenta maroon mediumaquamarine
    mediumblue mediumorchid mediumpurple mediumseagreen mediumslateblue mediumspringgreen mediumturquoise
    mediumvioletred midnightblue mintcream mistyrose moccasin navajowhite navy oldlace olive olivedrab
    orange orangered orchid palegoldenrod palegreen paleturquoise palevioletred papayawhip peachpuff peru
    pink plum powderblue purple rebeccapurple red rosybrown royalblue saddlebrown salmon sandybrown
    seagreen seashell sienna silver skyblue slateblue slategray slategrey snow springgreen steelblue tan
    teal thistle tomato turquoise violet wheat white whitesmoke yellow yellowgreen
"""
NAMED = frozenset(_NAMED_COLOURS.split())

CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
CSS_BODY = re.compile(r"\{([^{}]*)\}")  # the innermost braces: declarations, also inside @media
JS_STRING = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`")
CSS_STRING = re.compile(r"\"[^\"]*\"|'[^']*'")
DEFINED = re.compile(r"(--[\w-]+)\s*:")
USED = re.compile(r"var\(\s*(--[\w-]+)")


def _value_colours(value: str) -> list[str]:
    """The colour literals in one CSS value (quoted text, such as `content`, is not a colour)."""
    value = CSS_STRING.sub("", value)
    found = HEX.findall(value) + FUNCTION.findall(value)
    return found + [w for w in re.findall(r"[A-Za-z]+", value) if w.lower() in NAMED]


def _declarations(css: str):
    for body in CSS_BODY.findall(CSS_COMMENT.sub("", css)):
        for declaration in body.split(";"):
            prop, colon, value = declaration.partition(":")
            if colon:
                yield prop.strip(), value.strip()


def css_colours(css: str) -> list[str]:
    return [c for _, value in _declarations(css) for c in _value_colours(value)]


def js_colours(js: str) -> list[str]:
    """Hex and colour functions anywhere in the source; a named colour as a string's whole text or as
    a value in an inline style written in a string ("border:1px solid white")."""
    found = HEX.findall(js) + FUNCTION.findall(js)
    for literal in JS_STRING.findall(js):
        text = literal[1:-1].strip()
        if text.lower() in NAMED:
            found.append(text)
        elif re.fullmatch(r"(?:\s*[a-z-]+\s*:[^;]*;?)+", text):
            found += [c for d in text.split(";") if ":" in d for c in _value_colours(d.split(":", 1)[1])]
    return found


def html_colours(html: str) -> list[str]:
    html = re.sub(r"\{#.*?#\}", "", html, flags=re.DOTALL)  # Jinja comments
    found = HEX.findall(html) + FUNCTION.findall(html)
    # named colours where a colour goes: a <style> block, a style or presentation attribute
    values = [v for _, v in _declarations("".join(re.findall(r"<style[^>]*>(.*?)</style>", html, re.DOTALL)))]
    for value in re.findall(r"\b(?:style|fill|stroke|color|bgcolor)\s*=\s*\"([^\"]*)\"", html):
        values += [v.split(":", 1)[-1] for v in value.split(";")]
    return found + [w for v in values for w in re.findall(r"[A-Za-z]+", v) if w.lower() in NAMED]


def _sources():
    for path in sorted(STATIC.rglob("*.js")):
        yield path, js_colours
    for path in sorted(STATIC.rglob("*.css")):
        if path != HOME:
            yield path, css_colours
    for path in sorted(TEMPLATES.glob("*.html")):
        yield path, html_colours


def test_the_scanners_find_every_kind_of_literal():
    """The detectors below would catch what they are for (and leave the rest alone)."""
    assert css_colours(".a { color: #1d2330; border: 1px solid rgba(0,0,0,.2); fill: White }") == [
        "#1d2330", "rgba(0", "White"]
    assert css_colours(".a { color: var(--fg); white-space: nowrap; content: 'red' }") == []
    assert css_colours("#add { border-color: transparent; }") == []
    assert js_colours('const a = { fill: "#fff", stroke: "white", x: `hsl(200, 50%, 50%)` };') == [
        "#fff", "hsl(2", "white"]
    assert js_colours('el("iframe", { style: "border:1px solid red;display:block" })') == ["red"]
    assert js_colours('const c = `rgb(${parts.join(",")})`; status("a red herring"); q("#g1");') == []
    assert html_colours('<p style="color: navy">x</p><a href="#g1">g1</a><b fill="#abcdef"></b>') == [
        "#abcdef", "navy"]


@pytest.mark.parametrize("path,scan", list(_sources()), ids=lambda v: getattr(v, "name", ""))
def test_no_colour_literal_outside_the_palette(path, scan):
    assert scan(path.read_text(encoding="utf-8")) == [], f"use a name from {HOME.name} instead"


def _defined() -> dict[str, str]:
    (root,) = re.findall(r":root\s*\{([^{}]*)\}", CSS_COMMENT.sub("", HOME.read_text(encoding="utf-8")))
    return {name: value.strip() for name, value in (d.split(":", 1) for d in root.split(";") if ":" in d)
            for name in [name.strip()]}


def _read_by_colors_js() -> set[str]:
    return set(re.findall(r"[\"'`](--[\w-]+)[\"'`]", COLORS_JS.read_text(encoding="utf-8")))


def test_colors_js_reads_only_names_the_palette_defines():
    read = _read_by_colors_js()
    assert {"--metric-mac", "--ink", "--group-1"} <= read
    assert sorted(read - _defined().keys()) == []


def test_every_var_is_defined_in_the_palette_and_every_palette_name_is_used():
    defined = _defined()
    stylesheets = {p: CSS_COMMENT.sub("", p.read_text(encoding="utf-8"))
                   for p in sorted(STATIC.rglob("*.css"))}
    used = {name for css in stylesheets.values() for name in USED.findall(css)}
    # a property a script sets on one element (a total's frame takes its metric's colour), not a colour
    set_by = re.compile(r"setProperty\(\s*[\"'](--[\w-]+)")
    per_element = {name for path in STATIC.rglob("*.js")
                   for name in set_by.findall(path.read_text(encoding="utf-8"))}
    assert sorted(used - defined.keys() - per_element) == []
    assert sorted(defined.keys() - used - _read_by_colors_js()) == [], "a palette name nobody uses"
    others = {p.name: DEFINED.findall(css) for p, css in stylesheets.items() if p != HOME}
    assert {name: props for name, props in others.items() if props} == {}, "custom properties: palette.css"


def test_the_palette_writes_hex_as_rrggbb():
    """colors.js mixes tints and shades from the values it reads, as #rrggbb."""
    hexes = {name: value for name, value in _defined().items() if value.startswith("#")}
    assert {name: value for name, value in hexes.items() if not re.fullmatch(r"#[0-9a-f]{6}", value)} == {}


def test_every_page_loads_the_palette_before_its_other_stylesheets():
    for path in sorted(TEMPLATES.glob("*.html")):
        html = path.read_text(encoding="utf-8")
        if re.search(r"{%\s*extends\s+\"base.html\"", html):
            continue  # base.html loads it
        sheets = re.findall(r"asset\('(css/[\w.-]+)'\)", html)
        if sheets:
            assert sheets[0] == "css/palette.css", path.name

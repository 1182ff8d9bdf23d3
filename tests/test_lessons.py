"""Every kind states its own lesson, and every direction word in it is what the numbers say.

The sentences come from blockscope/lessons.py through the service. Here each change they state,
"MAC fell 2.2% (1,241,216 → 1,213,568)", is read back and checked against an independent computation:
the reference analysed by the service on its own (the same block at g = 1, a standard convolution,
the deployed form from the reparameterization service), the totals and the nodes summed here.
"""

import math
import re

import pytest

from blockscope.lessons import LESSONS
from blockscope.registry import BLOCKS
from blockscope.schemas import Analysis
from blockscope.service.blocks import analyse
from blockscope.service.reparam import deployed_form

from .configs import random_configs

KINDS = list(BLOCKS)
DIRECTION_WORDS = re.compile(r"\b(rose|fell|unchanged|more|fewer)\b")
MOVE = re.compile(r"\b(?P<word>rose|fell|unchanged)(?P<only> only)?"
                  r"(?: (?P<amount>less than 0\.01%|[\d.]+×|[\d.]+%))?"
                  r" \((?P<a>[\d,]+)(?: → (?P<b>[\d,]+))?\)")


def number(text: str) -> int:
    return int(text.replace(",", ""))


def weights(a: Analysis) -> int:
    return sum(x.params for x in a.nodes)


def pairs(a: Analysis, ref: Analysis) -> dict[str, tuple[int, int]]:
    """What each label of a change names, from `ref` to `a`, summed here from the analyses."""
    one_by_one = [x for x in a.nodes if x.op == "conv2d" and x.attrs["kernel_size"] in ([1, 1], 1)]
    ref_one_by_one = [x for x in ref.nodes if x.op == "conv2d" and x.attrs["kernel_size"] in ([1, 1], 1)]
    out = {"parameters": (ref.totals.params, a.totals.params),
           "multiply-adds": (ref.totals.madds, a.totals.madds),
           "MAC": (ref.totals.mac, a.totals.mac),
           "elementwise work": (ref.totals.elementwise, a.totals.elementwise),
           "weights": (weights(ref), weights(a)),
           "activations": (ref.totals.mac - weights(ref), a.totals.mac - weights(a)),
           "ops": (len(ref.nodes) - 1, len(a.nodes) - 1),
           "the 1x1 convolutions' multiply-adds": (sum(x.madds for x in ref_one_by_one),
                                                   sum(x.madds for x in one_by_one))}
    three = [next((x for x in an.nodes if x.id == "conv2_conv"), None) for an in (ref, a)]
    if None not in three:
        out["the 3x3's multiply-adds"] = (three[0].madds, three[1].madds)
    return out


def expected_pairs(a: Analysis) -> dict[str, tuple[int, int]]:
    """The numbers each kind's sentences compare, from an independent computation of the reference."""
    spec, config = BLOCKS[a.kind], dict(a.config)
    if a.kind in ("repvgg_block", "conv_bn"):  # training form -> deployed form
        deployed, _ = deployed_form(spec.resolve(config))
        return pairs(deployed, a)
    if a.kind == "depthwise_separable":  # a standard convolution -> this block
        conv = {k: config[k] for k in ("in_channels", "out_channels", "kernel_size", "stride", "batch",
                                       "height", "width", "seed")}
        return pairs(a, analyse("conv", conv).data)
    if a.kind == "mobilenet_v3_bneck":
        return pairs(a, analyse(a.kind, {**config, "use_se": not config["use_se"]}).data)
    if a.kind == "activation":
        other = "hardswish" if config["function"] == "silu" else "silu"
        return pairs(a, analyse(a.kind, {**config, "function": other}).data)
    if spec.group_param:
        return pairs(a, analyse(a.kind, {**config, spec.group_param: 1}).data)
    return {}


def expected_amount(a: int, b: int) -> str:
    if not a or not b:
        return "100.0%" if a else ""
    r = b / a
    if r >= 2 or r <= 0.5:
        return f"{max(r, 1 / r):.1f}×"
    percent = abs(r - 1) * 100
    return "less than 0.01%" if percent < 0.01 else f"{percent:.2f}%" if percent < 0.1 else f"{percent:.1f}%"


def check_moves(sentences: list[str], expected: dict[str, tuple[int, int]]) -> int:
    """Every change stated in `sentences` against `expected`; returns how many were checked."""
    checked = 0
    for sentence in sentences:
        moves = list(MOVE.finditer(sentence))
        # no direction word the numbers did not choose
        assert len(DIRECTION_WORDS.findall(sentence)) == len(moves), sentence
        previous = None
        for m in moves:
            a = number(m["a"])
            b = number(m["b"]) if m["b"] else a
            word = "rose" if b > a else "fell" if b < a else "unchanged"
            assert m["word"] == word, (m.group(0), sentence)
            assert (m["amount"] or "") == ("" if word == "unchanged" else expected_amount(a, b)), m.group(0)
            before = sentence[:m.start()].rstrip()
            labels = [label for label in expected if before.lower().endswith(label.lower())]
            assert labels, f"no known number before {m.group(0)!r} in {sentence!r}"
            label = max(labels, key=len)
            assert expected[label] == (a, b), (label, expected[label], m.group(0))
            if m["only"]:  # moved the same way as the change before it, and less far
                pa, pb = previous
                assert previous is not None and (pb > pa) == (b > a), sentence
                assert abs(math.log(b / a)) < abs(math.log(pb / pa)), sentence
            previous = (a, b)
            checked += 1
    return checked


def check_kind_numbers(a: Analysis, sentences: list[str]) -> None:
    """The numbers a kind's own sentences state beyond its changes, computed here."""
    text = " ".join(sentences)
    n_ = a.input_shape[0]
    elements = math.prod(a.input_shape)
    if a.kind == "conv":
        conv = next(x for x in a.nodes if x.id == "conv")
        _, _, ho, wo = conv.output_shape
        assert f"is used {n_ * ho * wo:,} times" in text
    if a.kind in ("channel_shuffle", "activation"):
        assert a.totals.mac == 2 * elements and f"MAC {a.totals.mac:,} = 2 × {elements:,}" in text
    if a.kind == "channel_shuffle":
        perm = a.permutations[0]
        if perm.groups > 1 and perm.channels > perm.groups:
            assert f"read input channels {perm.permutation[0]}, {perm.permutation[1]}" in text
    if a.kind == "squeeze_excitation":
        mac, madds = a.totals.mac, a.totals.madds
        ratio = mac / madds
        if mac > madds:  # "yet" only where MAC does exceed the multiply-adds
            assert f"yet MAC is {mac:,}, " + (f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.1f}×") in text
        else:
            assert "yet" not in text and f"and MAC is {mac:,}, " in text
        pool_mul = sum(x.mac for x in a.nodes if x.id in ("avgpool", "mul"))
        assert ("free in multiply-adds" in text) == (pool_mul > mac / 2)
    if a.kind == "mobilenet_v3_bneck":
        act = a.config["activation"]
        main = [x for x in a.nodes if x.op == act and not x.module.startswith("se.")]
        assert f"The {len(main)} {act} activations" in text
    if a.kind == "activation" and "swish's exponential" in text:
        assert a.config["function"] in ("silu", "hardswish")
    if a.kind == "inverted_residual" and a.config["expand_ratio"] > 1:
        hidden = next(x for x in a.nodes if x.id == "depthwise_conv").attrs["in_channels"]
        assert ("thinner" in text) == (a.config["out_channels"] < hidden)
    if a.kind == "shufflenet_v2_unit":
        widths = [(x.attrs["in_channels"], x.attrs["out_channels"]) for x in a.nodes
                  if x.op == "conv2d" and x.attrs["kernel_size"] == [1, 1]]
        assert ", ".join(f"{i} → {o}" for i, o in widths) in text
        assert ("keep their widths" in text) == all(i == o for i, o in widths)
    if a.kind == "inverted_residual":
        assert ("shortcut adds the input" in text) == any(x.op == "add" for x in a.nodes)


def check(a: Analysis) -> int:
    lesson = a.lesson
    assert lesson is not None and lesson.sentences, a.kind
    assert lesson.claim == LESSONS[a.kind].claim and lesson.source
    expected = expected_pairs(a)
    if lesson.reference is not None:
        ref_totals = lesson.reference.totals
        label = "MAC" if "MAC" in expected else None
        if label:  # the totals the page's changes are given against are the reference's
            before, after = expected[label]
            assert ref_totals.mac == (after if a.kind in ("repvgg_block", "conv_bn") else before)
    check_kind_numbers(a, lesson.sentences)
    return check_moves(lesson.sentences, expected)


def test_every_kind_has_a_lesson_of_its_own():
    assert set(LESSONS) == set(BLOCKS)
    claims = [lesson.claim for lesson in LESSONS.values()]
    assert len(set(claims)) == len(claims)
    sentences = {kind: tuple(analyse(kind, {}).data.lesson.sentences) for kind in KINDS}
    assert len(set(sentences.values())) == len(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_the_lesson_at_the_defaults_says_what_the_numbers_say(kind):
    a = analyse(kind, {}).data
    checked = check(a)
    # the kinds that compare with something say how each number moved
    if kind in ("group_conv", "resnext_bottleneck", "shufflenet_v1_unit", "channel_shuffle",
                "depthwise_separable", "mobilenet_v3_bneck", "activation", "repvgg_block", "conv_bn"):
        assert checked >= 1, a.lesson.sentences


# the words of the issue that called for lessons per kind, at the defaults
def test_the_lessons_at_the_defaults_state_what_each_kind_exists_for():
    said = {kind: " ".join(analyse(kind, {}).data.lesson.sentences) for kind in KINDS}
    assert "0 multiply-adds" in said["channel_shuffle"] and "writes it again" in said["channel_shuffle"]
    assert "MAC rose" in said["shufflenet_v1_unit"] and "activations rose" in said["shufflenet_v1_unit"]
    assert "MAC fell" in said["repvgg_block"] and "groups" not in said["repvgg_block"]
    assert "multiply-adds unchanged" in said["conv_bn"] and "elementwise work fell" in said["conv_bn"]
    se = said["squeeze_excitation"]
    assert "MAC is 603,092" in se and "512 multiply-adds" in se
    assert "but MAC fell only" in said["group_conv"]
    assert "but MAC rose" in said["depthwise_separable"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_lesson_says_what_the_numbers_say_on_random_configurations(kind):
    checked = 0
    for config in random_configs(BLOCKS[kind], 20, seed=21):
        checked += check(analyse(kind, config).data)
    if LESSONS[kind].reference(BLOCKS[kind].resolve({})) is not None:
        assert checked > 0


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("kind", KINDS)
def test_the_lesson_says_what_the_numbers_say_on_many_random_configurations(kind):
    for config in random_configs(BLOCKS[kind], 100, seed=7):
        check(analyse(kind, config).data)


def test_a_wrong_word_or_number_is_caught():
    expected = {"MAC": (100, 90), "multiply-adds": (100, 25)}
    assert check_moves(["multiply-adds fell 4.0× (100 → 25), but MAC fell only 10.0% (100 → 90)."],
                       expected) == 2
    wrong = ["MAC rose 10.0% (100 → 90).",  # the word the numbers do not say
             "MAC fell 11.0% (100 → 90).",  # the amount
             "MAC fell 10.0% (100 → 91).",  # the number
             "MAC barely moved, it fell 10.0% (100 → 90).",  # no known number named
             "MAC fell 10.0% (100 → 90), fewer than before.",  # a direction word nobody computed
             "MAC fell 10.0% (100 → 90) and multiply-adds fell only 4.0× (100 → 25)."]  # "only" the farther
    for sentence in wrong:
        with pytest.raises(AssertionError):
            check_moves([sentence], expected)


def test_repvgg_and_conv_bn_show_before_and_after_right_after_the_totals():
    for kind in ("repvgg_block", "conv_bn"):
        views = BLOCKS[kind].views
        assert views[views.index("totals") + 1] == "reparam"
        assert "sweep" not in views and "groups" not in views
    # a channel shuffle costs the same at every group count: no sweep; its permutation right after totals
    views = BLOCKS["channel_shuffle"].views
    assert "sweep" not in views and views[views.index("totals") + 1] == "shuffle"


def test_the_api_answers_the_lesson_with_the_analysis(client):
    data = client.get("/api/blocks/group_conv?groups=8").json()
    lesson = data["lesson"]
    assert lesson["reference"]["label"] == "groups=1" and lesson["reference"]["same"] is False
    assert lesson["reference"]["totals"] == client.get("/api/blocks/group_conv?groups=1").json()["totals"]
    assert "From groups = 1 to groups = 8" in lesson["sentences"][0]
    same = client.get("/api/blocks/group_conv?groups=1").json()["lesson"]["reference"]
    assert same["same"] is True


@pytest.mark.parametrize(("kind", "values", "absent"), [
    # MAC below the multiply-adds: no "yet", nothing "free"
    ("squeeze_excitation", {"in_channels": 512, "reduction": 1, "height": 1, "width": 1, "batch": 16},
     ("yet", "free in multiply-adds")),
    # the output wider than the expanded tensors: not "the thinner end"
    ("inverted_residual", {"in_channels": 8, "out_channels": 64, "expand_ratio": 2}, ("thin",)),
    # relu against silu: the swish/hard-swish words belong to that pair only
    ("activation", {"function": "relu"}, ("swish's exponential", "hard-swish's add")),
])
def test_words_that_hold_only_for_some_configurations_are_left_out_elsewhere(kind, values, absent):
    a = analyse(kind, values).data
    text = " ".join(a.lesson.sentences)
    check(a)
    for words in absent:
        assert words not in text, (words, text)

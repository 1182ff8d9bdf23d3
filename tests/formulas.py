"""Closed-form parameter counts per kind, written from the papers and docs/blocks.md, independently of
the blocks."""


def bn(c):
    return 2 * c


def conv(cin, cout, k, g=1, bias=False):
    return k * k * cin * cout // g + (cout if bias else 0)


def make_divisible(v, d=8):
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


def se(c, s):
    return conv(c, s, 1, bias=True) + conv(s, c, 1, bias=True)


def params(kind: str, c: dict) -> int:
    i, o = c.get("in_channels"), c.get("out_channels")
    s = c.get("stride", 1)
    if kind == "conv":
        return conv(i, o, c["kernel_size"]) + bn(o)
    if kind in ("group_conv",):
        return conv(i, o, c["kernel_size"], c["groups"]) + bn(o)
    if kind == "conv_bn":
        return conv(i, o, c["kernel_size"], c["groups"]) + bn(o)
    if kind == "resnext_bottleneck":
        w = c["bottleneck_width"]
        total = conv(i, w, 1) + bn(w) + conv(w, w, 3, c["cardinality"]) + bn(w) + conv(w, o, 1) + bn(o)
        if s != 1 or i != o:
            total += conv(i, o, 1) + bn(o)
        return total
    if kind in ("channel_shuffle", "activation"):
        return 0
    if kind == "shufflenet_v1_unit":
        g, m = c["groups"], o // 4
        branch = o if s == 1 else o - i
        return conv(i, m, 1, g) + bn(m) + conv(m, m, 3, m) + bn(m) + conv(m, branch, 1, g) + bn(branch)
    if kind == "depthwise_separable":
        return conv(i, i, c["kernel_size"], i) + bn(i) + conv(i, o, 1) + bn(o)
    if kind == "inverted_residual":
        t = c["expand_ratio"]
        h = i * t
        expand = conv(i, h, 1) + bn(h) if t != 1 else 0
        return expand + conv(h, h, 3, h) + bn(h) + conv(h, o, 1) + bn(o)
    if kind == "squeeze_excitation":
        return se(i, max(1, i // c["reduction"]))
    if kind == "mobilenet_v3_bneck":
        e = c["expanded_channels"]
        total = conv(i, e, 1) + bn(e) if e != i else 0
        total += conv(e, e, c["kernel_size"], e) + bn(e)
        if c["use_se"]:
            total += se(e, make_divisible(e // 4))
        return total + conv(e, o, 1) + bn(o)
    if kind == "shufflenet_v2_unit":
        b = o // 2
        if s == 1:
            return conv(b, b, 1) + bn(b) + conv(b, b, 3, b) + bn(b) + conv(b, b, 1) + bn(b)
        left = conv(i, i, 3, i) + bn(i) + conv(i, b, 1) + bn(b)
        return left + conv(i, b, 1) + bn(b) + conv(b, b, 3, b) + bn(b) + conv(b, b, 1) + bn(b)
    if kind == "repvgg_block":
        g = c["groups"]
        identity = bn(i) if s == 1 and i == o else 0
        return conv(i, o, 3, g) + bn(o) + conv(i, o, 1, g) + bn(o) + identity
    raise KeyError(f"no closed form for {kind}: add one when registering a kind")

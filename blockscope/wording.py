"""Words the pages show about numbers, computed from the numbers (the same rules as
blockscope/static/js/format.js)."""


def speed_words(speedup: float | None) -> str:
    """`speedup` is the reference's time over this one's (above 1: this one is faster):
    "1.5× faster", "8% slower", "as fast" within half a percent; past 1.5 the factor, below it the
    percentage."""
    if speedup is None or speedup <= 0:
        return "–"
    factor = speedup if speedup >= 1 else 1 / speedup
    word = "faster" if speedup >= 1 else "slower"
    if factor < 1.005:
        return "as fast"
    if factor >= 1.5:
        return f"{factor:.1f}× {word}"
    return f"{(factor - 1) * 100:.0f}% {word}"


def direction(before: float, after: float, *, up: str = "rose", down: str = "fell",
              same: str = "unchanged") -> str:
    """The word for how `after` compares with `before`, from the numbers themselves."""
    if after > before:
        return up
    if after < before:
        return down
    return same


def speed_than(speedup: float | None, other: str) -> str:
    """`speed_words` against a named reference: "1.5× faster than swish", "as fast as swish"."""
    words = speed_words(speedup)
    return f"as fast as {other}" if words == "as fast" else f"{words} than {other}"


def micros(us: float) -> str:
    """1234.5 -> "1.23 ms", 56.78 -> "56.8 µs" (format.js's `micros`)."""
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.1f} µs"


# --- when a page may draw a verdict from measured figures ------------------------------------------
# Only from clean data: no figure flagged `disturbed`, and intervals that separate (docs/design.md,
# "Measuring latency"). Otherwise the page says TOO_NOISY and still shows the figures.

TOO_NOISY = "too noisy to judge here; measure again"


def intervals_separate(a: list[float] | tuple[float, float], b: list[float] | tuple[float, float]) -> bool:
    """True when the two intervals [lo, hi] do not overlap (touching counts as overlapping)."""
    return a[1] < b[0] or b[1] < a[0]


def ratio_separates(ci95: list[float | None]) -> bool:
    """True when a ratio's 95% interval excludes 1 (an upper bound of None: no bound)."""
    lo, hi = ci95
    return (lo is not None and lo > 1) or (hi is not None and hi < 1)

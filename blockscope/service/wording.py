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

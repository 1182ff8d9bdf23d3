"""Widths at fixed multiply-adds: ShuffleNet V2's guideline G2 (Ma et al. 2018, Sec. 2, Table 2).

With the multiply-adds held constant, more groups buy wider channels, and MAC (memory access cost)
rises. A series is anchored at g = 1: the reference block has the group count 1, and every point
widens the kind's `widen` parameters (multiples of g) so that its multiply-adds stay within
`TOLERANCE` of the reference's. Group counts where the channels cannot get that close (too few
channels to divide finely) are left out rather than shown off target.

The search counts as few blocks as it can (each is built on the meta device and counted, about a
millisecond or two): it starts each group count where the earlier ones point, prunes candidates
that monotonicity rules out, and skips those whose structure is known to differ.
"""

import copy
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from ..registry import BlockConfig, BlockSpec
from ..schemas import FixedMadds, SweepPoint
from .sweep_points import Costs, Values, costs_of

# Group counts tried at fixed multiply-adds (G2's Table 2 has 1, 2, 4, 8).
FIXED_MADDS_GROUPS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
TOLERANCE = 0.02  # largest |multiply-adds / target - 1| of a point at fixed multiply-adds
# Largest spread of the widened parameters' growth (out/in may change by at most a third), so that
# a point does not buy its multiply-adds by making the block lopsided (which G1 says costs MAC).
MAX_IMBALANCE = 1 / 3
WINDOW = 2  # multiples of g tried on each side of the estimated width


class _Candidate:
    def __init__(self, config: Values, costs: Costs, base: Values, widen: tuple[str, ...], target: int,
                 structure: tuple[str, ...]):
        self.config = config
        self.totals = costs.totals
        self.deviation = self.totals.madds / target - 1
        growth = [config[p] / base[p] for p in widen]
        self.imbalance = max(growth) / min(growth) - 1
        self.same = costs.structure == structure

    def rank(self) -> tuple:
        """Within the tolerance and balanced first; then the most balanced, then the closest."""
        close = abs(self.deviation) <= TOLERANCE
        return (not close, self.imbalance > MAX_IMBALANCE or not self.same,
                self.imbalance if close else abs(self.deviation), abs(self.deviation))


def _size(config: Values, widen: tuple[str, ...]) -> float:
    """How wide a candidate is: the geometric mean of its widened parameters."""
    return math.prod(config[p] for p in widen) ** (1 / len(widen))


def _imbalance(widths: Values, base: Values) -> float:
    growth = [widths[p] / base[p] for p in widths]
    return round(max(growth) / min(growth) - 1, 12)


def _terms(scale: float, g: int) -> list[float]:
    """What multiply-adds are made of at a scale (widths over the reference's) and a group count: a
    convolution between two widened widths costs ~ scale^2 / g (grouped) or scale^2, one between a
    widened and a fixed width ~ scale (or scale / g), the rest does not grow."""
    return [scale * scale, scale * scale / g, scale, scale / g, 1.0, 1.0 / g]


@dataclass
class _Guide:
    """What the group counts solved so far in one series teach the next: the scale (width over the
    reference's) each settled at, how multiply-adds grow with the width (as width ** power), every
    count of the series' structure (to fit multiply-adds as a function of scale and g), and the
    structure blocks of each pattern of equal widths turned out to have (a RepVGG block has its
    identity branch exactly when out_channels = in_channels), so that candidates of another
    structure, which cannot be chosen, are not even built."""
    solved: list[tuple[int, float]] = field(default_factory=list)
    power: float = 2.0
    counted: list[tuple[float, int, int]] = field(default_factory=list)  # (scale, g, multiply-adds)
    structures: dict[tuple, tuple | None] = field(default_factory=dict)
    first: float | None = None  # the scale to try first, when something better than a rule is known

    def fitted(self, g: int, target: int) -> float | None:
        """The scale at which the multiply-adds fitted to every count so far (least squares over
        `_terms`) reach `target` at `g`; None until the counts determine the fit. Only a first guess:
        every candidate is still counted, so no number comes from the fit (though where the search
        settles, and so the window of candidates it tries, depends on it)."""
        if len(self.counted) < 6:
            return None
        rows = np.array([_terms(s, k) for s, k, _ in self.counted])
        madds = np.array([m / target for _, _, m in self.counted])
        coef, _, rank, _ = np.linalg.lstsq(rows, madds, rcond=None)
        if rank < 6:
            return None
        a, b, c = coef[0] + coef[1] / g, coef[2] + coef[3] / g, coef[4] + coef[5] / g - 1
        if abs(a) < 1e-9:  # multiply-adds linear in the width (one side of every layer held)
            root = -c / b if b > 0 else None
        elif a > 0 and b * b >= 4 * a * c:
            root = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
        else:
            root = None
        return root if root and root > 0 else None

    def start(self, g: int, base_g: int, target: int) -> float:
        """The first scale to try at `g`: where the fit of every count puts it, else inter- or
        extrapolated (on log-log axes) from the two solved group counts nearest to it, else the
        square-root rule of a grouped convolution (width ~ sqrt(g) at fixed multiply-adds)."""
        if self.first is not None and not self.solved:
            return self.first
        fitted = self.fitted(g, target)
        if fitted is not None:
            return fitted
        near = sorted(self.solved, key=lambda solved: abs(math.log(solved[0] / g)))[:2]
        if len(near) == 2 and near[0][0] != near[1][0]:
            (g1, s1), (g2, s2) = sorted(near)
            return s2 * (g / g2) ** (math.log(s2 / s1) / math.log(g2 / g1))
        g0, s0 = near[0] if near else (base_g, 1.0)
        return s0 * math.sqrt(g / g0)

    def seen(self, pattern: tuple, structure: tuple) -> None:
        known = self.structures.setdefault(pattern, structure)
        if known != structure:
            self.structures[pattern] = None  # both seen: this pattern does not tell

    def other_structure(self, pattern: tuple, structure: tuple) -> bool:
        known = self.structures.get(pattern)
        return known is not None and known != structure


def _pattern(widths: Values) -> tuple[bool, ...]:
    """Which of the widths are equal (pairwise)."""
    values = list(widths.values())
    return tuple(a == b for a, b in itertools.combinations(values, 2))


def _solve(spec: BlockSpec, base: Values, g: int, target: int, closest: bool = False,
           guide: _Guide | None = None) -> _Candidate | None:
    """The block at `g` groups whose `widen` parameters (multiples of g, grown from `base`'s in the
    same proportion where divisibility allows) bring the multiply-adds closest to `target`."""
    widen, gp = spec.widen, spec.group_param
    guide = guide or _Guide()
    structure = costs_of(spec, base).structure
    base_size = _size(base, widen)
    seen: dict[tuple, _Candidate | None] = {}

    # Multiply-adds never fall as a width grows: a candidate at or below (in every width) one already
    # too small is too small as well, one at or above one too large too large; neither can be chosen.
    low, high = target * (1 - TOLERANCE), target * (1 + TOLERANCE)
    too_small: list[tuple] = []
    too_large: list[tuple] = []

    def out_of_reach(key: tuple) -> bool:
        return (any(all(k <= s for k, s in zip(key, small, strict=True)) for small in too_small)
                or any(all(k >= b for k, b in zip(key, big, strict=True)) for big in too_large))

    def attempt(widths: Values, prune: bool = False) -> _Candidate | None:
        """The candidate with these widths (None where refused). With `prune`, only one that could be
        chosen is counted: out of reach or of another structure, it is None."""
        key = tuple(widths[p] for p in widen)
        if any(widths[p] // factor % g for p, factor in spec.group_divides if p in widths):
            return None  # refused by the block's own rule (a bottleneck of out // 4 split in g groups)
        pattern = _pattern(widths)
        if prune and key not in seen and (out_of_reach(key) or guide.other_structure(pattern, structure)):
            return None
        if key not in seen:
            config = {**base, gp: g, **widths}
            costs = costs_of(spec, config, only=structure if prune else None)
            seen[key] = (_Candidate(config, costs, base, widen, target, structure)
                         if costs and costs.totals and costs.totals.madds else None)
            if costs:
                guide.seen(pattern, costs.structure)
            if costs and costs.totals and costs.structure == structure:
                madds = costs.totals.madds
                (too_small if madds < low else too_large if madds > high else []).append(key)
                guide.counted.append((_size(widths, widen) / base_size, g, madds))
        return seen[key]

    # multiply-adds grow between linearly and quadratically with the width (as scale ** power): refine
    # the scale on the rounded centre (a multiple of g, else 2g or 4g, whichever builds) a few times,
    # learning the power from the last two centres (a secant on log-log axes)
    scale, power, last = guide.start(g, base[gp], target), guide.power, None
    for _ in range(6):
        centre = None
        for unit in (g, 2 * g, 4 * g):  # other rules may want coarser steps (a bottleneck's, say)
            centre = attempt({p: max(unit, round(base[p] * scale / unit) * unit) for p in widen})
            if centre:
                break
        if centre is None:
            break
        madds, size = centre.totals.madds, _size(centre.config, widen)
        if last and last[1] == size:
            break  # the rounding holds the centre where it is: the window below looks around it
        if last and last[0] != madds:
            power = min(2.0, max(1.0, math.log(madds / last[0]) / math.log(size / last[1])))
        last = (madds, size)
        ratio = (target / madds) ** (1 / power)
        if abs(ratio - 1) < 1e-3:
            break
        scale *= ratio
    guide.solved.append((g, scale))
    guide.power = power
    # then, unless the centre is already close and keeps the block's proportions, every combination
    # of multiples of g around it
    if centre and centre.imbalance < 1e-9 and centre.rank()[:2] == (False, False):
        # the closest of the candidates as balanced: step along the widths toward the target while
        # that comes closer (multiply-adds grow with the width, so past the target it stops)
        while True:
            towards = -1 if centre.deviation > 0 else 1
            after = attempt({p: centre.config[p] + towards * g for p in widen})
            if (not after or after.imbalance >= 1e-9 or after.rank()[:2] != (False, False)
                    or abs(after.deviation) >= abs(centre.deviation)):
                return centre
            centre = after
    ranges = []
    for p in widen:
        k = max(1, round(base[p] * scale / g))
        ranges.append(range(max(1, k - WINDOW), k + WINDOW + 1))
    # The most balanced first: a candidate's imbalance is known from its widths alone, so the first
    # level of balance with a candidate close enough (and of the same structure) holds the best one
    # there is, and the less balanced need no analysis. Only `closest` (no candidate may be close
    # enough, and the nearest is wanted anyway) tries every combination.
    combos = [{p: k * g for p, k in zip(widen, ks, strict=True)} for ks in itertools.product(*ranges)]
    for level, same_level in itertools.groupby(sorted(combos, key=lambda w: _imbalance(w, base)),
                                               key=lambda w: _imbalance(w, base)):
        tried = [attempt(widths, prune=not closest) for widths in same_level]
        if any(c and c.rank()[:2] == (False, False) for c in tried):
            break
        if level > MAX_IMBALANCE and not closest:
            break  # no candidate further out can be balanced enough
    found = [c for c in seen.values() if c]
    return min(found, key=_Candidate.rank) if found else None


def series(spec: BlockSpec, reference: Values, extra_groups: tuple[int, ...] = ()) -> FixedMadds:
    """Points at fixed multiply-adds from the g = 1 block `reference` (a full config)."""
    gp = spec.group_param
    reference = {**reference, gp: 1}
    totals = costs_of(spec, reference).totals
    target = totals.madds
    widths = {p: reference[p] for p in spec.widen}
    points = [SweepPoint(g=1, params=totals.params, madds=totals.madds, mac=totals.mac,
                         elementwise=totals.elementwise, channels=widths, madds_deviation=0.0)]
    # the usual group counts in order, each guided by those before; then any other asked for, guided
    # by all of those, so that the usual points never depend on which others were asked for
    guide, found = _Guide(counted=[(1.0, 1, target)]), {}
    for g in FIXED_MADDS_GROUPS[1:]:
        found[g] = _solve(spec, reference, g, target, guide=guide)
    for g in sorted({g for g in extra_groups if g > 1} - set(FIXED_MADDS_GROUPS)):
        found[g] = _solve(spec, reference, g, target, guide=copy.deepcopy(guide))
    for g, best in sorted(found.items()):
        if best is None or best.rank()[:2] != (False, False):
            continue  # no widths this close at this group count
        t = best.totals
        points.append(SweepPoint(g=g, params=t.params, madds=t.madds, mac=t.mac, elementwise=t.elementwise,
                                 channels={p: best.config[p] for p in spec.widen},
                                 madds_deviation=round(best.deviation, 6)))
    return FixedMadds(target_madds=target, points=points, reference=widths, tolerance=TOLERANCE)


def reference_of(spec: BlockSpec, config: BlockConfig) -> BlockConfig:
    """The g = 1 block whose multiply-adds are closest to `config`'s (same proportions)."""
    target = costs_of(spec, config).totals.madds
    # first the block's own widths at g = 1 (the sweep at fixed channels has counted them already)
    best = _solve(spec, config, 1, target, closest=True, guide=_Guide(first=1.0))
    return BlockConfig.of(spec.kind, best.config) if best else config.replace(**{spec.group_param: 1})

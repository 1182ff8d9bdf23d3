"""The ShuffleNet V2 guideline lab (Ma et al. 2018, Sec. 2): each experiment's rows with their counts,
this server's measurement, the paper's figures, relative speeds, and whether the paper's order holds here.
"""

from ..analysis import guidelines as lab
from ..blocks.layers import seed_weights
from ..settings import settings
from . import latency
from .errors import InvalidParameter, NotFound

ELEMENT_SIZE = 4  # float32
PAPER = "ShuffleNet V2 (Ma et al. 2018), Sec. 2"
MAX_SWEEP_GROUPS = 16


NAMES = tuple(lab.GUIDELINES)
WIDTH_MULTIPLIERS = lab.WIDTH_MULTIPLIERS


def catalog() -> list[dict]:
    return [{"name": g.name, "title": g.title, "rule": g.rule, "table": g.table,
             "rows": [r.label for r in g.rows]} for g in lab.GUIDELINES.values()]


def get(name: str) -> lab.Guideline:
    try:
        return lab.GUIDELINES[name]
    except KeyError:
        raise NotFound(f"unknown guideline {name!r}; known guidelines: {', '.join(lab.GUIDELINES)}") from None


def check_width_multiplier(width_multiplier: int) -> int:
    if width_multiplier not in lab.WIDTH_MULTIPLIERS:
        raise InvalidParameter("width_multiplier", f"must be one of {list(lab.WIDTH_MULTIPLIERS)} "
                                                   "(the paper's widths x1, x2, x4)", width_multiplier)
    return width_multiplier


def check_batch(batch: int) -> int:
    if not 1 <= batch <= settings.max_batch:
        raise InvalidParameter("batch", f"must be between 1 and {settings.max_batch} (server limit)", batch)
    return batch


def _size_param(batch: int) -> str:
    return "batch" if batch > 1 else "width_multiplier"


def check_memory(rows: list[dict], batch: int, width_multiplier: int) -> None:
    """422 when the largest row's weights and live activations exceed BLOCKSCOPE_MAX_MEMORY_MB."""
    need = max((r["peak_activation_elements"] + r["totals"]["params"]) * ELEMENT_SIZE for r in rows)
    limit = settings.max_memory_mb * 2**20
    if need > limit:
        param = _size_param(batch)
        raise InvalidParameter(
            param, f"measuring this experiment needs about {need / 2**20:.0f} MiB for weights and live "
                   f"activations, over the server's limit of {settings.max_memory_mb} MiB "
                   "(BLOCKSCOPE_MAX_MEMORY_MB); reduce batch or width_multiplier",
            batch if param == "batch" else width_multiplier)


# --- measurement ---------------------------------------------------------------------------------

def _measure_row(guideline: lab.Guideline, row: dict, *, device: str, threads: int | None,
                 width_multiplier: int, batch: int) -> dict:
    module = seed_weights(lab.build(guideline, row["config"]), seed=0)
    key = ("guideline", guideline.name, width_multiplier, batch, row["label"])
    try:
        result = latency.measure(key, module, row["input_shape"], device=device, threads=threads,
                                 per_node=False)
    except InvalidParameter as exc:
        if exc.param not in ("batch", "height"):
            raise
        # the latency service names a block's size; here the size is set by batch and width
        param = _size_param(batch)
        raise InvalidParameter(param, exc.message + " (here: batch or width_multiplier)",
                               batch if param == "batch" else width_multiplier) from None
    total = result["total"]
    return {
        **{k: total[k] for k in ("median_us", "p25_us", "p75_us")},
        "batches_per_s": 1e6 / total["median_us"],
        "images_per_s": batch * 1e6 / total["median_us"],
        **{k: result.get(k) for k in ("device", "device_label", "threads", "warmup", "repeats", "cached",
                                      "measured_at")},
    }


# --- relative speeds and the ordering verdict ----------------------------------------------------

def _relative(values: list[float | None]) -> list[float | None]:
    """Each value over the first: speeds relative to the table's first row (None where unknown)."""
    first = values[0]
    return [None if first is None or v is None else v / first for v in values]


def _rank(labels: list[str], speeds: list[float]) -> list[str]:
    return [label for _, label in sorted(zip(speeds, labels), key=lambda p: -p[0])]


def ordering(rows: list[dict], device_label: str | None) -> dict:
    """Does this machine rank the rows as the paper's GPU figures do? Computed pair by pair.

    A pair (a, b) with the paper's a faster than b agrees when a's measured median is lower; a
    disagreeing pair is called within noise when the two interquartile ranges overlap.
    """
    labels = [r["label"] for r in rows]
    paper = [r["paper"]["gpu"] for r in rows]
    if any(p is None for p in paper):
        return {"reference": "paper_gpu", "paper": None, "measured": None, "pairs": 0, "agreeing_pairs": 0,
                "reversed": [], "reproduces": None, "statement": "The paper gives no GPU figures to compare with."}
    paper_rank = _rank(labels, paper)
    result = {"reference": "paper_gpu", "paper": paper_rank, "measured": None, "pairs": 0,
              "agreeing_pairs": 0, "reversed": [], "reproduces": None}
    if any(r["measured"] is None for r in rows):
        return {**result, "statement": "Not measured yet: the paper's GPU figures rank the rows "
                                        + " > ".join(paper_rank) + "."}
    measured = {r["label"]: r["measured"] for r in rows}
    measured_rank = _rank(labels, [1 / measured[label]["median_us"] for label in labels])
    reversed_ = []
    pairs = 0
    for i, faster in enumerate(paper_rank):
        for slower in paper_rank[i + 1:]:
            pairs += 1
            a, b = measured[faster], measured[slower]
            if a["median_us"] < b["median_us"]:
                continue
            reversed_.append({"paper_faster": faster, "measured_faster": slower,
                              "by": a["median_us"] / b["median_us"] - 1,
                              "within_noise": a["p25_us"] <= b["p75_us"] and b["p25_us"] <= a["p75_us"]})
    where = f"on {device_label}" if device_label else "on this machine"
    if not reversed_:
        statement = (f"Reproduced: {where} the rows rank {' > '.join(measured_rank)} by measured speed, "
                     "the same order as the paper's GPU figures.")
    else:
        noisy = sum(r["within_noise"] for r in reversed_)
        flips = "; ".join(f"{r['measured_faster']} is {r['by']:.1%} faster than {r['paper_faster']}"
                          for r in reversed_)
        statement = (f"Not reproduced: the paper's GPU figures rank {' > '.join(paper_rank)}; {where} the "
                     f"measured order is {' > '.join(measured_rank)}. {pairs - len(reversed_)} of {pairs} "
                     f"pairs keep the paper's order; reversed here: {flips}.")
        if noisy:
            which = ("The reversed pair is" if len(reversed_) == 1
                     else f"{noisy} of the {len(reversed_)} reversed pairs are")
            statement += f" {which} within measurement noise (interquartile ranges overlap)."
    return {**result, "measured": measured_rank, "pairs": pairs, "agreeing_pairs": pairs - len(reversed_),
            "reversed": reversed_, "reproduces": not reversed_, "statement": statement}


# --- the report ----------------------------------------------------------------------------------

def _paper(guideline: lab.Guideline, spec: lab.Row, width_multiplier: int) -> dict:
    x1 = width_multiplier == 1  # only the x1 columns are recorded (BLOCKS.md)
    return {"gpu": spec.gpu if x1 else None, "arm": spec.arm if x1 else None,
            "gpu_unit": lab.GPU_UNIT, "arm_unit": lab.ARM_UNIT,
            "arm_config": spec.arm_config if x1 and spec.arm is not None else None}


def _row(guideline: lab.Guideline, spec: lab.Row, analysed: dict, width_multiplier: int, batch: int) -> dict:
    totals = analysed["totals"]
    row = {
        "label": spec.label, "config": analysed["config"], "input_shape": analysed["input_shape"],
        **{k: totals[k] for k in ("params", "madds", "mac", "mac_bytes", "elementwise")},
        "unit": analysed["unit"], "measured": None, "paper": _paper(guideline, spec, width_multiplier),
    }
    if guideline.name == "g1":
        # every conv of the stack meets the bound with equality iff c1 = c2 (Sec. 2, Eq. 1)
        conv_madds = lab.conv1x1_madds(analysed["config"]["c1"], analysed["config"]["c2"], batch=batch)
        convs = 2 * lab.STACK_DEPTH
        row["mac_lower_bound"] = convs * lab.g1_lower_bound(conv_madds, batch=batch)
    return row


def report(name: str, *, device: str = "cpu", width_multiplier: int = 1, batch: int = 1,
           threads: int | None = None, measure: bool = True) -> dict:
    """One guideline's table at this width and batch, measured on `device` when `measure` is true."""
    guideline = get(name)
    check_width_multiplier(width_multiplier)
    check_batch(batch)
    device = latency.check_device(device)
    analysed = lab.analyse(name, width_multiplier, batch)
    rows = [_row(guideline, spec, a, width_multiplier, batch) for spec, a in zip(guideline.rows, analysed)]
    device_label = next((d["label"] for d in latency.devices() if d["name"] == device), device)
    if measure:
        check_memory(analysed, batch, width_multiplier)
        for row in rows:
            row["measured"] = _measure_row(guideline, row, device=device, threads=threads,
                                           width_multiplier=width_multiplier, batch=batch)
        device_label = rows[0]["measured"]["device_label"] or device_label
        threads = rows[0]["measured"]["threads"]
    relative = {
        "measured": _relative([1 / r["measured"]["median_us"] if r["measured"] else None for r in rows]),
        "paper_gpu": _relative([r["paper"]["gpu"] for r in rows]),
        "paper_arm": _relative([r["paper"]["arm"] for r in rows]),
    }
    for i, row in enumerate(rows):
        row["relative_speed"] = {k: v[i] for k, v in relative.items()}
    madds = [r["madds"] for r in rows]
    return {
        "guideline": guideline.name, "title": guideline.title, "rule": guideline.rule,
        "paper": f"{PAPER}, {guideline.table}", "table": guideline.table,
        "height": lab.SIZE, "width": lab.SIZE, "depth": lab.STACK_DEPTH,
        "width_multiplier": width_multiplier, "batch": batch,
        "device": device, "device_label": device_label, "threads": threads if device == "cpu" else None,
        "measured": measure,
        "decisions": list(guideline.decisions), "paper_notes": list(guideline.paper_notes),
        "derivation": lab.G3_DERIVATION if guideline.name == "g3" else None,
        "units": {"madds": "multiply-adds", "mac": "elements (MAC, memory access cost)",
                  "time": "microseconds", "paper_gpu": lab.GPU_UNIT, "paper_arm": lab.ARM_UNIT},
        "madds_spread": max(madds) / min(madds) - 1,
        "rows": rows,
        "ordering": ordering(rows, device_label if measure else None),
    }


def sweep(channels: int, *, batch: int = 1, groups: int = 1, max_groups: int = MAX_SWEEP_GROUPS) -> dict:
    """G2's slider: ten 1x1 group convs at (nearly) the multiply-adds of g = 1, for g = 1..max_groups."""
    if not 1 <= channels <= settings.max_channels:
        raise InvalidParameter("channels", f"must be between 1 and {settings.max_channels}", channels)
    check_batch(batch)
    if not 1 <= groups <= max_groups:
        raise InvalidParameter("groups", f"must be between 1 and {max_groups}", groups)
    points = lab.g2_sweep(channels, batch, max_groups)
    hw = lab.SIZE * lab.SIZE
    return {
        "guideline": "g2", "channels": channels, "batch": batch, "groups": groups,
        "height": lab.SIZE, "width": lab.SIZE, "depth": lab.STACK_DEPTH,
        "target_madds": points[0]["madds"],
        "formula": "per conv: multiply-adds B = hw c^2 / g, MAC = 2 hw c + c^2 / g; with c = channels x sqrt(g) "
                   "rounded to a multiple of g, B stays near hw channels^2 while MAC grows (Sec. 2, Eq. 2)",
        "selected": points[groups - 1],
        "points": points,
        "hw": hw,
    }


def overview() -> dict:
    """What the /guidelines page starts from: every guideline unmeasured at x1, batch 1, and the devices."""
    return {
        "guidelines": [report(name, measure=False) for name in lab.GUIDELINES],
        "devices": latency.devices(),
        "width_multipliers": list(lab.WIDTH_MULTIPLIERS),
        "max_batch": settings.max_batch,
        "max_threads": latency.MAX_THREADS,
        "sweep": sweep(min(128, settings.max_channels)),
    }

"""The machine's ceilings (blockscope/measuring/ceilings.py, GET /api/machine): measured figures that
hold together, the datasheet arithmetic on a fabricated /proc/cpuinfo, stored figures that a
disturbed measurement never lowers, and the record kept in the runtime folder."""

import json

import pytest
import torch

from blockscope import measuring
from blockscope.config import use_settings
from blockscope.measuring import ceilings, run
from blockscope.measuring.ceilings import CeilingsFile, Measured, Sizes
from blockscope.measuring.devices import devices
from blockscope.measuring.jobs import Ceilings
from blockscope.schemas import Bandwidth, DeviceCeilings, Interval, MachineReport, Quality

# small enough to measure in well under a second: the figures are real, the peaks are not
SMALL = Sizes(matmul=64, convs=((8, 8, 3),), smallest_bytes=4 << 10, largest_bytes=256 << 10,
              target_s=0.005, min_samples=5)

CPUINFO = """\
processor\t: 0
model name\t: Some CPU
cpu MHz\t\t: 2500.000
flags\t\t: fpu vme sse sse2 avx avx2 fma avx512f avx512dq
"""


# --- measured figures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small() -> DeviceCeilings:
    store = CeilingsFile(_tmp_file("measured"))
    with run.threads(1):  # one thread: a loaded machine stalls no second one
        return ceilings.ceilings("cpu", 1, SMALL, store=store)


def _tmp_file(name: str):
    import tempfile
    from pathlib import Path
    return Path(tempfile.mkdtemp(prefix="ceilings-")) / f"{name}.json"


def test_every_ceiling_is_positive_and_inside_its_interval(small):
    for interval in [small.compute_gflops, small.call_overhead_us, *small.family_gflops.values()]:
        assert interval.value > 0
        assert interval.ci95[0] <= interval.value <= interval.ci95[1]
    assert set(small.family_gflops) == {"conv2d"}
    for b in small.bandwidth_gbs:
        assert b.gbs > 0 and b.ci95[0] <= b.gbs <= b.ci95[1]
        assert b.level in {"L1", "L2", "L3", "DRAM"}


def test_bandwidth_smallest_first_and_the_ridge_is_compute_over_the_largest(small):
    sets = [b.working_set_bytes for b in small.bandwidth_gbs]
    assert sets == sorted(sets) == [4 << 10, 16 << 10, 64 << 10, 256 << 10]
    largest = small.bandwidth_gbs[-1].gbs
    peak = max(small.compute_gflops.value, *(i.value for i in small.family_gflops.values()))
    assert small.ridge_flop_per_byte == pytest.approx(peak / largest, rel=1e-3)


def test_a_record_says_how_and_when(small):
    assert small.device == "cpu" and small.threads == 1
    assert small.torch == torch.__version__
    assert "torch.mm" in small.method and "copy_" in small.method
    assert small.age_s < 600 and not small.stale
    assert small.quality.attempts >= 1


# --- what the system reports ---------------------------------------------------------------------

def test_the_theoretical_peak_is_cores_lanes_fma_and_clock():
    peak = ceilings.theoretical_peak(4, CPUINFO, None)
    assert (peak.cores, peak.lanes, peak.fma_units, peak.ghz) == (4, 16, 2, 2.5)
    assert peak.gflops == 4 * 16 * 2 * 2 * 2.5 == 640
    assert any("FMA" in a for a in peak.assumed)
    assert any("cpu MHz" in a for a in peak.assumed)  # the clock's source is named


def test_cpufreq_maximum_wins_over_the_current_clock():
    peak = ceilings.theoretical_peak(2, CPUINFO.replace(" avx512f", ""), "3500000\n")
    assert (peak.lanes, peak.ghz, peak.gflops) == (8, 3.5, 2 * 8 * 2 * 2 * 3.5)
    assert any("cpuinfo_max_freq" in a for a in peak.assumed)


def test_lanes_by_flag_and_nothing_readable_gives_none():
    assert ceilings.vector_lanes("flags : sse sse2") == 4
    assert ceilings.vector_lanes("Features : fp asimd") == 4  # an ARM core's NEON
    assert ceilings.vector_lanes("") is None
    assert ceilings.theoretical_peak(2, "", None) is None
    assert ceilings.theoretical_peak(2, None, None) is None


def test_cache_sizes_from_sysfs_and_the_level_of_a_working_set(tmp_path):
    for i, (level, kind, size) in enumerate([(1, "Data", "32K"), (1, "Instruction", "32K"),
                                             (2, "Unified", "1024K"), (3, "Unified", "32768K")]):
        index = tmp_path / f"index{i}"
        index.mkdir()
        (index / "level").write_text(f"{level}\n")
        (index / "type").write_text(f"{kind}\n")
        (index / "size").write_text(f"{size}\n")
    caches = ceilings.cache_sizes(str(tmp_path))
    assert caches == {"L1": 32 << 10, "L2": 1 << 20, "L3": 32 << 20}
    assert [ceilings.level_of(ws, caches) for ws in (16 << 10, 64 << 10, 4 << 20, 256 << 20)] == \
        ["L1", "L2", "L3", "DRAM"]
    assert ceilings.parse_size("2M") == 2 << 20 and ceilings.parse_size("?") is None


def test_the_largest_working_set_keeps_within_the_memory_budget():
    with use_settings(max_memory_mb=64):
        assert ceilings.working_sets(Sizes(), torch.device("cpu"))[-1] == 32 << 20
    assert ceilings.working_sets(Sizes(), torch.device("cpu"))[-1] == 256 << 20


# --- stored figures ------------------------------------------------------------------------------

def _measured(gflops: float, gbs: float, overhead_us: float, disturbed: bool) -> Measured:
    def interval(v):
        return Interval(value=v, ci95=[v * 0.98, v * 1.02])

    sets = ((4096, 4, "L1"), (1 << 20, 1, "DRAM"))  # the small one at 4x the rate of the large one
    return Measured(compute=interval(gflops), families={"conv2d": interval(gflops / 2)},
                    bandwidth=[Bandwidth(working_set_bytes=ws, gbs=gbs * k, ci95=[gbs * k] * 2, level=level)
                               for ws, k, level in sets],
                    call_overhead_us=interval(overhead_us),
                    quality=Quality(disturbed=disturbed, other_cpu_share=0.6 if disturbed else 0.0,
                                    spread=0.01, ci95_us=[1.0, 1.1], attempts=1),
                    seconds=0.1)


def _stored(tmp_path, gflops=100.0, gbs=10.0, overhead_us=2.0, disturbed=False) -> tuple[CeilingsFile, str]:
    store = CeilingsFile(tmp_path / "ceilings.json")
    key = store.key("cpu", 1, SMALL)
    store.save(key, ceilings.to_ceilings(_measured(gflops, gbs, overhead_us, disturbed), "cpu", 1, SMALL))
    return store, key


def test_a_disturbed_measurement_never_lowers_better_stored_figures(tmp_path, monkeypatch):
    store, key = _stored(tmp_path)
    before = store.load(key)
    # under load: compute and DRAM read low, the small working set reads higher (a real gain)
    low = _measured(40.0, 4.0, 5.0, disturbed=True)
    low.bandwidth[0] = low.bandwidth[0].model_copy(update={"gbs": 50.0})
    monkeypatch.setattr(ceilings, "measure", lambda *a, **k: low)
    got = ceilings.ceilings("cpu", 1, SMALL, refresh=True, store=store)
    assert got.quality.disturbed
    assert got.compute_gflops.value == 100.0
    assert got.family_gflops["conv2d"].value == 50.0
    assert [b.gbs for b in got.bandwidth_gbs] == [50.0, 10.0]
    assert got.call_overhead_us.value == 2.0
    assert got.ridge_flop_per_byte == pytest.approx(100.0 / 10.0)
    assert "disturbed" in got.method
    assert store.load(key) == before  # the clean stored record stays as it was


def test_a_clean_measurement_replaces_the_stored_one(tmp_path, monkeypatch):
    store, key = _stored(tmp_path)
    monkeypatch.setattr(ceilings, "measure", lambda *a, **k: _measured(80.0, 8.0, 2.5, disturbed=False))
    got = ceilings.ceilings("cpu", 1, SMALL, refresh=True, store=store)
    assert got.compute_gflops.value == 80.0 and not got.quality.disturbed
    assert store.load(key).compute_gflops.value == 80.0


def test_fresh_stored_figures_are_answered_without_measuring(tmp_path, monkeypatch):
    store, _ = _stored(tmp_path)

    def measure(*args, **kwargs):
        raise AssertionError("measured although fresh figures were stored")

    monkeypatch.setattr(ceilings, "measure", measure)
    got = ceilings.ceilings("cpu", 1, SMALL, store=store)
    assert got.compute_gflops.value == 100.0 and not got.stale


@pytest.mark.parametrize("why", ["age", "torch", "disturbed"])
def test_stale_or_disturbed_figures_are_measured_again(tmp_path, monkeypatch, why):
    store, key = _stored(tmp_path, disturbed=why == "disturbed")
    if why == "torch":
        store.save(key, store.load(key).model_copy(update={"torch": "0.1.0"}))
    monkeypatch.setattr(ceilings, "measure", lambda *a, **k: _measured(120.0, 12.0, 1.5, disturbed=False))
    # disturbed figures are measured again once recalibrate_s has passed, not on every request
    with use_settings(ceilings_max_age_s=1e-9 if why == "age" else 86400, recalibrate_s=1e-9):
        assert ceilings.needs_measuring(store.load(key))
        got = ceilings.ceilings("cpu", 1, SMALL, store=store)
    assert got.compute_gflops.value == 120.0


def test_disturbed_figures_are_not_measured_again_on_every_request(tmp_path, monkeypatch):
    store, key = _stored(tmp_path, disturbed=True)
    monkeypatch.setattr(ceilings, "measure", lambda *a, **k: pytest.fail("measured again at once"))
    with use_settings(recalibrate_s=300):
        assert not ceilings.needs_measuring(store.load(key))
        assert ceilings.ceilings("cpu", 1, SMALL, store=store).quality.disturbed


def test_the_record_survives_a_restart(tmp_path):
    store, key = _stored(tmp_path)
    saved = store.load(key)
    again = CeilingsFile(tmp_path / "ceilings.json").load(key)  # a new process reading the folder
    assert again == saved
    data = json.loads((tmp_path / "ceilings.json").read_text())
    assert set(data) == {"machine", "devices"}
    entry = data["devices"][key]
    assert {"device", "threads", "torch", "measured_at", "method"} <= set(entry)
    with use_settings(machine_name="another-machine"):  # a folder copied from elsewhere: not ours
        assert CeilingsFile(tmp_path / "ceilings.json").load(key) is None


# --- through the queue and the route ----------------------------------------------------------------

def test_the_job_runs_in_the_measuring_queue_and_is_shared():
    job = Ceilings(device="cpu", threads=1, sizes=SMALL)
    first = measuring.submit(job).ceilings
    assert first.threads == 1 and first.compute_gflops.value > 0
    again = measuring.submit(Ceilings(device="cpu", threads=1, sizes=SMALL)).ceilings
    assert again.measured_at == first.measured_at
    assert job == Ceilings(device="cpu", threads=1, sizes=SMALL, refresh=True)  # refresh is no key


def test_the_route_answers_every_device(client):
    answer = client.get("/api/machine")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    report = MachineReport.model_validate(answer.json())
    assert [d.device for d in report.devices] == [d.name for d in devices()]
    cpu = report.devices[0]
    assert cpu.compute_gflops.value > 0 and cpu.bandwidth_gbs[-1].level == "DRAM"


@pytest.mark.parametrize("query", ["device=tpu", "threads=0", "threads=999", "threads=1.0", "refresh=maybe",
                                   "fresh=true", "device=cpu&warmup=1"])
def test_the_route_refuses_bad_parameters(client, query):
    answer = client.get(f"/api/machine?{query}")
    assert answer.status_code == 422, answer.text


CLIENT = """
import sys
from blockscope import measuring
from blockscope.measuring.ceilings import Sizes
from blockscope.measuring.jobs import Ceilings
sizes = Sizes(matmul=64, convs=((8, 8, 3),), smallest_bytes=4096, largest_bytes=16384, target_s=0.005,
              min_samples=5)
print(measuring.submit(Ceilings(device="cpu", threads=1, sizes=sizes)).ceilings.model_dump_json())
"""


@pytest.mark.process
def test_a_new_measuring_process_answers_the_stored_ceilings(tmp_path):
    """Measured by one measuring process, kept in the runtime folder, answered by the next one (each
    dies with the client that started it) without measuring again."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    # nothing counts as disturbed here (a disturbed record would be measured again, on purpose)
    env = {**os.environ, "BLOCKSCOPE_MEASURER": "process", "BLOCKSCOPE_RUNTIME_DIR": str(runtime),
           "BLOCKSCOPE_DISTURBED_CPU_SHARE": "1.0", "BLOCKSCOPE_DISTURBED_SPREAD": "1000"}
    root = Path(__file__).resolve().parents[1]

    def ask() -> DeviceCeilings:
        out = subprocess.run([sys.executable, "-c", CLIENT], env=env, cwd=root, capture_output=True,
                             text=True, timeout=240, check=True)
        return DeviceCeilings.model_validate_json(out.stdout.strip().splitlines()[-1])

    first = ask()
    assert not first.quality.disturbed and (runtime / "ceilings.json").exists()
    second = ask()
    assert second.measured_at == first.measured_at and second.compute_gflops == first.compute_gflops

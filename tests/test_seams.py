"""The seams between the layers: one block configuration type whose equality is its cache key, and
one job protocol the measuring queue runs without asking what a job is."""

import ast
import json
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from blockscope.config import use_settings
from blockscope.errors import InvalidParameter
from blockscope.measuring import core as measuring_core
from blockscope.measuring.jobs import Job, JobContext, Store
from blockscope.measuring.results import JobResult
from blockscope.registry import BLOCKS, BlockConfig, blame_size
from blockscope.service import blocks

from .configs import random_configs

ROOT = Path(__file__).resolve().parents[1]


# --- BlockConfig ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(BLOCKS))
def test_a_config_is_the_same_key_whatever_the_order_of_its_values(kind):
    rng = random.Random(kind)
    for values in [BLOCKS[kind].defaults(), *random_configs(BLOCKS[kind], 5, seed=31)]:
        items = list(values.items())
        rng.shuffle(items)
        a, b = blocks.resolve(kind, values), blocks.resolve(kind, dict(items))
        assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
        # straight from a mapping in any order, as the sweep's cache keys are made
        direct = BlockConfig.of(kind, dict(items))
        assert direct == a and hash(direct) == hash(a) and direct.values == tuple(sorted(values.items()))
        assert list(a.as_dict()) == [p.name for p in BLOCKS[kind].all_params]  # the API's order
        assert a.as_dict() == values
        # the analyses cache answers the second order with the first's entry
        assert blocks.analyse(kind, values) is blocks.analyse(kind, dict(items))


def test_a_config_fills_in_defaults_and_checks_every_value():
    config = blocks.resolve("group_conv", {"in_channels": 32, "groups": None})
    assert config["in_channels"] == 32 and config["groups"] == BLOCKS["group_conv"].defaults()["groups"]
    assert config.input_shape == [1, 32, 56, 56]
    assert config.replace(groups=8)["groups"] == 8 and config["groups"] != 8  # frozen: a new one
    with pytest.raises(InvalidParameter) as err:
        blocks.resolve("group_conv", {"in_channels": 0})
    assert err.value.param == "in_channels"
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        config.values = ()


@pytest.mark.parametrize("batch,height,expected", [(1, 56, ("height", 56)), (4, 56, ("batch", 4)),
                                                   (2, 7, ("batch", 2))])
def test_one_rule_names_the_size_to_blame(batch, height, expected):
    config = blocks.resolve("conv", {"batch": batch, "height": height})
    assert config.size_param == expected == blame_size(batch, ("height", height))


def test_configs_of_different_kinds_with_the_same_values_differ():
    values = {"in_channels": 16, "out_channels": 16}
    assert blocks.resolve("conv", values) != blocks.resolve("conv_bn", values)


# --- the job protocol ----------------------------------------------------------------------------

PLAIN = Store("test plain results", "latency_cache")


class Echo(JobResult):
    said: str
    runs: int


@dataclass(frozen=True)
class Say(Job):
    """A job the queue has never heard of: it answers with its word and how often it ran."""
    store = PLAIN
    word: str
    device: str = "cpu"
    threads: int | None = None
    memory_bytes: int = field(compare=False, default=0)
    runs: list = field(compare=False, default_factory=list)

    def estimate_s(self, throughput) -> float:
        return 0.01

    def run(self, ctx: JobContext) -> Echo:
        assert not ctx.should_stop()
        self.runs.append(threading.current_thread().name)
        return Echo(said=self.word, runs=len(self.runs))


def test_a_new_kind_of_job_runs_through_the_queue_with_its_own_cache():
    core = measuring_core.MeasuringCore(name="seams ")
    job = Say("hello")
    first = core.submit(job)
    assert first == Echo(said="hello", runs=1)
    assert job.runs == ["measure-cpu"]  # on the device's own thread
    assert core.submit(Say("hello")) == first  # an equal job is the same key: cached
    assert job.runs == ["measure-cpu"]
    assert Say("hello") in core.cache(PLAIN) and len(core.cache(PLAIN)) == 1
    assert core.submit(job, fresh=True).runs == 2  # measured again on request


def test_a_refusal_by_a_job_is_remembered_for_the_same_job():
    @dataclass(frozen=True)
    class TooBig(Say):
        def run(self, ctx: JobContext) -> Echo:
            self.runs.append(1)
            raise InvalidParameter("height", "too big for this test", 1)

    core = measuring_core.MeasuringCore(name="seams refusals ")
    job = TooBig("big")
    for _ in range(2):
        with pytest.raises(InvalidParameter):
            core.submit(job)
    assert job.runs == [1]


def test_the_measuring_core_never_asks_what_type_a_job_is():
    """Behaviour lives on the job: the queue's code calls no isinstance and names no job class."""
    source = (ROOT / "blockscope" / "measuring" / "core.py").read_text()
    tree = ast.parse(source)
    calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert "isinstance" not in calls and "type" not in calls
    from blockscope.measuring import jobs
    job_classes = {name for name, obj in vars(jobs).items()
                   if isinstance(obj, type) and issubclass(obj, Job) and obj is not Job}
    assert job_classes >= {"Timing", "Equivalence", "Export", "QuantizedActivations", "QuantizedBlock"}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | \
        {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not names & job_classes, names & job_classes


def test_no_block_config_crosses_a_layer_as_a_dict():
    """Signatures take a BlockConfig (or request values as a Mapping), never `config: dict`."""
    found = []
    for path in (ROOT / "blockscope").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for arg in node.args.args + node.args.kwonlyargs:
                    if arg.arg == "config" and arg.annotation is not None and \
                            ast.unparse(arg.annotation).startswith("dict"):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not found, found


def test_the_measurements_log_is_capped(tmp_path):
    """Past `log_max_mb` the log moves to measurements.log.1 (replacing the one before) and starts
    afresh: the two hold at most twice the cap, plus a line."""
    log = tmp_path / "measurements.log"
    cap = 2048
    with use_settings(log_max_mb=cap / 2**20):
        core = measuring_core.MeasuringCore(log_path=str(log), name="seams log ")
        for i in range(60):  # each job logs a line of about 150 bytes: four caps in all
            core.submit(Say(f"word {i}"))
    lines = [json.loads(x) for p in (log, Path(f"{log}.1")) for x in p.read_text().splitlines()]
    assert 0 < log.stat().st_size < cap + 400 and cap <= Path(f"{log}.1").stat().st_size < cap + 400
    assert len(lines) < 60 and {x["job"] for x in lines} == {"Say"}

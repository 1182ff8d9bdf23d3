"""ONNX export of every block and of the networks, checked by running the file in ONNX Runtime against
PyTorch on a seeded input; the download's headers, its limits and its cache. Exports are jobs of the
measuring queue (here inline, in the test process)."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from blockscope import measuring
from blockscope.analysis.reparam import deploy, random_input
from blockscope.cache import named
from blockscope.measuring.forms import BlockForm, NetworkForm
from blockscope.measuring.jobs import Equivalence, Export
from blockscope.networks.catalogue import NETWORKS
from blockscope.registry import BLOCKS
from blockscope.service import blocks as block_service

from .configs import random_configs

TOLERANCE = 1e-4
NETWORK_SIZE = 32  # every network reaches 1 x 1 from 32 x 32: the whole structure, the least compute


def run_onnx(content: bytes, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(content, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert session.get_inputs()[0].shape == list(x.shape)  # the size is fixed in the file
    return session.run(None, {"input": x.numpy()})[0]


def download(client, url: str, params: dict, filename_start: str) -> bytes:
    r = client.get(url, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="{filename_start}')
    assert disposition.endswith('.onnx"')
    onnx.checker.check_model(onnx.load_from_string(r.content))
    return r.content


def check_block(client, kind: str, config: dict, form: str) -> None:
    content = download(client, f"/api/blocks/{kind}/onnx", {**config, "form": form}, kind)
    resolved = block_service.resolve(kind, config)
    module = block_service.build(resolved)
    if form == "deploy":
        module = deploy(module)[0]
    x = random_input(resolved.input_shape, config["seed"] + 1)
    with torch.inference_mode():
        expected = module(x).numpy()
    got = run_onnx(content, x)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= TOLERANCE, (kind, config, form)


@pytest.mark.parametrize("kind", list(BLOCKS))
@pytest.mark.slow
def test_every_block_at_its_defaults_round_trips_through_onnx_runtime(client, kind):
    check_block(client, kind, BLOCKS[kind].defaults(), "train")


# A few random configurations, both forms: the kinds with branches, groups, shuffles and SE.
RANDOM = [("resnext_bottleneck", "train"), ("shufflenet_v1_unit", "deploy"), ("shufflenet_v2_unit", "train"),
          ("mobilenet_v3_bneck", "deploy"), ("repvgg_block", "deploy"), ("inverted_residual", "train")]


@pytest.mark.parametrize("kind,form", RANDOM)
@pytest.mark.slow
def test_random_configurations_round_trip_in_either_form(client, kind, form):
    config = random_configs(BLOCKS[kind], 1, seed=7)[0]
    check_block(client, kind, config, form)


# An export's time is the exporter tracing the graph (several seconds per network, whatever the input
# size), so one network per structure: the other widths of ShuffleNet V2, group counts of ShuffleNet V1
# and MobileNet V3-Small are these with other channel counts, and every block kind is exported above.
NETWORK_FORMS = [("mobilenet_v2", "train"), ("mobilenet_v3_large", "train"), ("shufflenet_v2_x0_5", "train"),
                 ("shufflenet_v1_g3", "train"), ("resnext50_32x4d", "train"), ("repvgg_a0", "train"),
                 ("repvgg_a0", "deploy")]


def test_the_networks_exported_cover_every_structure():
    families = {NETWORKS[name].family for name, _ in NETWORK_FORMS}
    assert families == {n.family for n in NETWORKS.values()}
    blocks = {u.block for name, _ in NETWORK_FORMS for row in NETWORKS[name].rows for u in row.units}
    assert blocks == {u.block for n in NETWORKS.values() for row in n.rows for u in row.units}


def submitted(monkeypatch) -> list:
    """The jobs sent to the measuring queue from now on (sent on, as before)."""
    jobs = []
    real = measuring.submit

    def spy(job, **kwargs):
        jobs.append(job)
        return real(job, **kwargs)

    monkeypatch.setattr(measuring, "submit", spy)
    return jobs


def check_job(job, expected) -> None:
    assert job == expected
    # its memory and the work for the estimate come from the analysis, before anything is built
    assert job.device == "cpu" and job.memory_bytes > 0 and job.work and job.work[0]


@pytest.mark.parametrize("name,form", NETWORK_FORMS)
@pytest.mark.slow
def test_networks_round_trip_through_onnx_runtime(client, monkeypatch, name, form):
    size = {"height": NETWORK_SIZE, "width": NETWORK_SIZE}
    jobs = submitted(monkeypatch)
    content = download(client, f"/api/networks/{name}/onnx", {**size, "form": form},
                       f"{name}-1x3x{NETWORK_SIZE}x{NETWORK_SIZE}-{form}")
    [job] = jobs  # exported by the measuring queue
    check_job(job, Export(NetworkForm(name, deployed=form == "deploy"), (1, 3, NETWORK_SIZE, NETWORK_SIZE)))
    module = NetworkForm(name, deployed=form == "deploy").build()  # as the measuring process builds it
    x = random_input([1, 3, NETWORK_SIZE, NETWORK_SIZE], 1)
    with torch.inference_mode():
        expected = module(x).numpy()
    got = run_onnx(content, x)
    assert got.shape == (1, 1000)
    assert np.abs(got - expected).max() <= TOLERANCE


def test_the_training_time_file_keeps_its_batchnorms_and_the_deployed_one_folds_them(client):
    params = {"height": 8, "width": 8}
    ops = {}
    for form in ("train", "deploy"):
        content = client.get("/api/blocks/repvgg_block/onnx", params={**params, "form": form}).content
        ops[form] = sorted(n.op_type for n in onnx.load_from_string(content).graph.node)
    assert ops["train"] == ["Add", "Add", "BatchNormalization", "BatchNormalization", "BatchNormalization",
                            "Conv", "Conv", "Relu"]
    assert ops["deploy"] == ["Conv", "Relu"]


def test_exports_are_cached_and_named_after_the_configuration(client):
    url = "/api/blocks/group_conv/onnx?groups=8&height=8&width=8"
    first = client.get(url)
    assert first.headers["content-disposition"] == \
        'attachment; filename="group_conv-groups8-height8-width8-train.onnx"'
    config = block_service.resolve("group_conv", {"groups": 8, "height": 8, "width": 8})
    job = Export(BlockForm(config), tuple(config.input_shape))
    assert job in named("exports")  # the measuring queue's cache of finished files
    assert client.get(url).content == first.content


def test_block_exports_and_network_equivalence_checks_are_jobs_of_the_measuring_queue(client, monkeypatch):
    jobs = submitted(monkeypatch)
    values = {"height": 6, "width": 6, "seed": 4321}
    assert client.get("/api/blocks/conv/onnx", params={**values, "form": "deploy"}).status_code == 200
    named("network equivalence").clear()
    r = client.get("/api/networks/repvgg_a0/reparam?equivalence=true")
    assert r.status_code == 200 and r.json()["equivalence"]["max_rel_diff"] < 1e-3
    block, equivalence = jobs
    config = block_service.resolve("conv", values)
    check_job(block, Export(BlockForm(config, deployed=True), tuple(config.input_shape)))
    check_job(equivalence, Equivalence(NetworkForm("repvgg_a0", seed=0), (1, 3, 32, 32), 0))


@pytest.mark.parametrize("url,status,param", [
    ("/api/blocks/conv/onnx?form=fp16", 422, "form"),
    ("/api/networks/mobilenet_v2/onnx?form=fp16", 422, "form"),
    ("/api/blocks/group_conv/onnx?groups=5", 422, "groups"),
    ("/api/blocks/conv/onnx?in_channels=2048&out_channels=2048&kernel_size=7", 422, "in_channels"),
    ("/api/networks/resnext50_32x4d/onnx?batch=64&height=512&width=512", 422, "batch"),
    ("/api/blocks/nope/onnx", 404, None),
    ("/api/networks/nope/onnx", 404, None),
])
def test_bad_and_oversized_exports_are_refused_before_building(client, monkeypatch, url, status, param):
    def refuse(*args, **kwargs):
        raise AssertionError("sent a job it should have refused")

    monkeypatch.setattr(measuring, "submit", refuse)
    r = client.get(url)
    assert r.status_code == status, r.text
    if param:
        assert r.json()["detail"][0]["loc"] == ["query", param]


def test_too_many_exports_at_once_are_answered_429(client, monkeypatch):
    from blockscope.service import export

    monkeypatch.setattr(export.waiting, "admitted", 10**6)
    r = client.get("/api/blocks/conv/onnx?height=5&width=5&seed=12345")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1

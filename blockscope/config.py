"""Every setting of the server: typed, read once from `BLOCKSCOPE_*` environment variables.

`get_settings()` is how code reads them (at the moment it needs a value, never frozen at import);
`use_settings(...)` swaps them for a block of code, which is how the tests change a limit.
`docs/configuration.md` lists them all; a test keeps that table in step with this class.
"""

import hashlib
import os
import socket
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BLOCKSCOPE_", frozen=True, extra="forbid")

    # --- what a request may ask for ---------------------------------------------------------------
    max_channels: PositiveInt = Field(2048, description="Largest channel count (and group count) a "
                                                        "block parameter may take.")
    max_spatial: PositiveInt = Field(512, description="Largest input height and width.")
    max_batch: PositiveInt = Field(64, description="Largest batch size.")
    max_memory_mb: PositiveInt = Field(1024, description="Memory one job may need for its weights and "
                                                         "activations (estimated on the meta device "
                                                         "before anything is allocated), in MiB.")
    max_reparam_madds: PositiveInt = Field(10_000_000_000, description="Largest block (in multiply-adds) "
                                                                       "whose reparameterization is "
                                                                       "checked with real forward passes.")

    # --- caches -----------------------------------------------------------------------------------
    analysis_cache: PositiveInt = Field(512, description="Analyses kept in memory (least recently used "
                                                         "first out).")
    graph_cache: PositiveInt = Field(256, description="Traced block graphs kept for re-use by blocks "
                                                      "of the same structure.")
    sweep_cache: PositiveInt = Field(256, description="Group-count sweeps kept in memory.")
    sweep_point_cache: PositiveInt = Field(8192, description="Costs of single configurations tried by "
                                           "sweeps (a few hundred bytes each), kept apart from the "
                                           "analyses so that a sweep never evicts one.")
    reparam_cache: PositiveInt = Field(128, description="Reparameterization reports kept in memory, and "
                                                        "as many proofs of equivalence (in each web worker "
                                                        "and in the measuring process).")
    guideline_cache: PositiveInt = Field(128, description="Guideline-lab analyses kept in memory.")
    network_cache: PositiveInt = Field(64, description="Whole-network analyses kept in memory, and as many "
                                                       "deployed forms and equivalence checks.")
    onnx_cache: PositiveInt = Field(4, description="ONNX exports kept in memory by the measuring process "
                                                   "(a whole network's file holds its weights: about 100 MB "
                                                   "for ResNeXt-50).")
    export_max_waiting: PositiveInt = Field(4, description="Requests of one web worker waiting at once for "
                                                           "ONNX exports and network equivalence checks "
                                                           "(jobs of the measuring process); one more is "
                                                           "answered 429.")
    cache_max_age: PositiveInt = Field(3600, description="Seconds browsers and proxies may keep a "
                                                         "cacheable answer (Cache-Control max-age).")

    # --- measurements -----------------------------------------------------------------------------
    latency_ttl_s: PositiveFloat = Field(60, description="Seconds a measured latency is re-used for an "
                                                         "identical request.")
    latency_cache: PositiveInt = Field(256, description="Measurements kept in memory by the measuring "
                                                        "process (latencies and int8 reports), and as many "
                                                        "refusals of jobs too large to run.")
    max_queue: PositiveInt = Field(8, description="Measurements queued or running per device; one more "
                                                  "is answered 429 with Retry-After.")
    max_waiting_factor: PositiveInt = Field(2, description="Requests waiting per device (queued, running "
                                                           "or sharing an identical measurement) may be "
                                                           "this many times `max_queue`.")
    measure_budget_s: PositiveFloat = Field(10, description="Seconds one measurement may take; longer ones "
                                                            "are refused (422) before they run.")
    measure_target_s: PositiveFloat = Field(0.3, description="Seconds of timed end-to-end calls a "
                                                             "measurement with default repeats aims for.")
    measure_warmup_s: PositiveFloat = Field(0.03, description="Seconds of untimed warm-up calls a "
                                                              "measurement with default warm-up aims for.")
    min_repeats: PositiveInt = Field(10, description="Fewest timed calls of a default measurement.")
    max_auto_repeats: PositiveInt = Field(2000, description="Most timed calls a default measurement "
                                                            "chooses.")
    max_auto_warmup: PositiveInt = Field(100, description="Most warm-up calls a default measurement "
                                                          "chooses.")
    max_warmup: PositiveInt = Field(1000, description="Largest `warmup` a request may ask for.")
    max_repeats: PositiveInt = Field(10000, description="Largest `repeats` a request may ask for.")
    recalibrate_s: PositiveFloat = Field(300, description="Seconds before a device's throughput "
                                                          "(used to estimate durations) is measured again.")
    ceilings_max_age_s: PositiveFloat = Field(86400, description="Seconds the machine's measured ceilings "
                                                                 "(peak compute, bandwidth, call overhead: "
                                                                 "/api/machine) are kept before they are "
                                                                 "measured again; also measured again when "
                                                                 "torch changes.")
    measurer: Literal["process", "inline"] = Field(
        "process", description="Where real tensors are run: `process`, one measuring process per machine "
                               "that every web worker sends its jobs to, or `inline`, in each web process "
                               "(for tests and debugging; measurements of several workers may then overlap).")
    machine_name: str = Field("", description="The name every measurement is labelled with (`machine`), "
                              "so that figures from several servers behind one proxy can be told "
                              "apart; empty: the host name.")
    runtime_dir: str = Field("", description="Folder for the measuring process's socket, lock and log "
                                             "(default: a folder under the system's temporary directory).")
    log_max_mb: PositiveFloat = Field(8, description="Size at which the measuring process's log "
                                                     "(`measurements.log`) is moved to `measurements.log.1` "
                                                     "(replacing the one before) and started afresh; "
                                                     "`scripts/serve-class.sh` caps its logs at the same "
                                                     "size.")
    disturbed_cpu_share: PositiveFloat = Field(0.15, description="Share of the measuring cores' time that "
                                                                 "other processes may use before a figure "
                                                                 "is flagged as disturbed.")
    disturbed_spread: PositiveFloat = Field(0.25, description="Interquartile range over median above which "
                                                              "a figure is flagged as disturbed.")
    reparam_max_waiting: PositiveInt = Field(8, description="Reparameterization checks waiting or running "
                                                            "at once; one more is answered 429.")
    reparam_max_measuring: PositiveInt = Field(2, description="Reparameterizations with `measure=true` "
                                                              "holding both built forms at once.")

    # --- int8 quantization (docs/quantization.md) ---------------------------------------------------
    max_quant_size: PositiveInt = Field(1 << 22, description="Most elements of the tensor an activation "
                                                             "is timed on in float32 and int8.")
    max_quant_calibration: PositiveInt = Field(32, description="Most calibration inputs a block's static "
                                                               "quantization may ask for.")
    quant_model_cache: PositiveInt = Field(16, description="Quantized blocks (float32 and int8 ONNX models) "
                                                           "kept in memory by the measuring process.")
    quant_max_waiting: PositiveInt = Field(4, description="Requests of one web worker waiting at once for "
                                                          "quantization jobs; one more is answered 429.")

    # --- pages ------------------------------------------------------------------------------------
    frame_ancestors: str = Field("*", description="Who may embed the pages in an iframe (the CSP's "
                                                  "`frame-ancestors`, e.g. `'self' https://course.example`).")


    def machine(self) -> str:
        return self.machine_name or socket.gethostname()

    def runtime_path(self) -> Path:
        """The measuring process's folder (created on first use, readable by this user only).

        The default folder is named after this copy of the code, so a server never sends its jobs
        to a measuring process started from other code (an older checkout, another install).
        """
        default = Path(tempfile.gettempdir()) / f"blockscope-{os.getuid()}-{_code_version()}"
        path = Path(self.runtime_dir) if self.runtime_dir else default
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(path)
        except OSError as exc:
            raise RuntimeError(f"the measuring process's folder {path} cannot be made ({exc.strerror}); "
                               "set BLOCKSCOPE_RUNTIME_DIR to a folder this user may create") from None
        # the socket and its key live here: only a folder of this user's, closed to others, will do
        if not stat.S_ISDIR(info.st_mode):
            found = "not a folder"
        else:
            found = f"owned by uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):o}"
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise RuntimeError(f"the measuring process's folder {path} must be a folder of this user's "
                               f"(uid {os.getuid()}) that no one else can read or write (mode 700), and it "
                               f"is {found}: chown and chmod 700 it, or set BLOCKSCOPE_RUNTIME_DIR to "
                               "another folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise RuntimeError(f"the measuring process's folder {path} is not writable by this user (mode "
                               f"{stat.S_IMODE(info.st_mode):o}): chmod 700 it or set "
                               "BLOCKSCOPE_RUNTIME_DIR to another one")
        return path


def _code_version() -> str:
    if not _CODE:
        digest = hashlib.blake2b(digest_size=6)
        for file in sorted(Path(__file__).parent.rglob("*.py")):
            digest.update(file.read_bytes())
        _CODE.append(digest.hexdigest())
    return _CODE[0]


_CODE: list[str] = []
_current = Settings()


def get_settings() -> Settings:
    """The settings in force."""
    return _current


@contextmanager
def use_settings(**changes) -> Iterator[Settings]:
    """Run a block of code with some settings changed (validated like the environment's)."""
    global _current
    previous = _current
    _current = Settings.model_validate({**previous.model_dump(), **changes})
    try:
        yield _current
    finally:
        _current = previous

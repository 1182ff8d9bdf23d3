"""Server limits and tunables, read once from the environment (documented in the README)."""

import os
from dataclasses import dataclass


def int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc
    if value < 1:
        raise RuntimeError(f"{name} must be positive, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    max_channels: int = int_env("BLOCKSCOPE_MAX_CHANNELS", 2048)
    max_spatial: int = int_env("BLOCKSCOPE_MAX_SPATIAL", 512)
    max_batch: int = int_env("BLOCKSCOPE_MAX_BATCH", 64)
    # activations + parameters of one block, estimated on the meta device before allocating
    max_memory_mb: int = int_env("BLOCKSCOPE_MAX_MEMORY_MB", 1024)
    analysis_cache_size: int = int_env("BLOCKSCOPE_ANALYSIS_CACHE", 512)
    cache_max_age_s: int = int_env("BLOCKSCOPE_CACHE_MAX_AGE", 3600)
    frame_ancestors: str = os.environ.get("BLOCKSCOPE_FRAME_ANCESTORS", "*")


settings = Settings()

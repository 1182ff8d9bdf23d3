# BlockScope served with the CPU build of PyTorch.
FROM python:3.11-slim

WORKDIR /srv/blockscope
# The CPU wheel index keeps the image small (the default index serves a multi-gigabyte CUDA build).
RUN pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY app ./app
COPY static ./static
COPY templates ./templates
RUN pip install --no-cache-dir .

ENV BLOCKSCOPE_FRAME_ANCESTORS="*"
EXPOSE 8000
USER nobody
CMD ["uvicorn", "blockscope.main:app", "--host", "0.0.0.0", "--port", "8000"]

# BlockScope served with the CPU build of PyTorch.
#   docker build -t blockscope . && docker run -p 8000:8000 blockscope
# WEB_CONCURRENCY sets the number of web workers (uvicorn reads it); they share one measuring
# process through BLOCKSCOPE_RUNTIME_DIR. compose.yaml puts nginx in front (docs/deployment.md).

# Plotly's cartesian bundle, as package-lock.json pins it: installed by npm in a stage of its own, so
# the image gets the bundle's files and no Node.js.
FROM node:22-slim AS plotly
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM python:3.11-slim

# The CPU wheel index keeps the image small (the default index serves a multi-gigabyte CUDA build).
RUN pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu

# Installed as a package (not editable): templates and static files ship inside it. The source is
# removed afterwards, so the server can only run the installed copy.
COPY pyproject.toml README.md /tmp/blockscope/
COPY blockscope /tmp/blockscope/blockscope
RUN pip install --no-cache-dir /tmp/blockscope && rm -rf /tmp/blockscope
# where the app looks for npm's packages outside a checkout: share/blockscope/node_modules under the
# Python prefix (without it, the pages would load the full bundle from the Python package)
COPY --from=plotly /build/node_modules/plotly.js-cartesian-dist-min \
     /usr/local/share/blockscope/node_modules/plotly.js-cartesian-dist-min

RUN useradd --system --no-create-home --shell /usr/sbin/nologin blockscope \
    && install -d -m 700 -o blockscope -g blockscope /run/blockscope
ENV BLOCKSCOPE_RUNTIME_DIR=/run/blockscope \
    BLOCKSCOPE_FRAME_ANCESTORS="*" \
    WEB_CONCURRENCY=1 \
    PYTHONUNBUFFERED=1
VOLUME /run/blockscope

WORKDIR /srv
USER blockscope
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# --timeout-keep-alive above nginx's upstream keepalive_timeout (60 s), so nginx closes idle
# connections first.
CMD ["uvicorn", "blockscope.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-server-header", \
     "--timeout-keep-alive", "75", "--timeout-graceful-shutdown", "5"]

# Hamacho in a container: the same steps as `make run` (install, demo dataset if missing, Streamlit on 8501).
#
# Build arguments (docker compose passes them from HAMACHO_* variables: README, "Docker"):
#   INDEX_URL        the Python package index (an internal mirror; default PyPI). Visible in `docker history`:
#                    never put a password or token in it.
#   EXTRA_CA_CERTS   PEM text of CA certificates to trust besides Debian's (a TLS-inspecting proxy, a mirror with
#                    its own CA), e.g. --build-arg EXTRA_CA_CERTS="$(cat corporate-ca.pem)".
#   TORCH_INDEX_URL  an index holding torch and torchvision at the pinned versions, e.g. PyTorch's CPU-only
#                    wheels (https://download.pytorch.org/whl/cpu): an image for the CPU only. Default: PyPI's
#                    torch, the CUDA build, which brings 3.2 GB of CUDA libraries and 0.9 GB of triton into the
#                    7.4 GB image; it runs on the CPU too, and on a GPU with docker-compose.gpu.yml.
FROM python:3.11-slim-bookworm

ARG INDEX_URL=https://pypi.org/simple
ARG EXTRA_CA_CERTS=""
ARG TORCH_INDEX_URL=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HAMACHO_HOME=/data/workspace

SHELL ["/bin/sh", "-eu", "-c"]

# The extra certificates join the system store, and pip checks the index against that store.
RUN if [ -n "$EXTRA_CA_CERTS" ]; then \
        printf '%s\n' "$EXTRA_CA_CERTS" > /usr/local/share/ca-certificates/hamacho-extra.crt; \
        update-ca-certificates; \
    fi
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt

RUN useradd --create-home --uid 1000 hamacho \
    && mkdir -p /data/workspace \
    && chown hamacho:hamacho /data/workspace

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them. With TORCH_INDEX_URL, torch and torchvision
# come from there first (a local version such as 2.14.1+cpu satisfies the pin torch==2.14.1).
COPY requirements.txt ./
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --no-cache-dir --index-url "$TORCH_INDEX_URL" \
            "$(grep '^torch==' requirements.txt)" "$(grep '^torchvision==' requirements.txt)"; \
    fi; \
    pip install --no-cache-dir -r requirements.txt --index-url "$INDEX_URL"

COPY . .
RUN pip install --no-cache-dir --no-deps . --index-url "$INDEX_URL"

USER 1000:1000
VOLUME ["/data/workspace"]
EXPOSE 8501

# Checked every 5 s, so "healthy" shows within seconds of the app being ready; failures in the first 120 s (the
# demo dataset, the first imports) do not count.
HEALTHCHECK --interval=5s --timeout=4s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=3)"]

CMD ["sh", "-c", "test -d \"$HAMACHO_HOME/demo/good\" || python -m hamacho_core demo \"$HAMACHO_HOME/demo\"; exec streamlit run app.py --server.port 8501 --server.headless true --browser.gatherUsageStats false --server.address 0.0.0.0"]

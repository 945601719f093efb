# Hamacho in a container: the same steps as `make run` (install, demo dataset if missing, Streamlit on 8501).
# torch==2.14.1 from PyPI is the CUDA build (several GB); it runs on the CPU too, and on a GPU with
# docker-compose.gpu.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HAMACHO_HOME=/data/workspace

RUN useradd --create-home --uid 1000 hamacho \
    && mkdir -p /data/workspace \
    && chown hamacho:hamacho /data/workspace

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN pip install --no-cache-dir --no-deps .

USER 1000:1000
VOLUME ["/data/workspace"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"]

CMD ["sh", "-c", "test -d \"$HAMACHO_HOME/demo/good\" || python -m hamacho_core.demo \"$HAMACHO_HOME/demo\"; exec streamlit run app.py --server.port 8501 --server.headless true --browser.gatherUsageStats false --server.address 0.0.0.0"]

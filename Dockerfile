FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
# Editable install: the package finds static/ and templates/ beside it in /app.
COPY server ./server
COPY static ./static
COPY templates ./templates
RUN pip install -e ".[redis]" && useradd --create-home --uid 10001 gradscape
USER gradscape
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["gradscape", "serve", "--host", "0.0.0.0", "--port", "8000"]

# Plugboard: one binary serving the API and the SPA, on a slim base as an unprivileged user.

# The SPA, built once; only its static files reach the final image.
FROM node:20-bookworm-slim AS web
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
# The install links the browser tests' modules beside it; the folder has to exist.
RUN mkdir -p ../tests/e2e && npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin plugboard

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app plugboard
WORKDIR /app
COPY --from=build /src/target/release/plugboard /usr/local/bin/plugboard
COPY --from=web /src/frontend/dist /app/web
USER plugboard
ENV PLUGBOARD_BIND=0.0.0.0:8080 PLUGBOARD_LOG_FORMAT=json PLUGBOARD_WEB_DIR=/app/web
EXPOSE 8080
HEALTHCHECK CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ' 200 ' <&3"]
ENTRYPOINT ["plugboard"]
CMD ["serve"]

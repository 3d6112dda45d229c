# immich worker image: node 20 on Debian with the media tools the pipeline calls (ffmpeg/ffprobe,
# djxl for JPEG XL, heif-convert for HEIC fallbacks, perl for exiftool). Built by docker-compose.yml.
FROM node:20-bookworm AS build
WORKDIR /app
# onnxruntime-node must not download its CUDA add-on at install time (the CPU build is in the package).
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: the "prepare" script (tsc) needs the sources, which come next.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build

FROM node:20-bookworm
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg libjxl-tools libheif-examples perl ca-certificates tini tesseract-ocr-rus \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm rebuild sharp onnxruntime-node \
  && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY migrations ./migrations
ENV UPLOAD_LOCATION=/data IMMICH_MODELS_DIR=/models
VOLUME ["/data"]
# tini forwards SIGTERM to node: `docker compose stop` lets the worker finish its jobs in flight.
# Through the launcher's shell line, so Node 20 does not take our --env-file for its own.
ENTRYPOINT ["/usr/bin/tini", "--", "/app/bin/immich"]
CMD ["worker"]

# The guildcast image the manifests in infra/k8s run: one image, the role is its argument
# (`docker run ghcr.io/guildcast/guildcast:0.1.0 fanout`). TypeScript runs through tsx, a runtime
# dependency, so there is no build step. Not buildable on the project's own machines (no Docker
# engine there); built by whoever publishes images.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY core ./core
COPY store ./store
COPY ingest ./ingest
COPY fanout ./fanout
COPY gateway-proxy ./gateway-proxy
# Production files only: no bench/ (`guildcast bench` imports it on demand, so it is simply absent
# here). infra/discord-sim is the local Discord `guildcast all` and `guildcast sim` run.
COPY infra/discord-sim ./infra/discord-sim
COPY infra/local ./infra/local
COPY infra/maven ./infra/maven
COPY bin ./bin
COPY tsconfig.json ./
USER node
ENTRYPOINT ["node", "bin/guildcast.mjs"]
CMD ["--help"]

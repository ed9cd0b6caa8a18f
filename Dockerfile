# syntax=docker/dockerfile:1
# ao's image. Target `ao`: the API (which serves the dashboard) and the control worker, one image, two commands.
# Target `runner`: the same code plus git, for a runner (the compose file's example runner uses the echo profile;
# a real one adds the agent CLIs its profiles run). Debian-based: Temporal's native core has no musl build.

# Build stage: runtime dependencies only (the agent CLIs and test tools are dev dependencies); node-pty compiles here,
# so this stage has the compilers the slim image lacks.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY core core
COPY workflows workflows
COPY activities activities
COPY workers workers
COPY api api
COPY temporal-config temporal-config
COPY profiles profiles
COPY config config
COPY web web
RUN npm run web:build

FROM node:20-bookworm-slim AS ao
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
# Named volumes mounted here start as the image's folders, owned by the user that writes them.
RUN mkdir -p /data && chown -R node:node /data /app/config
USER node
EXPOSE 8787
CMD ["node", "--import", "tsx", "api/server.ts"]

FROM ao AS runner
USER root
# Worktrees per run need git (a project that is a git repository gets one per run).
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /work/project && chown node:node /work/project
USER node
CMD ["node", "--import", "tsx", "workers/runner.ts"]

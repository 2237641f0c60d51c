# The claim scrubber: one image for the HTTP service (`serve`) and the queue workers (`worker`).
# Build: docker build -t claim-scrubber .   See docs/deploy.md.

# 1. Build: every dependency, the TypeScript compiler, the sources.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY schemas ./schemas
RUN npm run build

# 2. Run: production dependencies only, the compiled code, the schemas and the bundled packs.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY schemas ./schemas
COPY rules ./rules
COPY examples/claims ./examples/claims
# Not root: the image's own unprivileged user (uid 1000). Nothing under /app is writable by it.
USER node
ENV HOST=0.0.0.0 PORT=8080 SCRUB_WORKER_PORT=9090
EXPOSE 8080 9090
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]

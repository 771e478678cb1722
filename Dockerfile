# matrix-rtc-reconciler: a Matrix appservice that clears ghost MatrixRTC call memberships using LiveKit's truth.
# Build:  docker build -t matrix-rtc-reconciler .
# Run:    docker run -v /srv/rtc-reconciler:/data -p 127.0.0.1:9000:9000 matrix-rtc-reconciler
#         /data holds config.yaml, registration.yaml and the SQLite database (relative paths in the config
#         resolve there). In the config set appservice.bind_address: 0.0.0.0 so Synapse and LiveKit reach it
#         from outside the container; see docs/deployment.md.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY local_modules ./local_modules
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json && npm prune --omit=dev --no-audit --no-fund

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/local_modules ./local_modules
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY bin ./bin
COPY config.sample.yaml registration.example.yaml ./
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
WORKDIR /data
EXPOSE 9000 9101
ENV HEALTH_URL=http://127.0.0.1:9000/health
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch(process.env.HEALTH_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["/app/bin/matrix-rtc-reconciler"]
CMD ["-c", "/data/config.yaml", "-f", "/data/registration.yaml"]

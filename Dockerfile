# Meridian edge router — multi-stage build on Node 24.
#   docker build -t meridian .
#   docker run -e MERIDIAN_ADMIN_TOKEN=... -p 8080:8080 -p 9901:9901 -p 9902:9902 \
#     -v $PWD/my.yaml:/etc/meridian/meridian.yaml:ro meridian
# The config is read from /etc/meridian/meridian.yaml: mount yours there. The bundled one
# (config/docker.yaml) binds admin to 0.0.0.0:9901 with the token from MERIDIAN_ADMIN_TOKEN, and
# the probe-only metrics listener to 9902, which the HEALTHCHECK and Prometheus use.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
# --ignore-scripts: `prepare` (the build) runs below, once the sources are there.
RUN npm ci --ignore-scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
RUN mkdir -p /etc/meridian && cp config/docker.yaml /etc/meridian/meridian.yaml
USER node
EXPOSE 8080 9901 9902
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "require('http').get('http://127.0.0.1:9902/healthz', r => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve", "--config", "/etc/meridian/meridian.yaml"]

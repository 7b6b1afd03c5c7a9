# Meridian edge router — multi-stage build on Node 24.
#   docker build -t meridian .
#   docker run -p 8080:8080 -p 9901:9901 -v $PWD/my.yaml:/etc/meridian/meridian.yaml:ro meridian
# The config is read from /etc/meridian/meridian.yaml: mount yours there (the bundled copy is the
# annotated example and only a placeholder). The HEALTHCHECK calls /healthz on 127.0.0.1:9901 inside
# the container, so the default loopback admin.listen works; to reach port 9901 from outside, set
# `admin: { listen: 0.0.0.0:9901, token: ${MERIDIAN_ADMIN_TOKEN} }`.

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
RUN mkdir -p /etc/meridian && cp config/meridian.yaml /etc/meridian/meridian.yaml
USER node
EXPOSE 8080 9901
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "require('http').get('http://127.0.0.1:9901/healthz', r => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve", "--config", "/etc/meridian/meridian.yaml"]

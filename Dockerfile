# syntax=docker/dockerfile:1
# Images for docker-compose.yml: `temporal` (the Temporal CLI's dev server, built from source at
# the version the project pins) and `app` (worker, ingress and simulator; the command picks one).

FROM golang:1.25-bookworm AS temporal-cli
# Later CLI tags carry a `replace` directive that `go install pkg@version` refuses.
RUN GOFLAGS=-buildvcs=false GOBIN=/out go install github.com/temporalio/cli/cmd/temporal@v1.5.1

FROM debian:bookworm-slim AS temporal
RUN useradd --uid 10001 --create-home temporal && mkdir /data && chown temporal /data
COPY --from=temporal-cli /out/temporal /usr/local/bin/temporal
USER temporal
VOLUME /data
EXPOSE 7233 8233
ENTRYPOINT ["temporal"]

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:24-bookworm-slim AS app
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY playbooks ./playbooks
COPY finops-soar.yaml ./
# dataDir, where the worker keeps the scheduled reviews' reports: writable by the user the processes run as (/app is
# root's). A volume mounted here starts with this ownership.
ENV FINOPS_SOAR_DATA_DIR=/var/lib/finops-soar-data
RUN mkdir -p /var/lib/finops-soar-data && chown node:node /var/lib/finops-soar-data
USER node
EXPOSE 8088 8090
CMD ["node", "dist/workers/worker.js"]

# meshd's container image: one image for the router, the namer and namerctl.
#
#   docker build -t meshd .
#   docker run --rm -v "$PWD/examples/compose:/etc/meshd:ro" meshd validate --config /etc/meshd/router.yaml
#
# The build stage compiles TypeScript to dist/; the runtime stage holds only
# production dependencies, dist/, bin/ and the examples (`meshd demo` reads
# examples/dtabs/demo.dtab), and runs as a numeric non-root user so
# Kubernetes' runAsNonRoot can verify it without a passwd lookup.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: the package's prepare step builds dist/, and the sources
# are not copied yet (this layer is cached until the lock file changes).
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY dtab ./dtab
COPY lib ./lib
COPY namer ./namer
COPY router ./router
COPY cli ./cli
RUN npm run build
# tsc emits only JavaScript: the admin pages' HTML, CSS and browser scripts
# stay beside the sources, where the built code also looks for them
# (../../<folder>/… from dist/). Gather them with their paths.
RUN mkdir /assets && find dtab lib namer router cli -type f ! -name '*.ts' -exec cp --parents {} /assets/ \;

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /opt/meshd
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: prepare would try to build (no compiler in this stage);
# the only dependency with an install script is an optional native add-on
# of the StatsD client (its Unix-socket transport; UDP needs nothing).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY --from=build /assets/ ./
COPY bin ./bin
COPY examples ./examples
# Writable state (the router's stateDir): the only place the process writes,
# so the root filesystem can be mounted read-only. A volume mounted here
# starts with this ownership.
RUN mkdir -p /var/lib/meshd /etc/meshd && chown 10001:10001 /var/lib/meshd
USER 10001:10001
# 4140/4141 router outgoing/incoming, 9990 router admin, 4180 namer API, 9991 namer admin.
EXPOSE 4140 4141 9990 4180 9991
# Configs are mounted read-only at /etc/meshd; the Kubernetes and compose
# examples pass their own arguments (router or namer, and the file).
# Run through the script's own line (#!/usr/bin/env -S node …) so the image runs
# meshd with the same Node flags as an installed package does.
ENTRYPOINT ["/opt/meshd/bin/meshd.js"]
CMD ["router", "--config", "/etc/meshd/config.yaml"]

# Build: docker build --build-arg REVISION=$(git rev-parse HEAD) -t antspace_exporter .
# Run:   docker run -p 9842:9842 \
#          -v /etc/antspace_exporter/inventory.yml:/etc/antspace_exporter/antspace_exporter.yml:ro \
#          antspace_exporter --config.file=/etc/antspace_exporter/antspace_exporter.yml
#
# Base images are pinned by digest so a rebuild uses the same bytes; refresh
# them deliberately, e.g. `docker buildx imagetools inspect golang:1.26` and
# `crane digest gcr.io/distroless/static-debian12:nonroot`.
FROM golang:1.26@sha256:595c7847cff97c9a9e76f015083c481d26078f961c9c8dca3923132f51fe12f1 AS build
ARG REVISION=unknown
# go.mod names the toolchain; fetch it through the module proxy when the image's Go is older.
ENV GOTOOLCHAIN=auto
WORKDIR /src
COPY . .
# Fetches only the modules the exporter needs (go mod download would fetch the
# whole graph) and builds a static, stripped binary.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=$(cat VERSION) -X github.com/prometheus/common/version.Revision=${REVISION} -X github.com/prometheus/common/version.BuildUser=docker" \
      -o /out/antspace_exporter ./cmd/antspace_exporter

FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /out/antspace_exporter /bin/antspace_exporter
EXPOSE 9842
USER nonroot
ENTRYPOINT ["/bin/antspace_exporter"]
# No inventory is built in: no containers, no /control, no tokens. Without
# --config.file the exporter probes the host:port targets Prometheus names;
# mount a real inventory and pass --config.file for /sd and /control (README,
# "Install").
CMD []

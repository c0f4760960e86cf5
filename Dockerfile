# Build: docker build -t antspace_exporter .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 make build BIN=/out

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/antspace_exporter /bin/antspace_exporter
COPY targets.example.yml /etc/antspace_exporter/targets.yml
EXPOSE 9842
USER nonroot
ENTRYPOINT ["/bin/antspace_exporter"]
CMD ["--config.file=/etc/antspace_exporter/targets.yml"]

# cxlake in a container, for docker-compose.yml. DuckDB links through cgo,
# so the build stage needs a C compiler (the golang image has one); the
# result is one binary on a slim Debian.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -o /out/cxlake ./cmd/cxlake

FROM debian:bookworm-slim
RUN useradd --system --create-home --home-dir /data cxlake
COPY --from=build /out/cxlake /usr/local/bin/cxlake
USER cxlake
WORKDIR /data
# 5433: the SQL gateway (Postgres wire protocol); 8080: HTTP (/metrics, /healthz).
EXPOSE 5433 8080
ENTRYPOINT ["cxlake"]
CMD ["demo", "--data", "/data/demo"]

#!/usr/bin/env bash
# Runs a command with DATABASE_URL and KAFKA_BROKERS pointing at the services that `scripts/services.sh up` starts,
# unless the caller already set them (e.g. to use another PostgreSQL or a Kafka cluster).
set -euo pipefail
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}"
exec "$@"

#!/usr/bin/env bash
# Local services for development, tests and CI, without Docker:
#
#   PostgreSQL  - the machine's own cluster (started here only if it is down and
#                 DATABASE_URL points at the local default)
#   Kafka       - a real single-node Apache Kafka broker in KRaft mode (combined
#                 broker + controller), fetched from Maven Central with `mvn`
#                 and cached in .kafka/ (git-ignored); data in .kafka-data/
#
# Usage: scripts/services.sh up|down|status
#
#   up      make sure both services answer AND accept work (Kafka is checked
#           with a full kafkajs round trip: scripts/kafka-smoke.mjs); idempotent,
#           a second `up` is a quick no-op
#   down    stop the Kafka broker this script started (pid file); stop
#           PostgreSQL only if this script started it
#   status  print whether each service answers (exit 0 only if both do)
#
# Environment overrides (all optional):
#   DATABASE_URL      default postgres://postgres@127.0.0.1:5432/test
#   KAFKA_VERSION     org.apache.kafka:kafka_2.13 version, default pinned below
#   KAFKA_PORT        broker listener port, default 9092 (controller: KAFKA_PORT+1)
#   KAFKA_DATA_DIR    log dirs, default .kafka-data/kafka-<version>
#   KAFKA_HEAP_OPTS   default "-Xms256m -Xmx512m"
#   SMOKE_TIMEOUT_MS  deadline for the Kafka smoke test, default 60000
#
# Why Kafka 4.4.0: it is the newest release on Maven Central and the project's
# kafkajs 2.2.4 passes the full flow against it (admin create/delete topics and
# groups, idempotent acks=-1 send/sendBatch, transactions, consumer group
# join/fetch/commit, fetchTopicOffsets) despite the old-protocol removals of
# KIP-896 in 4.0. KAFKA_VERSION=3.9.x also works (logging switches to reload4j).
set -euo pipefail

# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

DEFAULT_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"
DATABASE_URL="${DATABASE_URL:-$DEFAULT_DATABASE_URL}"

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_HOST="127.0.0.1"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="$((KAFKA_PORT + 1))"
KAFKA_BROKERS="${KAFKA_HOST}:${KAFKA_PORT}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"

KAFKA_HOME="$REPO_ROOT/.kafka"                    # jars, configs, pid, log (ignored)
KAFKA_LIB="$KAFKA_HOME/lib-$KAFKA_VERSION"        # kafka_2.13 + runtime deps
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$REPO_ROOT/.kafka-data/kafka-$KAFKA_VERSION}"
KAFKA_CONFIG="$KAFKA_HOME/server.properties"
KAFKA_PID_FILE="$KAFKA_HOME/kafka.pid"
KAFKA_LOG="$KAFKA_HOME/kafka.log"
KAFKA_CLUSTER_ID_FILE="$KAFKA_HOME/cluster-id"
PG_MARKER="$KAFKA_HOME/pg-started-by-us"         # holds the cluster version we started

# Kafka 4.x logs through Log4j 2, 3.x through log4j 1 (reload4j).
KAFKA_MAJOR="${KAFKA_VERSION%%.*}"
if [[ "$KAFKA_MAJOR" -ge 4 ]]; then KAFKA_LOGGING=log4j2; else KAFKA_LOGGING=reload4j; fi

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

# True when DATABASE_URL points at this machine's default cluster, which is the
# only one we may start ourselves.
pg_is_local_default() {
  [[ "$DATABASE_URL" =~ ^postgres(ql)?://[^@/]*@?(127\.0\.0\.1|localhost)(:5432)?(/|$) ]] &&
    command -v pg_ctlcluster >/dev/null
}

pg_answers() { pg_isready -q -t 2 -d "$DATABASE_URL" >/dev/null 2>&1; }

# "Accepts work" = a real query succeeds, not just the port being open.
pg_accepts_queries() { psql "$DATABASE_URL" -XAtqc 'select 1' >/dev/null 2>&1; }

pg_cluster_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

pg_up() {
  if ! pg_answers; then
    pg_is_local_default || die "PostgreSQL does not answer at $DATABASE_URL (and it is not the local default, so not starting it)"
    local ver
    ver="$(pg_cluster_version)"
    [[ -n "$ver" ]] || die "no local PostgreSQL cluster found under /etc/postgresql"
    log "PostgreSQL is down; starting local cluster $ver/main"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start 9>&-   # 9>&-: the daemon must not inherit the lock fd
    echo "$ver" >"$PG_MARKER"
    local i
    for ((i = 0; i < 60; i++)); do pg_answers && break; sleep 0.5; done
    pg_answers || die "PostgreSQL did not come up within 30 s"
  fi

  if ! pg_accepts_queries; then
    # The local default database may simply not exist yet on a fresh machine.
    if pg_is_local_default; then
      local db="${DATABASE_URL##*/}"; db="${db%%\?*}"
      log "creating database '$db'"
      createdb -h 127.0.0.1 -p 5432 -U postgres "$db" 2>/dev/null || true
    fi
    pg_accepts_queries || die "PostgreSQL answers but 'select 1' fails at $DATABASE_URL"
  fi
  log "PostgreSQL ready"
}

pg_down() {
  if [[ -f "$PG_MARKER" ]]; then
    local ver
    ver="$(cat "$PG_MARKER")"
    log "stopping PostgreSQL $ver/main (it was started by this script)"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main stop || true
    rm -f "$PG_MARKER"
  else
    log "leaving PostgreSQL alone (not started by this script)"
  fi
}

# ---------------------------------------------------------------------------
# Kafka
# ---------------------------------------------------------------------------

kafka_port_open() { timeout 1 bash -c "</dev/tcp/$KAFKA_HOST/$KAFKA_PORT" 2>/dev/null; }

# Pid of the broker we started, if it is still alive (guards against pid reuse).
kafka_pid() {
  [[ -f "$KAFKA_PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$KAFKA_PID_FILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' &&
    echo "$pid"
}

kafka_smoke() {
  [[ -d "$REPO_ROOT/node_modules/kafkajs" ]] || die "node_modules/kafkajs missing: run 'npm ci' first"
  KAFKA_BROKERS="$KAFKA_BROKERS" KAFKAJS_NO_PARTITIONER_WARNING=1 \
    node "$REPO_ROOT/scripts/kafka-smoke.mjs"
}

require_tools() {
  local missing=()
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  ((${#missing[@]} == 0)) && return 0
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    die "missing tools: ${missing[*]} (install Java 17+ and Maven)"
  fi
}

# Fetch kafka_2.13 + runtime deps into .kafka/lib-<version>, once.
kafka_fetch() {
  [[ -f "$KAFKA_LIB/.complete" ]] && return 0
  require_tools
  log "fetching Apache Kafka $KAFKA_VERSION from Maven Central (first run only)"
  local tmp="$KAFKA_LIB.tmp"
  rm -rf "$tmp"
  if ! mvn -B -q -f "$REPO_ROOT/scripts/kafka/pom.xml" \
      -Dkafka.version="$KAFKA_VERSION" -Dkafka.logging="$KAFKA_LOGGING" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
      >"$KAFKA_HOME/mvn.log" 2>&1; then
    tail -n 30 "$KAFKA_HOME/mvn.log" >&2
    die "mvn could not fetch Kafka $KAFKA_VERSION (full log: $KAFKA_HOME/mvn.log)"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "kafka_2.13-$KAFKA_VERSION.jar missing after mvn"
  rm -rf "$KAFKA_LIB"
  mv "$tmp" "$KAFKA_LIB"
  touch "$KAFKA_LIB/.complete"
}

# Generated every start so env overrides take effect.
kafka_write_config() {
  cat >"$KAFKA_CONFIG" <<EOF
# Generated by scripts/services.sh - do not edit, edit the script instead.
# Single-node dev/test broker: KRaft combined broker + controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://${KAFKA_HOST}:${KAFKA_PORT},CONTROLLER://${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${KAFKA_HOST}:${KAFKA_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${KAFKA_DATA_DIR}

# One node: every internal topic and ISR requirement must fit on it.
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.num.partitions=4
transaction.state.log.min.isr=1
min.insync.replicas=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Fast feedback for tests.
group.initial.rebalance.delay.ms=0
delete.topic.enable=true

# Small footprint (2-core machines); fewer internal-topic partitions = faster start.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=67108864
EOF

  # Readable INFO log without per-request noise.
  if [[ "$KAFKA_LOGGING" == log4j2 ]]; then
    cat >"$KAFKA_HOME/log4j2.properties" <<'EOF'
# Generated by scripts/services.sh
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.partition.name = kafka.cluster.Partition
logger.partition.level = WARN
logger.storage.name = org.apache.kafka.storage.internals.log
logger.storage.level = WARN
logger.runtime.name = org.apache.kafka.coordinator.common.runtime
logger.runtime.level = WARN
EOF
    sed 's/^rootLogger.level = INFO/rootLogger.level = WARN/' \
      "$KAFKA_HOME/log4j2.properties" >"$KAFKA_HOME/tools-log4j2.properties"
  else
    cat >"$KAFKA_HOME/log4j.properties" <<'EOF'
# Generated by scripts/services.sh
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.cluster.Partition=WARN
log4j.logger.kafka.log=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.org.apache.kafka.coordinator.common.runtime=WARN
EOF
    sed 's/^log4j.rootLogger=INFO/log4j.rootLogger=WARN/' \
      "$KAFKA_HOME/log4j.properties" >"$KAFKA_HOME/tools-log4j.properties"
  fi
}

# JVM flag selecting the logging config; $1 = "" (broker) or "tools-".
kafka_log_opt() {
  if [[ "$KAFKA_LOGGING" == log4j2 ]]; then
    echo "-Dlog4j2.configurationFile=$KAFKA_HOME/${1}log4j2.properties"
  else
    echo "-Dlog4j.configuration=file:$KAFKA_HOME/${1}log4j.properties"
  fi
}

kafka_java() { java "$(kafka_log_opt tools-)" -cp "$KAFKA_LIB/*" "$@"; }

# Format the KRaft storage once per data dir, with a cluster id kept in .kafka/.
kafka_format() {
  [[ -f "$KAFKA_DATA_DIR/meta.properties" ]] && return 0
  if [[ ! -s "$KAFKA_CLUSTER_ID_FILE" ]]; then
    kafka_java kafka.tools.StorageTool random-uuid | tail -n 1 >"$KAFKA_CLUSTER_ID_FILE"
  fi
  log "formatting KRaft storage in ${KAFKA_DATA_DIR#"$REPO_ROOT"/}"
  mkdir -p "$KAFKA_DATA_DIR"
  kafka_java kafka.tools.StorageTool format -t "$(cat "$KAFKA_CLUSTER_ID_FILE")" -c "$KAFKA_CONFIG" >/dev/null
}

kafka_start() {
  kafka_fetch
  kafka_write_config
  kafka_format
  if [[ -f "$KAFKA_LOG" ]]; then mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"; fi   # keep one previous log
  log "starting Kafka $KAFKA_VERSION on $KAFKA_BROKERS (log: ${KAFKA_LOG#"$REPO_ROOT"/})"
  # setsid + nohup: own session, so killing the caller's process group (e.g. a
  # test runner being interrupted) does not take the broker down with it.
  # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM flags
  setsid nohup java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    "$(kafka_log_opt '')" -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_CONFIG" \
    >"$KAFKA_LOG" 2>&1 </dev/null 9>&- &   # 9>&-: don't inherit the lock fd
  echo $! >"$KAFKA_PID_FILE"
}

kafka_up() {
  if kafka_port_open; then
    if kafka_pid >/dev/null; then
      log "Kafka already running (pid $(kafka_pid))"
    else
      log "something already listens on $KAFKA_BROKERS (not started by this script); using it"
    fi
  elif kafka_pid >/dev/null; then
    log "Kafka (pid $(kafka_pid)) is still starting"
  else
    kafka_start
    # Wait for the port (the broker is usually up in a few seconds).
    local i
    for ((i = 0; i < 120; i++)); do
      kafka_port_open && break
      kafka_pid >/dev/null || { tail -n 40 "$KAFKA_LOG" >&2; die "Kafka exited during startup"; }
      sleep 0.5
    done
  fi

  # Ready = a full produce/consume round trip succeeds (retries until deadline).
  if ! kafka_smoke; then
    [[ -f "$KAFKA_LOG" ]] && tail -n 40 "$KAFKA_LOG" >&2
    die "Kafka at $KAFKA_BROKERS does not accept work"
  fi
  log "Kafka ready"
}

kafka_down() {
  local pid
  if ! pid="$(kafka_pid)"; then
    rm -f "$KAFKA_PID_FILE"
    log "Kafka not running (or not started by this script)"
    return 0
  fi
  log "stopping Kafka (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "Kafka did not stop within 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$KAFKA_PID_FILE"
  log "Kafka stopped"
}

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

cmd_up() {
  pg_up
  kafka_up
  cat <<EOF

Services are up:
  DATABASE_URL=$DATABASE_URL
  KAFKA_BROKERS=$KAFKA_BROKERS
EOF
}

cmd_down() {
  kafka_down
  pg_down
}

cmd_status() {
  local ok=0 pid
  if pg_accepts_queries; then
    echo "postgres: up    DATABASE_URL=$DATABASE_URL"
  else
    echo "postgres: DOWN  DATABASE_URL=$DATABASE_URL"; ok=1
  fi
  if kafka_port_open; then
    if pid="$(kafka_pid)"; then
      echo "kafka:    up    KAFKA_BROKERS=$KAFKA_BROKERS (Kafka $KAFKA_VERSION, pid $pid, started by this script)"
    else
      echo "kafka:    up    KAFKA_BROKERS=$KAFKA_BROKERS (not started by this script)"
    fi
  else
    echo "kafka:    DOWN  KAFKA_BROKERS=$KAFKA_BROKERS"; ok=1
  fi
  return "$ok"
}

main() {
  local cmd="${1:-}"
  case "$cmd" in
    up | down | status) ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
  esac
  mkdir -p "$KAFKA_HOME"
  # Serialise concurrent invocations (e.g. two test runs starting at once).
  exec 9>"$KAFKA_HOME/.lock"
  flock 9
  "cmd_$cmd"
}

main "$@"

#!/usr/bin/env bash
# pwgate benchmark: what pwgate adds on top of a direct PostgreSQL connection, against PgBouncer
# (session mode), in one run on loopback, each configuration alternated and repeated so that the
# ratios come from the same machine state. Raw figures go to bench/out/raw.tsv; bench/report.py
# turns them into one table (printed, and written with the machine, Java version and date to
# bench/RESULTS.md, section "Proxy benchmark"; the other sections of that file stay).
#
#   bench/run.sh                          # everything (about 30 min with the defaults)
#   QUICK=1 bench/run.sh                  # a quick look (about 5 min); RESULTS.md is left alone
#   QUICK=1 PWGATE_B_JAR=/tmp/before.jar bench/run.sh   # A/B: target pwgate_b runs another jar
#   PARTS="pgbench copy" bench/run.sh     # some parts only
#
# Parts: pgbench (select-only and TPC-B-like, 1/16/64 clients, simple/extended/prepared, latency
# from the per-transaction log), conn (pgbench -C), copy (COPY out and in), tls (pgbench -S with
# client TLS and with TLS on both sides), mem (heap and RSS with idle sessions), startup
# (java -jar to listening, no embedded backend). See bench/README.md for the knobs.
#
# Needs: Debian's postgresql-15 (server binaries), pgbench, pgbouncer, openssl, a JDK (jcmd)
# (installed when missing, as root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out="$here/out"

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  : "${DURATION:=4}" "${ROUNDS:=1}" "${CLIENTS:=1 16}" "${MODES:=simple prepared}" "${WORKLOADS:=select}"
  : "${WARMUP:=4}" "${COPY_MB:=64}" "${SESSIONS:=0 100}" "${STARTUP_RUNS:=2}" "${TLS_CLIENTS:=16}"
  : "${TLS_MODES:=simple}" "${CONN_CLIENTS:=8}" "${WRITE_RESULTS:=0}"
fi
DURATION=${DURATION:-8}            # seconds per pgbench cell
ROUNDS=${ROUNDS:-2}                # every cell this many times, target order reversed every other round
CLIENTS=${CLIENTS:-"1 16 64"}
MODES=${MODES:-"simple extended prepared"}
WORKLOADS=${WORKLOADS:-"select tpcb"}
TARGETS=${TARGETS:-"direct pwgate pwgate_off pgbouncer pwgate_unix pgbouncer_unix"}
LATENCY_CLIENTS=${LATENCY_CLIENTS:-"1 16"}   # cells with a per-transaction log (-l) for p99
WARMUP=${WARMUP:-10}               # seconds of pgbench -S through each pwgate before measuring (JIT)
CONN_CLIENTS=${CONN_CLIENTS:-"1 8"}
COPY_MB=${COPY_MB:-1024}
SESSIONS=${SESSIONS:-"0 100 500"}
STARTUP_RUNS=${STARTUP_RUNS:-5}
TLS_CLIENTS=${TLS_CLIENTS:-"1 16"}
TLS_MODES=${TLS_MODES:-"simple prepared"}
PARTS=${PARTS:-"pgbench conn copy tls mem startup"}
WRITE_RESULTS=${WRITE_RESULTS:-1}
PWGATE_JAVA_OPTS=${PWGATE_JAVA_OPTS:-}
PWGATE_B_JAR=${PWGATE_B_JAR:-}
PWGATE_B_JAVA_OPTS=${PWGATE_B_JAVA_OPTS:-$PWGATE_JAVA_OPTS}
SCALE=${SCALE:-10}
if [ -n "$PWGATE_B_JAR" ] && [[ " $TARGETS " != *" pwgate_b "* ]]; then TARGETS="$TARGETS pwgate_b"; fi

# Below the ephemeral range (32768+), where probing a port that is not listening yet can connect
# the probe to itself and take the port.
PG_PORT=25432; PWGATE_PORT=26432; PWGATE_OFF_PORT=26433; BOUNCER_PORT=26434
PWGATE_TLS_PORT=26435; PWGATE_TLS2_PORT=26436; PWGATE_B_PORT=26437; STARTUP_PORT=26438
PWGATE_UNIX_PORT=26439; BOUNCER_UNIX_PORT=26440
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

install_missing() {
  local pkgs=()
  [ -x "$PGBIN/postgres" ] || pkgs+=(postgresql-15)
  command -v pgbench >/dev/null || pkgs+=(postgresql-client)
  command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || pkgs+=(pgbouncer)
  command -v openssl >/dev/null || pkgs+=(openssl)
  command -v jcmd >/dev/null || pkgs+=(openjdk-17-jdk-headless)
  if [ ${#pkgs[@]} -gt 0 ]; then
    echo "bench: installing ${pkgs[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
  fi
}

md5() { printf 'md5%s' "$(printf '%s%s' "$1" "$2" | md5sum | cut -d' ' -f1)"; }
now() { date +%s.%N; }

declare -A pid_of=()
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$out/pgbouncer.pid" "$out/pgbouncer_unix.pid"; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  [ -d "$out/pgdata" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$out/pgdata" -m fast stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 143' TERM INT

wait_port() {
  for _ in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "bench: nothing listens on $1" >&2; return 1
}

install_missing
# A port something else already listens on would send a target's load to that process instead.
for p in $PG_PORT $PWGATE_PORT $PWGATE_OFF_PORT $BOUNCER_PORT $PWGATE_TLS_PORT $PWGATE_TLS2_PORT $PWGATE_B_PORT \
         $STARTUP_PORT $PWGATE_UNIX_PORT $BOUNCER_UNIX_PORT; do
  if (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then echo "bench: port $p is already in use; stop what listens there" >&2; exit 1; fi
done
jar=${PWGATE_JAR:-$repo/proxy-core/target/pwgate.jar}
[ -f "$jar" ] || (cd "$repo" && mvn -q -B -ntp -DskipTests package)

rm -rf "$out"; mkdir -p "$out/lat" "$out/tls"; chown postgres "$out"
# Others may rebuild the jar while the bench runs: run a copy.
cp "$jar" "$out/pwgate.jar"
[ -z "$PWGATE_B_JAR" ] || cp "$PWGATE_B_JAR" "$out/pwgate-b.jar"
raw="$out/raw.tsv"; : > "$raw"

# --- certificates for TLS (made here, valid for a day) ------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$out/tls/key.pem" -out "$out/tls/cert.pem" >/dev/null 2>&1
chown postgres "$out/tls" "$out/tls/key.pem" "$out/tls/cert.pem"; chmod 600 "$out/tls/key.pem"

# --- PostgreSQL ---------------------------------------------------------------------------------
max_sessions=0; for n in $SESSIONS; do [ "$n" -gt "$max_sessions" ] && max_sessions=$n; done
echo "bench: starting PostgreSQL 15 on $PG_PORT"
runuser -u postgres -- "$PGBIN/initdb" -D "$out/pgdata" -A trust -U rdsadmin >/dev/null
cat >> "$out/pgdata/postgresql.conf" <<CONF
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$out'
max_connections = $((max_sessions + 300))
shared_buffers = 256MB
password_encryption = md5
log_min_error_statement = panic
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 4GB
ssl = on
ssl_cert_file = '$out/tls/cert.pem'
ssl_key_file = '$out/tls/key.pem'
CONF
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$out/pgdata" -l "$out/postgres.log" -w start >/dev/null
# Plaintext unless a cell asks for TLS: libpq's default (prefer) would use it against ssl = on.
export PGSSLMODE=disable
psql_admin() { PGPASSWORD=rdsadmin-bench psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PG_PORT -U rdsadmin -d postgres "$@"; }
psql_admin -c "ALTER ROLE rdsadmin PASSWORD '$(md5 rdsadmin-bench rdsadmin)'" \
           -c "CREATE ROLE app LOGIN PASSWORD '$(md5 app-bench app)'" \
           -c "CREATE ROLE rds_password NOLOGIN" -c "CREATE ROLE rds_superuser NOLOGIN IN ROLE rds_password"
printf 'local all all md5\nhost all all 127.0.0.1/32 md5\n' > "$out/pgdata/pg_hba.conf"
psql_admin -c "SELECT pg_reload_conf()" >/dev/null
PGPASSWORD=rdsadmin-bench pgbench -q -i -s "$SCALE" -h 127.0.0.1 -p $PG_PORT -U rdsadmin postgres >/dev/null 2>&1
psql_admin -c "GRANT ALL ON ALL TABLES IN SCHEMA public TO app" >/dev/null

# --- pwgate instances ---------------------------------------------------------------------------
# name port restriction client-tls backend-tls jar opts [backend host: 127.0.0.1, or the socket directory]
start_pwgate() {
  local name=$1 port=$2 restrict=$3 ctls=$4 btls=$5 jarfile=$6 opts=$7 bhost=${8:-127.0.0.1}
  {
    echo "listen: { host: 127.0.0.1, port: $port }"
    echo "backend: { host: \"$bhost\", port: $PG_PORT, tls: $btls }"
    echo "auth: { source: auth_query, auth_user: rdsadmin, auth_password: \"$(md5 rdsadmin-bench rdsadmin)\" }"
    echo "limits: { max_client_connections: $((max_sessions + 200)) }"
    echo "parameters: { rds.restrict_password_commands: $restrict }"
    # Session starts and ends stay logged, as PgBouncer logs its connections by default.
    echo "logging: { levels: { root: warn, org.pwgate: info } }"
    [ "$ctls" = disable ] || echo "tls: { mode: $ctls, cert: $out/tls/cert.pem, key: $out/tls/key.pem }"
  } > "$out/$name.yaml"
  opts=${opts//@NAME@/$name}   # e.g. -XX:StartFlightRecording=filename=/tmp/@NAME@.jfr
  # Its own session, as PostgreSQL (pg_ctl) and PgBouncer (-d) have: with the kernel's autogroup
  # scheduling each session shares the CPU as one group, and pwgate must not share pgbench's.
  # shellcheck disable=SC2086
  setsid java $opts -jar "$jarfile" --config "$out/$name.yaml" > "$out/$name.log" 2>&1 < /dev/null &
  pids+=($!); pid_of[$name]=$!
}
if [ "${PWGATE_APPCDS:-0}" = 1 ]; then
  # An application class-data archive, made by one run of the jar: the start-up the README recommends.
  start_pwgate cds $STARTUP_PORT 1 disable disable "$out/pwgate.jar" "$PWGATE_JAVA_OPTS -XX:ArchiveClassesAtExit=$out/pwgate.jsa"
  wait_port $STARTUP_PORT; sleep 2; kill "${pid_of[cds]}"; wait "${pid_of[cds]}" 2>/dev/null || true; unset 'pid_of[cds]'
  PWGATE_JAVA_OPTS="$PWGATE_JAVA_OPTS -XX:SharedArchiveFile=$out/pwgate.jsa"
fi
start_pwgate pwgate $PWGATE_PORT 1 disable disable "$out/pwgate.jar" "$PWGATE_JAVA_OPTS"
start_pwgate pwgate_off $PWGATE_OFF_PORT 0 disable disable "$out/pwgate.jar" "$PWGATE_JAVA_OPTS"
# The same pwgate reaching PostgreSQL over its Unix-domain socket (backend.host the socket directory).
start_pwgate pwgate_unix $PWGATE_UNIX_PORT 1 disable disable "$out/pwgate.jar" "$PWGATE_JAVA_OPTS" "$out"
[ -z "$PWGATE_B_JAR" ] || start_pwgate pwgate_b $PWGATE_B_PORT 1 disable disable "$out/pwgate-b.jar" "$PWGATE_B_JAVA_OPTS"
if [[ " $PARTS " == *" tls "* ]]; then
  start_pwgate pwgate_tls $PWGATE_TLS_PORT 1 require disable "$out/pwgate.jar" "$PWGATE_JAVA_OPTS"
  start_pwgate pwgate_tls2 $PWGATE_TLS2_PORT 1 require require "$out/pwgate.jar" "$PWGATE_JAVA_OPTS"
fi

# --- PgBouncer, session mode --------------------------------------------------------------------
printf '"app" "%s"\n' "$(md5 app-bench app)" > "$out/userlist.txt"
cat > "$out/pgbouncer.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=$PG_PORT dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = md5
auth_file = $out/userlist.txt
pool_mode = session
max_client_conn = $((max_sessions + 200))
default_pool_size = 100
server_tls_sslmode = disable
logfile = $out/pgbouncer.log
pidfile = $out/pgbouncer.pid
INI
# And a second PgBouncer that reaches PostgreSQL over the socket, to compare pwgate_unix with.
sed -e "s|host=127.0.0.1 port=$PG_PORT|host=$out port=$PG_PORT|" -e "s|listen_port = $BOUNCER_PORT|listen_port = $BOUNCER_UNIX_PORT|" \
    -e "s|pgbouncer\.log|pgbouncer_unix.log|" -e "s|pgbouncer\.pid|pgbouncer_unix.pid|" "$out/pgbouncer.ini" > "$out/pgbouncer_unix.ini"
chown postgres "$out/pgbouncer.ini" "$out/pgbouncer_unix.ini" "$out/userlist.txt"
for ini in pgbouncer pgbouncer_unix; do
  runuser -u postgres -- "$(command -v pgbouncer || echo /usr/sbin/pgbouncer)" -d "$out/$ini.ini" > /dev/null 2>&1
done
for p in $PWGATE_PORT $PWGATE_OFF_PORT $BOUNCER_PORT $PWGATE_UNIX_PORT $BOUNCER_UNIX_PORT; do wait_port "$p"; done
[ -z "$PWGATE_B_JAR" ] || wait_port $PWGATE_B_PORT
[[ " $PARTS " != *" tls "* ]] || { wait_port $PWGATE_TLS_PORT; wait_port $PWGATE_TLS2_PORT; }
pid_of[pgbouncer]=$(cat "$out/pgbouncer.pid"); pid_of[pgbouncer_unix]=$(cat "$out/pgbouncer_unix.pid")

port_of() {
  case $1 in
    direct|direct_tls) echo $PG_PORT;; pwgate) echo $PWGATE_PORT;; pwgate_off) echo $PWGATE_OFF_PORT;;
    pgbouncer) echo $BOUNCER_PORT;; pwgate_b) echo $PWGATE_B_PORT;; pwgate_tls) echo $PWGATE_TLS_PORT;;
    pwgate_tls2) echo $PWGATE_TLS2_PORT;; pwgate_unix) echo $PWGATE_UNIX_PORT;; pgbouncer_unix) echo $BOUNCER_UNIX_PORT;;
  esac
}
sslmode_of() { case $1 in direct_tls|pwgate_tls|pwgate_tls2) echo require;; *) echo disable;; esac; }

# CPU time (ms) a proxy process has used so far; 0 for direct (its cost is PostgreSQL's).
cpu_ms() {
  local p=${pid_of[$1]:-}
  [ -n "$p" ] && [ -r "/proc/$p/stat" ] || { echo 0; return; }
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$p/stat"
}

export PGPASSWORD=app-bench
# pgbench_cell kind workload mode clients target round [extra pgbench args]
pgbench_cell() {
  local kind=$1 workload=$2 mode=$3 c=$4 t=$5 round=$6; shift 6
  local script=() logargs=() prefix="$out/lat/$kind-$workload-$mode-$c-$t-$round"
  [ "$workload" = select ] && script=(-S)
  [[ " $LATENCY_CLIENTS " == *" $c "* ]] && [ "$kind" = pgbench ] && logargs=(-l --log-prefix="$prefix")
  local cpu0 r v l conn p99 cpu1
  cpu0=$(cpu_ms "$t")
  r=$(PGSSLMODE=$(sslmode_of "$t") pgbench -n "${script[@]}" -M "$mode" -c "$c" -j "$([ "$c" -gt 1 ] && echo 2 || echo 1)" \
        -T "$DURATION" "${logargs[@]}" "$@" -h 127.0.0.1 -p "$(port_of "$t")" -U app postgres 2>&1) || { echo "$r" >&2; exit 1; }
  cpu1=$(cpu_ms "$t")
  v=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$r" | tail -1)
  l=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$r")
  conn=$(sed -n 's/^average connection time = \([0-9.]*\) ms/\1/p' <<<"$r")
  p99=""; local lavg=""
  if [ ${#logargs[@]} -gt 0 ]; then
    # Per-transaction log: field 3 is the latency in microseconds.
    read -r lavg p99 < <(cat "$prefix".* | awk '{print $3}' | sort -n | awk '{a[NR]=$1; s+=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%.1f %d\n", s/NR, a[i]}')
    rm -f "$prefix".*
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$workload" "$mode" "$c" "$t" "$round" \
    "$v" "$l" "${lavg:-}" "${p99:-}" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{print b-a}')" "${conn:-}" >> "$raw"
  printf '  %-7s r%s %-6s %-8s c=%-3s %-11s tps=%9.1f lat=%6s ms p99=%6s us cpu=%s ms\n' "$kind" "$round" "$workload" \
    "$mode" "$c" "$t" "$v" "$l" "${p99:--}" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{print b-a}')"
}

# Targets in order, reversed every other round, so drift and warm caches hit them alike.
ordered() { local round=$1; shift; if [ $((round % 2)) -eq 0 ]; then printf '%s\n' "$@" | tac; else printf '%s\n' "$@"; fi; }

warm() {
  for t in "$@"; do
    [ "$WARMUP" -gt 0 ] || return 0
    PGSSLMODE=$(sslmode_of "$t") pgbench -n -S -M prepared -c 8 -j 2 -T "$WARMUP" -h 127.0.0.1 -p "$(port_of "$t")" -U app postgres >/dev/null 2>&1
    PGSSLMODE=$(sslmode_of "$t") pgbench -n -M simple -c 4 -j 2 -T "$((WARMUP / 2 + 1))" -h 127.0.0.1 -p "$(port_of "$t")" -U app postgres >/dev/null 2>&1
    # Connection setup has code of its own, which sessions that stay connected never make hot:
    # without this the conn cells measure pwgate's JIT compiling it (a third of its CPU at first).
    if [[ " $PARTS " == *" conn "* ]]; then
      PGSSLMODE=$(sslmode_of "$t") pgbench -n -S -C -c 2 -j 2 -T "$WARMUP" -h 127.0.0.1 -p "$(port_of "$t")" -U app postgres >/dev/null 2>&1
    fi
  done
}

echo "bench: ${DURATION}s per cell, $ROUNDS round(s), targets: $TARGETS, parts: $PARTS"
uptime | sed 's/^/bench: load at start: /'
# shellcheck disable=SC2086
warm $(printf '%s\n' $TARGETS | grep pwgate || true)

# --- pgbench: select-only and TPC-B-like ----------------------------------------------------------
if [[ " $PARTS " == *" pgbench "* ]]; then
  for round in $(seq 1 "$ROUNDS"); do
    for w in $WORKLOADS; do for mode in $MODES; do for c in $CLIENTS; do
      # shellcheck disable=SC2086
      for t in $(ordered "$round" $TARGETS); do pgbench_cell pgbench "$w" "$mode" "$c" "$t" "$round"; done
    done; done; done
  done
fi

# --- connection setup: a new connection per transaction ---------------------------------------------
if [[ " $PARTS " == *" conn "* ]]; then
  for round in $(seq 1 "$ROUNDS"); do for c in $CONN_CLIENTS; do
    # shellcheck disable=SC2086
    for t in $(ordered "$round" $TARGETS); do pgbench_cell conn select simple "$c" "$t" "$round" -C; done
  done; done
fi

# --- bulk COPY out and in ---------------------------------------------------------------------------
if [[ " $PARTS " == *" copy "* ]]; then
  rows=$((COPY_MB * 1000000 / 100))   # ~100 bytes a row in text format
  echo "bench: making ${COPY_MB} MB to copy ($rows rows)"
  psql_admin -c "CREATE UNLOGGED TABLE bulk (id bigint, payload text)" \
             -c "INSERT INTO bulk SELECT g, md5(g::text) || repeat('x', 61) FROM generate_series(1, $rows) g" \
             -c "CREATE UNLOGGED TABLE bulk_in (LIKE bulk)" -c "GRANT ALL ON bulk, bulk_in TO app" -c "VACUUM ANALYZE bulk" >/dev/null
  psql_admin -c "COPY bulk TO STDOUT" > "$out/bulk.copy"
  bytes=$(stat -c %s "$out/bulk.copy")
  for round in $(seq 1 "$ROUNDS"); do
    # shellcheck disable=SC2086
    for t in $(ordered "$round" $TARGETS); do
      psql_admin -c "TRUNCATE bulk_in" -c "CHECKPOINT" >/dev/null
      cpu0=$(cpu_ms "$t"); t0=$(now)
      psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(port_of "$t")" -U app -d postgres -c "COPY bulk TO STDOUT" > /dev/null
      t1=$(now); cpu1=$(cpu_ms "$t")
      psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(port_of "$t")" -U app -d postgres -c '\copy bulk_in FROM pstdin' < "$out/bulk.copy"
      t2=$(now); cpu2=$(cpu_ms "$t")
      for d in out in; do
        if [ $d = out ]; then s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'); cpu=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{print b-a}')
        else s=$(awk -v a="$t1" -v b="$t2" 'BEGIN{print b-a}'); cpu=$(awk -v a="$cpu1" -v b="$cpu2" 'BEGIN{print b-a}'); fi
        printf 'copy\t%s\t-\t1\t%s\t%s\t%s\t%s\t\t\t%s\t\n' "$d" "$t" "$round" "$bytes" "$s" "$cpu" >> "$raw"
        printf '  copy    r%s %-3s %-11s %6.1f MB/s (%s s) cpu=%s ms\n' "$round" "$d" "$t" \
          "$(awk -v b="$bytes" -v s="$s" 'BEGIN{print b/s/1e6}')" "$s" "$cpu"
      done
    done
  done
  rm -f "$out/bulk.copy"
  psql_admin -c "DROP TABLE bulk, bulk_in" >/dev/null
fi

# --- TLS: pgbench -S with client TLS, with TLS on both sides, and plaintext --------------------------
if [[ " $PARTS " == *" tls "* ]]; then
  warm pwgate_tls pwgate_tls2
  for round in $(seq 1 "$ROUNDS"); do for mode in $TLS_MODES; do for c in $TLS_CLIENTS; do
    for t in $(ordered "$round" direct direct_tls pwgate pwgate_tls pwgate_tls2); do
      pgbench_cell tls select "$mode" "$c" "$t" "$round"
    done
  done; done; done
fi

# --- memory with idle sessions ------------------------------------------------------------------------
# Live heap after a full GC: G1 prints one "garbage-first heap … used NK" line; the serial and
# parallel collectors print one line per generation, and after a full collection everything live
# is in the old one (the young one only holds what threads allocated since, e.g. for the attach).
heap_kb() {
  jcmd "$1" GC.run >/dev/null; sleep 0.5; jcmd "$1" GC.heap_info > "$out/heap-$2.txt"
  grep -E 'garbage-first heap|tenured generation|ParOldGen' "$out/heap-$2.txt" | sed -n 's/.*used \([0-9]*\)K.*/\1/p' | head -1
}
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
if [[ " $PARTS " == *" mem "* ]]; then
  p=${pid_of[pwgate]}
  printf '\\sleep 600 s\n' > "$out/idle.sql"
  for n in $SESSIONS; do
    idle=""
    if [ "$n" -gt 0 ]; then
      PGAPPNAME=bench_idle pgbench -n -f "$out/idle.sql" -c "$n" -j 2 -T 600 -h 127.0.0.1 -p $PWGATE_PORT -U app postgres > "$out/idle.log" 2>&1 &
      idle=$!
      for _ in $(seq 1 600); do
        have=$(psql_admin -At -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bench_idle'")
        [ "$have" -ge "$n" ] && break; sleep 0.2
      done
      sleep 2
    fi
    h=$(heap_kb "$p" "$n"); r=$(rss_kb "$p")
    printf 'mem\t-\t-\t%s\tpwgate\t1\t%s\t%s\t\t\t\t\n' "$n" "$h" "$r" >> "$raw"
    printf '  mem     %4s idle sessions: heap %s KiB, RSS %s KiB\n' "$n" "$h" "$r"
    if [ -n "$idle" ]; then kill "$idle" 2>/dev/null || true; wait "$idle" 2>/dev/null || true; fi
    for _ in $(seq 1 100); do
      [ "$(psql_admin -At -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bench_idle'")" -eq 0 ] && break; sleep 0.2
    done
  done
fi

# --- start-up time to listening, no embedded backend ------------------------------------------------
if [[ " $PARTS " == *" startup "* ]]; then
  sed "s/port: $PWGATE_PORT/port: $STARTUP_PORT/" "$out/pwgate.yaml" > "$out/startup.yaml"
  for run in $(seq 1 "$STARTUP_RUNS"); do
    t0=$(now)
    # shellcheck disable=SC2086
    java $PWGATE_JAVA_OPTS -jar "$out/pwgate.jar" --config "$out/startup.yaml" > "$out/startup.log" 2>&1 &
    sp=$!
    until (exec 3<>/dev/tcp/127.0.0.1/$STARTUP_PORT) 2>/dev/null; do
      kill -0 "$sp" 2>/dev/null || { echo "bench: pwgate did not start" >&2; cat "$out/startup.log" >&2; exit 1; }
      sleep 0.005
    done
    t1=$(now)
    kill "$sp"; wait "$sp" 2>/dev/null || true
    ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", (b-a)*1000}')
    printf 'startup\t-\t-\t-\tpwgate\t%s\t%s\t\t\t\t\t\n' "$run" "$ms" >> "$raw"
    printf '  startup run %s: %s ms to listening\n' "$run" "$ms"
  done
fi

# --- hold: keep everything running for profiling by hand, until this script gets SIGTERM -----------
if [[ " $PARTS " == *" hold "* ]]; then
  echo "bench: holding (PostgreSQL $PG_PORT, pwgate $PWGATE_PORT pid ${pid_of[pwgate]}, pwgate_off $PWGATE_OFF_PORT," \
       "PgBouncer $BOUNCER_PORT pid ${pid_of[pgbouncer]}, pwgate_unix $PWGATE_UNIX_PORT pid ${pid_of[pwgate_unix]}," \
       "pgbouncer_unix $BOUNCER_UNIX_PORT pid ${pid_of[pgbouncer_unix]}${PWGATE_B_JAR:+, pwgate_b $PWGATE_B_PORT pid ${pid_of[pwgate_b]:-}});" \
       "kill $$ to end"
  sleep infinity & wait $!
fi

# --- report ------------------------------------------------------------------------------------------
machine="$(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -srm)"
javav=$(java -version 2>&1 | head -1)
pgv=$("$PGBIN/postgres" --version)
bouncerv=$( (command -v pgbouncer >/dev/null && pgbouncer --version || /usr/sbin/pgbouncer --version) 2>/dev/null | head -1)
load_end=$(uptime | sed 's/.*load average: //')
python3 "$here/report.py" --raw "$raw" --out "$out/section.md" \
  --header "$(date -u +%Y-%m-%d\ %H:%M\ UTC); $([ "$QUICK" = 1 ] && echo 'QUICK mode; ')${DURATION} s per pgbench cell, $ROUNDS round(s), targets alternated (order reversed every other round)" \
  --machine "$machine. $javav. $pgv. $bouncerv. Load average at the end: $load_end. pwgate JVM flags: ${PWGATE_JAVA_OPTS:-none}${PWGATE_B_JAR:+; pwgate_b = $PWGATE_B_JAR with ${PWGATE_B_JAVA_OPTS:-none}}" \
  --copy-mb "$COPY_MB" --duration "$DURATION"
cat "$out/section.md"
if [ "$WRITE_RESULTS" = 1 ]; then
  python3 "$here/report.py" --merge "$here/RESULTS.md" --section "$out/section.md"
  echo "bench: results in $here/RESULTS.md"
else
  echo "bench: results in $out/section.md (RESULTS.md untouched; WRITE_RESULTS=1 to write it)"
fi

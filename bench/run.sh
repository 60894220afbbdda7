#!/usr/bin/env bash
# pwgate benchmark: pgbench through pwgate, PgBouncer (session mode) and directly, in one run on
# loopback, so that the ratios come from the same machine state. Prints a table and writes it,
# with the machine, Java version and date, to bench/RESULTS.md (section "pgbench").
#
#   bench/run.sh                 # 30 s per cell, as the issues ask
#   DURATION=5 ROUNDS=1 bench/run.sh   # a quick look
#
# Needs: Debian's postgresql-15 (server binaries), pgbench, pgbouncer (installed when missing, as root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out="$here/out"
DURATION=${DURATION:-30}
ROUNDS=${ROUNDS:-1}
CLIENTS=${CLIENTS:-"1 16"}
MODES=${MODES:-"simple extended prepared"}
TARGETS=${TARGETS:-"direct pwgate pwgate_off pgbouncer"}
PG_PORT=55432; PWGATE_PORT=56432; PWGATE_OFF_PORT=56433; BOUNCER_PORT=56434
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

install_missing() {
  local pkgs=()
  [ -x "$PGBIN/postgres" ] || pkgs+=(postgresql-15)
  command -v pgbench >/dev/null || pkgs+=(postgresql-client)
  command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || pkgs+=(pgbouncer)
  if [ ${#pkgs[@]} -gt 0 ]; then
    echo "bench: installing ${pkgs[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
  fi
}

md5() { printf 'md5%s' "$(printf '%s%s' "$1" "$2" | md5sum | cut -d' ' -f1)"; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -d "$out/pgdata" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$out/pgdata" -m fast stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 150); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.2; done
  echo "bench: nothing listens on $1" >&2; return 1
}

install_missing
[ -f "$repo/proxy-core/target/pwgate.jar" ] || (cd "$repo" && mvn -q -B -ntp -DskipTests package)

rm -rf "$out"; mkdir -p "$out"; chown postgres "$out"
echo "bench: starting PostgreSQL 15 on $PG_PORT"
runuser -u postgres -- "$PGBIN/initdb" -D "$out/pgdata" -A trust -U rdsadmin >/dev/null
cat >> "$out/pgdata/postgresql.conf" <<CONF
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$out'
max_connections = 300
shared_buffers = 256MB
password_encryption = md5
fsync = off
synchronous_commit = off
CONF
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$out/pgdata" -l "$out/postgres.log" -w start >/dev/null
psql_admin() { psql -X -q -h 127.0.0.1 -p $PG_PORT -U rdsadmin -d postgres "$@"; }
psql_admin -c "ALTER ROLE rdsadmin PASSWORD '$(md5 rdsadmin-bench rdsadmin)'" \
           -c "CREATE ROLE app LOGIN PASSWORD '$(md5 app-bench app)'" \
           -c "CREATE ROLE rds_password NOLOGIN" -c "CREATE ROLE rds_superuser NOLOGIN IN ROLE rds_password"
printf 'host all all 127.0.0.1/32 md5\n' > "$out/pgdata/pg_hba.conf"
psql_admin -c "SELECT pg_reload_conf()" >/dev/null
export PGPASSWORD=rdsadmin-bench
pgbench -q -i -s 10 -h 127.0.0.1 -p $PG_PORT -U rdsadmin postgres >/dev/null 2>&1
psql_admin -c "GRANT ALL ON ALL TABLES IN SCHEMA public TO app" >/dev/null

for variant in on off; do
  port=$([ $variant = on ] && echo $PWGATE_PORT || echo $PWGATE_OFF_PORT)
  cat > "$out/pwgate-$variant.yaml" <<YAML
listen: { host: 127.0.0.1, port: $port }
backend: { host: 127.0.0.1, port: $PG_PORT }
auth: { source: auth_query, auth_user: rdsadmin, auth_password: "$(md5 rdsadmin-bench rdsadmin)" }
limits: { max_client_connections: 500 }
parameters: { rds.restrict_password_commands: $([ $variant = on ] && echo 1 || echo 0) }
logging: { levels: { root: warn } }
YAML
  java ${PWGATE_JAVA_OPTS:-} -jar "$repo/proxy-core/target/pwgate.jar" --config "$out/pwgate-$variant.yaml" > "$out/pwgate-$variant.log" 2>&1 &
  pids+=($!)
done

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
max_client_conn = 500
default_pool_size = 100
logfile = $out/pgbouncer.log
INI
chown postgres "$out/pgbouncer.ini" "$out/userlist.txt"
runuser -u postgres -- "$(command -v pgbouncer || echo /usr/sbin/pgbouncer)" "$out/pgbouncer.ini" > /dev/null 2>&1 &
pids+=($!)
wait_port $PWGATE_PORT; wait_port $PWGATE_OFF_PORT; wait_port $BOUNCER_PORT

port_of() { case $1 in direct) echo $PG_PORT;; pwgate) echo $PWGATE_PORT;; pwgate_off) echo $PWGATE_OFF_PORT;; pgbouncer) echo $BOUNCER_PORT;; esac; }

export PGPASSWORD=app-bench
declare -A tps lat
echo "bench: ${DURATION}s per cell, $ROUNDS round(s), targets: $TARGETS"
for round in $(seq 1 "$ROUNDS"); do
  for mode in $MODES; do
    for c in $CLIENTS; do
      # Alternate the targets inside each cell so that drift hits them all alike.
      for t in $TARGETS; do
        r=$(pgbench -n -S -M "$mode" -c "$c" -j "$([ "$c" -gt 1 ] && echo 2 || echo 1)" -T "$DURATION" \
              -h 127.0.0.1 -p "$(port_of "$t")" -U app postgres 2>&1) || { echo "$r" >&2; exit 1; }
        v=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$r" | tail -1)
        l=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$r")
        key="$mode/$c/$t"
        tps[$key]=$(awk -v a="${tps[$key]:-0}" -v b="$v" 'BEGIN{print a+b}')
        lat[$key]=$(awk -v a="${lat[$key]:-0}" -v b="$l" 'BEGIN{print a+b}')
        printf '  round %s %-8s c=%-3s %-10s tps=%10.1f lat=%s ms\n' "$round" "$mode" "$c" "$t" "$v" "$l"
      done
    done
  done
done

table="$out/table.md"
{
  printf '| mode | clients | target | TPS | avg latency (ms) | ratio to direct |\n|---|---|---|---|---|---|\n'
  for mode in $MODES; do for c in $CLIENTS; do for t in $TARGETS; do
    key="$mode/$c/$t"; d="$mode/$c/direct"
    awk -v m="$mode" -v c="$c" -v t="$t" -v T="${tps[$key]}" -v L="${lat[$key]}" -v D="${tps[$d]:-0}" -v n="$ROUNDS" \
      'BEGIN{ r = (D > 0) ? sprintf("%.3f", T/D) : "n/a"; printf "| %s | %s | %s | %.0f | %.3f | %s |\n", m, c, t, T/n, L/n, r }'
  done; done; done
} > "$table"
cat "$table"

machine="$(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -srm)"
javav=$(java -version 2>&1 | head -1)
pgv=$("$PGBIN/postgres" --version)
bouncerv=$( (command -v pgbouncer >/dev/null && pgbouncer --version || /usr/sbin/pgbouncer --version) 2>/dev/null | head -1)
section="$out/section.md"
{
  echo "## pgbench -S ($(date -u +%Y-%m-%d), ${DURATION}s per cell, $ROUNDS round(s))"
  echo
  echo "Machine: $machine. $javav. $pgv. $bouncerv. All on loopback; pgbench -j 2 for 16 clients."
  echo "pwgate = restriction on; pwgate_off = rds.restrict_password_commands 0; pgbouncer = session mode."
  echo
  cat "$table"
} > "$section"
results="$here/RESULTS.md"
[ -f "$results" ] || printf '# pwgate benchmark results\n\nNewest run first. Produced by bench/run.sh; see bench/README.md.\n\n' > "$results"
python3 - "$results" "$section" <<'PY'
import sys
res, sec = sys.argv[1], open(sys.argv[2]).read()
text = open(res).read()
marker = "\n## pgbench -S"
head, sep, rest = text.partition(marker)
# newest pgbench section replaces the previous one; other sections stay
if sep:
    nxt = rest.find("\n## ")
    rest = rest[nxt:] if nxt >= 0 else "\n"
    text = head + "\n" + sec + rest
else:
    text = text.rstrip("\n") + "\n\n" + sec
open(res, "w").write(text)
PY
echo "bench: results in $results"

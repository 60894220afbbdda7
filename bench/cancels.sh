#!/usr/bin/env bash
# Cancel check: psql sessions through a proxy, each sent SIGINT while its pg_sleep runs on the
# backend, under pgbench load through the same proxy. Every one must print PostgreSQL's
# "canceling statement due to user request". A failure is told apart from a client-side race with
# PostgreSQL's own log: each psql has its own application_name, and the backend logs its 57014
# error under that name, so "backend sent the error, psql did not show it" (the proxy lost it) and
# "the backend never cancelled" are different lines in the summary.
#
# Runs against bench/run.sh's hold servers (PostgreSQL 15 and pwgate, credentials from run.sh):
#   PARTS=hold TARGETS="direct pwgate" setsid bench/run.sh &      # wait for "holding"
#   N=5000 bench/cancels.sh                  # through pwgate (port 26432)
#   N=5000 TARGET_PORT=25432 bench/cancels.sh   # the same, straight to PostgreSQL
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${N:-2000}                    # cancels in all
WORKERS=${WORKERS:-8}           # psql sessions at a time
LOAD_CLIENTS=${LOAD_CLIENTS:-8} # pgbench -S clients through the same target
SLEEP_S=${SLEEP_S:-5}           # pg_sleep length; SIGINT comes 0.1-0.4 s after it is seen running
PG_PORT=${PG_PORT:-25432}
TARGET_PORT=${TARGET_PORT:-26432}
PGLOG=${PGLOG:-$here/out/postgres.log}
out=${CANCELS_OUT:-$here/out/cancels}
rm -rf "$out"; mkdir -p "$out/w"
export PGHOST=127.0.0.1 PGDATABASE=postgres PGSSLMODE=disable PGCONNECT_TIMEOUT=10
admin() { PGPORT=$PG_PORT PGUSER=rdsadmin PGPASSWORD=rdsadmin-bench psql -XAtq "$@"; }

admin -c "ALTER SYSTEM SET log_line_prefix = '%m [%p] app=%a '" -c "SELECT pg_reload_conf()" >/dev/null ||
  { echo "cancels: PostgreSQL on $PG_PORT not reachable (start bench/run.sh with PARTS=hold)" >&2; exit 2; }
log_start=$(wc -c < "$PGLOG")

PGPORT=$TARGET_PORT PGUSER=app PGPASSWORD=app-bench pgbench -n -S -c "$LOAD_CLIENTS" -j 2 -T 100000 \
  > "$out/load.log" 2>&1 &
load=$!
trap 'kill $load 2>/dev/null; wait $load 2>/dev/null' EXIT

# One line per attempt: name result rc ms_from_sigint_to_exit backend_query_age_ms_at_sigint
worker() {
  local w=$1 count=$2 i app p age rc t0 ms
  for ((i = 1; i <= count; i++)); do
    app="cxl_${w}_$i"
    PGPORT=$TARGET_PORT PGUSER=app PGPASSWORD=app-bench PGAPPNAME=$app \
      psql -X -c "SELECT pg_sleep($SLEEP_S)" > "$out/w/$w.out" 2>&1 &
    p=$!
    age=""
    for _ in $(seq 1 60); do
      age=$(admin -c "SELECT (extract(epoch FROM clock_timestamp() - query_start) * 1000)::int FROM pg_stat_activity
                      WHERE application_name = '$app' AND state = 'active' AND query LIKE 'SELECT pg_sleep%'")
      [ -n "$age" ] && break
      sleep 0.05
    done
    sleep "0.$(( RANDOM % 4 + 1 ))"
    age=$(admin -c "SELECT (extract(epoch FROM clock_timestamp() - query_start) * 1000)::int FROM pg_stat_activity
                    WHERE application_name = '$app' AND state = 'active'")
    # Not a fair test when the query is not running, or so close to its natural end that the cancel
    # may arrive after it (psql then exits 1 without printing anything: its result is dropped
    # because a cancel was pressed).
    if [ -z "$age" ] || [ "$age" -gt $(( SLEEP_S * 1000 - 1000 )) ] || ! kill -0 "$p" 2>/dev/null; then
      wait "$p"; echo "$app skipped - - ${age:--}"; continue
    fi
    t0=$(date +%s%N)
    kill -INT "$p"; wait "$p"; rc=$?
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    if grep -q "canceling statement due to user request" "$out/w/$w.out"; then
      echo "$app ok $rc $ms $age"
    else
      echo "$app FAIL $rc $ms $age $(tr '\n' '|' < "$out/w/$w.out")"
    fi
  done
}

per=$(( (N + WORKERS - 1) / WORKERS ))
t_start=$(date +%s)
for ((w = 1; w <= WORKERS; w++)); do worker "$w" "$per" > "$out/w/$w.tsv" & done
wait $(jobs -p | grep -v "^$load\$")
elapsed=$(( $(date +%s) - t_start ))
cat "$out"/w/*.tsv > "$out/attempts.tsv"
tail -c +"$((log_start + 1))" "$PGLOG" > "$out/postgres.log"

ok=$(awk '$2 == "ok"' "$out/attempts.tsv" | wc -l)
skipped=$(awk '$2 == "skipped"' "$out/attempts.tsv" | wc -l)
awk '$2 == "FAIL"' "$out/attempts.tsv" > "$out/failures.tsv"
failed=$(wc -l < "$out/failures.tsv")
echo "cancels through port $TARGET_PORT: $ok answered, $failed failed, $skipped skipped (not seen running, or within 1 s of its end), $elapsed s"
awk '$2 == "ok" {print $4}' "$out/attempts.tsv" | sort -n |
  awk '{a[NR] = $1} END {if (NR) {q = int(NR * 0.99); if (q < 1) q = 1
       printf "SIGINT to psql exit: median %d ms, p99 %d ms, max %d ms\n", a[int((NR + 1) / 2)], a[q], a[NR]}}'
status=0
while read -r app _ rc ms age rest; do
  status=1
  sent=$(grep -c "app=$app ERROR:  canceling statement due to user request" "$out/postgres.log")
  other=$(grep "app=$app " "$out/postgres.log" | grep -v "canceling statement\|STATEMENT:" | head -2 | tr '\n' '|')
  echo "FAIL $app: psql rc $rc after $ms ms, query $age ms old at SIGINT; backend logged the 57014 error $sent time(s)${other:+; also: $other}; psql printed: $rest"
done < "$out/failures.tsv"
exit $status

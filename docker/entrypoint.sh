#!/usr/bin/env bash
# pwgate's container entrypoint. The image runs exactly:
#   exec java $JAVA_OPTS -jar $PWGATE_JAR --config $PWGATE_CONFIG
# The config is mounted at /etc/pwgate/pwgate.yaml. `entrypoint.sh healthcheck` asks the admin
# listener's /livez (HEALTHCHECK), without curl, so the runtime image needs nothing but a JRE.
set -euo pipefail
PWGATE_JAR=${PWGATE_JAR:-/opt/pwgate/pwgate.jar}
PWGATE_CONFIG=${PWGATE_CONFIG:-/etc/pwgate/pwgate.yaml}
PWGATE_ADMIN=${PWGATE_ADMIN:-127.0.0.1:9187}
# The flags bench/ measured as best for pwgate (bench/RESULTS.md, "Optimisation log"): the serial
# collector (a proxy's heap is small; less CPU per transaction than G1 on few cores) and no
# sampled leak tracking in production.
JAVA_OPTS=${JAVA_OPTS:--XX:+UseSerialGC -Dio.netty.leakDetection.level=disabled -XX:+ExitOnOutOfMemoryError -XX:MaxRAMPercentage=75}

case "${1:-run}" in
  run)
    if [ ! -r "$PWGATE_CONFIG" ]; then
      echo "pwgate: no config at $PWGATE_CONFIG: mount one there (see README, Operating pwgate)" >&2
      exit 2
    fi
    # shellcheck disable=SC2086  # JAVA_OPTS is a list of options
    exec java $JAVA_OPTS -jar "$PWGATE_JAR" --config "$PWGATE_CONFIG"
    ;;
  check-config)
    exec java -jar "$PWGATE_JAR" check-config "${2:-$PWGATE_CONFIG}"
    ;;
  healthcheck)
    host=${PWGATE_ADMIN%:*}; port=${PWGATE_ADMIN##*:}
    exec 3<>"/dev/tcp/$host/$port" || exit 1
    printf 'GET /livez HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&3
    IFS= read -r status <&3 || exit 1
    case "$status" in *" 200"*) exit 0 ;; *) exit 1 ;; esac
    ;;
  *)
    exec java -jar "$PWGATE_JAR" "$@"
    ;;
esac

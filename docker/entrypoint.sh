#!/bin/sh
# The image's entrypoint. It accepts the reference image's role flags and Erizo's own commands:
#
#   entrypoint.sh --nuve --erizoController        the reference flags (case-sensitive), any mix;
#   entrypoint.sh --erizoAgent --ROV              the roles run in one process over RabbitMQ
#   entrypoint.sh controller | erizo controller   any `erizo` subcommand, with its options
#   entrypoint.sh                                 `erizo all`, the embedded default
#
# Configuration comes from the environment (RABBITMQ_URL, MONGO_URL, PUBLIC_IP, WARING_N_ROOM,
# LIMIT_N_ROOM, RTCMINPORT/RTCMAXPORT, MEDIASOUP_*, NETWORK_THROTTLE_SECRET and every ERIZO_* key
# of docs/configuration.md); erizo reads it directly, nothing is written to a file. The process is
# exec'd, so it is PID 1's only child of interest and receives SIGTERM itself: that starts the drain.
set -eu

erizo=erizo  # from PATH: /usr/local/bin in the image

usage() {
  echo "usage: entrypoint.sh [--nuve] [--erizoController] [--erizoAgent] [--ROV] | [erizo] COMMAND [OPTIONS]" >&2
  exit 64
}

case "${1:-}" in
  "") exec "$erizo" all ;;
  erizo) shift; exec "$erizo" "$@" ;;
  --*) ;;
  *) exec "$erizo" "$@" ;;
esac

roles=""
for flag in "$@"; do
  case "$flag" in
    --nuve) role=nuve ;;
    --erizoController) role=controller ;;
    --erizoAgent) role=agent ;;
    --ROV) role=rov ;;
    --mongodb | --rabbitmq)
      echo "entrypoint.sh: $flag is not part of this image; run RabbitMQ and MongoDB as their own services" \
        "(docker-compose.yml, k8s/) and point RABBITMQ_URL and MONGO_URL at them" >&2
      exit 64 ;;
    *) echo "entrypoint.sh: unknown flag $flag" >&2; usage ;;
  esac
  case " $roles " in
    *" $role "*) ;;
    *) roles="$roles $role" ;;
  esac
done
# shellcheck disable=SC2086 # the role names are single words
exec "$erizo" run $roles

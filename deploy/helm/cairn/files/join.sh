#!/bin/sh
# The pod's second container. On a pod beyond the initial cluster it asks
# the cluster, once, to add this node (`cairn cluster add`), after its own
# node answers, so a voter is never added before it runs; then, like on
# every other pod, it idles until the pod stops. An add that finds the node
# already a member (the pod restarted) is done too.
set -eu
trap 'exit 0' TERM INT
# The cairn program: on the PATH if there is one, else the image's (docs/deploy.md).
if command -v cairn >/dev/null 2>&1; then set -- cairn; else set -- /usr/local/bin/node /opt/cairn/bin/cairn.js; fi
ordinal="${POD_NAME##*-}"
peer_port="${CAIRN_PEER_PORT:-9200}"
api_port="${CAIRN_API_PORT:-9100}"
idle() {
  while :; do
    sleep 3600 &
    wait $! || true
  done
}
if [ "$ordinal" -lt "$CAIRN_INITIAL_MEMBERS" ]; then idle; fi
until "$@" cluster list --endpoint "http://127.0.0.1:$api_port" >/dev/null 2>&1; do
  sleep 2 &
  wait $!
done
self="$POD_NAME.$CAIRN_PEER_SERVICE"
while :; do
  if out=$("$@" cluster add --endpoint "$CAIRN_CLUSTER_ENDPOINT" --id "$POD_NAME" --peer-address "$self:$peer_port" --api-address "$self:$api_port" 2>&1); then
    echo "cairn-join: added $POD_NAME: $out"
    break
  fi
  case "$out" in
    *"already a member"*) echo "cairn-join: $POD_NAME is already a member"; break ;;
  esac
  echo "cairn-join: adding $POD_NAME failed, retrying in 5 s: $out" >&2
  sleep 5 &
  wait $!
done
idle

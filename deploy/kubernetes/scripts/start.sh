#!/bin/sh
# Starts this pod's Cairn node. Its id is the pod's name (cairn-0, cairn-1,
# ...); the initial cluster is pods 0 .. CAIRN_INITIAL_MEMBERS-1, each
# reached through the headless Service, the same list on every pod, so they
# elect a leader among themselves with no manual step. A pod with a higher
# ordinal (the StatefulSet was scaled up) starts as a joining node: it knows
# the initial members plus itself and waits until the cluster adds it,
# which join.sh (the other container of the pod) asks for.
set -eu
: "${POD_NAME:?POD_NAME must be the pod name (downward API metadata.name)}"
: "${CAIRN_INITIAL_MEMBERS:?CAIRN_INITIAL_MEMBERS must be the size of the initial cluster}"
: "${CAIRN_PEER_SERVICE:?CAIRN_PEER_SERVICE must be the headless Service name}"
if [ -z "${CAIRN_CLUSTER_SECRET:-}" ] || [ -z "${CAIRN_ACCESS_KEY:-}" ] || [ -z "${CAIRN_SECRET_KEY:-}" ]; then
  echo "cairn: the Secret's cluster-secret, access-key and secret-key must all be set (docs/kubernetes.md, Secrets)" >&2
  exit 2
fi
peer_port="${CAIRN_PEER_PORT:-9200}"
api_port="${CAIRN_API_PORT:-9100}"
set_name="${POD_NAME%-*}"
ordinal="${POD_NAME##*-}"
peers=""
apis=""
i=0
while [ "$i" -lt "$CAIRN_INITIAL_MEMBERS" ]; do
  peers="${peers:+$peers,}$set_name-$i=$set_name-$i.$CAIRN_PEER_SERVICE:$peer_port"
  apis="${apis:+$apis,}$set_name-$i=$set_name-$i.$CAIRN_PEER_SERVICE:$api_port"
  i=$((i + 1))
done
if [ "$ordinal" -ge "$CAIRN_INITIAL_MEMBERS" ]; then
  peers="$peers,$POD_NAME=$POD_NAME.$CAIRN_PEER_SERVICE:$peer_port"
  apis="$apis,$POD_NAME=$POD_NAME.$CAIRN_PEER_SERVICE:$api_port"
  export CAIRN_JOIN=true
fi
export CAIRN_ID="$POD_NAME" CAIRN_PEERS="$peers" CAIRN_API_PEERS="$apis"
export CAIRN_PEER_LISTEN="0.0.0.0:$peer_port" CAIRN_API_LISTEN="0.0.0.0:$api_port"
# The cairn program: on the PATH if there is one, else the image's (docs/deploy.md).
if command -v cairn >/dev/null 2>&1; then set -- cairn; else set -- /usr/local/bin/node /opt/cairn/bin/cairn.js; fi
exec "$@" server

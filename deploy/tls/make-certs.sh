#!/bin/sh
# Makes a CA, a certificate for the Redis server(s) and a client certificate
# for the nodes in the folder given ($1), once: an existing CA is kept. The
# server certificate names DNS:redis, or the host names given after the
# folder (one certificate for every node of a cluster:
# `make-certs.sh /tls redis1 redis2 …`), plus localhost and 127.0.0.1.
# For local use: the keys are world-readable so that the redis and
# switchboard users of their images can read them from a shared volume.
set -eu
# openssl prints progress on stderr; failures still stop the script (set -e).
dir=${1:-/tls}
[ $# -gt 0 ] && shift
[ $# -eq 0 ] && set -- redis
names=""
for name in "$@"; do names="${names}DNS:${name},"; done
[ -f "$dir/ca.crt" ] && exit 0
command -v openssl >/dev/null || apk add --no-cache openssl >/dev/null
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=Switchboard Redis CA" -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout redis.key -out redis.csr 2>/dev/null
printf 'subjectAltName=%sDNS:localhost,IP:127.0.0.1\n' "$names" > redis.ext
openssl x509 -req -in redis.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -extfile redis.ext -out redis.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=switchboard" -keyout client.key -out client.csr 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -extfile client.ext -out client.crt 2>/dev/null
rm -f ./*.csr ./*.ext ca.key
chmod 644 ./*

#!/usr/bin/env bash
# A scripted exchange: one client, one relay, each in its own network namespace, joined by
# a veth pair and a WireGuard tunnel; then `pqpsk server` on the relay and `pqpsk negotiate`
# on the client, and the proof that both ends now hold the same post-quantum PSK.
# Needs root, ip, wg, and wireguard-go (or the kernel module).  Run from the repository:
#   sudo PQPSK="node dist/src/cli/main.js" examples/scripted-exchange.sh
# No secret ever appears on a command line: keys go to `wg` through pipes (<(wg genkey)),
# and PSKs are only hashed (first 8 bytes of SHA-256, as pqpsk prints them).
set -euo pipefail
PQPSK=${PQPSK:-pqpsk}
C=pqx-client R=pqx-relay            # namespaces
STATE=$(mktemp -d)                   # the relay's book of ephemeral peers (public keys only)

cleanup() {
  if [[ -n ${SERVER:-} ]]; then kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; fi || true
  ip netns pids $C 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns pids $R 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del $C 2>/dev/null || true
  ip netns del $R 2>/dev/null || true
  rm -rf "$STATE" /var/run/wireguard/pqxc.sock /var/run/wireguard/pqxr.sock
}
trap cleanup EXIT

# 1. Two namespaces and a veth "internet" between them (documentation addresses).
ip netns add $C; ip netns add $R
ip -n $C link add vc type veth peer name vr netns $R
ip -n $C addr add 198.51.100.2/24 dev vc; ip -n $C link set vc up
ip -n $R addr add 198.51.100.1/24 dev vr; ip -n $R link set vr up

# 2. A WireGuard interface in each: kernel if it can, else wireguard-go.
wgif() { ip -n "$1" link add "$2" type wireguard 2>/dev/null || ip netns exec "$1" wireguard-go "$2" 2>/dev/null; }
wgif $C pqxc; wgif $R pqxr
ip netns exec $C wg set pqxc private-key <(wg genkey)
ip netns exec $R wg set pqxr private-key <(wg genkey) listen-port 51820
CPUB=$(ip netns exec $C wg show pqxc public-key)    # the client's parent key
RPUB=$(ip netns exec $R wg show pqxr public-key)
ip netns exec $R wg set pqxr peer "$CPUB" allowed-ips 10.64.0.2/32
ip netns exec $C wg set pqxc peer "$RPUB" allowed-ips 10.64.0.1/32 endpoint 198.51.100.1:51820
ip -n $R addr add 10.64.0.1/16 dev pqxr; ip -n $R link set pqxr up
ip -n $C addr add 10.64.0.2/32 dev pqxc; ip -n $C link set pqxc up
ip -n $C route add 10.64.0.1/32 dev pqxc

# 3. The relay's config service, on its tunnel address 10.64.0.1:1337.
ip netns exec $R $PQPSK server --interface pqxr --state-dir "$STATE" --hqc-workers 1 > "$STATE/server.log" &
SERVER=$!
until grep -q '"listening"' "$STATE/server.log" 2>/dev/null; do sleep 0.2; done

# 4. The client negotiates: fresh X25519 + ML-KEM-1024 + HQC-256 keys, one RPC through the
#    tunnel, decapsulation, PSK, switch in one `wg set`, handshake and TCP check.
echo "client parent key: $CPUB"
ip netns exec $C $PQPSK negotiate --interface pqxc --verbose

# 5. Compare the two ends without showing the PSK.
fingerprint() { base64 -d | sha256sum | cut -c1-16; }
EPH=$(ip netns exec $C wg show pqxc public-key)
echo "client now uses ephemeral key: $EPH"
echo "client PSK fingerprint: $(ip netns exec $C wg show pqxc preshared-keys | cut -f2 | fingerprint)"
echo "relay  PSK fingerprint: $(ip netns exec $R wg show pqxr preshared-keys | grep "^$EPH" | cut -f2 | fingerprint)"
echo "relay routes 10.64.0.2 to: $(ip netns exec $R wg show pqxr allowed-ips | grep -F 10.64.0.2/32 | cut -f1)"
ip netns exec $C ping -c 2 -q 10.64.0.1 | tail -2

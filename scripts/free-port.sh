#!/usr/bin/env bash
# Prints a loopback TCP port nothing listens on, below the kernel's ephemeral range (ip_local_port_range), where no
# client connection's local end can hold it. Another process may still bind it first: callers that start a server
# on it retry with a new port when the server reports "Address already in use". Usage: free-port.sh
set -euo pipefail
read -r low _ </proc/sys/net/ipv4/ip_local_port_range
if [ "$low" -le 12000 ]; then
    echo "free-port.sh: ip_local_port_range starts at $low: no room below it for a server port" >&2
    exit 1
fi
while :; do
    port=$((10000 + RANDOM % (low - 10000)))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
echo "$port"

#!/usr/bin/env bash
# doc_blocks.py --system: inside fresh mount, network and PID namespaces (unshare), makes /etc, /var, /run, /usr
# and the source tree overlays on a tmpfs (nothing the docs' commands write reaches the machine), installs the
# build into /usr as `cmake --install build --prefix /usr` does, puts a systemctl stand-in in /usr/local/sbin,
# then runs the doc's session (DRIVER). When it ends, the namespace and every server started in it end.
#   system_sandbox.sh SANDBOX SOURCE_DIR BUILD_DIR DRIVER
set -euo pipefail
sb=$1 src=$2 build=$3 driver=$4
here=$(cd "$(dirname "$0")" && pwd)
mount --make-rprivate /
mkdir -p "$sb/ovl"
mount -t tmpfs azkm-doc "$sb/ovl"
cp "$here/systemctl.sh" "$sb/ovl/systemctl"
for d in /etc /var /run /usr "$src"; do
    o=$sb/ovl/$(echo "$d" | tr / _)
    mkdir -p "$o/upper" "$o/work"
    mount -t overlay azkm-doc -o "lowerdir=$d,upperdir=$o/upper,workdir=$o/work" "$d"
done
ip link set lo up
cmake --install "$build" --prefix /usr >"$sb/install.log" 2>&1 || { cat "$sb/install.log"; exit 1; }
install -m 0755 "$sb/ovl/systemctl" /usr/local/sbin/systemctl
exec bash "$driver"

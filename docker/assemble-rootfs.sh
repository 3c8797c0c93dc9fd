#!/bin/sh
# Assembles the image's root filesystem in a directory: the ferrokeeper binary (stripped) with
# the multi-call links the Kubernetes tutorial's image has, the shared libraries it loads, a
# static busybox (sh, hostname, ps, kill, ls, cat, nc... for `kubectl exec` and the probes'
# `sh -c`), a static tini as PID 1, and the zookeeper user (uid/gid 1000).
#
#     docker/assemble-rootfs.sh BINARY ROOTFS_DIR
#
# One script for both builds: the Dockerfile's build stage runs it on the Rust image, and
# docker/build-offline.sh runs it on the host before `docker import`; so the image built with a
# registry and the one built offline have the same files. Needs root (it chowns), `ldd`,
# `strip`, /bin/busybox from Debian's busybox-static and /usr/bin/tini-static from tini.
set -eu

binary=${1:?usage: assemble-rootfs.sh BINARY ROOTFS_DIR}
root=${2:?usage: assemble-rootfs.sh BINARY ROOTFS_DIR}
busybox=${BUSYBOX:-/bin/busybox}
tini=${TINI:-/usr/bin/tini-static}

for needed in "$binary" "$busybox" "$tini"; do
    [ -x "$needed" ] || { echo "assemble-rootfs: missing $needed" >&2; exit 1; }
done
# Absolute paths: the work below happens inside the root filesystem's directory.
absolute() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
binary=$(absolute "$binary")
busybox=$(absolute "$busybox")
tini=$(absolute "$tini")
case "$root" in /*) ;; *) root="$(pwd)/$root" ;; esac
# A dynamically linked busybox would need its own libraries: refuse it rather than ship a
# shell that cannot start.
if ldd "$busybox" >/dev/null 2>&1; then
    echo "assemble-rootfs: $busybox is dynamically linked; install busybox-static" >&2
    exit 1
fi

rm -rf "$root"
mkdir -p "$root"
cd "$root"
mkdir -p bin sbin usr/bin usr/sbin etc tmp var/lib/zookeeper opt/zookeeper/bin opt/zookeeper/conf \
    root dev proc sys
chmod 1777 tmp
chmod 0700 root

# The server and its names (the tutorial image keeps them in /opt/zookeeper/bin).
strip -o opt/zookeeper/bin/ferrokeeper "$binary"
chmod 0755 opt/zookeeper/bin/ferrokeeper
for name in start-zookeeper zookeeper-ready zkCli.sh zkServer.sh; do
    ln -s ferrokeeper "opt/zookeeper/bin/$name"
done

# The libraries the binary loads, at the paths its loader looks for them (the ELF interpreter
# path is absolute, so it must stay /lib64/ld-linux-x86-64.so.2 on x86_64).
ldd "$binary" | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]*ld-linux/ { print $1 }' |
while read -r lib; do
    mkdir -p ".$(dirname "$lib")"
    cp -L "$lib" ".$lib"
done

# busybox: one link per applet (sh, hostname, ps, kill, ls, cat, nc, id, stat, ...).
cp "$busybox" bin/busybox
chmod 0755 bin/busybox
"$busybox" --list-full | while read -r applet; do
    [ -e "$applet" ] || [ -L "$applet" ] || ln -s /bin/busybox "$applet"
done
cp "$tini" sbin/tini
chmod 0755 sbin/tini

cat > etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
zookeeper:x:1000:1000:ZooKeeper:/var/lib/zookeeper:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > etc/group <<'GROUP'
root:x:0:
zookeeper:x:1000:
nogroup:x:65534:
GROUP
printf 'hosts: files dns\n' > etc/nsswitch.conf
chmod 0644 etc/passwd etc/group etc/nsswitch.conf

# The data dir and the config dir belong to zookeeper; the data dir is setgid so that what the
# server writes stays in group 1000 (as fsGroup gives it on Kubernetes).
chown -R 1000:1000 var/lib/zookeeper opt/zookeeper/conf
chmod 2750 var/lib/zookeeper
chmod 0755 opt/zookeeper/conf

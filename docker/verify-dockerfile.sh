#!/usr/bin/env bash
# Builds docker/Dockerfile exactly as a user with a registry would, on a machine without one:
# a stand-in for the `rust:1.95-bookworm` base image is made from Debian's archive (debootstrap
# minbase + gcc, libc6-dev, binutils, ca-certificates) and this machine's Rust toolchain, tagged
# locally as rust:1.95-bookworm, then `docker build -f docker/Dockerfile` runs unchanged (its
# build stage still reaches Debian's archive and crates.io). Heavy: ~2 GB of disk and a full
# release build; not part of CI. Afterwards run the container tests against the result:
#
#   docker/verify-dockerfile.sh [--tag IMAGE]          # default ferrokeeper:dockerfile
#   FK_E2E_IMAGE=ferrokeeper:dockerfile python3 -m pytest tests/e2e
#
# The stand-in base is removed at the end unless --keep-base is given.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tag="ferrokeeper:dockerfile"
keep_base=0
while [ $# -gt 0 ]; do
    case "$1" in
        --tag) tag="$2"; shift 2 ;;
        --keep-base) keep_base=1; shift ;;
        *) echo "verify-dockerfile: unknown argument $1" >&2; exit 2 ;;
    esac
done
base="rust:1.95-bookworm"
if docker image inspect "$base" >/dev/null 2>&1 && [ "$keep_base" -eq 0 ]; then
    echo "verify-dockerfile: $base exists already; not replacing it (use --keep-base to build on it)" >&2
    keep_base=1
fi

toolchain="$(rustc --print sysroot)"
[ -x "$toolchain/bin/cargo" ] || { echo "verify-dockerfile: no cargo in $toolchain/bin" >&2; exit 1; }
command -v debootstrap >/dev/null || apt-get install -y debootstrap
work="$(mktemp -d)"
cleanup() {
    rm -rf "$work"
    if [ "$keep_base" -eq 0 ]; then docker image rm "$base" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

if ! docker image inspect "$base" >/dev/null 2>&1; then
    debootstrap --variant=minbase --include=gcc,libc6-dev,binutils,ca-certificates \
        bookworm "$work/rootfs" http://deb.debian.org/debian >&2
    mkdir -p "$work/rootfs/usr/local/rust" "$work/rootfs/usr/local/cargo"
    cp -a "$toolchain/bin" "$toolchain/lib" "$toolchain/libexec" "$toolchain/etc" "$work/rootfs/usr/local/rust/"
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb
    # This machine's trust store: where HTTPS goes through an inspecting proxy, cargo in the
    # build stage must trust what this machine trusts to reach crates.io.
    cp /etc/ssl/certs/ca-certificates.crt "$work/rootfs/etc/ssl/certs/ca-certificates.crt"
    tar -C "$work/rootfs" --numeric-owner -cf - . | docker import \
        --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV CARGO_HOME=/usr/local/cargo' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        --change 'ENV CARGO_HTTP_CAINFO=/etc/ssl/certs/ca-certificates.crt' - "$base" >/dev/null
fi
# The committed tree only (what a user clones), not this work tree's uncommitted changes.
git -C "$root" archive --format=tar HEAD | tar -C "$work" --one-top-level=context -xf -
DOCKER_BUILDKIT=0 docker build --cpu-shares 256 -f "$work/context/docker/Dockerfile" -t "$tag" "$work/context" >&2
size="$(docker image inspect --format '{{.Size}}' "$tag")"
echo "built $tag from docker/Dockerfile: $size bytes ($((size / 1024 / 1024)) MiB)"

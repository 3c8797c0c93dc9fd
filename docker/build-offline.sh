#!/usr/bin/env bash
# Builds the ferrokeeper image with no registry: the binary is built on the host, the root
# filesystem is assembled by docker/assemble-rootfs.sh (the script the Dockerfile's build stage
# runs), `docker import`ed, and the Dockerfile's runtime stage, taken verbatim from
# docker/Dockerfile, is built on top of it. So this image and the one built from the Dockerfile
# with a registry have the same files, user, environment, healthcheck and entrypoint.
#
#   docker/build-offline.sh [--tag IMAGE] [--no-cargo] [--binary PATH] [--label KEY=VALUE]...
#
#   --tag      the image to build (default ferrokeeper:offline)
#   --no-cargo skip `cargo build --release` (use the binary that is there)
#   --binary   the ferrokeeper binary (default target/release/ferrokeeper)
#   --label    a label on the image (repeatable; tests label what they must remove)
#
# Needs: docker, root (for the rootfs's ownership), Debian's busybox-static and tini
# (installed here with apt-get when missing), binutils' strip, ldd.
# Prints the image's size on its last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tag="ferrokeeper:offline"
binary="$root/target/release/ferrokeeper"
run_cargo=1
labels=()
while [ $# -gt 0 ]; do
    case "$1" in
        --tag) tag="$2"; shift 2 ;;
        --tag=*) tag="${1#--tag=}"; shift ;;
        --no-cargo) run_cargo=0; shift ;;
        --binary) binary="$2"; shift 2 ;;
        --binary=*) binary="${1#--binary=}"; shift ;;
        --label) labels+=(--label "$2"); shift 2 ;;
        --label=*) labels+=(--label "${1#--label=}"); shift ;;
        -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "build-offline: unknown argument $1" >&2; exit 2 ;;
    esac
done

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else echo "build-offline: need root for: $*" >&2; return 1
    fi
}

if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1 || [ ! -x /usr/bin/tini-static ]; then
    echo "build-offline: installing Debian's busybox-static and tini" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static tini >&2 \
        || { as_root apt-get update >&2 \
             && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static tini >&2; }
fi

if [ "$run_cargo" -eq 1 ]; then
    (cd "$root" && cargo build --release --locked --bin ferrokeeper >&2)
fi
[ -x "$binary" ] || { echo "build-offline: no binary at $binary" >&2; exit 1; }

work="$(mktemp -d)"
base="ferrokeeper-rootfs:offline-$$-$RANDOM"
cleanup() {
    docker image rm "$base" >/dev/null 2>&1 || true   # only untags: the image's layers stay
    as_root rm -rf "$work"
}
trap cleanup EXIT

as_root sh "$here/assemble-rootfs.sh" "$binary" "$work/rootfs" >&2
as_root tar -C "$work/rootfs" --numeric-owner -cf "$work/rootfs.tar" .
docker import "$work/rootfs.tar" "$base" >/dev/null

# The runtime stage, verbatim, on the imported root filesystem.
mkdir -p "$work/context"
{
    echo "FROM $base AS rootfs"
    awk '/^FROM rootfs AS runtime/ { on = 1 } on' "$here/Dockerfile"
} > "$work/context/Dockerfile"
if ! grep -q '^FROM rootfs AS runtime' "$work/context/Dockerfile"; then
    echo "build-offline: docker/Dockerfile has no 'FROM rootfs AS runtime' stage" >&2
    exit 1
fi
# The classic builder is all this engine may have (no buildx plugin); it builds this one stage.
DOCKER_BUILDKIT=0 docker build --quiet "${labels[@]}" -t "$tag" "$work/context" >&2
size="$(docker image inspect --format '{{.Size}}' "$tag")"
echo "built $tag: $size bytes ($((size / 1024 / 1024)) MiB)"

#!/usr/bin/env bash
# Builds the runtime image from this machine's `ares` binary and runs it: the container test.
# Base images cannot be pulled here, so instead of the Containerfile's builder stage this uses
# assemble-rootfs.sh on a binary built outside, and the Containerfile's own runtime stage (from
# `FROM scratch AS runtime` to the end, with the COPY from the builder pointed at that rootfs):
# the instructions tested are the instructions shipped.
#
#   deploy/checks/build_local_image.sh BINARY
#
# Then, in the image, with the root filesystem read-only, all capabilities dropped and no new
# privileges: `ares --version`, `ares version --json`, `ares demo` (ingests /opt/ares/docs into
# the data volume and researches a question), and checks there is no shell and the user is not root.
# Needs podman and buildah (Debian) and, where crun cannot set up cgroups (hybrid cgroup v1/v2
# hosts, like this sandbox), runc: ARES_CONTAINER_RUNTIME picks it (default: runc if installed).
set -euo pipefail
binary=${1:?usage: build_local_image.sh BINARY}
repository=$(cd "$(dirname "$0")/../.." && pwd)
for tool in podman buildah; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool is not installed (Debian: apt-get install -y podman buildah runc)"; exit 1; }
done
runtime=${ARES_CONTAINER_RUNTIME:-$(command -v runc >/dev/null && echo runc || echo crun)}
work=$(mktemp -d /tmp/ares-image.XXXXXX)
tag="localhost/ares-image-test:$(basename "$work" | tr 'A-Z.' 'a-z-')"
volume="ares-image-test-$(basename "$work" | tr 'A-Z.' 'a-z-')"
# Podman's default ulimits cannot be set inside some sandboxes (setrlimit is refused): keep the
# limits the container inherits instead.
printf '[containers]\ndefault_ulimits = []\n' > "$work/containers.conf"
export CONTAINERS_CONF="$work/containers.conf"
cleanup() {
  podman --runtime "$runtime" volume rm -f "$volume" >/dev/null 2>&1 || true
  podman rmi -f "$tag" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$repository/deploy/container/assemble-rootfs.sh" "$binary" "$work/rootfs"
awk '/^FROM scratch AS runtime/ { copying = 1; print "FROM scratch"; next } copying' "$repository/deploy/container/Containerfile" \
  | sed 's|^COPY --from=builder \(.*\)/rootfs\([^ ]*\)/ |COPY \1rootfs\2/ |' > "$work/Containerfile"
grep -q '^COPY rootfs/ /$' "$work/Containerfile" || { echo "FAIL the Containerfile's runtime stage does not COPY --from=builder /rootfs/ /"; exit 1; }
if grep -q -- '--from=' "$work/Containerfile"; then echo "FAIL the runtime stage copies from a stage this test cannot build:"; grep -- '--from=' "$work/Containerfile"; exit 1; fi
buildah bud --quiet --layers=false -f "$work/Containerfile" -t "$tag" "$work" >/dev/null
echo "PASS built $tag from scratch ($(podman image inspect --format '{{.Size}}' "$tag") bytes)"

run() { podman --runtime "$runtime" run --rm --read-only --cap-drop=ALL --security-opt=no-new-privileges "$@"; }

user=$(podman image inspect --format '{{.Config.User}}' "$tag")
[ "$user" = "10001:10001" ] && echo "PASS runs as $user" || { echo "FAIL the image runs as '$user', not 10001:10001"; exit 1; }

version=$(run "$tag" --version)
grep -q "$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' "$repository/Sources/ares/AresCommand.swift")" <<<"$version" \
  && echo "PASS ares --version: $version" || { echo "FAIL ares --version printed: $version"; exit 1; }

run "$tag" version --json > "$work/version.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["version"] and r["dependencies"], r; print("PASS ares version --json:", r["version"], r["commit"], len(r["dependencies"]), "dependencies")' "$work/version.json"

# A named volume made on first use takes the image's /var/lib/ares owner (10001), as with `docker run -v`.
run --tmpfs /tmp -v "$volume:/var/lib/ares" "$tag" demo > "$work/demo.log" 2>&1 || { echo "FAIL ares demo in the container:"; cat "$work/demo.log"; exit 1; }
grep -q '\[1\]' "$work/demo.log" && echo "PASS ares demo researched a cited answer in the container" \
  || { echo "FAIL ares demo printed no citation:"; cat "$work/demo.log"; exit 1; }

if run --entrypoint /bin/sh "$tag" -c true >/dev/null 2>&1; then
  echo "FAIL the image has a shell"; exit 1
fi
echo "PASS the image has no shell"
echo "SUMMARY image checks passed"

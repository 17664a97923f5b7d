#!/usr/bin/env bash
# Stages the runtime file system of the container image (the Dockerfile's build stage runs it):
#   scripts/image-rootfs.sh BIN_DIR ROOTFS
# BIN_DIR holds the built `sluice` and `sluice-mock`; ROOTFS (created) receives
#   /usr/bin/sluice, /usr/bin/sluice-mock      stripped
#   every shared library `ldd` lists for them, at the path it lists (the dynamic loader included)
#   /etc/ssl/certs/ca-certificates.crt         the system CA bundle, also where OpenSSL's default
#                                              paths (/usr/lib/ssl/cert.pem, certs/) point
#   /etc/passwd, /etc/group                    root and the unprivileged user sluice (65532)
#   /etc/nsswitch.conf                         hosts: files dns
#   /etc/sluice/sluice.yaml                    deploy/container/sluice.yaml (the default config)
#   /usr/share/sluice/examples/*.yaml          deploy/container/*.yaml
#   /tmp                                       mode 1777
# Nothing else: no shell, no package manager.
set -euo pipefail

bin_dir=${1:?usage: image-rootfs.sh BIN_DIR ROOTFS}
rootfs=${2:?usage: image-rootfs.sh BIN_DIR ROOTFS}
source_dir=$(cd "$(dirname "$0")/.." && pwd)

install -d "$rootfs/usr/bin" "$rootfs/etc/sluice" "$rootfs/usr/share/sluice/examples" \
  "$rootfs/etc/ssl/certs" "$rootfs/usr/lib/ssl"
install -d -m 1777 "$rootfs/tmp"
for binary in sluice sluice-mock; do
  install -m 0755 "$bin_dir/$binary" "$rootfs/usr/bin/$binary"
  strip --strip-unneeded "$rootfs/usr/bin/$binary"
done

# The libraries: each path ldd resolves (and the loader, listed without "=>"), dereferenced.
for binary in sluice sluice-mock; do ldd "$bin_dir/$binary"; done \
  | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $2 ~ /^\(/ {print $1}' | sort -u \
  | while read -r library; do
      install -d "$rootfs$(dirname "$library")"
      cp -L "$library" "$rootfs$library"
    done

cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
ln -sfn /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/lib/ssl/cert.pem"
ln -sfn /etc/ssl/certs "$rootfs/usr/lib/ssl/certs"

cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
sluice:x:65532:65532:sluice:/nonexistent:/sbin/nologin
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
sluice:x:65532:
GROUP
echo 'hosts: files dns' > "$rootfs/etc/nsswitch.conf"

install -m 0644 "$source_dir/deploy/container/sluice.yaml" "$rootfs/etc/sluice/sluice.yaml"
install -m 0644 "$source_dir"/deploy/container/*.yaml "$rootfs/usr/share/sluice/examples/"

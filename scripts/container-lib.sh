# Sourced by the container scripts (bash): the image names, and a containers.conf for
# hosts where podman's defaults cannot start a container.
#
# Two things of some hosts (this project's CI machines among them) stop podman's
# defaults; they are worked around only when seen, through a containers.conf that every
# podman (and podman-compose) call of the script then reads (CONTAINERS_CONF):
#  - crun refuses cgroup v1 with controllers also in the cgroup v2 hierarchy ("cgroups in
#    hybrid mode not supported, drop all controllers from cgroupv2"); runc accepts it, so
#    runc (Debian package runc) is used there. ZMESH_PODMAN_RUNTIME=PATH chooses by hand.
#  - without CAP_SYS_RESOURCE a container cannot be given podman's default limit of
#    1048576 open files ("setrlimit RLIMIT_NOFILE: Operation not permitted"), nor an
#    NPROC limit as high as the host's own; the containers get the host's hard limit of
#    open files and 4096 processes.
# shellcheck shell=bash

base_image=${ZMESH_BASE_IMAGE:-localhost/zmesh-base:bookworm}
image=${ZMESH_IMAGE:-localhost/zmesh:latest}

# container_conf DIR: writes DIR/containers.conf and exports CONTAINERS_CONF when needed.
container_conf() {
  local runtime=${ZMESH_PODMAN_RUNTIME:-} nofile
  if [ -z "$runtime" ] && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
    runtime=$(command -v runc) || {
      echo "container: crun cannot run here (hybrid cgroups): apt-get install runc" >&2
      return 1
    }
  fi
  nofile=$(ulimit -Hn)
  if [ -z "$runtime" ] && { [ "$nofile" = unlimited ] || [ "$nofile" -ge 1048576 ]; }; then
    return 0
  fi
  [ "$nofile" = unlimited ] && nofile=1048576
  {
    echo '[containers]'
    echo "default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=4096:4096\"]"
    if [ -n "$runtime" ]; then
      echo '[engine]'
      echo "runtime = \"$runtime\""
    fi
  } > "$1/containers.conf"
  export CONTAINERS_CONF="$1/containers.conf"
}

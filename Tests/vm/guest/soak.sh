#!/bin/sh
# soak.sh ROUNDS BDF... — no leaks, no changes: realizes the devices through both
# backends (caps --backend legacy, caps --backend iommufd) and runs check, ROUNDS
# times after a warm-up, and prints one JSON object: what was run, the kernel's count
# of open files and its unreclaimable slab before and after, and whether anything hiodctl
# must never touch changed (driver bindings, driver_override, groups, VFIO nodes).
rounds=$1
shift
. /rig/host-state.sh
meminfo() { awk -v key="$1:" '$1 == key { print $2 }' /proc/meminfo; }
files() { cut -f1 /proc/sys/fs/file-nr; }
round() {
    for backend in legacy iommufd; do
        hiodctl caps --backend "$backend" "$@" >/dev/null 2>/tmp/soak.err || return 1
    done
    hiodctl check --viommu intel --aw-bits 39 "$@" >/dev/null 2>>/tmp/soak.err || return 1
}
state >/tmp/soak.before
# Warm-up: the first runs fill slab caches and the page cache.
i=0
while [ $i -lt 5 ]; do
    round "$@" || { echo "{\"error\": \"warm-up round $i failed: $(head -c 300 /tmp/soak.err)\"}"; exit 1; }
    i=$((i + 1))
done
files0=$(files)
slab0=$(meminfo SUnreclaim)
start=$(cut -d' ' -f1 /proc/uptime)
i=0
while [ $i -lt "$rounds" ]; do
    round "$@" || { echo "{\"error\": \"round $i failed: $(head -c 300 /tmp/soak.err)\"}"; exit 1; }
    i=$((i + 1))
done
end=$(cut -d' ' -f1 /proc/uptime)
files1=$(files)
slab1=$(meminfo SUnreclaim)
state >/tmp/soak.after
unchanged=true
cmp -s /tmp/soak.before /tmp/soak.after || unchanged=false
echo "{\"rounds\": $rounds, \"devices\": $#, \"invocations\": $((rounds * 3)), \"realizations\": $((rounds * 3 * $#)),"
echo " \"seconds\": $(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'),"
echo " \"open_files\": [$files0, $files1], \"sunreclaim_kb\": [$slab0, $slab1], \"state_unchanged\": $unchanged}"
[ "$unchanged" = true ] || diff /tmp/soak.before /tmp/soak.after >&2

#!/bin/sh
# cost.sh ROUNDS BDF... — what a realize costs on a real kernel, per backend, and whether
# realizing devices concurrently (one process per device: separate containers and
# iommufd contexts) is safe and faster. Prints one JSON object:
#   ms.B.one / ms.B.all   mean wall time of `hiodctl caps --backend B` on the first
#                         device / on all of them (start-up and scan included);
#   per_device_ms.B       (all - one) / (devices - 1): the cost of one more device;
#   concurrent_ms.B       one process per device, one after another ("sequential") and
#                         all at once ("concurrent"), per round;
#   concurrent_same.B     every concurrent answer byte-identical to the device's answer
#                         when it is realized alone;
#   state_unchanged       bindings, overrides, groups and VFIO nodes as before.
# Timing is /proc/uptime (10 ms) over ROUNDS repetitions.
rounds=$1
shift
count=$#
first=$1
state() {
    for d in /sys/bus/pci/devices/*; do
        drv=-
        [ -L "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
        echo "${d##*/} driver=$drv override=$(cat "$d/driver_override" 2>/dev/null)"
    done
    ls /sys/kernel/iommu_groups /sys/class/iommu /dev/vfio /dev/vfio/devices 2>&1
}
now() { cut -d' ' -f1 /proc/uptime; }
# mean milliseconds per repetition between two uptimes
per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }'; }
fail() { echo "{\"error\": \"$1: $(head -c 300 /tmp/cost.err | tr '\"\n' "' ")\"}"; exit 1; }
state >/tmp/cost.before
# Warm-up: page cache, slab caches, the first reset of every device.
for backend in sysfs legacy iommufd; do
    hiodctl caps --backend $backend "$@" >/dev/null 2>/tmp/cost.err || fail "warm-up $backend"
done
json="{\"rounds\": $rounds, \"devices\": $count"
ms="" per_device="" concurrent="" same=""
for backend in sysfs legacy iommufd; do
    t0=$(now)
    i=0
    while [ $i -lt "$rounds" ]; do
        hiodctl caps --backend $backend "$first" >/dev/null 2>/tmp/cost.err || fail "$backend one"
        i=$((i + 1))
    done
    t1=$(now)
    i=0
    while [ $i -lt "$rounds" ]; do
        hiodctl caps --backend $backend "$@" >/dev/null 2>/tmp/cost.err || fail "$backend all"
        i=$((i + 1))
    done
    t2=$(now)
    one=$(per "$t0" "$t1" "$rounds")
    all=$(per "$t1" "$t2" "$rounds")
    ms="$ms${ms:+, }\"$backend\": {\"one\": $one, \"all\": $all}"
    per_device="$per_device${per_device:+, }\"$backend\": $(awk -v a="$one" -v b="$all" -v n="$count" 'BEGIN { printf "%.1f", (b - a) / (n - 1) }')"
    [ $backend = sysfs ] && continue
    # Each device alone: the reference answers.
    for d in "$@"; do
        hiodctl --json caps --backend $backend "$d" >"/tmp/cost.$d.alone" 2>/tmp/cost.err || fail "$backend alone $d"
    done
    t0=$(now)
    i=0
    while [ $i -lt "$rounds" ]; do
        for d in "$@"; do
            hiodctl --json caps --backend $backend "$d" >"/tmp/cost.$d.seq" 2>/tmp/cost.err || fail "$backend seq $d"
        done
        i=$((i + 1))
    done
    t1=$(now)
    ok=true
    i=0
    while [ $i -lt "$rounds" ]; do
        for d in "$@"; do
            hiodctl --json caps --backend $backend "$d" >"/tmp/cost.$d.conc" 2>"/tmp/cost.$d.err" &
        done
        wait
        for d in "$@"; do
            cmp -s "/tmp/cost.$d.alone" "/tmp/cost.$d.conc" || { ok=false; cat "/tmp/cost.$d.err" >&2; }
        done
        i=$((i + 1))
    done
    t2=$(now)
    concurrent="$concurrent${concurrent:+, }\"$backend\": {\"sequential\": $(per "$t0" "$t1" "$rounds"), \"concurrent\": $(per "$t1" "$t2" "$rounds")}"
    same="$same${same:+, }\"$backend\": $ok"
done
state >/tmp/cost.after
unchanged=true
cmp -s /tmp/cost.before /tmp/cost.after || { unchanged=false; diff /tmp/cost.before /tmp/cost.after >&2; }
echo "$json, \"ms\": {$ms}, \"per_device_ms\": {$per_device},"
echo " \"concurrent_ms\": {$concurrent}, \"concurrent_same\": {$same}, \"state_unchanged\": $unchanged}"

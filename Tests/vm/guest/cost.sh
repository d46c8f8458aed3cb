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
. /rig/host-state.sh
now() { cut -d' ' -f1 /proc/uptime; }
# mean milliseconds per repetition between two uptimes
per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }'; }
fail() { echo "{\"error\": \"$1: $(head -c 300 /tmp/cost.err | tr '\"\n' "' ")\"}" >/tmp/cost.failed; cat /tmp/cost.failed; exit 1; }
# timed LABEL COMMAND...: mean milliseconds of ROUNDS runs of COMMAND (in $(…), a failure
# leaves its error in /tmp/cost.failed for `failed` to print)
timed() {
    label=$1
    shift
    t0=$(now)
    i=0
    while [ $i -lt "$rounds" ]; do
        "$@" >/dev/null 2>/tmp/cost.err || fail "$label"
        i=$((i + 1))
    done
    per "$t0" "$(now)" "$rounds"
}
failed() { cat /tmp/cost.failed; exit 1; }
state >/tmp/cost.before
# Warm-up: page cache, slab caches, the first reset of every device.
for backend in sysfs legacy iommufd; do
    hiodctl caps --backend $backend "$@" >/dev/null 2>/tmp/cost.err || fail "warm-up $backend"
done
json="{\"rounds\": $rounds, \"devices\": $count"
ms="" per_device="" concurrent="" same=""
for backend in sysfs legacy iommufd; do
    one=$(timed "$backend one" hiodctl caps --backend $backend "$first") || failed
    all=$(timed "$backend all" hiodctl caps --backend $backend "$@") || failed
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
    i=0
    while [ $i -lt "$rounds" ]; do
        for d in "$@"; do
            hiodctl --json caps --backend $backend "$d" >"/tmp/cost.$d.conc.$i" 2>"/tmp/cost.$d.err.$i" &
        done
        wait
        i=$((i + 1))
    done
    t2=$(now)
    # Compared after the clock stops: every round's answers, not only the last.
    ok=true
    i=0
    while [ $i -lt "$rounds" ]; do
        for d in "$@"; do
            cmp -s "/tmp/cost.$d.alone" "/tmp/cost.$d.conc.$i" || { ok=false; cat "/tmp/cost.$d.err.$i" >&2; }
        done
        i=$((i + 1))
    done
    concurrent="$concurrent${concurrent:+, }\"$backend\": {\"sequential\": $(per "$t0" "$t1" "$rounds"), \"concurrent\": $(per "$t1" "$t2" "$rounds")}"
    same="$same${same:+, }\"$backend\": $ok"
done
state >/tmp/cost.after
unchanged=true
cmp -s /tmp/cost.before /tmp/cost.after || { unchanged=false; diff /tmp/cost.before /tmp/cost.after >&2; }
echo "$json, \"ms\": {$ms}, \"per_device_ms\": {$per_device},"
echo " \"concurrent_ms\": {$concurrent}, \"concurrent_same\": {$same}, \"state_unchanged\": $unchanged}"

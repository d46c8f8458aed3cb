#!/bin/sh
# hold.sh MODE NODE [BDF] -- COMMAND...
# Runs COMMAND while vfio-hold holds a device as a running QEMU would (MODE legacy:
# group + container + device fd; MODE iommufd: cdev bound and attached), then checks
# that the holder was not disturbed: still alive, the same descriptors open, and its
# DMA mapping still works. COMMAND's stdout passes through; hold.sh's own report goes
# to stderr. Exit status: COMMAND's, or 98 when the holder could not start, 99 when
# it was disturbed.
mode=$1 node=$2
shift 2
bdf=
[ "$1" != "--" ] && { bdf=$1; shift; }
shift
# Files of this run only: the child truncates its redirections after the fork, so a
# file left by an earlier run could show its "holding" to the first check below.
out=/tmp/hold.$$.out err=/tmp/hold.$$.err
rm -f "$out" "$err"
: >"$out"
vfio-hold "$mode" "$node" $bdf >"$out" 2>"$err" &
holder=$!
# Opening a device can wait for the reset that ended the previous holder's use of it.
i=0
while [ $i -lt 600 ] && ! grep -q '^holding' "$out" && kill -0 "$holder" 2>/dev/null; do
    sleep 0.05
    i=$((i + 1))
done
if ! grep -q '^holding' "$out"; then
    echo "hold.sh: after $i waits: $(grep State /proc/"$holder"/status 2>&1) wchan $(cat /proc/"$holder"/wchan 2>&1)" >&2
    kill "$holder" 2>/dev/null
    wait "$holder"
    echo "hold.sh: vfio-hold did not start (exit status $?): $(cat "$err")" >&2
    exit 98
fi
descriptors() { for f in /proc/"$holder"/fd/*; do echo "${f##*/} $(readlink "$f")"; done; }
before=$(descriptors)
"$@"
rc=$?
disturbed=
kill -0 "$holder" 2>/dev/null || disturbed="the holder died"
[ -z "$disturbed" ] && [ "$(descriptors)" != "$before" ] && disturbed="the holder's descriptors changed"
if [ -z "$disturbed" ]; then
    kill -USR1 "$holder"
    i=0
    while [ $i -lt 600 ] && ! grep -q '^dma' "$out"; do sleep 0.05; i=$((i + 1)); done
    grep -q '^dma ok' "$out" || disturbed="its DMA mapping failed: $(grep '^dma' "$out")"
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
if [ -n "$disturbed" ]; then
    echo "hold.sh: $disturbed" >&2
    exit 99
fi
rm -f "$out" "$err"
echo "hold.sh: holder pid $holder ($mode, $node) undisturbed: alive, same descriptors, DMA map ok" >&2
exit $rc

#!/bin/sh
# Guest side of the QEMU oracle (Tests/vm/oracle/oracle.py): run every cell of
# /rig/cells with real QEMU, then hiodctl with the same configuration, and write a
# tar.gz of the results to stdout.
#
# /rig/cells, one cell per line, fields separated by a tab:
#   ID  RELEASE  MODE  QEMU-ARGS  HIODCTL-ARGS...
# RELEASE names /opt/qemu/RELEASE/qemu-system-x86_64 (staged by qemu-fetch). MODE is
# "start" (realize everything with -S, then `quit` on the monitor: exit 0 = QEMU
# accepted the configuration) or "run" (boot /rig/inner with the assigned NIC and let
# it transmit; the inner console and the outer kernel's DMAR faults decide).
# QEMU-ARGS and each HIODCTL-ARGS field are shell words (quoted by the host). Every
# HIODCTL-ARGS field is one hiodctl invocation, stored as hiod.N.
# Per cell: ID/qemu.rc, ID/qemu.err (stderr+stdout), ID/hiod.N.{rc,out,err},
# ID/dmesg (kernel lines the cell added), ID/seconds.
QEMU_TIMEOUT=${QEMU_TIMEOUT:-60}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
out=/tmp/oracle
mkdir -p "$out"
tab=$(printf '\t')
dmesg -c >/dev/null 2>&1
while IFS="$tab" read -r id release mode qargs rest; do
    [ -n "$id" ] || continue
    d=$out/$id
    mkdir -p "$d"
    q=/opt/qemu/$release/qemu-system-x86_64
    t0=$(date +%s)
    if [ "$mode" = run ]; then
        # The inner guest prints @@INNER ...@@ lines on its console (ttyS0 = stdio).
        eval "timeout $RUN_TIMEOUT $q $qargs" </dev/null >"$d/qemu.err" 2>&1
        echo $? >"$d/qemu.rc"
    else
        echo quit | eval "timeout $QEMU_TIMEOUT $q $qargs" >"$d/qemu.err" 2>&1
        echo $? >"$d/qemu.rc"
    fi
    t1=$(date +%s)
    echo $((t1 - t0)) >"$d/seconds"
    dmesg -c >"$d/dmesg" 2>&1
    n=0
    while [ -n "$rest" ]; do
        case $rest in
            *"$tab"*) h=${rest%%"$tab"*}; rest=${rest#*"$tab"} ;;
            *) h=$rest; rest="" ;;
        esac
        eval "timeout 120 hiodctl $h" </dev/null >"$d/hiod.$n.out" 2>"$d/hiod.$n.err"
        echo $? >"$d/hiod.$n.rc"
        n=$((n + 1))
    done
done </rig/cells
cat /opt/qemu/*/QEMU_VERSION >"$out/QEMU_VERSION" 2>/dev/null
tar -C "$out" -czf - .

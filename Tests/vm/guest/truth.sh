#!/bin/sh
# Ground truth: what the guest's sysfs and /dev say, one fact per line, parsed
# by Tests/vm/check.py (parse_truth). Busybox only. "-" means absent.
echo "release $(uname -r)"
echo "cmdline $(cat /proc/cmdline)"

lnk() { # basename of a symlink's target, or -
    if [ -L "$1" ]; then basename "$(readlink "$1")"; else echo -; fi
}

for d in /sys/bus/pci/devices/*; do
    [ -e "$d" ] || continue
    bdf=${d##*/}
    vd=-
    vdd=-
    for v in "$d"/vfio-dev/vfio*; do
        [ -e "$v" ] || continue
        vd=${v##*/}
        vdd=$(cat "$v/dev")
    done
    echo "dev $bdf vendor=$(cat "$d/vendor") device=$(cat "$d/device")" \
        "class=$(cat "$d/class") revision=$(cat "$d/revision")" \
        "subsystem_vendor=$(cat "$d/subsystem_vendor") subsystem_device=$(cat "$d/subsystem_device")" \
        "group=$(lnk "$d/iommu_group") driver=$(lnk "$d/driver") iommu=$(lnk "$d/iommu")" \
        "vfiodev=$vd vfiodevdev=$vdd override=$(cat "$d/driver_override" 2>/dev/null | tr -d ' ')" \
        "reset_method=$(cat "$d/reset_method" 2>/dev/null | tr ' ' ',' | grep . || echo -)" \
        "path=$(readlink "$d")"
done

for g in /sys/kernel/iommu_groups/*; do
    [ -d "$g" ] || continue
    n=${g##*/}
    t=-
    [ -r "$g/type" ] && t=$(cat "$g/type")
    nm=-
    [ -r "$g/name" ] && nm=$(cat "$g/name")
    echo "group $n type=$t name=$nm"
    for m in "$g"/devices/*; do
        [ -e "$m" ] && echo "groupdev $n ${m##*/}"
    done
    while read -r s e ty; do
        echo "rr $n $s $e $ty"
    done <"$g/reserved_regions"
done

for u in /sys/class/iommu/*; do
    [ -e "$u" ] || continue
    name=${u##*/}
    echo "unit $name link=$(readlink "$u")"
    for sub in "$u"/*/; do
        sub=${sub%/}
        [ -L "$sub" ] && continue # e.g. AMD's device -> the IOMMU's PCI function
        case ${sub##*/} in devices | power | subsystem) continue ;; esac
        for a in "$sub"/*; do
            [ -f "$a" ] && echo "unitattr $name ${sub##*/}/${a##*/} $(cat "$a")"
        done
    done
    for m in "$u"/devices/*; do
        [ -e "$m" ] && echo "unitdev $name ${m##*/}"
    done
done

for f in /dev/vfio/* /dev/vfio/devices/* /dev/iommu; do
    [ -e "$f" ] || continue
    if [ -c "$f" ]; then
        echo "node $f char $(stat -c '%t:%T' "$f")"
    elif [ -d "$f" ]; then
        echo "node $f dir"
    else
        echo "node $f other"
    fi
done

for p in /sys/module/vfio/parameters/* /sys/module/vfio_iommu_type1/parameters/* \
    /sys/module/iommufd/parameters/*; do
    [ -f "$p" ] && echo "param ${p#/sys/module/} $(cat "$p")"
done
exit 0

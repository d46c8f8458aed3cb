#!/bin/sh
# capture.sh DEST: copy the parts of sysfs, procfs and /dev that hiodctl reads
# into DEST (same paths below DEST), keeping symlinks as symlinks with their
# original relative targets. Device nodes become plain empty files.
# Busybox only; the host turns DEST into Tests/Fixtures/captured/NAME.
D=${1:?usage: capture.sh DEST}
mkdir -p "$D"

cpfile() { # regular file (sysfs attribute) -> its content; unreadable ones are skipped
    [ -f "$1" ] || return 0
    mkdir -p "$D${1%/*}"
    cat "$1" >"$D$1" 2>/dev/null || { rm -f "$D$1"; echo "skipped unreadable $1"; }
}
cplink() { # symlink -> same relative target
    [ -L "$1" ] || return 0
    mkdir -p "$D${1%/*}"
    ln -sfn "$(readlink "$1")" "$D$1"
}
cpattrdirs() { # regular files in the attribute subdirectories of $1 (intel-iommu/, amd-iommu/ ...)
    for sub in "$1"/*/; do
        sub=${sub%/}
        case ${sub##*/} in devices | power | subsystem | vfio-dev | msi_irqs) continue ;; esac
        [ -L "$sub" ] && continue
        for a in "$sub"/*; do cpfile "$a"; done
    done
}

# PCI devices: the bus links and the real device directories.
for l in /sys/bus/pci/devices/*; do
    [ -L "$l" ] || continue
    cplink "$l"
    real=$(readlink -f "$l")
    mkdir -p "$D$real"
    for f in vendor device class revision subsystem_vendor subsystem_device irq resource \
        numa_node modalias driver_override config; do
        cpfile "$real/$f"
    done
    for f in iommu_group iommu driver; do cplink "$real/$f"; done
    for v in "$real"/vfio-dev/vfio*; do
        [ -e "$v/dev" ] && cpfile "$v/dev"
    done
done

# Drivers: one directory per PCI driver, with its bound-device links (as in
# sysfs; it also keeps the directory alive in git).
for dr in /sys/bus/pci/drivers/*; do
    [ -d "$dr" ] || continue
    mkdir -p "$D$dr"
    for l in "$dr"/*:*; do cplink "$l"; done
    # bind, unbind and uevent are write-only: keep them as empty plain files (like the
    # device nodes below), which also keeps drivers without devices alive in git.
    for a in bind unbind uevent; do [ -e "$dr/$a" ] && : >"$D$dr/$a"; done
done

# IOMMU groups.
for g in /sys/kernel/iommu_groups/*; do
    [ -d "$g" ] || continue
    mkdir -p "$D$g/devices"
    for m in "$g"/devices/*; do cplink "$m"; done
    for f in reserved_regions type name; do cpfile "$g/$f"; done
done

# IOMMU units: class links and the real class-device directories.
for u in /sys/class/iommu/*; do
    [ -L "$u" ] || continue
    cplink "$u"
    real=$(readlink -f "$u")
    mkdir -p "$D$real/devices"
    cpattrdirs "$real"
    for m in "$real"/devices/*; do cplink "$m"; done
done

# VFIO class devices (cdevs and groups).
for c in /sys/class/vfio-dev/* /sys/class/vfio/*; do
    [ -L "$c" ] || continue
    cplink "$c"
    real=$(readlink -f "$c")
    cpfile "$real/dev"
done

# Module parameters of built-in VFIO/iommufd code.
for p in /sys/module/vfio/parameters/* /sys/module/vfio_iommu_type1/parameters/* \
    /sys/module/iommufd/parameters/*; do
    cpfile "$p"
done

cpfile /proc/interrupts
cpfile /proc/cmdline

# Device nodes as plain empty files; their numbers in dev-nodes.txt.
for f in /dev/vfio/* /dev/vfio/devices/* /dev/iommu; do
    [ -c "$f" ] || continue
    mkdir -p "$D${f%/*}"
    : >"$D$f"
    echo "$f $(stat -c '%t:%T %a' "$f")" >>"$D/dev-nodes.txt"
done
exit 0

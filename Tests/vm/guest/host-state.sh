# host-state.sh — sourced by soak.sh and cost.sh: `state` prints everything hiodctl must
# never change (driver bindings, driver_override, groups, VFIO nodes), to compare before
# and after.
state() {
    for d in /sys/bus/pci/devices/*; do
        drv=-
        [ -L "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
        echo "${d##*/} driver=$drv override=$(cat "$d/driver_override" 2>/dev/null)"
    done
    ls /sys/kernel/iommu_groups /sys/class/iommu /dev/vfio /dev/vfio/devices 2>&1
}

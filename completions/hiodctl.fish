# hiodctl(8) completion for fish
#
# Completes hiodctl's commands, the global options (anywhere on the line), each
# command's own options after the command, option values (vIOMMU models, backends,
# QEMU releases, on|off properties, granules, machine types) and PCI devices read live
# from ${SYSROOT}/sys/bus/pci/devices, honouring a --sysroot DIR already on the line, or
# from the snapshot of a --host FILE on it (its devices, not the live host's).
# caps and check offer the devices bound to a VFIO driver (all devices when none is).
#
# Install: copy to ~/.config/fish/completions/hiodctl.fish (one user) or to
# /usr/share/fish/vendor_completions.d/hiodctl.fish (system-wide).
#
# Kept in step with Sources/hiodctl/CLI/OptionTable.swift by
# Tests/hiodctlTests/CompletionTests.swift.
#
# SPDX-License-Identifier: GPL-2.0-or-later

# Walks the line before the cursor as hiodctl's parser does (global options anywhere,
# the first bare word is the command, `--` ends the options) and prints the command,
# or nothing before it. With sysroot (or snapshot), prints --sysroot's value (or the
# first --host's) instead.
function __hiodctl_parse --argument-names want
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l command
    set -l sysroot
    set -l snapshot
    set -l expect
    set -l ddash 0
    for token in $tokens
        if test -n "$expect"
            test "$expect" = --sysroot; and set sysroot $token
            test "$expect" = --host; and test -z "$snapshot"; and set snapshot $token
            set expect
            continue
        end
        if test $ddash = 1; or not string match -q -- '-*' $token; or test "$token" = -
            test -z "$command"; and set command $token
            continue
        end
        switch $token
            case --
                set ddash 1
            case '--sysroot=*'
                set sysroot (string replace -- --sysroot= '' $token)
            case '--host=*'
                test -z "$snapshot"; and set snapshot (string replace -- --host= '' $token)
            case '--*=*'
            case --sysroot --host
                set expect $token
            case --slot --id
                test "$command" = list; and set expect $token
            case --backend
                contains -- "$command" caps check export; and set expect $token
            case --viommu --domain --qemu --machine --aw-bits --caching-mode --x-scalable-mode \
                    --scalable-mode --fs1gp --pasid-bits --granule --oas --ssidsize --ril --ats --dma-remap
                test "$command" = check; and set expect $token
            case --output
                contains -- "$command" snapshot export; and set expect $token
            case --format
                test "$command" = export; and set expect $token
            case '--*'
            case '-*'
                # Short flags bundle; a value-taking letter as the last one wants the
                # next word (-ns SLOT), otherwise its value is attached (-s00:02.0).
                set -l shorts
                switch "$command"
                    case list
                        set shorts s d
                    case snapshot export
                        set shorts o
                end
                set -l letters (string split '' -- (string sub -s 2 -- $token))
                for i in (seq (count $letters))
                    if contains -- $letters[$i] $shorts
                        test $i -eq (count $letters); and set expect -$letters[$i]
                        break
                    end
                end
        end
    end
    switch $want
        case sysroot
            set sysroot (string replace -r '^~(?=/|$)' $HOME -- $sysroot)
            test -n "$sysroot"; or set sysroot /
            echo $sysroot
        case snapshot
            string replace -r '^~(?=/)' $HOME -- $snapshot
        case ddash
            echo $ddash
        case '*'
            echo $command
    end
end

# True before the command.
function __hiodctl_needs_command
    test -z (__hiodctl_parse command)
end

# True after one of the commands $argv.
function __hiodctl_using
    contains -- (__hiodctl_parse command) $argv
end

# True where a BDF argument may go: after caps, or after check without --all.
function __hiodctl_wants_bdf
    set -l command (__hiodctl_parse command)
    test "$command" = caps; and return 0
    test "$command" = check; or return 1
    not contains -- --all (commandline -opc)
end

# PCI devices under ${SYSROOT}/sys/bus/pci/devices, each with its driver. $argv[1]:
# vfio (the devices bound to a VFIO driver, else every device), all, or ids (the
# vendor:device pairs).
function __hiodctl_devices --argument-names mode
    set -l dir (string replace -r '/$' '' -- (__hiodctl_parse sysroot))/sys/bus/pci/devices
    set -l snapshot (__hiodctl_parse snapshot)
    set -l all
    set -l vfio
    set -l ids
    if test -n "$snapshot"
        # Its "list" document: pretty JSON with sorted keys, so each device's bdf, driver
        # and IDs come before its vfio_bound.
        test -f "$snapshot" -a -r "$snapshot"; or return 0
        set -l bdf
        set -l driver
        set -l vendor
        set -l device_id
        while read -l line
            if set -l m (string match -r -- '"bdf" : "([^"]*)"' $line)
                set bdf $m[2]
            else if set -l m (string match -r -- '"driver" : "([^"]*)"' $line)
                set driver $m[2]
            else if string match -q -- '*"driver" : null*' $line
                set driver
            else if set -l m (string match -r -- '"device_id" : "([^"]*)"' $line)
                set device_id $m[2]
            else if set -l m (string match -r -- '"vendor_id" : "([^"]*)"' $line)
                set vendor $m[2]
            else if string match -q -- '*"vfio_bound" : *' $line; and test -n "$bdf"
                if test -n "$driver"
                    set -a all $bdf\t$driver
                else
                    set -a all $bdf\t'no driver'
                end
                string match -q -- '*"vfio_bound" : true*' $line; and set -a vfio $bdf\t$driver
                test -n "$vendor" -a -n "$device_id"; and set -a ids $vendor:$device_id
                set bdf
                set driver
                set vendor
                set device_id
            end
        end <$snapshot
    else
        for device in $dir/*
            set -l bdf (string replace -r '.*/' '' -- $device)
            # The driver is the basename of the `driver` link (vfio-pci or a variant driver).
            set -l driver
            test -L $device/driver; and set driver (string replace -r '.*/' '' -- (readlink -- $device/driver))
            if test -n "$driver"
                set -a all $bdf\t$driver
            else
                set -a all $bdf\t'no driver'
            end
            string match -q -- '*vfio*' "$driver"; and set -a vfio $bdf\t$driver
            if test "$mode" = ids
                and read -l vendor <$device/vendor 2>/dev/null
                and read -l device_id <$device/device 2>/dev/null
                set -a ids (string replace 0x '' -- $vendor):(string replace 0x '' -- $device_id)
            end
        end
    end
    switch $mode
        case ids
            printf '%s\n' $ids | sort -u
        case vfio
            if set -q vfio[1]
                printf '%s\n' $vfio
            else
                printf '%s\n' $all
            end
        case '*'
            printf '%s\n' $all
    end
end

# *.json files and the directories on the way to them (fish's __fish_complete_suffix
# also lists every other file).
function __hiodctl_json_files
    __fish_complete_suffix .json | string match -r -- '^[^\t]*(?:\.json|/)(?:\t.*)?$'
end

complete -c hiodctl -f

# Commands.
complete -c hiodctl -n __hiodctl_needs_command -a list -d 'list PCI devices with IOMMU group, driver, VFIO nodes and group viability'
complete -c hiodctl -n __hiodctl_needs_command -a caps -d "realize each device's HostIOMMUDevice and report its capabilities"
complete -c hiodctl -n __hiodctl_needs_command -a check -d "predict QEMU's verdict on each device behind a vIOMMU"
complete -c hiodctl -n __hiodctl_needs_command -a host -d 'say whether this host can assign devices at all (PASS, WARN or FAIL per prerequisite)'
complete -c hiodctl -n __hiodctl_needs_command -a snapshot -d 'record the whole host and every VFIO device as one JSON document'
complete -c hiodctl -n __hiodctl_needs_command -a export -d 'write fleet facts: NFD labels, Prometheus metrics or Ansible facts'

# Global options, anywhere.
complete -c hiodctl -l sysroot -x -a '(__fish_complete_directories)' -d 'read sysfs, /dev, /proc and pci.ids under DIR'
complete -c hiodctl -l host -x -a '(__hiodctl_json_files)' -d 'answer from a snapshot instead of this host (repeat for a pool; - reads stdin)'
complete -c hiodctl -l json -d 'print one JSON document'
complete -c hiodctl -s n -l numeric -d 'show numeric IDs only (-nn: names and numbers, as lspci)'
complete -c hiodctl -s h -l help -d "show help (after a command: its help)"
complete -c hiodctl -l version -d 'print the version and exit'

# list
complete -c hiodctl -n '__hiodctl_using list' -s s -l slot -x -a '(__hiodctl_devices all)' -d 'only devices in this slot (as lspci -s)'
complete -c hiodctl -n '__hiodctl_using list' -s d -l id -x -a '(__hiodctl_devices ids)' -d 'only devices with these IDs (as lspci -d)'
complete -c hiodctl -n '__hiodctl_using list' -l vfio -d 'only devices bound to a VFIO driver'

# caps and check take BDFs, preferring devices bound to a VFIO driver.
complete -c hiodctl -n __hiodctl_wants_bdf -a '(__hiodctl_devices vfio)'

# caps, check and export
complete -c hiodctl -n '__hiodctl_using caps check' -l backend -x -a 'auto legacy iommufd sysfs' -d 'how to realize the HostIOMMUDevice'
complete -c hiodctl -n '__hiodctl_using export' -l backend -x -a 'sysfs auto legacy iommufd' -d 'how to realize the HostIOMMUDevice (default sysfs)'
complete -c hiodctl -n '__hiodctl_using caps check snapshot export' -l force -d 'let the iommufd backend bind a device whose reset_method is a bus reset'
complete -c hiodctl -n '__hiodctl_using snapshot' -l iommufd -d 'also realize each device through iommufd (its bind resets the device)'

# check and host
complete -c hiodctl -n '__hiodctl_using check host' -s q -l quiet -d 'verdicts only (host: only the WARN and FAIL lines)'

# check
complete -c hiodctl -n '__hiodctl_using check' -l viommu -x -a 'intel virtio smmuv3 amd none' -d 'the vIOMMU model (required)'
complete -c hiodctl -n '__hiodctl_using check' -l all -d 'every device bound to a VFIO driver'
complete -c hiodctl -n '__hiodctl_using check' -l domain -r -F -d "the VM of a libvirt domain's XML (virsh dumpxml; - reads stdin)"
complete -c hiodctl -n '__hiodctl_using check' -l qemu -x -a '(command hiodctl check --qemu help 2>/dev/null)' -d 'QEMU release whose defaults and rules apply'
complete -c hiodctl -n '__hiodctl_using check' -l machine -x -a 'q35 pc-q35-9.1 pc-q35-10.0 pc-i440fx-10.0 virt virt-10.0' -d 'machine type whose compat defaults apply'
complete -c hiodctl -n '__hiodctl_using check' -l suggest -d 'print the strongest configuration all selected devices accept'
complete -c hiodctl -n '__hiodctl_using check' -l aw-bits -x -a '39 48' -d 'intel aw-bits (virtio: 32-64)'
complete -c hiodctl -n '__hiodctl_using check' -l caching-mode -x -a 'on off' -d 'intel caching-mode'
complete -c hiodctl -n '__hiodctl_using check' -l x-scalable-mode -x -a 'on off' -d 'intel x-scalable-mode (QEMU 7.2–11.0)'
complete -c hiodctl -n '__hiodctl_using check' -l scalable-mode -x -a 'on off' -d 'intel scalable-mode (QEMU 11.1)'
complete -c hiodctl -n '__hiodctl_using check' -l x-flts -d 'intel x-flts=on: first-stage translation (QEMU 10.0–11.0)'
complete -c hiodctl -n '__hiodctl_using check' -l fsts -d 'intel fsts=on: first-stage translation (QEMU 11.1)'
complete -c hiodctl -n '__hiodctl_using check' -l fs1gp -x -a 'on off' -d 'intel fs1gp (with first-stage translation)'
complete -c hiodctl -n '__hiodctl_using check' -l pasid-bits -x -d 'intel pasid-bits (QEMU 11.1)'
complete -c hiodctl -n '__hiodctl_using check' -l granule -x -a '4k 8k 16k 64k host' -d 'virtio granule'
complete -c hiodctl -n '__hiodctl_using check' -l accel -d 'smmuv3 accel=on: host-backed nested SMMUv3'
complete -c hiodctl -n '__hiodctl_using check' -l oas -x -a '44 48' -d 'smmuv3 oas'
complete -c hiodctl -n '__hiodctl_using check' -l ssidsize -x -d 'smmuv3 ssidsize (0-20)'
complete -c hiodctl -n '__hiodctl_using check' -l ril -x -a 'on off' -d 'smmuv3 ril'
complete -c hiodctl -n '__hiodctl_using check' -l ats -x -a 'on off' -d 'smmuv3 ats'
complete -c hiodctl -n '__hiodctl_using check' -l dma-remap -x -a 'on off' -d 'amd dma-remap'

# snapshot and export
complete -c hiodctl -n '__hiodctl_using snapshot export' -s o -l output -r -F -d 'write to FILE atomically instead of stdout (- is stdout)'
complete -c hiodctl -n '__hiodctl_using export' -l format -x -a 'nfd prometheus ansible' -d 'the export format (required)'

// hiodctl — the one table of commands and options: the parser, --help, the man-page
// test and the completion tests all read it.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

/// Every option hiodctl knows, by identity (spellings live in `OptionSpec`). The vIOMMU
/// properties are one option per QEMU name in the property table (`--x-flts`, `--fsts`).
enum OptionID: Hashable, Sendable {
  case sysroot, json, numeric, help, version
  case slot, id, vfio
  case backend
  case viommu, qemu, machine, all, suggest, domain
  case host, output, format
  /// A vIOMMU property, by the QEMU name the option spells (`aw-bits`, `x-scalable-mode`).
  case property(String)
}

extension OptionID {
  /// How the user spells it (`--viommu`).
  var spelling: String { OptionTable.allOptions.first { $0.id == self }?.long ?? "\(self)" }
}

/// Where an option appears in help and in the man page (lspci's `.SS` groups).
enum OptionGroup: String, Sendable, CaseIterable {
  case global = "GLOBAL OPTIONS"
  case selection = "DEVICE SELECTION"
  case realize = "REALIZE OPTIONS"
  case check = "CHECK OPTIONS"
  case viommu = "VIOMMU PROPERTIES"
  case output = "OUTPUT OPTIONS"
}

/// What an option's value is, for validation and completion.
enum ValueKind: Sendable, Equatable {
  /// A directory or file path.
  case path
  /// Free text validated by the command (filters, BDFs).
  case text
  /// One of a fixed set of words.
  case choice([String])
}

/// One option: its spellings, its value, its help line.
struct OptionSpec: Sendable {
  let id: OptionID
  /// `--sysroot`.
  let long: String
  /// `n` for `-n`.
  let short: Character?
  /// nil for a flag; otherwise the placeholder shown in help (`DIR`) and the value kind.
  let metaVar: String?
  let valueKind: ValueKind?
  let help: String
  let group: OptionGroup
  /// Given several times, every value counts (`--host a --host b`); otherwise the last wins.
  let repeatable: Bool

  init(
    _ id: OptionID, long: String, short: Character? = nil, metaVar: String? = nil,
    value: ValueKind? = nil, group: OptionGroup, repeatable: Bool = false, help: String
  ) {
    self.id = id
    self.long = long
    self.short = short
    self.metaVar = metaVar
    self.valueKind = metaVar == nil ? nil : (value ?? .text)
    self.help = help
    self.group = group
    self.repeatable = repeatable
  }

  var takesValue: Bool { metaVar != nil }

  /// Every spelling: `["-n", "--numeric"]`.
  var spellings: [String] { (short.map { ["-\($0)"] } ?? []) + [long] }

  /// `-s, --slot SLOT` as help shows it.
  var label: String {
    let names = spellings.joined(separator: ", ")
    return metaVar.map { "\(names) \($0)" } ?? names
  }

  /// How an error names it: `'--sysroot DIR'`.
  var quotedForError: String { "'\(metaVar.map { "\(long) \($0)" } ?? long)'" }
}

/// The positional arguments a command accepts.
enum PositionalSpec: Sendable {
  case none
  /// At least `minimum` arguments, described by `metaVar` (`BDF...`).
  case list(metaVar: String, minimum: Int)
}

/// Every command, by identity; `main` switches over it exhaustively, so a command in
/// the table cannot lack an implementation.
enum CommandID: String, Sendable, CaseIterable {
  case list, caps, check, snapshot, export
}

/// A subcommand.
struct CommandSpec: Sendable {
  let id: CommandID
  var name: String { id.rawValue }
  /// One line for the command list in `hiodctl --help`.
  let summary: String
  /// The paragraph under OVERVIEW in `hiodctl <command> --help`.
  let overview: String
  let options: [OptionSpec]
  let positionals: PositionalSpec
  /// Worked examples, shown in the command's help.
  let examples: [(command: String, explanation: String)]

  /// `list [-s SLOT] [-d VENDOR:DEVICE] [--vfio]`.
  var synopsis: String {
    var parts = [name]
    for option in options {
      let shown = option.short.map { "-\($0)" } ?? option.long
      parts.append("[\(option.metaVar.map { "\(shown) \($0)" } ?? shown)]")
    }
    if case .list(let metaVar, let minimum) = positionals {
      parts.append(minimum > 0 ? metaVar : "[\(metaVar)]")
    }
    return parts.joined(separator: " ")
  }
}

/// The command-line interface as data.
enum OptionTable {
  static let globalOptions: [OptionSpec] = [
    OptionSpec(
      .sysroot, long: "--sysroot", metaVar: "DIR", value: .path, group: .global,
      help: "read sysfs, /dev, /proc and pci.ids under DIR instead of /"),
    OptionSpec(
      .json, long: "--json", group: .global,
      help: "print one JSON document (the stable contract for scripts)"),
    OptionSpec(
      .numeric, long: "--numeric", short: "n", group: .global,
      help: "show numeric IDs only; do not look names up"),
    OptionSpec(
      .host, long: "--host", metaVar: "FILE", value: .path, group: .global, repeatable: true,
      help: "answer from a snapshot instead of this host (repeat for a pool)"),
    OptionSpec(
      .help, long: "--help", short: "h", group: .global,
      help: "show help (after a command: that command's help)"),
    OptionSpec(
      .version, long: "--version", group: .global, help: "print the version and exit"),
  ]

  static let list = CommandSpec(
    id: .list,
    summary: "list PCI devices with IOMMU group, driver, VFIO nodes and group viability",
    overview: """
      Lists every PCI device (through libpci) with its IOMMU group, bound driver, VFIO \
      group node (/dev/vfio/N or noiommu-N), VFIO cdev (/dev/vfio/devices/vfioM) and \
      whether its group is viable for VFIO: every member bound to a VFIO driver, a \
      DMA-free driver (pci-stub, pcieport) or none. A host summary names the IOMMU \
      units, /dev/vfio/vfio and /dev/iommu, interrupt remapping, and diagnoses hosts \
      where device assignment cannot work. A filter that matches nothing exits with 3.
      """,
    options: [
      OptionSpec(
        .slot, long: "--slot", short: "s", metaVar: "SLOT", group: .selection,
        help: "only devices in [[[[domain]:]bus]:][device][.[func]] (lspci -s)"),
      OptionSpec(
        .id, long: "--id", short: "d", metaVar: "VENDOR:DEVICE", group: .selection,
        help: "only devices with [vendor]:[device][:class[:progif]] (lspci -d)"),
      OptionSpec(
        .vfio, long: "--vfio", group: .selection,
        help: "only devices bound to a VFIO driver"),
    ],
    positionals: .none,
    examples: [
      ("hiodctl list", "every device, with a host summary"),
      ("hiodctl list --vfio", "only devices bound to vfio-pci (or a variant driver)"),
      ("hiodctl list -d 8086: -s 00:02", "Intel devices in slot 00:02, as lspci filters"),
      ("hiodctl --json list | jq '.groups[] | select(.viable | not)'", "non-viable groups"),
    ])

  static let caps = CommandSpec(
    id: .caps,
    summary: "realize each device's HostIOMMUDevice as QEMU does and report its capabilities",
    overview: """
      Opens the device's VFIO group in a type1 container (legacy) or its VFIO cdev with \
      /dev/iommu (iommufd), realizes the HostIOMMUDevice QEMU would, and reports its \
      capabilities with where each value came from: aw_bits (computed as QEMU does, from \
      the last usable IOVA range), the IOVA ranges, the page-size mask, and for iommufd \
      the hw_info type, capabilities, vendor registers and whether a nesting-parent HWPT \
      can be allocated. Everything opened or allocated is released again. When the \
      kernel cannot answer (no privileges, the device busy or not on vfio-pci) it says \
      why and predicts from sysfs instead, labelled as a prediction; the exit status is \
      then 2. The iommufd backend binds the device, which opens it in the kernel as \
      QEMU's own bind does.
      """,
    options: [backend],
    positionals: .list(metaVar: "BDF...", minimum: 1),
    examples: [
      ("hiodctl caps 0000:01:00.0", "realize with the best backend and show the capabilities"),
      ("hiodctl caps --backend legacy 01:00.0", "the VFIO group and type1 container path only"),
      ("hiodctl caps --backend sysfs 01:00.0", "predict without privileges or kernel objects"),
      ("hiodctl --json caps 01:00.0 | jq .devices[0].host_iommu_device.aw_bits", "aw_bits for a script"),
    ])

  /// `--backend`, shared by caps and check.
  static let backend = OptionSpec(
    .backend, long: "--backend", metaVar: "BACKEND",
    value: .choice(BackendChoice.allCases.map(\.rawValue)), group: .realize,
    help: "auto (legacy, which never opens the device), legacy, iommufd (binds and resets it) or sysfs")

  static let onOff = ValueKind.choice(["on", "off"])

  /// One option per QEMU property name any known release has, from the property table:
  /// `--aw-bits N`, `--x-scalable-mode on|off`, `--scalable-mode on|off`, `--x-flts`, `--fsts`…
  static let propertyOptions: [OptionSpec] = VIOMMUProperties.allNames.map { name in
    let rows = VIOMMUProperties.rows.filter { row in row.spellings.contains { $0.name == name } }
    let row = rows[0]
    let models = rows.map(\.model.rawValue).joined(separator: ", ")
    let releases = row.spellings.first { $0.name == name }.map { " (QEMU \($0.span))" } ?? ""
    let help = rows.count > 1 ? row.help : "\(row.help)\(releases)"
    _ = models
    switch row.kind {
    case .onOff:
      return OptionSpec(.property(name), long: "--\(name)", metaVar: "on|off", value: onOff, group: .viommu, help: help)
    case .flag:
      return OptionSpec(.property(name), long: "--\(name)", group: .viommu, help: help)
    case .bits:
      return OptionSpec(.property(name), long: "--\(name)", metaVar: "N", group: .viommu, help: help)
    case .choice(let words):
      return OptionSpec(
        .property(name), long: "--\(name)", metaVar: "SIZE", value: .choice(words), group: .viommu, help: help)
    }
  }

  static let check = CommandSpec(
    id: .check,
    summary: "predict QEMU's verdict on a VM with assigned devices behind a vIOMMU, with every reason and the fix",
    overview: """
      Realizes each device's HostIOMMUDevice as caps does, then runs what QEMU does at \
      start-up in QEMU's order and says what QEMU will do: refuse to start (quoting the \
      error QEMU prints for that command line), start with the devices working, or start \
      with a device's DMA failing. Per device it gives every reason with QEMU's own \
      message, the releases it applies to, the evidence with its provenance, and a fix to \
      paste: the QEMU -device option, the libvirt <iommu> element, or the host-side change. \
      The VM is given with flags (the devices in order; they stand for `qemu-system-x86_64 \
      -nodefaults -device VIOMMU -device vfio-pci,host=BDF...`, printed as "as:") or as a \
      QEMU command line after --, program first. Properties are named as QEMU names them \
      in each release; unset ones take QEMU's defaults for the release and machine type. \
      Without --qemu, the QEMU this host would run (never a program the input names, \
      unless it is a root-owned system binary). --suggest prints the strongest \
      configuration every selected device accepts. Exit status: 0 QEMU starts and the \
      devices work, 1 it refuses or a device's DMA fails, 2 otherwise undetermined.
      """,
    options: [
      OptionSpec(
        .viommu, long: "--viommu", metaVar: "MODEL", value: .choice(VIOMMUModel.allCases.map(\.rawValue)),
        group: .check, help: "intel, virtio, smmuv3, amd or none (required, unless a command line follows --)"),
      OptionSpec(
        .all, long: "--all", group: .check, help: "every device bound to a VFIO driver, each in a VM of its own"),
      OptionSpec(
        .domain, long: "--domain", metaVar: "FILE", value: .path, group: .check,
        help: "the VM of a libvirt domain's XML (virsh dumpxml; - reads stdin)"),
      OptionSpec(
        .qemu, long: "--qemu", metaVar: "VERSION", group: .check,
        help: "QEMU whose names, defaults and rules apply: "
          + QEMUVersion.known.map(\.description).joined(separator: ", ")
          + " (default: the host's, else \(QEMUVersion.newest))"),
      OptionSpec(
        .machine, long: "--machine", metaVar: "TYPE", group: .check,
        help: "machine type whose compat defaults apply (pc-q35-9.1, q35, virt-10.0)"),
      backend,
      OptionSpec(
        .suggest, long: "--suggest", group: .check,
        help: "print the strongest configuration all selected devices accept"),
    ] + propertyOptions,
    positionals: .list(metaVar: "BDF...", minimum: 0),
    examples: [
      ("hiodctl check --viommu intel --aw-bits 48 0000:01:00.0", "will aw-bits=48 work for this device?"),
      ("hiodctl check --viommu intel --all", "every VFIO-bound device behind QEMU's default intel-iommu"),
      ("hiodctl check --viommu intel --qemu 9.1 --all", "the same with QEMU 9.1's defaults (aw-bits 39)"),
      ("hiodctl check --viommu intel --qemu 10.0 --x-scalable-mode on --x-flts --backend iommufd --all",
       "can the devices use nested first-stage translation? (11.1 spells it --scalable-mode on --fsts)"),
      ("hiodctl check -- qemu-system-x86_64 -M q35 -device intel-iommu,caching-mode=on -device vfio-pci,host=01:00.0",
       "the VM of a QEMU command line, with QEMU's own defaults"),
      ("hiodctl check --viommu intel --suggest --all", "the strongest intel-iommu all devices accept"),
      ("hiodctl --json check --viommu virtio --all | jq '.devices[].status'", "verdicts for a script"),
    ])

  static let output = OptionSpec(
    .output, long: "--output", short: "o", metaVar: "FILE", value: .path, group: .output,
    help: "write to FILE atomically (a hidden file, then rename) instead of stdout")

  static let snapshot = CommandSpec(
    id: .snapshot,
    summary: "record the whole host, and every VFIO device through each backend, as one JSON document",
    overview: """
      Records what list shows, and for every device bound to a VFIO driver the \
      HostIOMMUDevice each backend realizes (legacy, iommufd, and the sysfs prediction), \
      with provenance, plus the kernel version, the hostname and the time. Any command \
      answers from snapshots with --host FILE: a support engineer reads a customer's host \
      offline, and check --host a.json --host b.json answers for a live-migration pool. \
      The iommufd backend binds each device, which opens it as QEMU's bind does.
      """,
    options: [output],
    positionals: .none,
    examples: [
      ("hiodctl snapshot -o host-a.json", "record this host"),
      ("hiodctl --host host-a.json list", "answer from the record later, anywhere"),
      ("hiodctl check --host a.json --host b.json --viommu intel --suggest --all",
       "the strongest intel-iommu every host of a pool accepts, and which host limits it"),
    ])

  static let export = CommandSpec(
    id: .export,
    summary: "write fleet facts: NFD feature labels, Prometheus textfile metrics or Ansible facts",
    overview: """
      Summarizes the host for fleet tooling: the IOMMU vendor, iommufd availability, \
      interrupt remapping, the VFIO-bound devices, the narrowest host aw_bits among them, \
      and which vIOMMU models (and which intel aw-bits) all of them accept. nfd writes \
      node-feature-discovery local feature lines; prometheus writes the textfile \
      collector's exposition format; ansible writes facts JSON and always exits 0, with \
      any error inside. With -o the file is replaced atomically, so nfd-worker and \
      node_exporter never read half a file; schedule it with cron or a systemd timer. \
      Devices are realized with --backend sysfs unless told otherwise: no device is \
      opened and no privileges are needed.
      """,
    options: [
      OptionSpec(
        .format, long: "--format", metaVar: "FORMAT", value: .choice(["nfd", "prometheus", "ansible"]),
        group: .output, help: "nfd, prometheus or ansible (required)"),
      output,
      backend,
    ],
    positionals: .none,
    examples: [
      ("hiodctl export --format nfd -o /etc/kubernetes/node-feature-discovery/features.d/hiodctl",
       "NFD local features (nfd-worker reads the directory)"),
      ("hiodctl export --format prometheus -o /var/lib/node_exporter/textfile/hiodctl.prom",
       "node_exporter textfile collector"),
      ("hiodctl export --format ansible -o /etc/ansible/facts.d/hiodctl.fact", "Ansible local facts"),
    ])

  /// Every command, in help order.
  static let commands: [CommandSpec] = [list, caps, check, snapshot, export]

  static func command(named name: String) -> CommandSpec? {
    commands.first { $0.name == name }
  }

  /// Every option of every command and the globals (for suggestions and doc tests).
  static var allOptions: [OptionSpec] {
    globalOptions + commands.flatMap(\.options)
  }
}

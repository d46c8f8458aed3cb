// hiodctl — the one table of commands and options: the parser, --help, the man-page
// test and the completion tests all read it.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

/// Every option hiodctl knows, by identity (spellings live in `OptionSpec`). The vIOMMU
/// properties are one option per QEMU name in the property table (`--x-flts`, `--fsts`).
enum OptionID: Hashable, Sendable {
  case sysroot, json, numeric, help, version
  case slot, id, vfio
  case backend, force
  /// snapshot's opt-in to the iommufd backend.
  case iommufd
  case viommu, qemu, machine, all, suggest, domain
  case host, output, format
  case quiet
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

/// What giving an option more than once means.
enum RepeatPolicy: Sendable, Equatable {
  /// A usage error: `--viommu intel --viommu virtio` must not silently mean virtio.
  case refuse
  /// Every value counts, in order (`--host a --host b`; `-s`/`-d`, which merge as in lspci).
  case collect
  /// A flag whose count matters (`-n` numbers only, `-nn` names and numbers, as in lspci).
  case count(maximum: Int)
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
  /// What giving it twice means; a repeated flag is harmless and allowed.
  let repeatPolicy: RepeatPolicy
  /// Shown without brackets in the synopsis (`--viommu MODEL`, `--format FORMAT`); the
  /// command enforces it, because another input can stand in for it.
  let required: Bool

  init(
    _ id: OptionID, long: String, short: Character? = nil, metaVar: String? = nil,
    value: ValueKind? = nil, group: OptionGroup, repeatable: Bool = false, repeatPolicy: RepeatPolicy? = nil,
    required: Bool = false, help: String
  ) {
    self.id = id
    self.long = long
    self.short = short
    self.metaVar = metaVar
    self.valueKind = metaVar == nil ? nil : (value ?? .text)
    self.help = help
    self.group = group
    self.repeatPolicy = repeatPolicy ?? (repeatable ? .collect : .refuse)
    self.required = required
  }

  /// Given several times, every value counts.
  var repeatable: Bool { repeatPolicy == .collect }

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
  case list, caps, check, host, snapshot, export
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
      let text = option.metaVar.map { "\(shown) \($0)" } ?? shown
      parts.append(option.required ? text : "[\(text)]")
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
      .numeric, long: "--numeric", short: "n", group: .global, repeatPolicy: .count(maximum: 2),
      help: "show numeric IDs only, without names (-nn: names and numbers, as lspci)"),
    OptionSpec(
      .host, long: "--host", metaVar: "FILE", value: .path, group: .global, repeatable: true,
      help: "answer from a snapshot instead of this host (repeat for a pool; - reads stdin)"),
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
      units, /dev/vfio/vfio and /dev/iommu, interrupt remapping, and the WARN and FAIL \
      lines of 'hiodctl host' in its words. Non-viable groups are explained when they \
      hold a VFIO-bound device, the rest counted in one line. A filter that matches \
      nothing exits with 3, and so do IOMMU groups that cannot be read.
      """,
    options: [
      OptionSpec(
        .slot, long: "--slot", short: "s", metaVar: "SLOT", group: .selection, repeatable: true,
        help: "only devices in [[[[domain]:]bus]:][device][.[func]] (lspci -s; repeated, they merge)"),
      OptionSpec(
        .id, long: "--id", short: "d", metaVar: "VENDOR:DEVICE", group: .selection, repeatable: true,
        help: "only devices with [vendor]:[device][:class[:progif]] (lspci -d; repeated, they merge)"),
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
      then 2 (with --backend sysfs the prediction is what was asked for, and 0). The \
      iommufd backend binds the device, which opens it in the kernel as QEMU's own bind \
      does, and the kernel resets the device on open and again on close: hiodctl says so \
      on stderr first, with the device's reset_method, and refuses a bus reset unless \
      --force. The default (auto) uses the legacy container, which never opens the device.
      """,
    options: [backend, force],
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
    help: "auto (the default: legacy, which never opens the device), legacy, iommufd (binds and resets it) or sysfs")

  /// `--force`: the iommufd bind of a device whose reset reaches past it.
  static let force = OptionSpec(
    .force, long: "--force", group: .realize,
    help: "let the iommufd backend bind a device whose reset_method is a bus reset (it resets the whole bus)")

  /// export's `--backend`: the same choices, another default.
  static let exportBackend = OptionSpec(
    .backend, long: "--backend", metaVar: "BACKEND",
    value: .choice(BackendChoice.allCases.map(\.rawValue)), group: .realize,
    help: "sysfs (the default: a prediction, no device opened, no privileges), auto, legacy or iommufd")

  /// `-q, --quiet`, for check and host.
  static let quiet = OptionSpec(
    .quiet, long: "--quiet", short: "q", group: .output,
    help: "verdicts only: check prints one line per device and the summary; host only its WARN and FAIL lines")

  /// Machine types shown as examples in help, errors, the man page and the completions.
  static let machineExamples = ["q35", "pc-q35-9.1", "pc-q35-10.0", "pc-i440fx-10.0", "virt", "virt-10.0"]

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
      devices work, 1 it refuses or a device's DMA fails, 2 otherwise undetermined \
      (including a fallback to a sysfs prediction; with --backend sysfs the prediction \
      is the answer asked for); with --suggest, the suggested configuration's verdict \
      over every device. -q prints the verdicts only, and a summary line ends any \
      report of several devices.
      """,
    options: [
      OptionSpec(
        .viommu, long: "--viommu", metaVar: "MODEL", value: .choice(VIOMMUModel.allCases.map(\.rawValue)),
        group: .check, required: true,
        help: "intel, virtio, smmuv3, amd or none (required, unless --domain or a command line after -- says it)"),
      OptionSpec(
        .all, long: "--all", group: .check, help: "every device bound to a VFIO driver, each in a VM of its own"),
      OptionSpec(
        .domain, long: "--domain", metaVar: "FILE", value: .path, group: .check,
        help: "the VM of a libvirt domain's XML (virsh dumpxml; - reads stdin)"),
      OptionSpec(
        .qemu, long: "--qemu", metaVar: "VERSION", group: .check,
        help: "QEMU whose names, defaults and rules apply: \(QEMUVersion.oldest) to \(QEMUVersion.newest) "
          + "(default: the host's, else \(QEMUVersion.newest)); help lists the releases known"),
      OptionSpec(
        .machine, long: "--machine", metaVar: "TYPE", group: .check,
        help: "machine type whose compat defaults apply (\(machineExamples.joined(separator: ", ")))"),
      backend,
      force,
      OptionSpec(
        .suggest, long: "--suggest", group: .check,
        help: "print the strongest configuration all selected devices accept (the exit status is its verdict)"),
      quiet,
    ] + propertyOptions,
    positionals: .list(metaVar: "BDF...", minimum: 0),
    examples: [
      ("hiodctl check --viommu intel --aw-bits 48 0000:01:00.0", "will aw-bits=48 work for this device?"),
      ("hiodctl check --viommu intel --all", "every VFIO-bound device behind QEMU's default intel-iommu"),
      ("hiodctl check --viommu intel --qemu 9.1 --all", "the same with QEMU 9.1's defaults (aw-bits 39)"),
      (
        "hiodctl check --viommu intel --qemu 10.0 --x-scalable-mode on --x-flts --backend iommufd --all",
        "can the devices use nested first-stage translation? (11.1 spells it --scalable-mode on --fsts)"
      ),
      (
        "hiodctl check -- qemu-system-x86_64 -M q35 -device intel-iommu,caching-mode=on -device vfio-pci,host=01:00.0",
        "the VM of a QEMU command line, with QEMU's own defaults"
      ),
      ("hiodctl check --viommu intel --suggest --all", "the strongest intel-iommu all devices accept"),
      ("hiodctl --json check --viommu virtio --all | jq '.devices[].status'", "verdicts for a script"),
    ])

  static let output = OptionSpec(
    .output, long: "--output", short: "o", metaVar: "FILE", value: .path, group: .output,
    help:
      """
      write to FILE atomically (a hidden file, then rename; a symlink is written through, the mode kept) \
      instead of stdout; - is stdout
      """
  )

  static let snapshot = CommandSpec(
    id: .snapshot,
    summary: "record the whole host, and every VFIO device through each backend, as one JSON document",
    overview: """
      Records what list shows, and for every device bound to a VFIO driver the \
      HostIOMMUDevice each backend realizes (legacy, the sysfs prediction, and iommufd), \
      with provenance, plus the kernel version, the hostname and the time. Any command \
      answers from snapshots with --host FILE: a support engineer reads a customer's host \
      offline, and check --host a.json --host b.json answers for a live-migration pool. \
      The iommufd answer is recorded only with --iommufd: its bind opens each device, and \
      the kernel resets it (announced on stderr first; a bus reset only with --force).
      """,
    options: [
      output,
      OptionSpec(
        .iommufd, long: "--iommufd", group: .realize,
        help: "also realize each device through iommufd (IOMMU_GET_HW_INFO; its bind resets the device)"),
      force,
    ],
    positionals: .none,
    examples: [
      ("hiodctl snapshot -o host-a.json", "record this host"),
      ("hiodctl --host host-a.json list", "answer from the record later, anywhere"),
      (
        "hiodctl check --host a.json --host b.json --viommu intel --suggest --all",
        "the strongest intel-iommu every host of a pool accepts, and which host limits it"
      ),
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
        group: .output, required: true, help: "nfd, prometheus or ansible (required)"),
      output,
      exportBackend,
      force,
    ],
    positionals: .none,
    examples: [
      (
        "hiodctl export --format nfd -o /etc/kubernetes/node-feature-discovery/features.d/hiodctl",
        "NFD local features (nfd-worker reads the directory)"
      ),
      (
        "hiodctl export --format prometheus -o /var/lib/node_exporter/textfile/hiodctl.prom",
        "node_exporter textfile collector"
      ),
      ("hiodctl export --format ansible -o /etc/ansible/facts.d/hiodctl.fact", "Ansible local facts"),
    ])

  static let host = CommandSpec(
    id: .host,
    summary: "say whether this host can assign devices at all: one PASS, WARN or FAIL line per prerequisite",
    overview: """
      Checks what device assignment needs before any device or vIOMMU matters: an IOMMU \
      and which kind, DMA remapping, interrupt remapping (MSI isolation) or \
      allow_unsafe_interrupts, VFIO's unsafe no-IOMMU mode, the vfio, vfio-pci, \
      vfio_iommu_type1 and iommufd modules, /dev/vfio/vfio and /dev/iommu, the kernel \
      command line, and ACS on the upstream ports of the VFIO-bound devices where sysfs \
      shows it. Each line gives its evidence (the file it read) and, unless it passes, \
      the fix. Everything is read from sysfs, /proc and /dev (or --sysroot, or a \
      snapshot); nothing is opened or changed. Exit status: 0 ready (PASS or WARN), 1 \
      some prerequisite fails, 2 nothing fails but something could not be told (a file \
      unreadable without privileges, or not in the snapshot).
      """,
    options: [quiet],
    positionals: .none,
    examples: [
      ("hiodctl host", "every prerequisite, with evidence and fixes"),
      ("hiodctl host -q && echo ready", "for scripts: only WARN and FAIL lines, and the exit status"),
      ("hiodctl --json host | jq -r '.checks[] | select(.status == \"fail\") | .id'", "the failing prerequisites"),
    ])

  /// Every command, in help order.
  static let commands: [CommandSpec] = [list, caps, check, host, snapshot, export]

  static func command(named name: String) -> CommandSpec? {
    commands.first { $0.name == name }
  }

  /// Every option of every command and the globals (for suggestions and doc tests).
  static var allOptions: [OptionSpec] {
    globalOptions + commands.flatMap(\.options)
  }
}

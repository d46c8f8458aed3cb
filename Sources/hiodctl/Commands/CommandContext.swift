// hiodctl — what every command needs from the global options.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

/// The global options, validated once.
struct CommandContext {
  let root: SystemRoot
  let json: Bool
  let numeric: Bool
  /// Snapshot files given with --host, in order.
  let snapshotFiles: [String]

  init(_ invocation: Invocation) throws {
    snapshotFiles = invocation.allValues(.host)
    if snapshotFiles.filter({ $0 == "-" }).count > 1 {
      throw UsageError(
        message: "--host - given twice: standard input holds one snapshot",
        hints: ["give the other snapshots as files"], command: invocation.command)
    }
    if snapshotFiles.contains("-") && invocation.value(.domain) == "-" {
      throw UsageError(
        message: "--host - and --domain - cannot both read standard input", command: invocation.command)
    }
    if let sysroot = invocation.value(.sysroot) {
      guard snapshotFiles.isEmpty else {
        throw UsageError(
          message: "--sysroot and --host cannot be combined",
          hints: ["--sysroot reads a system tree; --host reads snapshots taken with 'hiodctl snapshot'"],
          command: invocation.command)
      }
      root = try SystemRoot(validating: sysroot)
    } else {
      root = .host
    }
    json = invocation.has(.json)
    // -n: numbers only; -nn: names and numbers, as lspci (which the text shows anyway).
    numeric = invocation.count(.numeric) == 1
    sysrootPath = invocation.value(.sysroot)
  }

  /// --sysroot as given (nil: the live host, or snapshots).
  let sysrootPath: String?

  /// How a hint should tell the user to run hiodctl on the same input.
  var commandPrefix: String { Help.commandPrefix(sysroot: sysrootPath, hosts: snapshotFiles) }

  /// `text` with every `hiodctl list`, `hiodctl host`, `hiodctl caps` and `hiodctl check`
  /// it suggests run on the same input (`hiodctl --sysroot DIR list`): the library's
  /// hints are written for the live host.
  func contextual(_ text: String) -> String {
    guard sysrootPath != nil || !snapshotFiles.isEmpty else { return text }
    var result = text
    for command in ["list", "host", "caps", "check"] {
      result = result.replacing("hiodctl \(command)", with: "\(commandPrefix) \(command)")
    }
    return result
  }

  /// The QEMU this host would run (nil: none installed, or answering from snapshots).
  var hostQEMU: HostQEMU? {
    snapshotFiles.isEmpty ? HostQEMUDetector.detect(root: root) : nil
  }

  /// The hosts to answer for: this host (or the --sysroot tree), or each --host snapshot.
  /// `allowBusReset` (--force): let the iommufd backend bind a device whose reset is a
  /// bus reset.
  func hosts(allowBusReset: Bool = false) throws -> [HostView] {
    if snapshotFiles.isEmpty {
      let inventory = try HostInventory.scan(root, options: .init(resolveNames: !numeric))
      return [
        HostView(
          name: nil, file: nil, sysroot: sysrootPath, inventory: inventory,
          realizer: HostIOMMURealizer(root: root, allowBusReset: allowBusReset), allowBusReset: allowBusReset)
      ]
    }
    return try snapshotFiles.map { file in
      let snapshot = try HostSnapshot.load(file)
      return HostView(
        name: snapshot.metadata.hostname, file: file == "-" ? "<stdin>" : file, sysroot: nil,
        inventory: snapshot.inventory, realizer: snapshot.realizer)
    }
  }
}

/// One host a command answers for.
struct HostView {
  /// The snapshot's hostname; nil for the live host.
  let name: String?
  /// The snapshot file; nil for the live host.
  let file: String?
  /// The --sysroot tree; nil for the live host and snapshots.
  let sysroot: String?
  let inventory: HostInventory
  let realizer: HostIOMMURealizer
  /// --force: a bus reset does not stop the iommufd bind.
  var allowBusReset = false

  /// Realizes `device`; when that binds it to iommufd on the live host, first says on
  /// stderr that the kernel will reset it, and how (never a surprise reset).
  func realize(_ device: PCIDevice, backend choice: BackendChoice, preferIOMMUFD: Bool = false) -> DeviceRealization {
    announceReset(of: device, backend: choice, preferIOMMUFD: preferIOMMUFD)
    return realizer.realize(device, in: inventory, backend: choice, preferIOMMUFD: preferIOMMUFD)
  }

  /// The stderr notice before an iommufd bind (none when a bus reset will be refused:
  /// the refusal is the answer then).
  func announceReset(of device: PCIDevice, backend choice: BackendChoice, preferIOMMUFD: Bool = false) {
    guard let reset = realizer.reset(for: device, in: inventory, backend: choice, preferIOMMUFD: preferIOMMUFD),
      allowBusReset || !reset.reachesBeyondFunction
    else { return }
    Output.notice(reset.notice(for: device))
  }

  /// Where the answer comes from, for messages: `this host`, `the tree ./t`,
  /// `host aw39-guest (a.json)`.
  var place: String {
    if let name { return "host \(name)\(file.map { " (\($0))" } ?? "")" }
    if let sysroot { return "the tree \(sysroot)" }
    return "this host"
  }

  /// `aw39-guest (a.json)`, for headings.
  var title: String { [name, file.map { "(\($0))" }].compactMap { $0 }.joined(separator: " ") }

  /// Prints the host's warnings, prefixed with its name when several hosts are read.
  func reportWarnings(among count: Int) {
    let prefix = count > 1 ? "\(name ?? "host"): " : ""
    Output.warnings(inventory.warnings, prefix: prefix)
  }
}

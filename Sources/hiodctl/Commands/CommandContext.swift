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
    let prefix = commandPrefix
    if let rewritten = Self.prefixingSuggestedCommands(in: text, with: prefix) { return rewritten }
    var result = text
    for command in Self.suggestedCommands {
      result = result.replacing("hiodctl \(command)", with: "\(prefix) \(command)")
    }
    return result
  }

  /// The commands whose suggestions `contextual` rewrites, in the order it rewrites them.
  static let suggestedCommands = ["list", "host", "caps", "check"]

  /// `contextual`'s rewriting in one pass over the bytes (the four `replacing` passes
  /// over `check --all`'s text were a sixth of its instructions), or nil when one pass
  /// might not give the same text:
  /// - `replacing` matches Characters: the same as bytes where every match has ASCII (or
  ///   nothing) on both sides, since only non-ASCII scalars join a cluster with ASCII;
  /// - a later pass also sees what an earlier one inserted: the same when `prefix`
  ///   holds "hiodctl " only where it starts.
  static func prefixingSuggestedCommands(in text: String, with prefix: String) -> String? {
    let marker = Array("hiodctl ".utf8)
    let prefixBytes = Array(prefix.utf8)
    let prefixIsPlain = prefixBytes.withUnsafeBufferPointer {
      $0.starts(with: marker) && firstOffset(of: marker, in: $0, from: 1) == nil
    }
    guard prefixIsPlain else { return nil }
    let commands = suggestedCommands.map { Array($0.utf8) }
    var text = text
    return text.withUTF8 { bytes -> String? in
      var output: [UInt8] = []
      var copied = 0
      var index = 0
      while let found = firstOffset(of: marker, in: bytes, from: index) {
        let after = found + marker.count
        guard let command = commands.first(where: { bytes[after...].starts(with: $0) }) else {
          index = found + 1
          continue
        }
        let end = after + command.count
        if found > 0 && bytes[found - 1] >= 0x80 || end < bytes.count && bytes[end] >= 0x80 { return nil }
        output.append(contentsOf: bytes[copied..<found])
        output.append(contentsOf: prefixBytes)
        output.append(0x20)
        output.append(contentsOf: command)
        copied = end
        index = end
      }
      guard copied > 0 else { return String(decoding: bytes, as: UTF8.self) }
      output.append(contentsOf: bytes[copied...])
      return String(decoding: output, as: UTF8.self)
    }
  }

  /// Where `needle` first starts in `bytes` at or after `start`, or nil.
  private static func firstOffset(of needle: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
    guard let first = needle.first else { return nil }
    var index = start
    while index < bytes.count, let candidate = bytes[index...].firstIndex(of: first) {
      if bytes[candidate...].starts(with: needle) { return candidate }
      index = candidate + 1
    }
    return nil
  }

  /// The QEMU this host would run (nil: none installed, or answering from snapshots).
  var hostQEMU: HostQEMU? {
    snapshotFiles.isEmpty ? HostQEMUDetector.detect(root: root) : nil
  }

  /// The hosts to answer for: this host (or the --sysroot tree), or each --host snapshot.
  /// `allowBusReset` (--force): let the iommufd backend bind a device whose reset is a
  /// bus reset. `scope`: how much of the host or --sysroot tree to read (snapshots
  /// hold what they hold).
  func hosts(allowBusReset: Bool = false, scope: HostInventory.Scope = .complete) throws -> [HostView] {
    if snapshotFiles.isEmpty {
      let inventory = try HostInventory.scan(root, options: .init(resolveNames: !numeric, scope: scope))
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

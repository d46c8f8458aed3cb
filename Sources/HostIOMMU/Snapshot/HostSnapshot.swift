// hiodctl — a host captured as one JSON document, and answered from again later:
// offline support, and pool-wide answers over several hosts.
// SPDX-License-Identifier: GPL-2.0-or-later

import FoundationEssentials
import Glibc

/// What one backend did for one device.
///
/// `indirect`: the payloads are large and boxing them makes a copy one retain; the
/// inline multi-payload layout's generated copy also read payload padding, which
/// valgrind reported as use of uninitialised memory (scripts/memcheck).
package indirect enum RealizeOutcome: Hashable, Sendable {
  case realized(HostIOMMUDevice)
  case failed(RealizeFailure)
}

/// Where and when a snapshot was taken.
package struct SnapshotMetadata: Hashable, Sendable {
  package var hiodctlVersion: String
  /// `2026-11-21T12:00:00Z`, UTC.
  package var created: String
  package var hostname: String
  /// `uname -r` (or /proc/sys/kernel/osrelease of a captured tree).
  package var kernelRelease: String?
  package var kernelVersion: String?

  package init(
    hiodctlVersion: String, created: String, hostname: String, kernelRelease: String?, kernelVersion: String?
  ) {
    self.hiodctlVersion = hiodctlVersion
    self.created = created
    self.hostname = hostname
    self.kernelRelease = kernelRelease
    self.kernelVersion = kernelVersion
  }
}

/// `hiodctl snapshot`: the host as `list` sees it, and for every VFIO-bound device the
/// outcome of each backend (legacy, iommufd, sysfs) with its provenance.
package struct HostSnapshot: Sendable {
  package static let kind = "hiodctl-snapshot"

  package var metadata: SnapshotMetadata
  package var inventory: HostInventory
  package var outcomes: [PCIAddress: [HostIOMMUBackend: RealizeOutcome]]

  package init(
    metadata: SnapshotMetadata, inventory: HostInventory,
    outcomes: [PCIAddress: [HostIOMMUBackend: RealizeOutcome]]
  ) {
    self.metadata = metadata
    self.inventory = inventory
    self.outcomes = outcomes
  }

  /// The backends a snapshot can record for each VFIO-bound device, in the order they
  /// are realized. Legacy first: it never opens the device, so it sees the host as it
  /// was before iommufd bound it.
  package static let recordedBackends: [HostIOMMUBackend] = [.legacy, .iommufd, .sysfs]

  /// What a snapshot records unless told otherwise: the backends that do not open (and
  /// so do not reset) the device.
  package static let defaultBackends: [HostIOMMUBackend] = [.legacy, .sysfs]

  /// Takes a snapshot of the host under `root`: scans it and realizes every VFIO-bound
  /// device with each of `backends` (iommufd only when asked: its bind resets the
  /// device), releasing everything after each.
  package static func take(
    _ root: SystemRoot, options: HostInventory.Options = .init(),
    backends: [HostIOMMUBackend] = defaultBackends, allowBusReset: Bool = false
  ) throws(HIODError) -> HostSnapshot {
    take(
      root, inventory: try HostInventory.scan(root, options: options), backends: backends, allowBusReset: allowBusReset)
  }

  /// The same, for an inventory of `root` already scanned (the caller looked at it first,
  /// to announce the resets an iommufd bind makes).
  package static func take(
    _ root: SystemRoot, inventory: HostInventory, backends: [HostIOMMUBackend] = defaultBackends,
    allowBusReset: Bool = false
  ) -> HostSnapshot {
    let realizer = HostIOMMURealizer(root: root, allowBusReset: allowBusReset)
    var outcomes: [PCIAddress: [HostIOMMUBackend: RealizeOutcome]] = [:]
    for device in inventory.devices where device.isVFIOBound {
      for backend in recordedBackends where backends.contains(backend) {
        do {
          outcomes[device.address, default: [:]][backend] = .realized(
            try realizer.realizeOne(device, in: inventory, with: backend))
        } catch {
          outcomes[device.address, default: [:]][backend] = .failed(error)
        }
      }
    }
    return HostSnapshot(metadata: .current(root), inventory: inventory, outcomes: outcomes)
  }

  /// A realizer that answers from the recorded outcomes instead of the kernel.
  package var realizer: HostIOMMURealizer { HostIOMMURealizer(recorded: outcomes) }
}

extension SnapshotMetadata {
  /// This machine's name (or, under --sysroot, the tree's).
  package static func currentHostname(_ root: SystemRoot) -> String { current(root).hostname }

  /// Now, as snapshots record it (SOURCE_DATE_EPOCH when set).
  package static func currentTimestamp() -> String { timestamp() }

  /// Now, this machine (or, under --sysroot, what the tree's /proc says).
  static func current(_ root: SystemRoot) -> SnapshotMetadata {
    var hostname = "unknown"
    var release: String?
    var version: String?
    if root.isHost {
      if let names = Syscall.systemNames() {
        hostname = names.nodename
        release = names.release
        version = names.version
      }
    } else {
      func read(_ path: String) -> String? { root.readText(path).ok.map { String($0.trimmingWhitespace()) } }
      hostname = read("/proc/sys/kernel/hostname") ?? URL(fileURLWithPath: root.path).lastPathComponent
      release = read("/proc/sys/kernel/osrelease")
      version = read("/proc/sys/kernel/version")
    }
    return SnapshotMetadata(
      hiodctlVersion: HIODVersion.string, created: timestamp(), hostname: hostname,
      kernelRelease: release, kernelVersion: version)
  }

  /// UTC now, or SOURCE_DATE_EPOCH when set (reproducible output for tests and builds).
  static func timestamp() -> String {
    var seconds = time(nil)
    if let epoch = getenv("SOURCE_DATE_EPOCH").map({ String(cString: $0) }), let value = Int(epoch) {
      seconds = time_t(value)
    }
    var parts = tm()
    gmtime_r(&seconds, &parts)
    var buffer = [CChar](repeating: 0, count: 32)
    let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
    return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}

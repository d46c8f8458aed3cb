// hiodctl — choosing a backend, realizing the device, and falling back honestly.
// SPDX-License-Identifier: GPL-2.0-or-later

/// `--backend`: which HostIOMMUDevice implementation to use.
package enum BackendChoice: String, Sendable, CaseIterable {
  /// The legacy container, which never opens the device, else the sysfs prediction.
  /// (iommufd first only when a check needs IOMMU_GET_HW_INFO: its bind opens the
  /// device, and the kernel resets it.)
  case auto
  case legacy
  case iommufd
  case sysfs
}

/// One backend tried for a device, and how it went.
package struct RealizeAttempt: Hashable, Sendable {
  package var backend: HostIOMMUBackend
  /// Why this backend was tried.
  package var reason: String
  /// nil when it realized the device.
  package var failure: RealizeFailure?
  /// For iommufd: the reset its bind makes the kernel do (nil for the other backends).
  package var reset: DeviceReset?

  package init(backend: HostIOMMUBackend, reason: String, failure: RealizeFailure?, reset: DeviceReset? = nil) {
    self.backend = backend
    self.reason = reason
    self.failure = failure
    self.reset = reset
  }
}

/// Everything `caps` says about one device.
package struct DeviceRealization: Hashable, Sendable {
  package var device: PCIDevice
  package var requested: BackendChoice
  /// In the order tried.
  package var attempts: [RealizeAttempt]
  /// The answer: from the first backend that succeeded (possibly the sysfs prediction).
  package var hostIOMMUDevice: HostIOMMUDevice?

  /// The kernel answered (a prediction does not count unless it was asked for).
  package var isDetermined: Bool {
    guard let answer = hostIOMMUDevice else { return false }
    return answer.backend != .sysfs || requested == .sysfs
  }

  /// The first failure of a kernel backend: the reason there is no kernel answer.
  package var primaryFailure: RealizeFailure? {
    attempts.first { $0.failure != nil && $0.backend != .sysfs }?.failure
      ?? attempts.first { $0.failure != nil }?.failure
  }
}

/// Realizes HostIOMMUDevices for devices of a scanned host — through the live kernel, or
/// by replaying what a snapshot recorded, with the same backend choice and fallbacks.
package struct HostIOMMURealizer: Sendable {
  private enum Source: Sendable {
    case live(kernel: any KernelInterface, root: SystemRoot, allowBusReset: Bool)
    case recorded([PCIAddress: [HostIOMMUBackend: RealizeOutcome]])
  }

  private let source: Source

  /// The live kernel, under `root` (device nodes resolve under --sysroot too).
  /// `allowBusReset`: let the iommufd backend bind a device whose reset is a bus reset.
  package init(root: SystemRoot, allowBusReset: Bool = false) {
    self.init(root: root, kernel: LinuxKernel(), allowBusReset: allowBusReset)
  }

  init(root: SystemRoot, kernel: any KernelInterface, allowBusReset: Bool = false) {
    source = .live(kernel: kernel, root: root, allowBusReset: allowBusReset)
  }

  /// The reset realizing `device` this way would make the kernel do: non-nil only when
  /// the plan binds it to iommufd on the live host (say so before doing it). A --sysroot
  /// tree's device nodes are files, so nothing there is ever bound.
  package func reset(
    for device: PCIDevice, in host: HostInventory, backend choice: BackendChoice, preferIOMMUFD: Bool = false
  ) -> DeviceReset? {
    guard case .live(_, let root, _) = source, root.isHost,
      plan(device, in: host, choice: choice, preferIOMMUFD: preferIOMMUFD).contains(where: { $0.0 == .iommufd }),
      device.isVFIOBound, device.vfioCdev != nil
    else { return nil }
    return DeviceReset.of(device, root: root)
  }

  /// Answers from a snapshot's recorded outcomes.
  init(recorded outcomes: [PCIAddress: [HostIOMMUBackend: RealizeOutcome]]) {
    source = .recorded(outcomes)
  }

  /// Tries the chosen backend (or, for `auto`, each usable one in QEMU's order of
  /// preference) and falls back to the sysfs prediction when no kernel backend works.
  package func realize(
    _ device: PCIDevice, in host: HostInventory, backend choice: BackendChoice, preferIOMMUFD: Bool = false
  ) -> DeviceRealization {
    var result = DeviceRealization(device: device, requested: choice, attempts: [], hostIOMMUDevice: nil)
    for (backend, reason) in plan(device, in: host, choice: choice, preferIOMMUFD: preferIOMMUFD) {
      var reset: DeviceReset?
      if backend == .iommufd, case .live(_, let root, _) = source { reset = DeviceReset.of(device, root: root) }
      do {
        let realized = try realizeOne(device, in: host, with: backend)
        result.attempts.append(RealizeAttempt(backend: backend, reason: reason, failure: nil, reset: reset))
        result.hostIOMMUDevice = realized
        break
      } catch {
        result.attempts.append(RealizeAttempt(backend: backend, reason: reason, failure: error, reset: reset))
      }
    }
    return result
  }

  /// One backend, no fallback.
  func realizeOne(_ device: PCIDevice, in host: HostInventory, with backend: HostIOMMUBackend)
    throws(RealizeFailure) -> HostIOMMUDevice
  {
    switch source {
    case .live(let kernel, let root, let allowBusReset):
      switch backend {
      case .legacy: return try LegacyVFIORealizer(kernel: kernel, root: root).realize(device, in: host)
      case .iommufd:
        return try IOMMUFDRealizer(kernel: kernel, root: root, allowBusReset: allowBusReset).realize(device, in: host)
      case .sysfs: return try SysfsPredictor(root: root).predict(device, in: host)
      }
    case .recorded(let outcomes):
      switch outcomes[device.address]?[backend] {
      case .realized(let realized)?: return realized
      case .failed(let failure)?: throw failure
      case nil:
        // Snapshots record VFIO-bound devices only; for the others the reason sysfs
        // shows (not bound, no group, not viable) is still the answer.
        if backend != .sysfs { _ = try Preconditions.vfioGroup(of: device, in: host, backend: backend) }
        throw RealizeFailure(
          backend: backend, step: "snapshot", problem: .backendUnavailable,
          message: "the snapshot has no \(backend.rawValue) answer for \(device.address)",
          hints: [
            backend == .iommufd
              ? """
              snapshots record iommufd only when taken with 'hiodctl snapshot --iommufd' \
              (its bind resets each device)
              """
              : "snapshots record the devices bound to a VFIO driver when they are taken"
          ])
      }
    }
  }

  /// The backends to try, each with the reason, in order.
  func plan(_ device: PCIDevice, in host: HostInventory, choice: BackendChoice, preferIOMMUFD: Bool = false)
    -> [(HostIOMMUBackend, String)]
  {
    let fallback = (HostIOMMUBackend.sysfs, "no kernel backend answered: predicting from sysfs")
    switch choice {
    case .legacy: return [(.legacy, "--backend legacy"), fallback]
    case .iommufd: return [(.iommufd, "--backend iommufd"), fallback]
    case .sysfs: return [(.sysfs, "--backend sysfs")]
    case .auto:
      var plan: [(HostIOMMUBackend, String)] = []
      if preferIOMMUFD, let cdev = device.vfioCdev, cdev.node.present, host.facts.iommufd.present {
        plan.append((.iommufd, "auto: the check needs IOMMU_GET_HW_INFO, which only iommufd answers"))
      }
      let reason: String
      if device.isVFIOBound, let group = host.group(device.iommuGroup), group.vfioNode?.present == true {
        reason =
          plan.isEmpty
          ? "auto: \(group.vfioNodePath) exists; the legacy container does not open (or reset) the device"
          : "auto: iommufd failed; \(group.vfioNodePath) exists"
      } else {
        // Nothing usable: let the legacy backend's preconditions say why (no group, not
        // bound to VFIO, no-IOMMU group), then predict.
        reason = "auto: no usable VFIO group node"
      }
      plan.append((.legacy, reason))
      return plan + [fallback]
    }
  }
}

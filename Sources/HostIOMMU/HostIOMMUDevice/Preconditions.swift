// hiodctl — what must hold before a backend touches the kernel, and the shared wording
// of the failures both backends can meet.
// SPDX-License-Identifier: GPL-2.0-or-later

import SystemPackage

enum Preconditions {
  /// The device's IOMMU group, if the device is VFIO-bound and in a usable group.
  static func vfioGroup(of device: PCIDevice, in host: HostInventory, backend: HostIOMMUBackend)
    throws(RealizeFailure) -> IOMMUGroup
  {
    try vfioGroup(
      of: device, group: host.group(device.iommuGroup), host: host.facts, groups: host.groups, backend: backend,
      advice: host.viabilityAdvice(for:))
  }

  /// The same, given the device's group: what sysfs alone shows QEMU's vfio-pci would
  /// fail on before any ioctl (also used to judge a sysfs-only prediction). `host` and
  /// `groups` word the fix for a device without a group; `advice` the one for a group
  /// that is not viable.
  static func vfioGroup(
    of device: PCIDevice, group: IOMMUGroup?, host: HostFacts, groups: [IOMMUGroup], backend: HostIOMMUBackend,
    advice: (IOMMUGroup) -> ViabilityAdvice
  ) throws(RealizeFailure) -> IOMMUGroup {
    let name = device.address.description
    guard let id = device.iommuGroup, let group, group.id == id else {
      throw noGroup(device, host: host, groups: groups, backend: backend)
    }
    if group.isNoIOMMU {
      throw RealizeFailure(
        backend: backend, step: "sysfs", problem: .noIOMMUMode,
        message:
          "\(name) is in no-IOMMU group \(id) (/dev/vfio/noiommu-\(id)): no DMA isolation, and QEMU cannot use it",
        hints: ["enable the IOMMU (intel_iommu=on, amd_iommu not off) instead of vfio's enable_unsafe_noiommu_mode"])
    }
    guard device.isVFIOBound else { throw notBound(device, backend: backend) }
    // Sysfs already shows the kernel's viability rule; do not open anything for a group
    // QEMU would reject first thing ("group N is not viable").
    if !group.isViable {
      throw notViable(group, device: device, advice: advice(group), backend: backend, step: "sysfs")
    }
    return group
  }

  static func notBound(_ device: PCIDevice, backend: HostIOMMUBackend) -> RealizeFailure {
    let name = device.address.description
    let bound = device.driver.map { "it is bound to \($0)" } ?? "no driver is bound"
    return RealizeFailure(
      backend: backend, step: "sysfs", problem: .notBoundToVFIO,
      message: "\(name) is not bound to a VFIO driver: \(bound)",
      hints: ["bind it to vfio-pci, e.g. driverctl set-override \(name) vfio-pci"])
  }

  /// No group for the device: no IOMMU in front of it, with the fix `hiodctl host` gives
  /// (a VM needs a vIOMMU, not firmware settings) — unless /sys/kernel/iommu_groups could
  /// not be read, when the group is unknown, not missing.
  static func noGroup(_ device: PCIDevice, host: HostFacts, groups: [IOMMUGroup], backend: HostIOMMUBackend)
    -> RealizeFailure
  {
    let more = "'hiodctl host' lists what device assignment needs"
    let fix = HostReadiness.iommuFix(host, groups: groups)
    if let error = host.iommuGroupsError {
      return RealizeFailure(
        backend: backend, step: "sysfs", problem: .groupsUnreadable,
        message: "cannot read /sys/kernel/iommu_groups: \(error): the IOMMU group of \(device.address) is unknown",
        hints: [fix ?? "run hiodctl as a user who may read /sys/kernel/iommu_groups"])
    }
    return RealizeFailure(
      backend: backend, step: "sysfs", problem: .noIOMMUGroup,
      message: "\(device.address) has no IOMMU group: it is not behind an enabled IOMMU",
      hints: [fix.map { "\($0); \(more)" } ?? more])
  }

  /// A live device node is a character device; in a captured tree it is a plain file.
  static func characterDevice(
    _ node: String, root: SystemRoot, kernel: any KernelInterface, backend: HostIOMMUBackend
  ) throws(RealizeFailure) {
    switch kernel.isCharacterDevice(root.resolve(node)) {
    case .success(true):
      return
    case .success(false):
      throw RealizeFailure(
        backend: backend, step: "stat \(node)", problem: .notADevice,
        message:
          "\(node) is not a character device\(root.isHost ? "" : " (under --sysroot \(root.path), a captured tree)")",
        hints: ["only the live host can realize a HostIOMMUDevice; --backend sysfs predicts from the tree"])
    case .failure(.noSuchFileOrDirectory):
      throw RealizeFailure(
        backend: backend, step: "stat \(node)", errno: .noSuchFileOrDirectory,
        problem: .backendUnavailable, message: "\(node) does not exist")
    case .failure(let errno):
      throw RealizeFailure(
        backend: backend, step: "stat \(node)", errno: errno, problem: .kernelRefused,
        message: "cannot stat \(node): \(errno.description)")
    }
  }

  /// QEMU's "group N is not viable", with the members that make it so and the advice
  /// `list` gives (no bridge or device the host uses offered for rebinding unsaid).
  static func notViable(
    _ group: IOMMUGroup, device: PCIDevice?, advice: ViabilityAdvice, backend: HostIOMMUBackend, step: String
  ) -> RealizeFailure {
    let blockers = group.blockers.map { "\($0.name) is bound to \($0.driver ?? "?")" }
    return RealizeFailure(
      backend: backend, step: step, problem: .groupNotViable,
      message: "group \(group.id) is not viable"
        + (blockers.isEmpty ? "" : ": " + blockers.joined(separator: "; ")),
      hints: advice.hints)
  }

  static func permission(_ node: String, backend: HostIOMMUBackend, step: String, errno: Errno) -> RealizeFailure {
    RealizeFailure(
      backend: backend, step: step, errno: errno, problem: .permissionDenied,
      message: "permission denied opening \(node): read and write access is needed",
      hints: [
        "run as root, or give the user that runs QEMU the node (libvirt and udev rules chown it)",
        "--backend sysfs predicts without privileges",
      ])
  }

  /// EPERM from VFIO_SET_IOMMU / VFIO_DEVICE_BIND_IOMMUFD: the platform cannot isolate MSIs.
  static func noMSIIsolation(backend: HostIOMMUBackend, step: String, errno: Errno, parameter: String)
    -> RealizeFailure
  {
    RealizeFailure(
      backend: backend, step: step, errno: errno, problem: .noMSIIsolation,
      message: "the kernel refuses the device (EPERM): the platform cannot isolate MSIs (no interrupt remapping)",
      hints: [
        "enable interrupt remapping (VT-d/AMD-Vi interrupt remapping, x2APIC, in the firmware)",
        "\(parameter)=1 overrides the check, but then a guest can forge interrupts to the host",
      ])
  }
}

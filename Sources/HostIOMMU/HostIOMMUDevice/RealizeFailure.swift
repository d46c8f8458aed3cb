// hiodctl — why a HostIOMMUDevice could not be realized, in words, with the fix.
// SPDX-License-Identifier: GPL-2.0-or-later

package import SystemPackage

/// The kinds of answer a failed realize gives. Busy, non-viable, unprivileged and
/// unsupported cases are answers to explain, not crashes.
package enum DeviceProblem: String, Sendable, Hashable, CaseIterable {
  /// The device is not behind an IOMMU: no IOMMU group, VFIO cannot bind it.
  case noIOMMUGroup = "no-iommu-group"
  /// /sys/kernel/iommu_groups could not be read: the device's group is unknown, which
  /// is not the same as having none.
  case groupsUnreadable = "iommu-groups-unreadable"
  /// No VFIO driver owns the device.
  case notBoundToVFIO = "not-bound-to-vfio"
  /// A group member is on a host driver: QEMU's "group N is not viable".
  case groupNotViable = "group-not-viable"
  /// Another process holds the group or the device (a running QEMU, say).
  case busy
  /// The platform cannot isolate MSIs (no interrupt remapping): VFIO refuses (EPERM).
  case noMSIIsolation = "no-msi-isolation"
  /// The caller may not open the node.
  case permissionDenied = "permission-denied"
  /// The kernel lacks the backend (no /dev/iommu, no cdev, no type1).
  case backendUnavailable = "backend-unavailable"
  /// The group is an unsafe no-IOMMU group, which QEMU cannot use.
  case noIOMMUMode = "noiommu-group"
  /// The node is not a character device: a captured tree, not a live host.
  case notADevice = "not-a-device"
  /// The kernel refused a step for a reason hiodctl does not interpret further.
  case kernelRefused = "kernel-refused"
  /// The iommufd bind would reset the device through its bus (reset_method "bus"), which
  /// reaches past the device: not done unless forced.
  case busResetRefused = "bus-reset-refused"
}

/// A realize that did not complete: which backend, which step, the errno, and what it
/// means. Every kernel object acquired before the failure has been released.
package struct RealizeFailure: Error, Sendable, Hashable {
  package var backend: HostIOMMUBackend
  /// The call or file that failed: `open /dev/vfio/2`, `VFIO_GROUP_SET_CONTAINER`.
  package var step: String
  package var errno: Errno?
  package var problem: DeviceProblem
  /// A sentence naming the object and the cause.
  package var message: String
  package var hints: [String]

  package init(
    backend: HostIOMMUBackend, step: String, errno: Errno? = nil, problem: DeviceProblem,
    message: String, hints: [String] = []
  ) {
    self.backend = backend
    self.step = step
    self.errno = errno
    self.problem = problem
    self.message = message
    self.hints = hints
  }
}

extension Errno {
  /// The errnos hiodctl names, with their C names.
  static let symbols: [(Errno, String)] = [
    (.notPermitted, "EPERM"), (.noSuchFileOrDirectory, "ENOENT"), (.interrupted, "EINTR"),
    (.ioError, "EIO"), (.badFileDescriptor, "EBADF"), (.noMemory, "ENOMEM"),
    (.permissionDenied, "EACCES"), (.badAddress, "EFAULT"), (.resourceBusy, "EBUSY"),
    (.fileExists, "EEXIST"), (.operationNotSupportedByDevice, "ENODEV"), (.notDirectory, "ENOTDIR"),
    (.invalidArgument, "EINVAL"), (.noSuchProcess, "ESRCH"), (.notSupported, "EOPNOTSUPP"),
    (.inappropriateIOCTLForDevice, "ENOTTY"), (.messageTooLong, "EMSGSIZE"), (.argListTooLong, "E2BIG"),
    (.noSuchAddressOrDevice, "ENXIO"), (.readOnlyFileSystem, "EROFS"), (.tooManySymbolicLinkLevels, "ELOOP"),
    (.overflow, "EOVERFLOW"),
  ]

  /// The errno a C name (`EBUSY`) or hiodctl's `errno N` spelling stands for.
  init?(symbol: String) {
    if let match = Self.symbols.first(where: { $0.1 == symbol }) {
      self = match.0
    } else if symbol.hasPrefix("errno "), let value = Int32(symbol.dropFirst(6)) {
      self.init(rawValue: value)
    } else {
      return nil
    }
  }

  /// The C name (`EBUSY`), which is what people search for.
  package var symbol: String {
    Self.symbols.first { $0.0 == self }?.1 ?? "errno \(rawValue)"
  }
}

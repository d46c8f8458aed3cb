// hiodctl — the reset a device gets when the iommufd backend opens it.
// SPDX-License-Identifier: GPL-2.0-or-later

/// What the kernel does to a device when its VFIO cdev is bound to iommufd.
///
/// Binding is the device's first open: vfio_pci_core_enable() calls
/// pci_try_reset_function(), and the last close (vfio_pci_core_disable()) resets it again
/// (Linux 6.12, drivers/vfio/pci/vfio_pci_core.c). The legacy container never opens the
/// device, and the sysfs prediction opens nothing, so only the iommufd backend resets.
/// The kernel tries the methods in /sys/bus/pci/devices/BDF/reset_method in order and
/// lists only those the device supports, so the first one is the one it uses.
package struct DeviceReset: Sendable, Hashable {
  /// reset_method, in the kernel's order (empty: no method, the kernel does not reset).
  package var methods: [String]

  package init(methods: [String]) {
    self.methods = methods
  }

  /// The method the kernel will use.
  package var method: String? { methods.first }

  /// A secondary bus reset (through the parent bridge, or CXL's): it reaches past the
  /// function, and some devices (many GPUs) do not come back from it.
  package var reachesBeyondFunction: Bool { method == "bus" || method == "cxl_bus" }

  /// reset_method of `device` (absent before Linux 5.15, and for devices without one).
  package static func of(_ device: PCIDevice, root: SystemRoot) -> DeviceReset {
    let text = root.readText("/sys/bus/pci/devices/\(device.address)/reset_method").ok ?? ""
    return DeviceReset(methods: text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
  }

  /// One line for people: what will happen to `device`.
  package func notice(for device: PCIDevice) -> String {
    guard let method else {
      return
        "\(device.address): the iommufd bind opens the device; it has no reset method, so the kernel does not reset it"
    }
    let which = methods.count == 1 ? method : "\(methods.joined(separator: " ")); the kernel uses \(method)"
    return
      """
      \(device.address): the iommufd bind opens the device, \
      and the kernel resets it on open and again on close (reset_method: \(which))
      """
  }
}

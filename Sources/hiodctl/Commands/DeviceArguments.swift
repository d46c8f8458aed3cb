// hiodctl — turning BDF arguments into devices of the scanned host.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum DeviceArguments {
  /// The devices named by `arguments`, in the order given (duplicates dropped unless
  /// `keepDuplicates`: for check, a device named twice is assigned to the VM twice).
  /// A malformed BDF is a usage error (64); a BDF the host lacks is a runtime error (3).
  static func resolve(_ arguments: [String], in host: HostView, command: String, keepDuplicates: Bool = false)
    throws -> [PCIDevice]
  {
    let inventory = host.inventory
    var devices: [PCIDevice] = []
    for argument in arguments {
      guard let address = PCIAddress(argument) else {
        throw UsageError(
          message: "invalid BDF '\(argument)'",
          hints: ["a BDF is DDDD:BB:DD.F or BB:DD.F in hex, e.g. 0000:01:00.0"],
          command: command)
      }
      guard let device = inventory.devices.first(where: { $0.address == address }) else {
        throw HIODError(
          .notFound, "no PCI device \(address) on \(host.name.map { "host \($0)" } ?? "this host")",
          hints: ["'hiodctl list' shows all \(inventory.devices.count) devices"])
      }
      if keepDuplicates || !devices.contains(where: { $0.address == address }) { devices.append(device) }
    }
    return devices
  }
}

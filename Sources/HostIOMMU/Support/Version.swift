// hiodctl — the version hiodctl reports.
// SPDX-License-Identifier: GPL-2.0-or-later

import CLibPCI

package enum HIODVersion {
  package static let string = "0.1.0"

  /// libpci's version, from the header hiodctl was built against (0x030900 → "3.9.0").
  package static var libpci: String {
    let version = Int(PCI_LIB_VERSION)
    return "\(version >> 16).\((version >> 8) & 0xff).\(version & 0xff)"
  }
}

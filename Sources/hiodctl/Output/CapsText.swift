// hiodctl caps — the capability report for people (scripts use --json).
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum CapsText {
  /// The report stays within this many columns, as the README shows it.
  static let width = 100

  /// A device without an IOMMU group carries the fix `hiodctl host` gives (the library's
  /// words, aware of virtual machines), as check's remedy does.
  static func render(_ result: DeviceRealization, numeric: Bool) -> String {
    let address = "\(result.device.address)  "
    var lines = Help.wrap(ListText.describe(result.device, numeric: numeric), width: width - address.count, indent: "")
      .enumerated().map { index, text in (index == 0 ? address : String(repeating: " ", count: address.count)) + text }
    var shown: Set<String> = []
    for attempt in result.attempts {
      // The predictor often fails for the same reason as the backend before it.
      guard let failure = attempt.failure, shown.insert(failure.message).inserted else { continue }
      lines += wrapped("  \(attempt.backend.rawValue): ", failure.message, continuation: "    ")
      if let errno = failure.errno {
        lines.append("    (\(failure.step): \(errno.symbol))")
      }
      for hint in failure.hints { lines += wrapped("    hint: ", hint, continuation: "          ") }
    }
    guard let device = result.hostIOMMUDevice, let used = result.attempts.first(where: { $0.failure == nil })
    else {
      lines.append("  no HostIOMMUDevice: nothing could be realized or predicted")
      return lines.joined(separator: "\n")
    }
    if device.backend == .sysfs {
      lines.append("  PREDICTION from sysfs: what the kernel would probably answer, not its answer")
    }
    var rows: [(label: String, value: String, source: String)] = []
    func row(_ label: String, _ value: String, _ source: String = "") {
      rows.append(("  " + label, value, source))
    }
    row("backend", device.backend.rawValue, "(\(used.reason))")
    row("realized", device.backend.qemuType)
    if let ranges = device.iovaRanges, let bits = device.awBits {
      row("aw_bits", String(bits), ranges.provenance.origin)
      let shown = ranges.value.isEmpty ? ["none reported (aw_bits 64)"] : ranges.value.map(\.description)
      for (index, range) in shown.enumerated() { row(index == 0 ? "IOVA ranges" : "", range) }
    } else {
      row("aw_bits", "unknown", "needs --backend legacy or iommufd")
    }
    if let mask = device.pageSizeMask {
      row(
        "page sizes", "\(pageSizeNames(mask.value).joined(separator: " ")) (\(mask.value.hex64))",
        mask.provenance.origin)
    }
    switch device.getCap(.iommuType) {
    case .value(let raw, let provenance):
      row("IOMMU type", IOMMUHardwareType(rawValue: UInt32(raw)).description, provenance.origin)
    case .unsupported(let message):
      row("IOMMU type", "get_cap: \(message)", "(legacy VFIO has no uAPI for it)")
    case .unknown(let reason):
      row("IOMMU type", "unknown", reason)
    }
    if let capabilities = device.caps.hwCaps {
      let names = hardwareCapabilityNames(capabilities.value)
      row("hw caps", names.isEmpty ? "none" : names.joined(separator: " "), capabilities.provenance.origin)
    }
    if let pasid = device.caps.maxPASIDLog2 {
      row("max PASID", pasid.value == 0 ? "none (PASID off)" : "\(pasid.value) bits", pasid.provenance.origin)
    }
    if let probe = device.nestingParent {
      row(
        "nesting parent",
        probe.allowed ? "allowed" : "refused (\(probe.refusal?.symbol ?? "?"))",
        "\(probe.provenance.origin): x-flts=on and accel=on need it")
    }
    if let legacy = device.legacy {
      row("container", legacy.iommuModel == 3 ? "TYPE1v2" : "TYPE1", "VFIO_SET_IOMMU")
      if let available = legacy.dmaMappingsAvailable {
        row("DMA mappings", "\(available) available", "VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL")
      }
    }
    if let vendor = device.caps.vendor {
      for (index, (label, value)) in vendorRows(vendor.value).enumerated() {
        row(label, value, index == 0 ? vendor.provenance.origin : "")
      }
    }
    lines += layout(rows)
    for note in device.notes {
      lines += Help.wrap(note, width: width - 8, indent: "").enumerated().map { index, text in
        (index == 0 ? "  note: " : "        ") + text
      }
    }
    return lines.joined(separator: "\n")
  }

  /// Three columns within `width`. The value column is as wide as the short values that
  /// have a source after them (at most `valueColumnLimit`): a longer value takes its
  /// source after it when the line still fits, else on the next line under the source
  /// column; the decoded register lines have no source and widen nothing. What does not
  /// fit wraps under its own column.
  static func layout(_ rows: [(label: String, value: String, source: String)]) -> [String] {
    let labelWidth = rows.map(\.label.displayWidth).max() ?? 0
    let valueStart = labelWidth + 2
    let valueWidth =
      rows.filter { !$0.source.isEmpty && $0.value.displayWidth <= valueColumnLimit }
      .map(\.value.displayWidth).max() ?? 0
    let sourceStart = valueStart + valueWidth + 2
    let sourceIndent = String(repeating: " ", count: sourceStart)
    var lines: [String] = []
    for row in rows {
      let head = row.label.padding(to: labelWidth) + "  "
      let valueLines = Help.wrap(row.value, width: width - valueStart, indent: "")
      var out =
        valueLines.isEmpty
        ? [head]
        : valueLines.enumerated().map { index, text in
          (index == 0 ? head : String(repeating: " ", count: valueStart)) + text
        }
      if !row.source.isEmpty {
        let last = out[out.count - 1]
        if last.displayWidth <= sourceStart - 2 {
          let sourceLines = Help.wrap(row.source, width: width - sourceStart, indent: "")
          out[out.count - 1] = last.padding(to: sourceStart) + (sourceLines.first ?? "")
          out += sourceLines.dropFirst().map { sourceIndent + $0 }
        } else if last.displayWidth + 2 + row.source.displayWidth <= width {
          out[out.count - 1] = last + "  " + row.source
        } else {
          out += Help.wrap(row.source, width: width - sourceStart, indent: "").map { sourceIndent + $0 }
        }
      }
      lines += out.map(\.trailingSpacesRemoved)
    }
    return lines
  }

  /// `prefix` and `text` within `width`, further lines indented by `continuation`.
  static func wrapped(_ prefix: String, _ text: String, continuation: String) -> [String] {
    let words = Help.wrap(text, width: width - prefix.count, indent: "")
    return words.enumerated().map { index, line in (index == 0 ? prefix : continuation) + line }
  }

  /// Values up to this wide set the value column.
  static let valueColumnLimit = 24

  /// One line per vendor register: raw value, then the fields that are set.
  static func vendorRows(_ vendor: VendorCaps) -> [(String, String)] {
    func summary(_ fields: [DecodedField]) -> String {
      fields.filter { $0.value != 0 }.map { $0.highBit == $0.lowBit ? $0.name : "\($0.name)=\($0.value)" }
        .joined(separator: " ")
    }
    switch vendor {
    case .intelVTd(_, let capability, let extended):
      let cap = VTdCapability(capability)
      let ecap = VTdExtendedCapability(extended)
      return [
        (
          "VT-d CAP",
          """
          \(capability.hex64) MGAW \(cap.mgaw), \
          SAGAW \(cap.supportedAddressWidths.map(String.init).joined(separator: "/"))
          """
        ),
        ("", summary(cap.fields)),
        ("VT-d ECAP", extended.hex64),
        ("", summary(ecap.fields)),
      ]
    case .armSMMUv3(_, let idr, let iidr, let aidr):
      let registers = SMMUv3Registers(idr: idr, iidr: iidr, aidr: aidr)
      return [
        ("SMMUv3 IDR", idr.map { "0x" + $0.hex(width: 8) }.joined(separator: " ")), ("", summary(registers.fields)),
      ]
    case .amd(let efr, let efr2):
      return [
        ("AMD EFR", "\(efr.hex64) EFR2 \(efr2.hex64)"), ("", summary(AMDExtendedFeatures(efr: efr, efr2: efr2).fields)),
      ]
    case .other(let type, let bytes):
      return [("hw_info", "\(type): \(bytes.map { $0.hex(width: 2) }.joined())")]
    }
  }
}

extension String {
  var trailingSpacesRemoved: String {
    var text = self
    while text.last == " " { text.removeLast() }
    return text
  }
}

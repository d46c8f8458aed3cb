// hiodctl fuzzing — a strict reader of the Prometheus text exposition format as hiodctl
// writes it (HELP/TYPE comments and gauge samples), for checking that outside text put into
// label values (host names, driver names from a snapshot) cannot break a line or a label.
// SPDX-License-Identifier: GPL-2.0-or-later

/// Checks every line of `text`; returns the label values read, unescaped, in order.
@discardableResult
package func checkPrometheusExposition(_ text: String, context: @autoclosure () -> String) -> [[UInt8]] {
  var values: [[UInt8]] = []
  let bytes = Array(text.utf8)
  require(bytes.isEmpty || bytes.last == 0x0a, "\(context()): exposition does not end with a newline")
  for line in bytes.split(separator: 0x0a, omittingEmptySubsequences: false).dropLast() {
    let line = Array(line)
    if line.starts(with: Array("# HELP ".utf8)) || line.starts(with: Array("# TYPE ".utf8)) {
      require(!line.contains(0x0d), "\(context()): carriage return in a comment line")
      continue
    }
    var index = 0
    func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
      byte == 0x5f || byte == 0x3a || (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte)
        || (!first && (0x30...0x39).contains(byte))
    }
    let nameStart = index
    while index < line.count, isNameByte(line[index], first: index == nameStart) { index += 1 }
    require(
      index > nameStart,
      "\(context()): sample line without a metric name: \(String(decoding: line, as: UTF8.self).debugDescription)")
    if index < line.count, line[index] == 0x7b {  // {
      index += 1
      while true {
        let labelStart = index
        while index < line.count, isNameByte(line[index], first: index == labelStart), line[index] != 0x3a {
          index += 1
        }
        require(
          index > labelStart,
          "\(context()): empty label name in \(String(decoding: line, as: UTF8.self).debugDescription)")
        require(
          index + 1 < line.count && line[index] == 0x3d && line[index + 1] == 0x22,
          "\(context()): label without =\" in \(String(decoding: line, as: UTF8.self).debugDescription)")
        index += 2
        var value: [UInt8] = []
        while true {
          require(
            index < line.count,
            "\(context()): label value runs off the line: \(String(decoding: line, as: UTF8.self).debugDescription)")
          let byte = line[index]
          if byte == 0x22 {
            index += 1
            break
          }
          if byte == 0x5c {
            require(index + 1 < line.count, "\(context()): backslash at the end of a line")
            switch line[index + 1] {
            case 0x5c: value.append(0x5c)
            case 0x22: value.append(0x22)
            case 0x6e: value.append(0x0a)
            default:
              require(
                false, "\(context()): invalid escape \\\(Character(Unicode.Scalar(line[index + 1]))) in a label value")
            }
            index += 2
            continue
          }
          value.append(byte)
          index += 1
        }
        values.append(value)
        require(index < line.count, "\(context()): label set not closed")
        if line[index] == 0x2c {
          index += 1
          continue
        }  // ,
        require(
          line[index] == 0x7d,
          "\(context()): junk after a label value in \(String(decoding: line, as: UTF8.self).debugDescription)")
        index += 1
        break
      }
    }
    require(index < line.count && line[index] == 0x20, "\(context()): no space before the sample value")
    let number = line[(index + 1)...]
    require(
      !number.isEmpty
        && number.enumerated().allSatisfy { $0.element == 0x2d ? $0.offset == 0 : (0x30...0x39).contains($0.element) },
      "\(context()): sample value \(String(decoding: number, as: UTF8.self).debugDescription) is not an integer")
  }
  return values
}

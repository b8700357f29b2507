import Foundation

/// TOML basic strings as Loom writes them (loom.lock, bundle.toml): one form for every string, so
/// files Loom writes are canonical.
public enum TOMLText: Sendable {
    /// `s` in double quotes, with `"`, `\`, newline and tab escaped as `\"`, `\\`, `\n`, `\t`, and
    /// other control characters as `\uXXXX`.
    public static func quoted(_ s: String) -> String {
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5c && $0 != 0x7f }) { return "\"" + s + "\"" }
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 || c.value == 0x7f { out += String(format: "\\u%04X", c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }
}

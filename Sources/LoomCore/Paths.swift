import SystemPackage

/// Path arithmetic on strings, done by swift-system's `FilePath` (Foundation's NSString path
/// methods crash on some short names on Linux). Lexical only: nothing here touches the disk.
public enum Paths: Sendable {
    /// `base` followed by `relative`'s components (a leading `/` in `relative` does not make it
    /// absolute): `join("/a", "b/c")` is `/a/b/c`.
    public static func join(_ base: String, _ relative: String) -> String {
        FilePath(base).appending(relative).string
    }

    /// `path` if absolute, else `path` relative to `directory`.
    public static func resolve(_ path: String, in directory: String) -> String {
        FilePath(directory).pushing(FilePath(path)).string
    }

    /// The folder holding `path`: `/a/b` gives `/a`, `/a` gives `/`, `a` gives `""`.
    public static func parent(_ path: String) -> String {
        FilePath(path).removingLastComponent().string
    }

    /// The last component: `/a/b.txt` gives `b.txt`, `/` gives `""`.
    public static func name(_ path: String) -> String {
        FilePath(path).lastComponent?.string ?? ""
    }

    /// The extension of the last component without its dot (`""` when none): `a/b.lua` gives `lua`.
    public static func `extension`(_ path: String) -> String {
        FilePath(path).extension ?? ""
    }

    /// `path` with `.` and `..` collapsed lexically and repeated or trailing separators removed;
    /// `.` for a relative path that collapses to nothing.
    public static func normalized(_ path: String) -> String {
        let p = FilePath(path).lexicallyNormalized()
        return p.isEmpty && !path.isEmpty ? "." : p.string
    }

    /// Whether `path` is absolute.
    public static func isAbsolute(_ path: String) -> Bool { FilePath(path).isAbsolute }

    /// `path` (relative) lexically inside its folder: no root, and no `..` that leaves it. The
    /// normalized relative path, or nil.
    public static func contained(_ path: String) -> String? {
        let p = FilePath(path)
        guard p.root == nil, !path.isEmpty else { return nil }
        let normal = p.lexicallyNormalized()
        guard normal.components.first?.kind != .parentDirectory else { return nil }
        return normal.string
    }
}

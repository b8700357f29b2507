import Foundation
import LoomCore
import Glibc
import Synchronization

/// Watches folders (recursively) and single files for changes through Linux inotify, on a thread of
/// its own. Each batch of events becomes one call of `onChange` with the changed paths; the caller
/// coalesces bursts. Folders created later are watched as they appear. `.loom`, `.git` and
/// `.build*` folders are never watched (a node's own database lives in `.loom`). Call ``stop()``
/// when done: the thread keeps the watcher alive until then.
public final class FileWatcher: Sendable {
    private let fd: Int32
    private let state = Mutex(State())
    private let stopped = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let onChange: @Sendable ([String]) -> Void

    private struct State {
        var folders: [Int32: String] = [:]
        /// A watched file's folder -> the folder's path and the names watched in it.
        var fileParents: [Int32: (path: String, names: Set<String>)] = [:]
    }

    private static let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_ATTRIB)

    /// Watches every folder in `folders` with its subfolders, and each file in `files` (through
    /// its parent folder). Throws when inotify is unavailable.
    public init(folders: [String], files: [String] = [], onChange: @escaping @Sendable ([String]) -> Void) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw FileAccessError("inotify is unavailable: \(String(cString: strerror(errno)))") }
        self.onChange = onChange
        for folder in folders { addTree(folder) }
        for file in files {
            let parent = Paths.parent(file)
            let wd = inotify_add_watch(fd, parent, Self.mask)
            if wd >= 0 {
                _ = state.withLock { $0.fileParents[wd, default: (parent, [])].names.insert(Paths.name(file)) }
            }
        }
        let thread = Thread { [self] in self.loop() }
        thread.name = "loom.watch"
        thread.start()
    }

    static func skipped(_ name: String) -> Bool { name == ".loom" || name == ".git" || name.hasPrefix(".build") }

    private func addTree(_ folder: String, depth: Int = 0) {
        // Real folders only: a symbolic link to a folder above would recurse for ever.
        guard depth < 32, let type = (try? FileManager.default.attributesOfItem(atPath: folder))?[.type] as? FileAttributeType,
              type == .typeDirectory || (depth == 0 && type == .typeSymbolicLink) else { return }
        let wd = inotify_add_watch(fd, folder, Self.mask)
        guard wd >= 0 else { return }
        state.withLock { $0.folders[wd] = folder }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where !Self.skipped(name) {
            addTree(folder + "/" + name, depth: depth + 1)
        }
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !stopped.load(ordering: .acquiring) {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 50)
            if ready <= 0 { continue }
            var changed: [String] = []
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                var offset = 0
                while offset + 16 <= n {
                    let (wd, mask, length) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, Int) in
                        (raw.load(fromByteOffset: offset, as: Int32.self), raw.load(fromByteOffset: offset + 4, as: UInt32.self),
                         Int(raw.load(fromByteOffset: offset + 12, as: UInt32.self)))
                    }
                    let nameBytes = buffer[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }
                    let name = String(decoding: nameBytes, as: UTF8.self)
                    offset += 16 + length
                    let (folder, fileParent) = state.withLock { ($0.folders[wd], $0.fileParents[wd]) }
                    if mask & UInt32(IN_IGNORED) != 0 {
                        state.withLock { _ = $0.folders.removeValue(forKey: wd) }
                        continue
                    }
                    if let fileParent, fileParent.names.contains(name) { changed.append(fileParent.path + "/" + name) }
                    guard let folder else { continue }
                    if name.isEmpty || Self.skipped(name) { continue }
                    let path = folder + "/" + name
                    changed.append(path)
                    if mask & UInt32(IN_ISDIR) != 0 && mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 { addTree(path) }
                }
            }
            if !changed.isEmpty { onChange(changed) }
        }
        finished.store(true, ordering: .releasing)
    }

    /// Stops the thread and closes the inotify descriptor.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        while !finished.load(ordering: .acquiring) { usleep(1000) }
        close(fd)
    }
}

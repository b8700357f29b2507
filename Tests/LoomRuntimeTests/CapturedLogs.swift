import Logging
import Synchronization

/// A logger whose lines a test can read back: "level message" each.
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    var logger: Logger { Logger(label: "loom.test") { _ in Handler(logs: self) } }
    var messages: [String] { lines.withLock { $0 } }

    func contains(_ text: String) -> Bool { messages.contains { $0.contains(text) } }

    struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            logs.lines.withLock { $0.append("\(event.level) \(event.message)") }
        }
    }
}

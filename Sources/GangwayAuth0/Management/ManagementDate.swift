import FoundationEssentials
import GangwayPlatform

/// Auth0's timestamps: ISO-8601, UTC, milliseconds, `Z` (`2024-01-02T03:04:05.678Z`).
public enum ManagementDate {
    public static func string(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }

    /// Reads Auth0's form, with or without the milliseconds; nil for anything else.
    public static func parse(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text))
    }
}

import FoundationEssentials
import GangwayPlatform

/// What every Management API answer shares.
public enum Management {
    /// Management API answers carry tenant data: never cached.
    public static let noStore = ["cache-control": "no-store"]
}

import FoundationEssentials
import GangwayPlatform

/// Collects one page of a store prefix in key order while counting everything under it.
public struct PageCollector<Item> {
    public let start: Int
    public let count: Int
    public private(set) var items: [Item] = []
    public private(set) var total = 0

    public init(start: Int, count: Int) {
        self.start = start
        self.count = count
    }

    public mutating func add(_ make: () throws -> Item?) rethrows {
        if total >= start && total < start + count, let item = try make() { items.append(item) }
        total += 1
    }
}

/// A binary min-heap of `UInt64` keys: the priority queue of ``BytePairEncoding``'s candidate merges.
struct MinHeap {
    private var keys: [UInt64] = []

    /// Adds `key`.
    mutating func push(_ key: UInt64) {
        keys.append(key)
        var child = keys.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard keys[child] < keys[parent] else { break }
            keys.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the smallest key, or nil when empty.
    mutating func pop() -> UInt64? {
        guard let smallest = keys.first else { return nil }
        let last = keys.removeLast()
        guard !keys.isEmpty else { return smallest }
        keys[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var least = parent
            if left < keys.count && keys[left] < keys[least] { least = left }
            if right < keys.count && keys[right] < keys[least] { least = right }
            guard least != parent else { return smallest }
            keys.swapAt(parent, least)
            parent = least
        }
    }
}

/// The known name closest to a misspelled one, by edit distance, to suggest in an error message.
enum ClosestName {
    /// The entry of `names` nearest to `word` (fewest single-character insertions, deletions and substitutions),
    /// if it is close enough to be a misspelling: at most 1 edit for words of up to 4 characters, 2 up to 8,
    /// else 3. Ties go to the first in `names`.
    static func find(_ word: String, among names: [String]) -> String? {
        let limit = word.count <= 4 ? 1 : (word.count <= 8 ? 2 : 3)
        let scored = names.map { (name: $0, distance: distance(word, $0)) }
        guard let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= limit else { return nil }
        return best.name
    }

    /// The Levenshtein distance between `a` and `b`, over characters.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

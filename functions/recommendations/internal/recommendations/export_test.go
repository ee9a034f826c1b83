package recommendations

// EncodedSize is the size of it's encoded counts, for tests.
func EncodedSize(it *Item) int { return len(encodeEntries(it.Entries)) }

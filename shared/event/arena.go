package event

// Arena holds the events a Decoder decodes into it, and the strings and
// values they point to, in memory it reuses: after Reset, the next events
// are made where the previous ones were. A consumer that is done with a
// batch's events before it decodes the next batch (the lake function
// encodes them and drops them) then costs the garbage collector next to
// nothing per event.
//
// An Arena is not safe for concurrent use: give each goroutine its own.
// The zero value is ready to use.
type Arena struct {
	mem memory
}

// DecodeIn is Decode, with the event made in a: it is valid until a's
// next Reset, and must not be used after.
func (d *Decoder) DecodeIn(a *Arena, value []byte, src Source) (Event, error) {
	return d.decodeIn(a, value, src)
}

// Reset zeroes the memory of the events decoded into a since the last
// Reset, and makes it free for the next ones: none of those events, nor
// any of their strings, may be used after.
func (a *Arena) Reset() {
	a.mem.slabs.reset()
	a.mem.text.reset()
}

// memory is where a decode makes the events the one-pass read makes (see
// slabs) and the strings of events (see state.reserve). With keep, it keeps
// its allocations to make events again after reset; else the events own
// them.
type memory struct {
	keep  bool
	slabs slabs
	text  textChunks
}

// textChunks hands out room for the strings of records from allocations of
// arenaChunk bytes.
type textChunks struct {
	free   []byte   // the rest of the current allocation
	chunks [][]byte // with keep: the allocations; chunks[:used] are in use
	used   int
}

func (t *textChunks) refill(keep bool) {
	if !keep {
		t.free = make([]byte, 0, arenaChunk)
		return
	}
	if t.used == len(t.chunks) {
		t.chunks = append(t.chunks, make([]byte, 0, arenaChunk))
	}
	t.free = t.chunks[t.used][:0]
	t.used++
}

// reset makes every allocation free again.
func (t *textChunks) reset() { t.used, t.free = 0, nil }

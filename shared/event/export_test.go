package event

var generalDecoder = Decoder{general: true}

// DecodeGeneral decodes value as Decode does, but reads every record the
// general way (tape and reader), never in the one pass of fast.go.
func DecodeGeneral(value []byte, src Source) (Event, error) { return generalDecoder.Decode(value, src) }

// ReadsFast reports whether the one pass of fast.go reads value.
func ReadsFast(value []byte) bool {
	var sc scratch
	sc.state.mem = &sc.mem
	sc.state.src = sc.state.copyRecord(value)
	return sc.fast() != nil
}

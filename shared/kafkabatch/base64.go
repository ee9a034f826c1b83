package kafkabatch

import (
	"encoding/base64"
	"encoding/binary"
	"unsafe"
)

// decodeBase64 decodes the standard, padded base64 the event source mapping
// writes into room, which holds at least base64.StdEncoding.DecodedLen(len(s))
// + b64Slack bytes: it may write that many bytes after the decoded ones. It
// returns the decoded bytes (nil for an empty string: no key, or a
// tombstone) and whether s was valid base64. What it accepts and the bytes
// it gives are those of base64.StdEncoding.Decode.
func decodeBase64(s string, room []byte) (b []byte, ok bool) {
	if s == "" {
		return nil, true
	}
	n, ok := decodeStd(room, s, base64.StdEncoding.DecodedLen(len(s)))
	if !ok {
		return nil, false
	}
	return room[:n:n], true
}

// b64Slack is how many bytes decodeBase64 may write after the decoded ones.
const b64Slack = 8

// b64 holds, for each of the four characters of a base64 quantum, the bits
// each character contributes to the quantum's three bytes, little-endian;
// b64Invalid marks a character that is not of the alphabet (padding and the
// line breaks encoding/base64 skips among them).
var b64 = func() (t [4][256]uint32) {
	for c := range 256 {
		for i := range t {
			t[i][c] = b64Invalid
		}
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for v, c := range []byte(alphabet) {
		v := uint32(v)
		t[0][c] = v << 2
		t[1][c] = v>>4 | (v&15)<<12
		t[2][c] = (v>>2)<<8 | (v&3)<<22
		t[3][c] = v << 16
	}
	return t
}()

const b64Invalid = 1 << 31

// decodeStd decodes s into dst, of which it uses at most size bytes
// (base64.StdEncoding.DecodedLen of s) and writes at most size + b64Slack.
// It decodes quanta of four characters of the alphabet itself, sixteen or
// eight characters at a time, and a padded last quantum; from the first
// other character (a line break, anything invalid) it leaves the rest to
// encoding/base64, which decodes it as it would within the whole: the
// characters before it are whole quanta.
func decodeStd(dst []byte, s string, size int) (int, bool) {
	dst = dst[:size+b64Slack]
	si, di := 0, 0
	for len(s)-si >= 16 && len(dst)-di >= 14 {
		c := s[si : si+16]
		w0 := b64[0][c[0]] | b64[1][c[1]] | b64[2][c[2]] | b64[3][c[3]]
		w1 := b64[0][c[4]] | b64[1][c[5]] | b64[2][c[6]] | b64[3][c[7]]
		w2 := b64[0][c[8]] | b64[1][c[9]] | b64[2][c[10]] | b64[3][c[11]]
		w3 := b64[0][c[12]] | b64[1][c[13]] | b64[2][c[14]] | b64[3][c[15]]
		if (w0|w1|w2|w3)&b64Invalid != 0 {
			break
		}
		d := dst[di : di+14]
		binary.LittleEndian.PutUint64(d, uint64(w0)|uint64(w1)<<24)
		binary.LittleEndian.PutUint64(d[6:], uint64(w2)|uint64(w3)<<24)
		si += 16
		di += 12
	}
	for len(s)-si >= 4 && len(dst)-di >= 4 {
		c := s[si : si+4]
		w := b64[0][c[0]] | b64[1][c[1]] | b64[2][c[2]] | b64[3][c[3]]
		if w&b64Invalid != 0 {
			break
		}
		binary.LittleEndian.PutUint32(dst[di:], w)
		si += 4
		di += 3
	}
	if si == len(s) {
		return di, true
	}
	if c := s[si:]; len(c) == 4 && c[3] == '=' && di+2 <= len(dst) {
		// "xx==" and "xxx=" end the input: one and two bytes, whatever the
		// bits of the last character that fall outside them.
		if c[2] == '=' {
			if w := b64[0][c[0]] | b64[1][c[1]]; w&b64Invalid == 0 {
				dst[di] = byte(w)
				return di + 1, true
			}
		} else if w := b64[0][c[0]] | b64[1][c[1]] | b64[2][c[2]]; w&b64Invalid == 0 {
			dst[di], dst[di+1] = byte(w), byte(w>>8)
			return di + 2, true
		}
	}
	// Decode only reads its source.
	n, err := base64.StdEncoding.Decode(dst[di:size], unsafe.Slice(unsafe.StringData(s[si:]), len(s)-si))
	return di + n, err == nil
}

package kafkabatch

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// checkBase64 holds decodeBase64 to encoding/base64: the same verdict and,
// when valid, the same bytes, written no further than it may.
func checkBase64(t *testing.T, s string) {
	t.Helper()
	want, werr := base64.StdEncoding.DecodeString(s)
	size := base64.StdEncoding.DecodedLen(len(s)) + b64Slack
	buf := make([]byte, size+16)
	for i := range buf {
		buf[i] = 0xa5
	}
	got, ok := decodeBase64(s, buf[:size:size])
	if ok != (werr == nil) {
		t.Fatalf("%q: ok = %v, encoding/base64: %v", s, ok, werr)
	}
	if ok && (!bytes.Equal(got, want) || (s == "") != (got == nil) || cap(got) != len(got)) {
		t.Fatalf("%q: got %q (cap %d), want %q", s, got, cap(got), want)
	}
	for i := size; i < len(buf); i++ {
		if buf[i] != 0xa5 {
			t.Fatalf("%q: byte %d written, past the %d bytes it may use", s, i, size)
		}
	}
}

func FuzzBase64(f *testing.F) {
	for _, s := range []string{"", "QQ==", "QUI=", "QUJD", "QUJDREVGR0g=", "QUJD\nREVG", "QUJDREVGR0hJ\r\nSktM", "QQ", "QQ=", "Q===",
		"QUJDREVG=", "QUJDREVGR0hJSktMTU5PUA==", "QUJDREVGR0hJSktMTU5PUA=x", "QUJDREVGR0hJSktMTU5PUA==\n", "QR==", "QUJ=", "-_-_", "QU JD"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkBase64(t, s) })
}

func TestBase64Generated(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		b := make([]byte, r.IntN(100))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		s := []byte(base64.StdEncoding.EncodeToString(b))
		switch r.IntN(4) {
		case 0: // as sent
		case 1:
			if len(s) > 0 {
				s[r.IntN(len(s))] = "A=\n\r*-"[r.IntN(6)]
			}
		case 2:
			p := r.IntN(len(s) + 1)
			s = append(s[:p:p], append([]byte{"\n=A"[r.IntN(3)]}, s[p:]...)...)
		default:
			s = s[:r.IntN(len(s)+1)]
		}
		checkBase64(t, string(s))
	}
}

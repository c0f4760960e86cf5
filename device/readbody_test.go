package device

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readBody reads what io.ReadAll reads, whatever the Content-Length says,
// and passes on a reader's error.
func TestReadBodyMatchesReadAll(t *testing.T) {
	for _, size := range []int{0, 1, 511, 512, 513, 4096, bodyHintMax - 1, bodyHintMax, bodyHintMax + 1, 300 << 10} {
		data := []byte(strings.Repeat("x", size))
		for _, cl := range []int64{-1, 0, int64(size) - 1, int64(size), int64(size) + 1, int64(size) * 3, 1 << 30} {
			for _, half := range []bool{false, true} {
				var r io.Reader = bytes.NewReader(data)
				if half {
					r = iotest.HalfReader(r)
				}
				got, err := readBody(r, cl)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("size %d, Content-Length %d: %d bytes, %v", size, cl, len(got), err)
				}
				if cl >= 0 && cl < bodyHintMax && int64(size) == cl && cap(got) != size+1 {
					t.Errorf("size %d: buffer grew to %d", size, cap(got))
				}
			}
		}
	}
	boom := errors.New("boom")
	got, err := readBody(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), 10)
	if string(got) != "abc" || !errors.Is(err, boom) {
		t.Errorf("got %q, %v", got, err)
	}
}

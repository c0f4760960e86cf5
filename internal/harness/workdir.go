package harness

import (
	"fmt"
	"os"
)

// WorkDir makes a temporary directory for a measurement's logs, inventory and
// data. With keep its path is printed and it stays; otherwise cleanup removes
// it (a temporary directory: nothing to do if that fails).
func WorkDir(prefix string, keep bool) (dir string, cleanup func(), err error) {
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	if keep {
		fmt.Println("temporary directory:", dir)
		return dir, func() {}, nil
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

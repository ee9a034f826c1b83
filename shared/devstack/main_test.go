package devstack

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	if os.Getenv("DEVSTACK_TEST_PARENT") != "" {
		helperParent()
	}
	os.Exit(m.Run())
}

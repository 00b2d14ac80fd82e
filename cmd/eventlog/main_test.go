package main

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine that serve and the client commands start must end with
// them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

package model_test

import (
	"crypto/rand"

	"orderdesk/model"
)

// testKeys is a fresh random instance key for a test's store.
func testKeys() *model.Keyring {
	key := make([]byte, 32)
	rand.Read(key)
	k, _ := model.NewKeyring(key)
	return k
}

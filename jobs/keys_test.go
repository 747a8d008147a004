package jobs_test

import (
	"crypto/rand"

	"orderdesk/model"
)

func testKeys() *model.Keyring {
	key := make([]byte, 32)
	rand.Read(key)
	k, _ := model.NewKeyring(key)
	return k
}

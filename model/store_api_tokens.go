package model

import (
	"crypto/sha256"
	"encoding/hex"
)

// HashToken is how secret tokens (API tokens, session tokens) are stored: their
// SHA-256 in hex. The tokens are 32 random bytes, so a fast hash is enough; a
// copy of the database does not hold a usable token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

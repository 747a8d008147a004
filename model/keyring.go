package model

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

// Keyring holds the instance's secret key and derives one key per purpose from it,
// so that the cookie-signing key and the encryption key of stored secrets are never
// the same bytes.
type Keyring struct {
	master []byte
}

// NewKeyring wraps a master key of at least 32 bytes.
func NewKeyring(master []byte) (*Keyring, error) {
	if len(master) < 32 {
		return nil, errors.New("the secret key must be at least 32 bytes")
	}
	return &Keyring{master: master}, nil
}

// Derive returns n bytes of key material for purpose (HKDF-SHA256).
func (k *Keyring) Derive(purpose string, n int) []byte {
	key, err := hkdf.Key(sha256.New, k.master, nil, "orderdesk/"+purpose, n)
	if err != nil {
		panic(err) // only for n beyond HKDF's limit, a programming error
	}
	return key
}

// MAC returns the HMAC-SHA256 of msg under the key for purpose, as unpadded
// base64url text (fit for a cookie value). Compare MACs with hmac.Equal.
func (k *Keyring) MAC(purpose, msg string) string {
	m := hmac.New(sha256.New, k.Derive("mac/"+purpose, 32))
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Seal encrypts plaintext with AES-256-GCM under the key for purpose and returns
// base64 text: nonce followed by ciphertext and tag.
func (k *Keyring) Seal(purpose string, plaintext []byte) (string, error) {
	gcm, err := k.gcm(purpose)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nonce, nonce, plaintext, []byte(purpose))), nil
}

// Open decrypts what Seal produced for the same purpose.
func (k *Keyring) Open(purpose, sealed string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, fmt.Errorf("decrypt %s: %w", purpose, err)
	}
	gcm, err := k.gcm(purpose)
	if err != nil {
		return nil, err
	}
	if len(raw) < gcm.NonceSize() {
		return nil, fmt.Errorf("decrypt %s: too short", purpose)
	}
	out, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], []byte(purpose))
	if err != nil {
		return nil, fmt.Errorf("decrypt %s: wrong key or damaged data", purpose)
	}
	return out, nil
}

func (k *Keyring) gcm(purpose string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.Derive("seal/"+purpose, 32))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

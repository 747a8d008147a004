// Package static holds the files the browser loads (htmx, CSS), embedded in the
// binary. URL gives each file's address with a content hash, so that the files can
// be cached for a year and a new build is still fetched at once.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed *.js *.css
var files embed.FS

// hashes maps a file name to the first bytes of its SHA-256, computed once at start.
var hashes = func() map[string]string {
	m := map[string]string{}
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		b, _ := files.ReadFile(e.Name())
		sum := sha256.Sum256(b)
		m[e.Name()] = hex.EncodeToString(sum[:6])
	}
	return m
}()

// URL returns the versioned address of a static file, e.g. /static/app.css?v=1a2b3c.
func URL(name string) string {
	return "/static/" + name + "?v=" + hashes[name]
}

// Handler serves the files under /static/ with long cache headers.
func Handler() http.Handler {
	fsrv := http.StripPrefix("/static/", http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if _, ok := hashes[name]; !ok {
			http.NotFound(w, r)
			return
		}
		// Every URL carries the content hash, so a cached copy is never stale.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		fsrv.ServeHTTP(w, r)
	})
}

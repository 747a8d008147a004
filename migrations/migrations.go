// Package migrations holds the numbered SQL files that build the database schema.
// They are embedded in the binary and applied in name order by model.Migrate.
package migrations

import "embed"

// FS holds every NNNN_name.sql file of this folder.
//
//go:embed *.sql
var FS embed.FS

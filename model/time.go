package model

import (
	"fmt"
	"time"

	"github.com/mattn/go-sqlite3"
)

// parseTime reads a time that an aggregate (max, min) returned as text: SQLite loses
// the column's declared type there, so the driver cannot convert it for us.
func parseTime(s string) (time.Time, error) {
	for _, f := range sqlite3.SQLiteTimestampFormats {
		if t, err := time.ParseInLocation(f, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q", s)
}

package model

import (
	"database/sql"
	"errors"
)

// rowScanner is what *sql.Row and *sql.Rows share, so that one scan function
// reads a row of either. It is an alias so that the scanX functions, written
// against the literal interface, fit collect's scan parameter.
type rowScanner = interface{ Scan(dest ...any) error }

// collect reads every row of a query with scan and closes the rows before it
// returns, so that a caller inside a transaction may run its next statement on
// the one writer connection at once. It takes the query's (rows, err) pair as
// they come. The error of Close is joined with rows.Err: a failed close can hide
// a failure of the statement itself, which a list must not pass off as complete.
func collect[T any](rows *sql.Rows, err error, scan func(rowScanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, errors.Join(err, rows.Close())
		}
		out = append(out, v)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	return out, nil
}

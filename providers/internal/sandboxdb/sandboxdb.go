// Package sandboxdb holds what the sandboxes share to keep their state in
// SQLite: reading a list of rows and ending a transaction, with every error
// of the database reported.
package sandboxdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Scanner is what *sql.Row and *sql.Rows share, so that one scan function
// reads a row of either. It is an alias so that functions written against
// the literal interface fit Collect's scan parameter.
type Scanner = interface{ Scan(dest ...any) error }

// Collect reads every row of a query with scan and closes the rows; it takes
// the query's (rows, err) pair as they come. A failed read, scan or close is
// an error, never a shorter list.
func Collect[T any](rows *sql.Rows, err error, scan func(Scanner) (T, error)) ([]T, error) {
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

// Rollback ends tx when it was not committed, and joins a failed rollback into
// *err. Defer it right after Begin, with the function's named error result:
//
//	defer sandboxdb.Rollback(tx, &err)
//
// After a commit it does nothing: the rollback finds the transaction done.
func Rollback(tx *sql.Tx, err *error) {
	if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
		*err = errors.Join(*err, fmt.Errorf("roll back: %w", rbErr))
	}
}

// Column scans a row of one column, for Collect:
//
//	ids, err := sandboxdb.Collect(rows, err, sandboxdb.Column[int64])
func Column[T any](r Scanner) (T, error) {
	var v T
	err := r.Scan(&v)
	return v, err
}

// InTx runs fn in a transaction on db: it commits when fn returns nil and
// rolls back otherwise (or on a panic), joining a failed rollback to fn's
// error.
func InTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer Rollback(tx, &err)
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

package model

/*
// sqlite3_db_config is SQLite's, linked in by mattn/go-sqlite3's amalgamation;
// cgo cannot call a variadic C function, hence the wrapper.
#include <stdlib.h>
#include <string.h>
struct sqlite3;
struct sqlite3_stmt;
int sqlite3_db_config(struct sqlite3*, int op, ...);
struct sqlite3_stmt *sqlite3_next_stmt(struct sqlite3*, struct sqlite3_stmt*);
const char *sqlite3_sql(struct sqlite3_stmt*);
int sqlite3_stmt_status(struct sqlite3_stmt*, int op, int reset);

// SQLITE_DBCONFIG_ENABLE_QPSG (sqlite3.h): set when on >= 0, read when -1.
static int orderdesk_qpsg(void *db, int on) {
	int now = -1;
	if (sqlite3_db_config((struct sqlite3*)db, 1007, on, &now) != 0) return -1;
	return now;
}

// The re-preparations (SQLITE_STMTSTATUS_REPREPARE) of the connection's
// prepared statements of this SQL text, summed; -1 when there is none.
static int orderdesk_reprepares(void *db, const char *sql) {
	int n = -1;
	struct sqlite3_stmt *s = 0;
	while ((s = sqlite3_next_stmt((struct sqlite3*)db, s)) != 0) {
		const char *text = sqlite3_sql(s);
		if (text != 0 && strcmp(text, sql) == 0) {
			if (n < 0) n = 0;
			n += sqlite3_stmt_status(s, 5, 0);
		}
	}
	return n;
}
*/
import "C"

import (
	"database/sql"
	"errors"
	"reflect"
	"unsafe"

	"github.com/mattn/go-sqlite3"
)

// driverName is the SQLite driver of our database: mattn/go-sqlite3 with the
// query planner's stability guarantee (QPSG) turned on for each connection.
//
// Why: the driver clears a statement's bindings before it binds new ones,
// and SQLite then re-prepares (parses and plans again) every statement whose
// plan might depend on a bound value. Without QPSG that is most of ours, for
// a reason as small as `kind = ?` on a column outside the index used, so
// the statement cache saved nothing: a tracking page's read of the order's
// events cost 31 µs with `?` and 7 µs with the same values written in.
// With QPSG a statement keeps the plan it was prepared with, as our
// statements, planned for any shop and any value, should.
const driverName = "sqlite3_orderdesk"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		if on := setQPSG(c, 1); on != 1 {
			return errors.New("sqlite: the query planner's stability guarantee could not be turned on")
		}
		return nil
	}})
}

// setQPSG sets (on 0 or 1) or reads (-1) a connection's QPSG flag and returns
// it, or -1 when SQLite refused. The driver does not expose its handle: it is
// read from the connection's one field of it (`db *C.sqlite3`), which a test
// checks on every pool's connections (TestEveryConnectionKeepsItsPlans).
func setQPSG(c *sqlite3.SQLiteConn, on int) int {
	db := handle(c)
	if db == nil {
		return -1
	}
	return int(C.orderdesk_qpsg(db, C.int(on)))
}

// stmtReprepares is how many times SQLite prepared again the connection's
// statements of this SQL text (-1: none is prepared). For tests.
func stmtReprepares(c *sqlite3.SQLiteConn, query string) int {
	db := handle(c)
	if db == nil {
		return -1
	}
	q := C.CString(query)
	defer C.free(unsafe.Pointer(q))
	return int(C.orderdesk_reprepares(db, q))
}

// handle is the connection's sqlite3 handle, or nil.
func handle(c *sqlite3.SQLiteConn) unsafe.Pointer {
	f := reflect.ValueOf(c).Elem().FieldByName("db")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return nil
	}
	return unsafe.Pointer(f.Pointer())
}

package model

import (
	"context"
	"strings"
	"testing"
)

// SQLite reads the storefront's shelf (shelfQuery, the statement FindShelf
// runs) in title order from products_shelf_idx, with no sort.
func TestTheShelfIsReadInOrderWithoutASort(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := db.R.QueryContext(ctx, `EXPLAIN QUERY PLAN `+shelfQuery, 1)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(plan, "; "); strings.Contains(got, "TEMP B-TREE") || !strings.Contains(got, "products_shelf_idx") {
		t.Errorf("the shelf's plan %q: want products_shelf_idx and no sort", got)
	}
}

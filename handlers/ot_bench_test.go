package handlers_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"orderdesk/model"
	"orderdesk/services/procurement"
)

// TestOTExportThousand is the closing note's figure: 1,000 paid orders
// exported through the OT sandbox (added, paid by the simulated payment,
// exported to Taobao and followed to the end), then the export run again:
// the time, and how many OT orders there are for one of ours (one). It is
// slow, so it runs only by hand:
//
//	ORDERDESK_OT_BENCH=1000 go test ./handlers -run TestOTExportThousand -v
func TestOTExportThousand(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ORDERDESK_OT_BENCH"))
	if n <= 0 {
		t.Skip("set ORDERDESK_OT_BENCH=1000 to run it")
	}
	e := newEnv(t)
	ctx := context.Background()
	e.otShop(t)
	settings := e.demo.OrderSettings
	settings.ZeroStock = true // buy to order: the catalogue's stock is not the point
	if err := e.store.UpdateOrderSettings(ctx, e.demo.ID, settings); err != nil {
		t.Fatal(err)
	}
	shop := e.tenant(t, "demo")
	start := time.Now()
	for i := 0; i < n; i++ {
		e.paidOrderOf(t, shop, item{"STAND-BAMBOO", 1 + i%3}, item{"BAG-TOTE", 1})
	}
	t.Logf("%d paid orders placed in %s", n, time.Since(start).Round(time.Millisecond))

	actor := model.JobActor("bench")
	start = time.Now()
	rep := &procurement.Report{}
	if err := e.ot.Export(ctx, shop, 0, actor, rep); err != nil {
		t.Fatal(err)
	}
	pushed := time.Since(start)
	for i := 0; i < 10; i++ {
		open, _ := e.store.FindOTActivities(ctx, shop.ID, model.OTActivityFilter{Open: true, Limit: 1})
		if len(open) == 0 {
			break
		}
		if err := e.ot.Follow(ctx, shop, actor, &procurement.Report{}); err != nil {
			t.Fatal(err)
		}
	}
	exported := time.Since(start)
	if rep.Processed != n || rep.Failed != 0 {
		t.Errorf("push: %d processed, %d failed; first lines %v", rep.Processed, rep.Failed, rep.Lines[:min(3, len(rep.Lines))])
	}
	// The run again: nothing is added twice.
	again := &procurement.Report{}
	if err := e.ot.Export(ctx, shop, 0, actor, again); err != nil {
		t.Fatal(err)
	}
	orders, err := e.sandboxes.OTAPI.Orders(10 * n)
	if err != nil {
		t.Fatal(err)
	}
	byComment := map[string]int{}
	for _, o := range orders {
		byComment[o.Comment]++
	}
	dup := 0
	for _, c := range byComment {
		dup += c - 1
	}
	var bought int
	if err := e.store.DB.R.QueryRow(`SELECT count(*) FROM order_lines l JOIN ot_lines x ON x.order_line_id = l.id WHERE l.tenant_id = ? AND l.purchase_id IS NOT NULL`, shop.ID).Scan(&bought); err != nil {
		t.Fatal(err)
	}
	if len(orders) != n || dup != 0 || bought != 2*n {
		t.Errorf("OT orders %d for %d of ours, %d duplicates, %d lines bought (want %d)", len(orders), n, dup, bought, 2*n)
	}
	note := fmt.Sprintf("OT export of %d orders against the sandbox: pushed (added, paid, export started) in %s, exported to the end in %s; "+
		"%d OT orders, %d duplicates; the second run added %d", n, pushed.Round(time.Millisecond), exported.Round(time.Millisecond), len(orders), dup, again.Processed)
	t.Log(note)
	fmt.Println(note)
}

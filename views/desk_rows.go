package views

import (
	"context"
	"io"
	"strings"

	"github.com/a-h/templ"
	lru "github.com/hashicorp/golang-lru/v2"

	"orderdesk/model"
)

// deskRowsKept is how many rendered rows of the order desk are kept: the
// first pages of every tab of a busy shop, in each language its staff use,
// at about 1.3 kB a row.
const deskRowsKept = 4096

// deskRows keeps the order desk's rows as rendered. A row is some twenty
// values each escaped and written, its labels and money formatted and its
// checkbox's label run through a message template; that was four tenths of
// the desk's time, for rows that the next look at the same page shows again
// unchanged. A row is kept under everything it is made of (deskRowKeyOf), so
// a changed order, language or time zone is another row, never a stale one.
var deskRows = mustLRU[deskRowKey, string](deskRowsKept)

func mustLRU[K comparable, V any](size int) *lru.Cache[K, V] {
	c, err := lru.New[K, V](size)
	if err != nil {
		panic(err) // only for a size below one
	}
	return c
}

// deskRowKey is everything deskRow shows: the page's language and time zone,
// whether the row is ticked, and the order's values the row reads.
// TestDeskRowKeyHoldsEverythingTheRowShows holds it to that.
type deskRowKey struct {
	lang, zone string
	checked    bool

	id, incrementID, total, createdNanos                         int64
	itemCount                                                    int
	number, email, firstName, lastName, currency, procurementErr string
	status                                                       model.OrderStatus
	payment                                                      model.OrderPaymentStatus
	procurement                                                  model.ProcurementStatus
}

func deskRowKeyOf(ctx context.Context, o *model.Order, checked bool) deskRowKey {
	l := LocaleOf(ctx)
	return deskRowKey{
		lang: l.Lang, zone: l.Loc.String(), checked: checked,
		id: o.ID, incrementID: o.IncrementID, total: o.Total, createdNanos: o.CreatedAt.UnixNano(),
		itemCount: o.ItemCount,
		number:    o.Number, email: o.Address.Email, firstName: o.Address.FirstName, lastName: o.Address.LastName,
		currency: o.Currency, procurementErr: o.ProcurementError,
		status: o.Status, payment: o.PaymentStatus, procurement: o.ProcurementStatus,
	}
}

// cachedDeskRow writes deskRow as kept in deskRows, rendering and keeping it
// the first time.
func cachedDeskRow(o *model.Order, checked bool) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		k := deskRowKeyOf(ctx, o, checked)
		html, ok := deskRows.Get(k)
		if !ok {
			var b strings.Builder
			if err := deskRow(o, checked).Render(ctx, &b); err != nil {
				return err
			}
			html = b.String()
			deskRows.Add(k, html)
		}
		_, err := io.WriteString(w, html)
		return err
	})
}

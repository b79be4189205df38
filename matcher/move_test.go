package matcher

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/shopspring/decimal"
)

// moveLog generates n commands, most of them cancel-replaces of open orders that vary every
// condition of the move fast path: side kept or flipped, crossing or not, client order ids new,
// reused or duplicate, the account at its order limit, filters, recvWindow, phases. It reads a
// book as it goes (like decodeCommands) so that the targets are open orders.
func moveLog(seed uint64, n int) []Command {
	rng := rand.New(rand.NewPCG(seed, 3))
	b, err := NewBook(moveSpec())
	if err != nil {
		panic(err)
	}
	coids := []string{"", "", "", "a", "b", "c", "bad id!"}
	cmds := make([]Command, 0, n)
	var open []OrderView
	seq := uint64(0)
	for len(cmds) < n {
		seq += 1 + uint64(rng.IntN(3)/2) // some gaps
		c := Command{Seq: seq, Time: int64(seq) * 1e6, Account: uint64(1 + rng.IntN(4))}
		side := Side(1 + rng.IntN(2))
		price := int64(100 + rng.IntN(21) - 10)
		if side == Buy {
			price -= 2
		} else {
			price += 2
		}
		no := NewOrder{Side: side, Type: Limit, TimeInForce: GTC, Price: price, Qty: int64(1 + rng.IntN(9)),
			ClientOrderID: coids[rng.IntN(len(coids))], STP: STPMode(rng.IntN(4))}
		switch r := rng.IntN(100); {
		case r < 3:
			no.TimeInForce = IOC
		case r < 5:
			no.Type, no.TimeInForce = LimitMaker, 0
		case r < 6:
			no.Qty = 1000 // LOT_SIZE / NOTIONAL
		case r < 7:
			no.Price = 1 // PRICE_FILTER
		case r < 8:
			no.RecvWindowMs, no.ClientTimeMs = 5, c.Time/1e6-int64(rng.IntN(10))
		case r < 9:
			no.STP = 7
		}
		switch r := rng.IntN(100); {
		case r < 20:
			c.Kind, c.Order = CmdNew, no
		case r < 25:
			c.Kind, c.OrderID = CmdCancel, uint64(rng.IntN(int(seq)))
		case r < 26:
			c.Kind, c.Phase = CmdSetPhase, Phase(1+rng.IntN(4))
			if rng.IntN(3) > 0 {
				c.Phase = Trading
			}
		default:
			c.Kind, c.Mode, c.Order = CmdCancelReplace, ReplaceMode(1+rng.IntN(2)), no
			open = b.OpenOrders(c.Account, open[:0])
			if len(open) > 0 && rng.IntN(10) > 0 {
				o := open[rng.IntN(len(open))]
				c.OrderID = o.ID
				if rng.IntN(2) == 0 { // a move: same side and size, a new price
					c.Order.Side, c.Order.Qty = o.Side, o.Remaining
					c.Order.Price = o.Price + int64(rng.IntN(9)) - 4
				}
				if rng.IntN(4) == 0 {
					c.OrderID, c.OrigClientOrderID = 0, o.ClientOrderID
				}
			} else {
				c.OrderID = uint64(rng.IntN(int(seq) + 1))
			}
			if rng.IntN(5) == 0 {
				c.ClientOrderID = "cr"
			}
		}
		cmds = append(cmds, c)
		b.Apply(&cmds[len(cmds)-1])
	}
	return cmds
}

// moveSpec limits orders per account and notional so that both filters reject some moves.
func moveSpec() Spec {
	s := DefaultSpec()
	s.MaxNumOrders = 6
	s.MaxNotional = s.TickSize.Mul(s.StepSize).Mul(decimal.NewFromInt(850))
	return s
}

// TestMoveMatchesGeneralPath applies the same logs to a book with the move fast path and to one
// without it, and requires identical events for every command, identical snapshots and an
// identical internal layout (slab, levels, free lists, accounts), so nothing the fast path
// skips could surface later.
func TestMoveMatchesGeneralPath(t *testing.T) {
	n := 40_000
	if testing.Short() {
		n = 8_000
	}
	logs := []struct {
		name     string
		spec     Spec
		cmds     []Command
		minMoves float64 // share of cancel-replaces that must take the fast path
	}{
		{"moves", moveSpec(), moveLog(1, n), 0.15},
		{"moves2", moveSpec(), moveLog(2, n), 0.15},
		{"random", determinismSpec(), randomLog(9, n), 0}, // blind targets: hardly any moves
		{"sparse", determinismSpec(), sparseLog(9, n), 0},
		{"exchange-core", benchSpec(), exchangeCoreCommands(t, n), 0.95},
	}
	for _, lg := range logs {
		t.Run(lg.name, func(t *testing.T) {
			fast, err := NewBook(lg.spec)
			if err != nil {
				t.Fatal(err)
			}
			general, _ := NewBook(lg.spec)
			general.noMove = true
			moves, replaces := 0, 0
			for i := range lg.cmds {
				c := &lg.cmds[i]
				if c.Kind == CmdCancelReplace {
					replaces++
					if oi, err := fast.lookup(c.Account, c.OrderID, c.OrigClientOrderID); err == nil && fast.phase != Halt &&
						(c.Mode == StopOnFailure || c.Mode == AllowFailure) && fast.canMove(c, oi) {
						moves++
					}
				}
				c2 := *c
				got := AppendEvents(nil, fast.Apply(c))
				want := AppendEvents(nil, general.Apply(&c2))
				if !bytes.Equal(got, want) {
					g, _ := DecodeEvents(got)
					w, _ := DecodeEvents(want)
					t.Fatalf("command %d %s:\nfast path:\n%s\ngeneral path:\n%s", i, FormatCommand(c), formatEvents(g), formatEvents(w))
				}
				if i%500 == 0 || i == len(lg.cmds)-1 {
					checkInvariants(t, fast)
					if err := sameLayout(fast, general); err != "" {
						t.Fatalf("after command %d %s: %s", i, FormatCommand(c), err)
					}
				}
			}
			if !bytes.Equal(fast.Snapshot(), general.Snapshot()) {
				t.Fatal("snapshots differ")
			}
			t.Logf("%d cancel-replaces, %d moves", replaces, moves)
			if float64(moves) < lg.minMoves*float64(replaces) {
				t.Fatalf("only %d of %d cancel-replaces took the fast path", moves, replaces)
			}
		})
	}
}

// sameLayout compares the internal structures of two books.
func sameLayout(a, b *Book) string {
	switch {
	case !reflect.DeepEqual(a.orders, b.orders):
		return "order slabs differ"
	case !reflect.DeepEqual(a.levels, b.levels):
		return "level slabs differ"
	case a.freeOrder != b.freeOrder || a.freeLevel != b.freeLevel || a.open != b.open:
		return "free lists or open count differ"
	case !reflect.DeepEqual(a.accounts, b.accounts):
		return "accounts differ"
	case !reflect.DeepEqual(a.byClient, b.byClient):
		return "client id index differs"
	case *a.byID.ring != *b.byID.ring || !reflect.DeepEqual(a.byID.old, b.byID.old) || a.byID.last != b.byID.last:
		return "id index differs"
	case a.side[Buy].levels != b.side[Buy].levels || a.side[Sell].levels != b.side[Sell].levels:
		return "level counts differ"
	}
	return ""
}

// exchangeCoreCommands is the benchmark workload (warm-up and run) as commands.
func exchangeCoreCommands(tb testing.TB, n int) []Command {
	warm, run, _ := exchangeCoreWorkload(tb, 7, n)
	cmds := make([]Command, len(warm)+len(run))
	for i := range warm {
		warm[i].toCommand(&cmds[i], uint64(i+1))
	}
	for j := range run {
		run[j].toCommand(&cmds[len(warm)+j], uint64(len(warm)+j+1))
	}
	return cmds
}

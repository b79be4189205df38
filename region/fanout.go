package region

import (
	"slices"

	"github.com/geomesh/geomesh/proto"
)

// accountsOfBatch lists, sorted and unique, the accounts the events of batch concern.
func accountsOfBatch(b *proto.EventBatch) []uint64 {
	var out []uint64
	for _, e := range b.Events {
		for _, a := range eventAccounts(e) {
			if a != 0 {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// eventAccounts returns the accounts one event concerns (maker and taker of a trade).
func eventAccounts(e *proto.Event) []uint64 {
	switch {
	case e.GetTrade() != nil:
		t := e.GetTrade()
		return []uint64{t.MakerAccount, t.TakerAccount}
	case e.GetAccepted() != nil:
		return []uint64{e.GetAccepted().Account}
	case e.GetRejected() != nil:
		return []uint64{e.GetRejected().Account}
	case e.GetCanceled() != nil:
		return []uint64{e.GetCanceled().Account}
	case e.GetExpired() != nil:
		return []uint64{e.GetExpired().Account}
	case e.GetReplaced() != nil:
		return []uint64{e.GetReplaced().Account}
	case e.GetAmended() != nil:
		return []uint64{e.GetAmended().Account}
	}
	return nil
}

func eventConcerns(e *proto.Event, acct uint64) bool {
	return slices.Contains(eventAccounts(e), acct)
}
